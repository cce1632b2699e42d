"""Open a sweep report in headless Chromium, offline: every chart renders and nothing logs an error."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.integration.test_report_browser import (
    ERROR_HOOK,
    REPO_ROOT,
    PlotScan,
    chromium_or_skip,
    run_chromium,
)
from tests.unit.sweep_factory import write_csvs
from theses.reports import write_sweep_report
from theses.studies.sweep import sweep

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from theses.data.scenario_spec import load_scenario

    # Scenario paths start from the last closes of the data folder, so it holds every simulated ticker.
    tickers = tuple(dict.fromkeys([*load_scenario("jetsons").tickers, "RSP"]))
    prices = write_csvs(tmp_path_factory.mktemp("prices"), tickers=tickers, days=1100)
    run = sweep("bubble_watch", grid="window=20,60,switch_band=none,0.25", on="both", scenarios="jetsons,take_off",
                paths=64, years=1, seed=2, data_dir=str(prices), source="csv", walk_forward="2y/6m")
    return write_sweep_report(run, tmp_path_factory.mktemp("browser") / "report")


def test_sweep_report_renders_in_chromium(report_dir: Path, tmp_path: Path) -> None:
    binary = chromium_or_skip()
    index = report_dir / "index.html"
    source = index.read_text(encoding="utf-8")
    expected = re.findall(r'<div id="(chart-[^"]+)" class="plotly-graph-div"', source)
    assert sorted(expected) == ["chart-heatmap-cvar_5", "chart-heatmap-objective", "chart-walk-forward"]
    # history, blend and two scenarios, each a slice per other dimension: 4 places x 1 slice (2-D grid)
    assert source.count('"label":"take_off"') + source.count('"label": "take_off"') >= 2

    done = run_chromium(binary, tmp_path / "profile1", "--enable-logging=stderr", "--v=0", "--dump-dom",
                        index.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines()
              if "CONSOLE" in line and re.search(r"error|uncaught|exception", line, re.IGNORECASE)]
    assert errors == []
    scan = PlotScan()
    scan.feed(done.stdout)
    assert set(scan.charts) == set(expected) and all(scan.charts.values())

    hooked = tmp_path / "hooked.html"
    hooked.write_text(source.replace("<head>", "<head>" + ERROR_HOOK, 1), encoding="utf-8")
    done = run_chromium(binary, tmp_path / "profile2", "--dump-dom", hooked.as_uri())
    match = re.search(r'<html[^>]*data-errors="([^"]*)"', done.stdout)
    assert match is not None and match.group(1) == "[]"

    shot = tmp_path / "sweep.png"
    run_chromium(binary, tmp_path / "profile3", f"--screenshot={shot}", "--window-size=1400,3000", index.as_uri())
    assert shot.is_file() and shot.stat().st_size > 50_000
    out = REPO_ROOT / "test-output"
    out.mkdir(exist_ok=True)
    shutil.copyfile(shot, out / "sweep_report_browser.png")
