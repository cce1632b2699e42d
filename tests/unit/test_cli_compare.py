"""``theses compare`` end to end on synthetic CSVs and portfolio files (and once on the real data)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from theses.cli.main import main
from theses.cli.render import sorted_rows


def write_csvs(folder: Path, start: str = "2024-01-02", days: int = 300) -> None:
    """SPY, RSP, AAA, BBB: seeded random walks in the CSV layout of the price files."""
    folder.mkdir(parents=True, exist_ok=True)
    index = pd.bdate_range(start, periods=days)
    rng = np.random.default_rng(11)
    for i, ticker in enumerate(("SPY", "RSP", "AAA", "BBB")):
        close = 100 * (1 + i) * np.cumprod(1 + rng.normal(0.0004, 0.012, days))
        frame = pd.DataFrame(
            {"Date": index.strftime("%Y-%m-%d"), "Open": close, "High": close * 1.01, "Low": close * 0.99,
             "Close": close, "Volume": 1_000_000},
        )
        frame.to_csv(folder / f"{ticker}.csv", index=False)


def write_portfolio(folder: Path, name: str, weights: dict[str, float], rebalance: str = "monthly") -> Path:
    lines = [f'name = "{name}"', f'rebalance = "{rebalance}"', 'benchmark = "SPY"', "[weights]"]
    lines += [f"{t} = {w}" for t, w in weights.items()]
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    write_csvs(tmp_path / "prices")
    return {
        "prices": tmp_path / "prices",
        "tilt": write_portfolio(tmp_path, "tilt", {"AAA": 0.7, "BBB": 0.3}),
        "hedged": write_portfolio(tmp_path, "hedged", {"AAA": 1.0, "SPY": -0.5}),
        "out": tmp_path / "report",
    }


def compare(setup: dict[str, Path], *extra: str) -> list[str]:
    return ["compare", str(setup["tilt"]), str(setup["hedged"]), "--source", "csv",
            "--data-dir", str(setup["prices"]), "--out", str(setup["out"]), *extra]


def test_json_output_matches_the_report(setup, capsys):
    assert main(compare(setup, "--format", "json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["strategies"]) == {"tilt", "hedged"}
    assert set(doc["benchmarks"]) == {"SPY", "RSP"}
    assert Path(doc["report"]) == setup["out"].absolute()
    written = json.loads((setup["out"] / "metrics.json").read_text())
    for name in ("tilt", "hedged"):
        for key, value in doc["strategies"][name].items():
            assert written["strategies"][name][key] == value, (name, key)
    assert written["context"]["data_source"].startswith("csv")
    assert "next bar's close" in written["context"]["execution"]
    assert {p.name for p in setup["out"].iterdir()} >= {"index.html", "summary.md", "metrics.csv", "equity.csv"}


def test_table_output_names_every_row_and_the_report(setup, capsys):
    assert main(compare(setup)) == 0
    out = capsys.readouterr().out
    for name in ("tilt", "hedged", "SPY", "RSP"):
        assert name in out
    assert "report written to" in out
    assert "fees 1 bps" in out


def test_cost_flags_reach_the_engine(setup, capsys):
    assert main(compare(setup, "--format", "json", "--fees-bps", "0", "--slippage-bps", "0",
                       "--borrow-bps", "0")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["strategies"]["tilt"]["costs"] == 0.0
    assert doc["strategies"]["hedged"]["borrow"] == 0.0


def test_since_essay_starts_at_the_essay_date(setup, capsys):
    assert main(compare(setup, "--format", "json", "--since-essay")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["window"][0] == "2024-12-02"  # a Monday, a trading day in the synthetic calendar
    assert doc["window"][1] == pd.bdate_range("2024-01-02", periods=300)[-1].strftime("%Y-%m-%d")


def test_since_essay_and_start_together_is_a_user_error(setup, capsys):
    assert main(compare(setup, "--since-essay", "--start", "2024-03-01")) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: give either --since-essay or --start, not both"
    assert not setup["out"].exists()


def test_same_strategy_twice_is_a_user_error(setup, capsys):
    argv = compare(setup)
    argv.insert(2, str(setup["tilt"]))
    assert main(argv) == 2
    assert 'strategy "tilt" is named twice' in capsys.readouterr().err


def test_unknown_sort_metric_is_refused(setup, capsys):
    with pytest.raises(SystemExit):
        main(compare(setup, "--sort", "luck"))
    assert "invalid choice" in capsys.readouterr().err


def test_sorted_rows_best_first_missing_last():
    rows = {"a": {"sharpe": 0.5, "volatility": 0.2}, "b": {"sharpe": float("nan"), "volatility": 0.1},
            "c": {"sharpe": 1.5, "volatility": 0.3}}
    assert list(sorted_rows(rows, "sharpe")) == ["c", "a", "b"]
    assert list(sorted_rows(rows, "volatility")) == ["b", "a", "c"]  # lower is better


@pytest.mark.integration
def test_all_registered_strategies_since_essay_on_real_data(real_data_dir, tmp_path, capsys):
    from theses import strategies

    out = tmp_path / "report"
    argv = ["compare", "--since-essay", "--source", "csv", "--data-dir", str(real_data_dir), "--out", str(out),
            "--format", "json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    registered = [s.name for s in strategies.list_strategies()]
    assert sorted(doc["strategies"]) == sorted(registered)
    assert doc["window"][0] >= "2024-12-02"
    written = json.loads((out / "metrics.json").read_text())
    for name in registered:
        for key, value in doc["strategies"][name].items():
            same = value == written["strategies"][name][key] or (
                value is None and written["strategies"][name][key] is None
            ) or (isinstance(value, float) and math.isnan(value))
            assert same, (name, key)


def test_progress_is_a_line_every_few_seconds_when_piped():
    import io

    from theses.cli.render import Progress

    stream = io.StringIO()
    ticks = iter([0.0, 1.0, 2.0, 3.0, 6.0, 7.0, 8.0, 9.0])  # one reading per step, one on exit
    with Progress("work", stream=stream, interval=5.0) as progress:
        progress.clock = lambda: next(ticks)
        progress.started = 0.0
        for i in range(1, 8):
            progress(f"step {i}", i, 10)
    lines = stream.getvalue().splitlines()
    # From 2 s on, one line per 5 s, then the last step on exit: never a line per step.
    assert lines == ["step 3: 3/10 (30%), 2 s", "step 6: 6/10 (60%), 7 s", "step 7: 7/10 (70%), 9 s"]
    quick = io.StringIO()  # a command done within 2 s (or ending in an error line) prints no progress
    with Progress("work", stream=quick) as progress:
        progress.clock = lambda: 1.0
        progress.started = 0.0
        progress("step", 1, 1)
    assert quick.getvalue() == ""
    quiet = io.StringIO()
    with Progress("work", stream=quiet, enabled=False) as progress:
        progress("step", 1, 1)
    assert quiet.getvalue() == ""
