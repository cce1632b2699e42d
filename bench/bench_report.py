"""Report size and render time in headless Chromium: the history comparison and the scenario report.

Builds (or takes, with ``--page``) report pages and opens each in a fresh headless Chromium, driven over the
DevTools protocol (``websockets``, a yfinance dependency), in real time (no virtual time). For each page it
prints the file size and, from the page's own timing API:

* ``first paint``: ``first-contentful-paint`` of the Paint Timing API (text and tables on screen);
* ``charts shown``: when the charts in the first screen have drawn (the report's loader records
  ``window.__report.firstScreen``; pages without the loader: every plotly div has an ``svg``);
* ``all charts``: when every chart of the page has drawn (``window.__report.allDone``).

Targets (history report <= 4 MB, first paint <= 3 s) are printed beside the figures, as ratios; nothing
here passes or fails. Run: ``python bench/bench_report.py`` (needs THESES_DATA_DIR and ``chromium``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_BYTES = 4_000_000
TARGET_FIRST_PAINT = 3.0

# Polled in the page: the loader's marks when present, else "every plotly div holds an svg".
PROBE = """(() => {
  const r = window.__report || {};
  const divs = Array.from(document.querySelectorAll('.plotly-graph-div, [data-figure]'));
  const drawn = divs.filter(d => d.querySelector('svg.main-svg')).length;
  const paint = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
  return JSON.stringify({fcp: paint ? paint.startTime : null, first: r.firstScreen || null,
                         all: r.allDone || null, drawn: drawn, total: divs.length, now: performance.now(),
                         ready: document.readyState === 'complete'});
})()"""


class Chromium:
    """One headless Chromium with a DevTools websocket, closed on exit."""

    def __init__(self, binary: str) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="bench-chromium-"))
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1400,1000",
             f"--user-data-dir={self.profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.is_file() or len(port_file.read_text().split()) < 2:
            if time.monotonic() > deadline:
                raise SystemExit("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = port_file.read_text().split()[0]
        self.port = int(port)
        self._id = 0

    def page_socket(self):  # noqa: ANN201 - websockets' connection type
        import urllib.request

        from websockets.sync.client import connect

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list") as answer:
            targets = json.load(answer)
        page = next(t for t in targets if t.get("type") == "page")
        return connect(page["webSocketDebuggerUrl"], max_size=2**26)

    def call(self, ws, method: str, **params: object) -> dict:  # noqa: ANN001
        self._id += 1
        ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(ws.recv())
            if message.get("id") == self._id:
                return message.get("result", {})

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def measure(binary: str, page: Path, timeout: float = 90.0) -> dict[str, float | None]:
    """Open ``page`` and poll until every chart has drawn (or ``timeout``); times in seconds."""
    browser = Chromium(binary)
    try:
        with browser.page_socket() as ws:
            browser.call(ws, "Page.enable")
            browser.call(ws, "Page.navigate", url=page.resolve().as_uri())
            deadline = time.monotonic() + timeout
            state: dict = {}
            while time.monotonic() < deadline:
                result = browser.call(ws, "Runtime.evaluate", expression=PROBE, returnByValue=True)
                value = result.get("result", {}).get("value")
                state = json.loads(value) if value else {}
                if state.get("ready") and state.get("fcp") is not None and state.get("total") and (
                        state.get("all") or state.get("drawn") == state.get("total")):
                    break
                time.sleep(0.1)
            if state.get("total") and state.get("drawn") == state.get("total") and not state.get("all"):
                state["all"] = state["now"]  # old pages: the poll that saw every svg
            if state.get("first") is None:
                state["first"] = state.get("all")
    finally:
        browser.close()
    seconds = {k: (state.get(k) / 1000.0 if isinstance(state.get(k), int | float) else None)
               for k in ("fcp", "first", "all")}
    return {**seconds, "charts": state.get("total")}


def build_pages(out: Path, data_dir: str | None) -> list[tuple[str, Path]]:
    """The history comparison (every strategy, full history) and a scenario report beside it."""
    import theses
    from theses.reports import write_report, write_simulation_report

    comparison = theses.compare(data_dir=data_dir)
    history = write_report(comparison.results, out / "history", title=comparison.title, context=comparison.header())
    sim = theses.simulate(None, scenarios="all", paths=1000, years=5, seed=2024)
    scenarios = write_simulation_report(sim.results, sim.report_meta(), out / "scenarios",
                                        title="The essay's scenarios", context=sim.header(),
                                        results=comparison.results)
    return [("history", history / "index.html"), ("scenarios", scenarios / "index.html")]


def _seconds(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", action="append", default=[], metavar="HTML",
                        help="measure this page instead of building the reports (repeatable)")
    parser.add_argument("--data-dir", default=os.environ.get("THESES_DATA_DIR"))
    parser.add_argument("--repeat", type=int, default=2, help="opens per page; the best time is printed")
    args, _ = parser.parse_known_args()
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        print("chromium not found: apt-get install -y chromium")
        return 0
    if args.page:
        pages = [(Path(p).parent.name or p, Path(p)) for p in args.page]
    else:
        if not args.data_dir:
            print("set THESES_DATA_DIR (or --data-dir) to the price CSVs")
            return 0
        pages = build_pages(Path(tempfile.mkdtemp(prefix="bench-report-")), args.data_dir)
    print(f"{'page':12} {'MB':>6} {'x 4 MB':>7} {'charts':>6} {'first paint s':>13} {'x 3 s':>6} "
          f"{'charts shown s':>14} {'all charts s':>12}")
    for label, page in pages:
        runs = [measure(binary, page) for _ in range(max(args.repeat, 1))]

        def best(key: str, runs: list = runs) -> float | None:
            values = [r[key] for r in runs if r[key] is not None]
            return min(values) if values else None

        size = page.stat().st_size
        fcp, first, every = best("fcp"), best("first"), best("all")
        ratio = f"{fcp / TARGET_FIRST_PAINT:.2f}" if fcp is not None else "-"
        print(f"{label:12} {size / 1e6:6.2f} {size / TARGET_BYTES:7.2f} {runs[0]['charts'] or 0:6} "
              f"{_seconds(fcp):>13} {ratio:>6} {_seconds(first):>14} {_seconds(every):>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
