"""Property tests of every command's options: each generated command line works or ends with one line, exit 2.

Options get values from pools of right and wrong ones (extreme and non-finite numbers, empty text, bad
dates, missing files, folders, the inputs themselves as ``--out``). For every case: no traceback, no
warning, no hang (a per-case alarm), no leftover temporary file, and nothing changed outside ``--out``
(the price files, portfolios, scenarios and holdings are hashed before and after). Work that passes the
checks runs on four synthetic tickers with a 3-second time limit (THESES_MAX_HOURS), so a large valid
request ends in the "would take ~N hours" refusal instead of running. The HTML page of a report is a stub here
(its plotly rendering is most of a run and has its own tests); every other file is written as usual.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.fuzz.helpers import assert_handled, run_cli, tree_digest
from tests.unit.test_cli_compare import write_csvs, write_portfolio

BAD_NUMBERS = ["-1", "1e9", "-1e9", "1e308", "-1e308", "nan", "inf", "-inf", "", "abc", "1_000", "0x10", "-", "1e",
               "١", "5"]
BAD_COUNTS = ["0", "-1", "-5", "2.5", "1e12", "1000000000000", "nan", "", "x", "1e400", "1e6"]
BAD_YEARS = ["0", "-1", "nan", "inf", "1000", "51", "0.001", "1e308", "x"]
BAD_DATES = ["", " ", "9999-01-04", "1600-01-03", "2024-13-01", "tomorrow", "20240301", "2031-01-01", "0"]


def pool(valid: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    """A valid value two times in three, else any value (so most cases hold at most one bad value)."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), st.sampled_from(valid + bad))


NUMBERS = pool(["0", "1", "0.04", "2.5", "1e-9", "0.5"], BAD_NUMBERS)
COUNTS = pool(["1", "2", "16", "3e1"], BAD_COUNTS)
YEARS = pool(["0.1", "0.5", "0.02"], BAD_YEARS)
DATES = pool(["2024-03-01", "2024-06-03", "2024-01-02", "2024-03-01T10:00"], BAD_DATES)
FORMATS = ["table", "json", "csv", "xml", ""]
SOURCES = ["csv", "auto", "sample", "cache", "ftp"]
_serial = itertools.count()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The inputs every case may read, and folders for what cases may write."""
    root = tmp_path_factory.mktemp("cli-fuzz")
    inputs = root / "inputs"
    write_csvs(inputs / "prices")
    (inputs / "empty").mkdir()
    (inputs / "file.txt").write_text("not a folder\n")
    (inputs / "holdings.csv").write_text("ticker,shares,cost_basis\nAAA,10,900\nBBB,-5,\nSPY,3,\n")
    (inputs / "spec.toml").write_text(
        'name = "mini"\n[groups]\nindex = ["SPY", "RSP"]\n[phases.only]\nstart = 2025-01-01\nmarket_drift = 0.05\n'
    )
    (inputs / "latin1.toml").write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    write_portfolio(inputs, "tilt", {"AAA": 0.7, "BBB": 0.3})
    write_portfolio(inputs, "spy", {"SPY": 1.0})
    (inputs / "bad.toml").write_text('name = "bad"\nrebalance = "hourly"\n[weights]\nSPY = 1\n')
    (root / "outs").mkdir()
    (root / "cwd").mkdir()
    return {"root": root, "inputs": inputs, "outs": root / "outs", "cwd": root / "cwd"}


@pytest.fixture(autouse=True)
def _bounded(ws, monkeypatch):
    monkeypatch.setenv("THESES_MAX_HOURS", "0.001")  # 3.6 s of estimated work, at most
    monkeypatch.setattr("theses.reports.html.render_page", lambda results, **kw: "<html>stub</html>\n")
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    monkeypatch.chdir(ws["cwd"])  # default report folders land here


def _paths(ws: dict[str, Path], kind: str) -> st.SearchStrategy[str]:
    i = ws["inputs"]
    common = [str(i / "missing"), "", str(i / "file.txt"), str(i / "file.txt" / "sub"), "/", str(i / "empty")]
    pools = {
        "data_dir": [str(i / "prices")] * 4 + common,
        "holdings": [str(i / "holdings.csv")] * 4 + [str(i / "prices" / "SPY.csv"), str(i / "spy.toml"), *common],
        "calibration": [str(i / "missing.json"), str(i / "file.txt"), str(i / "prices" / "SPY.csv"), ""],
    }
    return st.sampled_from(pools[kind])


def _out(ws: dict[str, Path], folder: bool) -> st.SearchStrategy[str]:
    """A fresh path under outs/ (allowed to be written), or an input that must be refused and left alone."""
    i = ws["inputs"]
    fresh = st.builds(lambda: str(ws["outs"] / f"out-{next(_serial)}" / ("" if folder else "trades.txt")))
    inputs = [str(i / "prices"), str(i / "holdings.csv"), str(i / "file.txt"), str(i / "file.txt" / "x"), "",
              str(i / "tilt.toml"), "/proc/version"]
    return st.one_of(fresh, fresh, st.sampled_from(inputs))


def _options(draw: st.DrawFn, pools: dict[str, st.SearchStrategy[str]], most: int = 5) -> list[str]:
    argv: list[str] = []
    for flag in draw(st.lists(st.sampled_from(sorted(pools)), unique=True, max_size=most)):
        value = draw(pools[flag])
        argv += [flag] if value is None else [flag, value]
    return argv


def _cost_pools() -> dict[str, st.SearchStrategy[str]]:
    numbers = NUMBERS
    return {"--fees-bps": numbers, "--slippage-bps": numbers, "--borrow-bps": numbers, "--cash-rate": numbers,
            "--risk-free": numbers, "--initial-cash": numbers, "--execution": st.sampled_from(["close", "open", "x"])}


def _window_pools(ws) -> dict[str, st.SearchStrategy[str]]:
    return {"--start": DATES, "--end": DATES,
            "--source": st.sampled_from(SOURCES), "--data-dir": _paths(ws, "data_dir")}


def check(ws: dict[str, Path], argv: list[str]) -> None:
    """The property, for one command line."""
    before = tree_digest(ws["inputs"])
    outcome = run_cli(argv)
    assert_handled(outcome, argv)
    event("works" if outcome.status == 0 else "refused in one line")
    assert tree_digest(ws["inputs"]) == before, f"an input changed: {argv}"
    leftovers = [p for p in ws["root"].rglob(".*") if ".tmp-" in p.name or ".old-" in p.name]
    assert not leftovers, (argv, leftovers)


STRATEGY_NAMES = ["index_beta", "meta_single_pick", "nope", "", "index-beta", "../x.toml", "=cmd", "a" * 300]


@settings(max_examples=45)
@given(data=st.data())
def test_backtest_options(ws, data):
    i = ws["inputs"]
    target = data.draw(st.sampled_from([
        ["--weights", "SPY=0.6,AAA=0.4"], ["--weights", "AAA=1"], [str(i / "tilt.toml")], [str(i / "spy.toml")],
        [str(i / "bad.toml")], [data.draw(st.sampled_from(STRATEGY_NAMES))],
        ["--weights", data.draw(st.sampled_from(["", "SPY", "SPY=nan", "SPY=1e308", "=,=", "SPY=1,SPY=2",
                                                 "AAA=-5,SPY=6", "ZZZ=1"]))], [],
    ]))
    pools = {**_cost_pools(), **_window_pools(ws), "--format": st.sampled_from(FORMATS),
             "--rebalance": st.sampled_from(["monthly", "none", "hourly"]), "--out": _out(ws, folder=True)}
    argv = ["backtest", *target, "--source", "csv", "--data-dir", str(i / "prices")]
    check(ws, argv + _draw_options(data, pools))


def _draw_options(data: st.DataObject, pools: dict[str, st.SearchStrategy[str]], most: int = 5) -> list[str]:
    return data.draw(st.composite(lambda draw: _options(draw, pools, most))())


@settings(max_examples=30)
@given(data=st.data())
def test_compare_options(ws, data):
    i = ws["inputs"]
    names = data.draw(st.lists(st.sampled_from([str(i / "tilt.toml"), str(i / "spy.toml"), str(i / "bad.toml"),
                                                "nope", str(i / "tilt.toml")]), min_size=1, max_size=3))
    pools = {**_cost_pools(), **_window_pools(ws), "--format": st.sampled_from(FORMATS),
             "--sort": st.sampled_from(["sharpe", "cagr", "costs", "luck"]), "--since-essay": st.none(),
             "--out": _out(ws, folder=True)}
    check(ws, ["compare", *names, "--source", "csv", "--data-dir", str(i / "prices"), *_draw_options(data, pools)])


@settings(max_examples=40)
@given(data=st.data())
def test_simulate_options(ws, data):
    i = ws["inputs"]
    scenario = data.draw(st.sampled_from(["jetsons", str(i / "spec.toml"), "jetson", "", str(i / "latin1.toml"),
                                          str(i / "missing.toml"), "jetsons,jetsons", str(i / "file.txt")]))
    pools = {"--paths": COUNTS, "--years": YEARS, "--seed": COUNTS,
             "--chunk-size": COUNTS, "--start": DATES,
             "--method": st.sampled_from(["t", "bootstrap", "magic"]), "--mean-block": NUMBERS,
             "--probabilities": st.sampled_from(["mini=1", "jetsons=1", "x", "", "jetsons=nan"]),
             "--calibration": _paths(ws, "calibration"), "--format": st.sampled_from(FORMATS),
             "--out": _out(ws, folder=True), **_cost_pools()}
    base = ["simulate", str(i / "spy.toml"), "--scenario", scenario, "--paths", "8", "--years", "0.1"]
    check(ws, base + _draw_options(data, pools))


@settings(max_examples=12)  # each working case runs two simulations and the mix optimisation (~1 s)
@given(data=st.data())
def test_decide_options(ws, data):
    i = ws["inputs"]
    pools = {"--paths": COUNTS, "--years": YEARS, "--seed": COUNTS, "--oos-seed": COUNTS,
             "--risk-aversion": pool(["1", "2", "5"], BAD_NUMBERS), "--max-weight": pool(["1", "0.6"], BAD_NUMBERS),
             "--probabilities": st.sampled_from(["mini=1", "x", "mini=nan"]), "--format": st.sampled_from(FORMATS),
             "--out": _out(ws, folder=True), **_cost_pools()}
    base = ["decide", str(i / "spy.toml"), "index_beta", "--scenario", str(i / "spec.toml"), "--paths", "8",
            "--years", "0.1"]
    check(ws, base + _draw_options(data, pools, most=4))


@settings(max_examples=45)
@given(data=st.data())
def test_rebalance_options(ws, data):
    i = ws["inputs"]
    strategy = data.draw(st.sampled_from([str(i / "tilt.toml"), str(i / "spy.toml"), "nope", str(i / "bad.toml")]))
    pools = {"--cash": NUMBERS, "--as-of": DATES, "--whole-shares": st.none(),
             "--min-trade": NUMBERS, "--bands": NUMBERS,
             "--fees-bps": NUMBERS, "--format": st.sampled_from(FORMATS),
             "--source": st.sampled_from(SOURCES), "--out": _out(ws, folder=False)}
    argv = ["rebalance", strategy, "--holdings", data.draw(_paths(ws, "holdings")), "--data-dir", str(i / "prices"),
            "--source", "csv"]
    check(ws, argv + _draw_options(data, pools, most=6))


@settings(max_examples=25)
@given(data=st.data())
def test_calibrate_options(ws, data):
    pools = {"--tickers": pool(["SPY,RSP", "spy,rsp,aaa"], ["", ",", "SPY", "ZZZ,SPY", "SPY,,RSP"]),
             "--start": DATES, "--end": DATES,
             "--min-obs": pool(["50", "100"], BAD_COUNTS), "--data-dir": _paths(ws, "data_dir")}
    fresh = st.builds(lambda: str(ws["outs"] / f"cal-{next(_serial)}.json"))
    out = data.draw(st.one_of(fresh, fresh,
                              st.sampled_from([str(ws["inputs"] / "prices"), str(ws["inputs"] / "file.txt" / "c.json"),
                                               str(ws["inputs"] / "empty")])))
    check(ws, ["calibrate", "--out", out, "--min-obs", "50", "--data-dir", str(ws["inputs"] / "prices"),
               *_draw_options(data, pools)])


@settings(max_examples=15)
@given(data=st.data())
def test_demo_options_refused_before_any_work(ws, data):
    # Every case holds at least one bad value, so each is refused before the demo's work begins (the full
    # demo runs in tests/unit/test_cli_demo.py).
    bad = data.draw(st.sampled_from([["--years", "nan"], ["--paths", "1e12"], ["--paths", "0"], ["--seed", "-1"],
                                     ["--data-dir", str(ws["inputs"] / "file.txt")], ["--years", "1000"],
                                     ["--out", str(ws["inputs"] / "prices")], ["--paths", "x"]]))
    pools = {"--paths": st.sampled_from(["10", "1e12"]), "--years": st.sampled_from(["0.1", "nan"])}
    argv = ["demo", *_draw_options(data, pools, most=1), *bad]
    check(ws, argv)
    assert run_cli(argv).status == 2


@settings(max_examples=15)
@given(data=st.data())
def test_sweep_options(ws, data):
    i = ws["inputs"]
    grid = data.draw(pool(["weights.AAA=0.5,0.7", "weights.AAA=0.6:0.8:0.1"],
                          ["", "weights.AAA=", "weights.ZZZ=1", "weights.AAA=nan", "x", "weights.AAA=1:0:1",
                           "weights.AAA=0:1:0"]))
    pools = {"--on": st.sampled_from(["history", "scenarios", "history", "nowhere"]), "--paths": COUNTS,
             "--years": YEARS, "--seed": COUNTS, "--block-size": COUNTS, "--scenario": st.just(str(i / "spec.toml")),
             "--objective": st.sampled_from(["sharpe", "cagr", "ce", "luck"]),
             "--risk-aversion": pool(["2"], BAD_NUMBERS), "--walk-forward": st.sampled_from(["3m/1m", "0y/0y", "x"]),
             "--out": _out(ws, folder=True), **_window_pools(ws), **_cost_pools()}
    strategy = data.draw(st.sampled_from([str(i / "tilt.toml"), str(i / "tilt.toml"), str(i / "bad.toml")]))
    argv = ["sweep", strategy, "--grid", grid, "--source", "csv", "--data-dir", str(i / "prices")]
    check(ws, argv + _draw_options(data, pools, most=4))


@settings(max_examples=15)
@given(data=st.data())
def test_track_options_refused_before_any_work(ws, data):
    # track needs every scenario ticker's real history; each case holds a bad value (the full run is in
    # tests/unit/test_track.py and tests/integration/test_track_real.py).
    bad = data.draw(st.sampled_from([["--years", "nan"], ["--paths", "1e12"], ["--paths", "0"], ["--seed", "-1"],
                                     ["--confusion-paths", "2.5"], ["--as-of", ""], ["--as-of", "9999-01-01"],
                                     ["--out", str(ws["inputs"] / "prices")], ["--scenario", "nope"],
                                     ["--data-dir", str(ws["inputs"] / "file.txt")], ["--format", "xml"]]))
    argv = ["track", "--no-decision", *_draw_options(data, {"--paths": st.just("16")}, most=1), *bad]
    check(ws, argv)
    assert run_cli(argv).status == 2


@settings(max_examples=15)
@given(data=st.data())
def test_data_and_list_options(ws, data):
    argv = data.draw(st.sampled_from([
        ["data", "status", "--data-dir", data.draw(_paths(ws, "data_dir"))], ["data"], ["data", "status"],
        ["list"], ["list", "--format", "json"], ["data", "fetch"], ["data", "fetch", "--start", "x", "SPY"],
    ]))
    check(ws, argv)


@settings(max_examples=30)
@given(argv=st.lists(st.sampled_from(["backtest", "simulate", "decide", "sweep", "rebalance", "calibrate", "data", "list", "--paths", "--out", "-1e9", "--cash", "-", "--", "--debug", "x",
                                      "--weights", "SPY=1", "--years", "nan", "--help=1", "-x", "--format"]),
                     max_size=5))
def test_random_command_lines(ws, argv):
    # (compare and demo without options load every strategy's history: covered above with options.)
    if "--debug" in argv:
        argv = [a for a in argv if a != "--debug"]  # --debug shows tracebacks on purpose
    check(ws, argv)
