"""``theses sweep`` end to end: report, JSON, one-line errors, and a kill -9 followed by --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.sweep_factory import write_csvs
from theses.cli.main import main

SMALL = ["--grid", "window=20,60", "--on", "scenarios", "--scenario", "jetsons", "--paths", "64", "--years", "1",
         "--seed", "3", "--block-size", "64"]


def test_table_output_and_report(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    out = tmp_path / "sweep"
    assert main(["sweep", "bubble_watch", *SMALL, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bubble_watch: 2 grid points, 3 tasks (3 run in process, 0 from the sweep folder)" in text
    assert "window=200 (default)" not in text and "jetsons: best window=" in text
    report = out / "report"
    for name in ("index.html", "points.csv", "points.json"):
        assert (report / name).is_file()
    page = (report / "index.html").read_text()
    assert "chart-heatmap-objective" in page and "chart-heatmap-cvar_5" in page
    doc = json.loads((report / "points.json").read_text())
    assert [p["window"] for p in doc["points"]] == [20, 60, 200]


def test_json_output_and_resume(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    out = tmp_path / "sweep"
    assert main(["sweep", "bubble_watch", *SMALL, "--out", str(out), "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["tasks"] == {"total": 3, "run": 3, "reused": 0}
    assert set(first["best"]) == {"blend", "jetsons"} and first["report"].endswith("report")
    assert main(["sweep", "bubble_watch", *SMALL, "--out", str(out), "--format", "json", "--resume"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["tasks"] == {"total": 3, "run": 0, "reused": 3}
    assert second["points"] == first["points"]


def test_history_with_walk_forward(tmp_path, capsys):
    prices = write_csvs(tmp_path / "prices", days=1100)
    out = tmp_path / "sweep"
    assert main(["sweep", "bubble_watch", "--grid", "window=20,60,switch_band=none,0.25", "--data-dir", str(prices),
                 "--source", "csv", "--walk-forward", "2y/6m", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "walk-forward (504 days in sample, 126 out)" in text
    assert "probability of backtest overfitting:" in text and "combinatorially symmetric" in text
    assert (out / "report" / "walk_forward.csv").is_file()


@pytest.mark.parametrize(("argv", "expected"), [
    (["--grid", ""], "--grid is empty"),
    (["--grid", "windw=100"], "did you mean 'window'"),
    (["--grid", "window=300:100:50"], "empty range"),
    (["--grid", "window=100", "--resume"], "--resume continues a sweep folder"),
    (["--grid", "window=100", "--axes", "nope"], "--axes nope"),
    (["--grid", "window=100", "--workers", "0"], "--workers 0"),
    (["--grid", "window=100", "--walk-forward", "3y", "--on", "history"], "--walk-forward '3y'"),
])
def test_user_errors_are_one_line(capsys, tmp_path, argv, expected):
    extra = [] if "--resume" in argv else ["--out", str(tmp_path / "s")]
    assert main(["sweep", "bubble_watch", *argv, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and expected in err and "\n" not in err
    assert not (tmp_path / "s").exists()


def test_workers_and_cluster_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as info:
        main(["sweep", "bubble_watch", "--grid", "window=1", "--workers", "2", "--cluster", "tcp://x:1"])
    assert info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def _sweep_command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "theses.cli.main", "sweep", "bubble_watch", "--grid", "window=20,40,60,80",
            "--on", "scenarios", "--scenario", "jetsons", "--paths", "256", "--years", "1", "--seed", "5",
            "--block-size", "64", "--format", "json", "--out", str(out), *extra]


def test_kill_9_then_resume_gives_the_uninterrupted_result(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "THESES_DATA_DIR"}
    reference = subprocess.run(_sweep_command(tmp_path / "whole"), capture_output=True, text=True, env=env, check=True)
    killed_dir = tmp_path / "killed"
    process = subprocess.Popen(_sweep_command(killed_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((killed_dir / "tasks").glob("*.parquet")):
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stored = len(list((killed_dir / "tasks").glob("*.parquet")))
    assert 1 <= stored < 20 and not (killed_dir / "report").exists()
    resumed = subprocess.run(_sweep_command(killed_dir, "--resume"), capture_output=True, text=True, env=env, check=True)
    whole, again = json.loads(reference.stdout), json.loads(resumed.stdout)
    assert again["tasks"]["reused"] == stored and again["tasks"]["run"] == 20 - stored
    assert again["points"] == whole["points"] and again["best"] == whole["best"]
