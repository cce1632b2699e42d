"""``theses demo``: the scenario part always runs offline; the history part runs when prices are at hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from theses.cli.main import main


def test_demo_without_price_data_uses_the_embedded_sample(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    monkeypatch.setattr("theses.data.yahoo_provider.yahoo_resolves", lambda *a: False)  # offline
    monkeypatch.setattr("yfinance.download", lambda *a, **k: __import__("pandas").DataFrame())
    out = tmp_path / "demo"
    assert main(["demo", "--paths", "40", "--years", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "using the embedded sample" in printed and "ends 2026-10-09" in printed
    assert (out / "scenarios" / "index.html").is_file()
    history = json.loads((out / "history" / "metrics.json").read_text())
    assert history["context"]["data_source"].startswith("sample:")
    assert history["strategies"]["index_beta"]["start"] == "2015-01-02"
    scenarios = (out / "scenarios" / "scenarios.csv").read_text()
    for name in ("damp_squib", "typical_cycle", "jetsons", "take_off", "bubble_2027"):
        assert name in scenarios


def test_demo_run_twice_with_the_same_seed_gives_the_same_figures(tmp_path, monkeypatch):
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    for name in ("a", "b"):
        assert main(["demo", "--paths", "30", "--years", "1", "--seed", "5", "--out", str(tmp_path / name)]) == 0
    first = (tmp_path / "a" / "scenarios" / "scenarios.csv").read_text()
    assert first == (tmp_path / "b" / "scenarios" / "scenarios.csv").read_text()


@pytest.mark.integration
def test_demo_with_real_prices_compares_every_strategy(real_data_dir: Path, tmp_path, capsys):
    from theses import strategies

    out = tmp_path / "demo"
    assert main(["demo", "--data-dir", str(real_data_dir), "--paths", "30", "--years", "1", "--out", str(out)]) == 0
    for part in ("history", "since-essay", "scenarios"):
        assert (out / part / "index.html").is_file(), part
    metrics = json.loads((out / "history" / "metrics.json").read_text())
    names = set(metrics["strategies"])
    assert {s.name for s in strategies.list_strategies()} <= names
    since = json.loads((out / "since-essay" / "metrics.json").read_text())
    assert since["strategies"]["index_beta"]["start"] >= "2024-12-02"
