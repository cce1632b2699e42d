"""Open a report's index.html in headless Chromium, offline, and check what a reader would see.

Asserts: no console errors or uncaught exceptions; every chart of the page (comparison charts, small
multiples, the tearsheet's charts, scenario fans) exists and holds a rendered plot (an ``svg`` inside its
plotly div); the metrics, costs and drawdown tables list what they should; the tearsheet's strategy menu
redraws its charts for the chosen strategy and the focus menu fades the other books. The page's size and its
render times in real time (first paint, first screen of charts, all charts: bench/bench_report.py's
DevTools measurement) are printed, as figures, not pass/fail. The decision report (a scenario report led by
the decision) renders its verdict and every decision chart the same way. A screenshot is saved under the
test's folder and copied to ``test-output/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.unit.report_factory import synthetic_result, synthetic_run, synthetic_simulation
from theses.reports import write_decision_report, write_report

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
# Everything that could reach a network or another profile is off; name resolution fails for any host.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
    "--disable-default-apps", "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars",
)
# Injected into a copy of the page, first thing in <head>: records console errors and uncaught
# exceptions into an attribute of <html> that --dump-dom then shows.
ERROR_HOOK = """<script>(function () {
  var seen = [];
  function keep(text) { seen.push(String(text)); document.documentElement.setAttribute("data-errors", JSON.stringify(seen)); }
  var original = console.error;
  console.error = function () { keep(Array.prototype.join.call(arguments, " ")); return original.apply(console, arguments); };
  window.addEventListener("error", function (e) { keep("uncaught: " + e.message); });
  window.addEventListener("unhandledrejection", function (e) { keep("rejection: " + e.reason); });
  document.documentElement.setAttribute("data-errors", "[]");
})();</script>"""
# Injected at the end of <body>: once every chart is drawn, picks the second strategy in the tearsheet menu and
# focuses a book, then records what the charts show into an attribute of <html>.
INTERACT_HOOK = """<script>(function () {
  function names(id) { var d = document.getElementById(id); return (d.data || []).map(function (t) { return t.name; }); }
  function wait() {
    if (document.documentElement.getAttribute("data-charts") !== "drawn") { setTimeout(wait, 50); return; }
    var before = names("tear-cumulative");
    var tear = document.getElementById("tear");
    tear.value = "1"; tear.dispatchEvent(new Event("change"));
    var focus = document.getElementById("focus");
    focus.value = focus.options[2].value; focus.dispatchEvent(new Event("change"));
    setTimeout(function () {
      var equity = document.getElementById("chart-equity");
      var shown = Array.prototype.filter.call(document.querySelectorAll('[data-show^="tear:"]'),
        function (el) { return el.classList.contains("shown"); }).map(function (el) { return el.getAttribute("data-show"); });
      document.documentElement.setAttribute("data-interaction", JSON.stringify({
        before: before, after: names("tear-cumulative"), focus: focus.value, shown: shown,
        opacity: equity.data.map(function (t) { return [t.name, t.opacity]; })
      }));
    }, 200);
  }
  wait();
})();</script>"""


def chromium_or_skip() -> str:
    """Path of the chromium binary; skips when absent unless THESES_REQUIRE_BROWSER=1 (or CI)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "chromium not installed: apt-get install -y chromium"
    if os.environ.get("THESES_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=15000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


class PlotScan(HTMLParser):
    """Finds each plotly chart div and whether an ``svg`` appears inside it; collects metrics-table rows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.charts: dict[str, bool] = {}
        self.tables: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self._table: str | None = None
        self._stack: list[str | None] = []  # chart id owning each open div (None when not a chart)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "svg" and any(self._stack):
            owner = next(o for o in reversed(self._stack) if o)
            self.charts[owner] = True
        if tag == "table" and a.get("id"):
            self.tables.append(a["id"] or "")
            self._table = a["id"]
        if tag == "tr" and a.get("data-name") is not None and a.get("class") in ("strategy", "benchmark"):
            self.rows.setdefault(self._table or "", []).append(a["data-name"] or "")
        if tag == "div":
            chart_id = a.get("id") if "plotly-graph-div" in classes else None
            if chart_id:
                self.charts.setdefault(chart_id, False)
            self._stack.append(chart_id)

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._stack:
            self._stack.pop()


def load_bench():
    """bench/bench_report.py as a module (its DevTools timing of a page in real time)."""
    spec = importlib.util.spec_from_file_location("bench_report", REPO_ROOT / "bench" / "bench_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NAMES = ["alpha", "long_short", "gamma"]
COMPARISON_CHARTS = ["chart-equity", "chart-drawdown", "chart-rolling", "chart-multiples", "chart-costs"]
TEARSHEET_CHARTS = ["tear-cumulative", "tear-yearly", "tear-monthly", "tear-distribution", "tear-rolling-beta",
                    "tear-rolling-risk", "tear-underwater", "tear-weights"]
SCENARIO_CHARTS = ["chart-fan-jetsons", "chart-fan-damp-squib", "chart-terminal"]


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = [
        synthetic_result("alpha", 1, n=900),
        synthetic_result("long_short", 2, n=900, short="CCC"),
        synthetic_result("gamma", 3, n=900, tickers=("AAA", "DDD", "EEE")),
    ]
    scenarios, meta = synthetic_simulation()
    context = {"data_source": "synthetic", "notes": ["a note for the reader"]}
    return write_report(results, tmp_path_factory.mktemp("browser") / "report", title="Browser check",
                        context=context, simulation=scenarios, simulation_meta=meta)


def rendered_without_errors(binary: str, index: Path, tmp_path: Path, shot_name: str,
                            hook: str = "") -> tuple[PlotScan, str, str]:
    """Open ``index`` three times: the DOM and console log, a copy with an error hook (and ``hook`` at the
    end of its body), a screenshot.

    Asserts that the browser logged no console errors, the hook caught none, the loader drew every chart (an
    svg in each); returns the scan of the rendered DOM, the DOM, and the hooked copy's DOM.
    """
    source = index.read_text(encoding="utf-8")
    expected_charts = re.findall(r'<div id="((?:chart|tear)-[^"]+)" class="plotly-graph-div"', source)

    # 1. The page itself, as saved: rendered DOM and the browser's console log.
    done = run_chromium(binary, tmp_path / "profile1", "--enable-logging=stderr", "--v=0", "--dump-dom",
                        index.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    console_errors = [
        line for line in done.stderr.splitlines()
        if "CONSOLE" in line and re.search(r"error|uncaught|exception", line, re.IGNORECASE)
    ]
    assert console_errors == []
    dom = done.stdout
    assert 'data-charts="drawn"' in dom  # the loader reached the last chart
    scan = PlotScan()
    scan.feed(dom)
    assert set(scan.charts) == set(expected_charts)
    not_rendered = [cid for cid, has_svg in scan.charts.items() if not has_svg]
    assert not_rendered == []

    # 2. A copy with an error hook: console.error calls and uncaught exceptions, whatever the log level.
    hooked = tmp_path / "hooked.html"
    page = source.replace("<head>", "<head>" + ERROR_HOOK, 1).replace("</body>", hook + "</body>", 1)
    hooked.write_text(page, encoding="utf-8")
    done = run_chromium(binary, tmp_path / "profile2", "--dump-dom", hooked.as_uri())
    match = re.search(r'<html[^>]*data-errors="([^"]*)"', done.stdout)
    assert match is not None, "the error hook did not run"
    assert match.group(1) == "[]"
    hooked_dom = done.stdout

    # 3. The screenshot, for people.
    shot = tmp_path / "report.png"
    done = run_chromium(binary, tmp_path / "profile3", f"--screenshot={shot}", "--window-size=1400,3000",
                        index.as_uri())
    assert shot.is_file() and shot.stat().st_size > 50_000, done.stderr[-2000:]
    out = REPO_ROOT / "test-output"
    out.mkdir(exist_ok=True)
    shutil.copyfile(shot, out / shot_name)
    return scan, dom, hooked_dom


def test_report_renders_in_chromium(report_dir: Path, tmp_path: Path) -> None:
    binary = chromium_or_skip()
    index = report_dir / "index.html"
    charts = re.findall(r'<div id="((?:chart|tear)-[^"]+)" class="plotly-graph-div"', index.read_text(encoding="utf-8"))
    assert sorted(charts) == sorted(COMPARISON_CHARTS + TEARSHEET_CHARTS + SCENARIO_CHARTS)
    scan, dom, hooked = rendered_without_errors(binary, index, tmp_path, "report_browser.png", INTERACT_HOOK)
    assert sorted(scan.rows["metrics-table"]) == sorted([*NAMES, "SPY", "RSP"])
    assert sorted(scan.rows["costs-table-rows"]) == sorted(NAMES)
    for table in ("metrics-table", "costs-table-rows", "scenario-table", *(f"drawdowns-{n.replace('_', '-')}"
                                                                            for n in NAMES)):
        assert table in scan.tables
    drawdown_rows = re.findall(r'<table class="metrics dd" id="drawdowns-alpha">(.*?)</table>', dom, re.S)
    assert drawdown_rows and drawdown_rows[0].count("<tr>") == 1 + 5  # header + the five deepest

    # The menus used: the tearsheet redraws for the second strategy, the focus menu fades the other books.
    match = re.search(r"<html[^>]*data-interaction=\"([^\"]*)\"", hooked)
    assert match is not None, "the menus were not used"
    seen = json.loads(match.group(1).replace("&quot;", '"'))
    assert seen["before"][0] == "alpha" and seen["after"][0] == "long_short"
    assert seen["shown"] == ["tear:1"]
    opacity = dict(seen["opacity"])
    focused = seen["focus"]
    assert opacity[focused] == 1 and opacity["SPY"] == 1 and opacity["RSP"] == 1
    assert all(opacity[n] < 0.5 for n in NAMES if n != focused)

    # Figures for people (not pass/fail): size and real-time render marks.
    timing = load_bench().measure(binary, index)
    print(f"\nreport {index.stat().st_size / 1e6:.2f} MB, {timing['charts']} charts: first paint "
          f"{timing['fcp']:.2f} s, first screen of charts {timing['first']:.2f} s, all charts {timing['all']:.2f} s")


@pytest.fixture(scope="module")
def decision_report_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from theses.studies.decide import analyse

    decision = analyse(synthetic_run(ruin_paths=3))
    folder = write_decision_report(decision, tmp_path_factory.mktemp("browser") / "decision")
    return folder, decision.verdict


def test_decision_report_renders_in_chromium(decision_report_dir: tuple[Path, str], tmp_path: Path) -> None:
    binary = chromium_or_skip()
    folder, verdict = decision_report_dir
    index = folder / "index.html"
    charts = re.findall(r'<div id="(chart-[^"]+)" class="plotly-graph-div"', index.read_text(encoding="utf-8"))
    decision_charts = ["chart-scoreboard", "chart-certainty", "chart-regret", "chart-tornado", "chart-mix"]
    assert charts[:5] == decision_charts and len(charts) == 8  # + 2 fans + terminal wealth
    scan, dom, _ = rendered_without_errors(binary, index, tmp_path, "decision_report_browser.png")
    assert set(decision_charts) <= {cid for cid, drawn in scan.charts.items() if drawn}
    assert verdict.split(" (")[0] in dom and 'id="verdict"' in dom
    assert "updatemenu" in dom  # the scoreboard's metric menu was drawn


class LegendScan(HTMLParser):
    """The legend entries each plotly chart shows (the text of its ``legendtext`` elements)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.legends: dict[str, list[str]] = {}
        self._stack: list[str | None] = []
        self._in_legend: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        owner = next((o for o in reversed(self._stack) if o), None)
        if tag == "text" and "legendtext" in classes and owner:
            self._in_legend = owner
        if tag == "div":
            self._stack.append(a.get("id") if "plotly-graph-div" in classes else None)

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self._in_legend:
            self.legends.setdefault(self._in_legend, []).append(data)
            self._in_legend = None


@pytest.fixture(scope="module")
def track_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.unit.test_track import books
    from tests.unit.track_factory import write_prices, write_scenarios
    from theses.reports.track import write_track_report
    from theses.studies.track import track

    root = tmp_path_factory.mktemp("track-browser")
    run = track(books(), scenarios=write_scenarios(root / "scenarios"), paths=40, confusion_paths=20, years=1.0,
                source="csv", data_dir=str(write_prices(root / "prices")), decide=False)
    return write_track_report(run, root / "report")


def test_track_report_renders_with_the_realised_line_in_every_fan(track_report: Path, tmp_path: Path) -> None:
    binary = chromium_or_skip()
    index = track_report / "index.html"
    charts = re.findall(r'<div id="(chart-[^"]+)" class="plotly-graph-div"', index.read_text(encoding="utf-8"))
    fans = [c for c in charts if c.startswith("chart-fan-")]
    assert len(fans) == 3 and {"chart-odds", "chart-event", "chart-attribution"} <= set(charts)
    _, dom, _ = rendered_without_errors(binary, index, tmp_path, "track_report_browser.png")
    legends = LegendScan()
    legends.feed(dom)
    for fan in fans:  # the first book is shown: its fan and its realised path
        assert "chips_trend: realised" in legends.legends.get(fan, []), (fan, legends.legends.get(fan))
