"""Bad input on every command ends with one line and exit 2, before any work or output, touching no input.

Each case here is one a user met: absurd sizes, non-finite and out-of-range numbers, empty dates, unreadable
files, outputs that cannot be written or would replace an input, broken pipes.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.helpers import PROGRESS_LINE, assert_refused, run_cli, tree_digest
from tests.unit.test_cli_compare import write_csvs, write_portfolio
from theses.cli.main import EXIT_BROKEN_PIPE, build_parser, main


@pytest.fixture
def ws(tmp_path: Path) -> dict[str, Path]:
    write_csvs(tmp_path / "prices")
    (tmp_path / "holdings.csv").write_text("ticker,shares,cost_basis\nAAA,10,900\nSPY,2,\n")
    (tmp_path / "notes.txt").write_text("a file, not a folder\n")
    return {"root": tmp_path, "prices": tmp_path / "prices", "holdings": tmp_path / "holdings.csv",
            "tilt": write_portfolio(tmp_path, "tilt", {"AAA": 0.7, "BBB": 0.3}), "file": tmp_path / "notes.txt"}


def backtest(ws, *extra: str) -> list[str]:
    return ["backtest", "--weights", "AAA=0.5,BBB=0.5", "--source", "csv", "--data-dir", str(ws["prices"]), *extra]


def rebalance(ws, *extra: str) -> list[str]:
    return ["rebalance", str(ws["tilt"]), "--holdings", str(ws["holdings"]), "--source", "csv",
            "--data-dir", str(ws["prices"]), *extra]


# ---------------------------------------------------------------------------------------- work that cannot finish
@pytest.mark.parametrize("argv", [
    ["simulate", "--paths", "1000000000000"],
    ["simulate", "--paths", "1e12"],
    ["simulate", "--paths", "100000000", "--years", "5"],
    ["demo", "--paths", "1e12"],
])
def test_work_that_cannot_fit_in_memory_is_refused_with_what_fits(argv):
    line = assert_refused(run_cli(argv), "would need", "of memory", "use --paths <= ")
    fit = int(line.split("use --paths <= ")[1].split(",")[0].replace(",", "") or 0)
    assert fit < 10**8


def test_work_past_the_time_limit_is_refused_with_what_fits(monkeypatch):
    monkeypatch.setenv("THESES_MAX_HOURS", "0.01")
    line = assert_refused(run_cli(["simulate", "--paths", "200000", "--scenario", "jetsons"]),
                          "hours here", "THESES_MAX_HOURS", "use --paths <= ")
    assert "limit 0.01 h" in line


# -------------------------------------------------------------------------------------- numbers out of range
@pytest.mark.parametrize(("argv", "needles"), [
    (["simulate", "--years", "nan"], ["--years nan", "finite"]),
    (["simulate", "--years", "inf"], ["--years inf", "finite"]),
    (["simulate", "--years", "1000"], ["--years 1000", "0.01 to 50"]),
    (["simulate", "--seed", "-1"], ["--seed -1", "out of range"]),
    (["simulate", "--paths", "0"], ["--paths 0", "at least one path"]),
    (["simulate", "--chunk-size", "-3"], ["--chunk-size -3"]),
    (["simulate", "--mean-block", "nan"], ["--mean-block nan"]),
    (["simulate", "--start", ""], ["--start ''", "YYYY-MM-DD"]),
    (["simulate", "--start", "2024-13-01"], ["--start '2024-13-01'"]),
    (["demo", "--years", "nan"], ["--years nan"]),
    (["demo", "--seed", "-1"], ["--seed -1"]),
])
def test_simulation_options_are_checked_before_any_work(argv, needles):
    assert_refused(run_cli(argv), *needles)


@pytest.mark.parametrize(("extra", "needles"), [
    (["--fees-bps", "1e9"], ["--fees-bps 1e+09", "0 to 1000"]),
    (["--slippage-bps", "-1"], ["--slippage-bps -1", "0 to 1000"]),
    (["--borrow-bps", "inf"], ["--borrow-bps inf", "finite"]),
    (["--risk-free", "5"], ["--risk-free 5", "-0.1 to 0.5", "0.04 for 4%"]),
    (["--cash-rate", "5"], ["--cash-rate 5", "-0.1 to 0.5"]),
    (["--cash-rate", "-1e9"], ["--cash-rate -1e+09"]),
    (["--initial-cash", "0"], ["--initial-cash 0", "0.01 to 1e+12"]),
    (["--initial-cash", "-1e9"], ["--initial-cash -1e+09"]),
    (["--initial-cash", "nan"], ["--initial-cash nan"]),
    (["--start", ""], ["start date is empty", "YYYY-MM-DD"]),
    (["--end", ""], ["end date is empty"]),
    (["--start", "9999-01-04"], ["9999-01-04"]),
])
def test_backtest_cost_and_window_options_are_checked(ws, extra, needles):
    before = tree_digest(ws["root"])
    outcome = run_cli(backtest(ws, *extra))
    assert_refused(outcome, *needles)
    assert outcome.out == "" and tree_digest(ws["root"]) == before


def test_initial_cash_is_used_as_given(ws):
    outcome = run_cli(backtest(ws, "--initial-cash", "2500", "--format", "json"))
    assert outcome.status == 0
    assert json.loads(outcome.out)["config"]["initial_cash"] == 2500.0


@pytest.mark.parametrize(("extra", "needles"), [
    (["--whole-shares", "--cash", "1e308"], ["--cash 1e+308", "out of range"]),
    (["--cash", "-1e308"], ["--cash -1e+308"]),
    (["--cash", "inf"], ["--cash inf", "finite"]),
    (["--min-trade", "-5"], ["--min-trade -5"]),
    (["--bands", "5"], ["--bands 5", "0 to 1"]),
    (["--fees-bps", "1e9"], ["--fees-bps 1e+09"]),
    (["--as-of", ""], ["--as-of ''"]),
    (["--as-of", "9999-99-99"], ["--as-of '9999-99-99'"]),
])
def test_rebalance_amounts_are_checked(ws, extra, needles):
    assert_refused(run_cli(rebalance(ws, *extra)), *needles)


def test_rebalance_of_a_huge_account_is_refused_not_hung(ws):
    from theses.data.holdings import MAX_AMOUNT
    from theses.studies.rebalance import MAX_AMOUNT as REBALANCE_MAX

    assert REBALANCE_MAX == MAX_AMOUNT  # one bound for cash, holdings amounts and the account
    ws["holdings"].write_text("ticker,shares\nAAA,1e10\n")  # each figure within its own bound ...
    outcome = run_cli(rebalance(ws, "--whole-shares", "--cash", "9.9e12"), timeout=30)
    assert_refused(outcome, "worth", "more than 10,000,000,000,000")  # ... the account beyond it


@pytest.mark.parametrize(("argv_extra", "needle"), [
    (["--tickers", ""], "--tickers is empty"),
    (["--tickers", ","], "--tickers is empty"),
])
def test_calibrate_needs_tickers(ws, argv_extra, needle):
    argv = ["calibrate", "--data-dir", str(ws["prices"]), "--out", str(ws["root"] / "c.json"), *argv_extra]
    assert_refused(run_cli(argv), needle)


def test_demo_data_dir_that_is_a_file_is_refused(ws):
    assert_refused(run_cli(["demo", "--data-dir", str(ws["file"])]), "--data-dir", "is a file")


# --------------------------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize(("argv", "needles"), [
    (["list", "--bogus"], ["unrecognized arguments: --bogus", "see `theses --help`"]),
    (["simulate", "--paths", "x"], ["theses simulate: --paths: invalid count value: 'x'", "e.g. theses simulate --paths 2000"]),
    (["simulate", "--format", "xml"], ["--format: invalid choice: 'xml'", "e.g. theses simulate --format table"]),
    (["rebalance", "index_beta"], ["required: --holdings", "e.g. theses rebalance --holdings holdings.csv"]),
    (["backtest", "--fees-bps"], ["--fees-bps: expected one argument", "e.g. theses backtest --fees-bps 1"]),
    (["nosuchcommand"], ["invalid choice: 'nosuchcommand'"]),
    ([], ["no command given"]),
    (["backtest", "--cash", "5"], ["unrecognized arguments: --cash"]),  # no abbreviation of --cash-rate
])
def test_usage_errors_are_one_line_naming_the_option_and_an_example(argv, needles):
    assert_refused(run_cli(argv), *needles)


@pytest.mark.parametrize("value", ["-1e9", "-1E+09", "-2.5e-3", "-inf", "-.5"])
def test_negative_numbers_in_any_notation_are_option_values(value):
    args = build_parser().parse_args(["rebalance", "x", "--holdings", "h.csv", "--cash", value])
    assert args.cash == float(value)


@pytest.mark.parametrize(("text", "expected"), [("2000", 2000), ("2e3", 2000), ("1_000", 1000), ("-1", -1)])
def test_counts_may_be_written_in_scientific_notation(text, expected):
    assert build_parser().parse_args(["simulate", "--paths", text]).paths == expected


# ------------------------------------------------------------------------------------------------- outputs
def test_rebalance_out_equal_to_holdings_is_refused_and_the_holdings_kept(ws, monkeypatch):
    before = ws["holdings"].read_bytes()
    assert_refused(run_cli(rebalance(ws, "--out", str(ws["holdings"]))), "--holdings file")
    monkeypatch.chdir(ws["root"])  # the same file by another name
    assert_refused(run_cli(rebalance(ws, "--out", "./holdings.csv", "--format", "csv")), "--holdings file")
    link = ws["root"] / "link.csv"
    link.symlink_to(ws["holdings"])
    assert_refused(run_cli(rebalance(ws, "--out", str(link))), "--holdings file")
    assert ws["holdings"].read_bytes() == before


def test_rebalance_out_equal_to_the_portfolio_is_refused(ws):
    before = ws["tilt"].read_bytes()
    assert_refused(run_cli(rebalance(ws, "--out", str(ws["tilt"]))), "portfolio file")
    assert ws["tilt"].read_bytes() == before


def _read_only(monkeypatch, folder: Path) -> None:
    """Make ``folder`` unwritable for the project (root ignores file modes, so the check is patched too)."""
    real_access, real_mkdtemp, real_mkstemp = os.access, __import__("tempfile").mkdtemp, __import__("tempfile").mkstemp

    def access(path, mode, *args, **kwargs):
        if Path(path).resolve() == folder.resolve() and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    def refuse(real):
        def make(*args, dir=None, **kwargs):  # noqa: A002
            if dir is not None and Path(dir).resolve() == folder.resolve():
                raise PermissionError(13, "Permission denied", str(dir))
            return real(*args, dir=dir, **kwargs)
        return make

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr("tempfile.mkdtemp", refuse(real_mkdtemp))
    monkeypatch.setattr("tempfile.mkstemp", refuse(real_mkstemp))
    folder.chmod(0o555)


@pytest.mark.parametrize("command", ["backtest", "compare", "simulate", "decide", "calibrate", "demo"])
def test_out_in_a_read_only_folder_fails_before_any_result_is_printed(ws, monkeypatch, command):
    locked = ws["root"] / "locked"
    locked.mkdir()
    _read_only(monkeypatch, locked)
    out = str(locked / ("cal.json" if command == "calibrate" else "report"))
    argv = {
        "backtest": backtest(ws, "--out", out),
        "compare": ["compare", str(ws["tilt"]), "--source", "csv", "--data-dir", str(ws["prices"]), "--out", out],
        "simulate": ["simulate", "index_beta", "--scenario", "jetsons", "--paths", "4", "--years", "0.1", "--out", out],
        "decide": ["decide", "index_beta", "--scenario", "jetsons", "--paths", "4", "--years", "0.1", "--out", out],
        "calibrate": ["calibrate", "--data-dir", str(ws["prices"]), "--min-obs", "50", "--out", out],
        "demo": ["demo", "--paths", "4", "--years", "0.1", "--out", out],
    }[command]
    try:
        outcome = run_cli(argv)
    finally:
        locked.chmod(0o755)
    assert_refused(outcome, str(locked), "not writable")
    assert outcome.out == "" and list(locked.iterdir()) == []


@pytest.mark.parametrize("command", ["backtest", "simulate", "demo"])
def test_out_under_a_file_is_refused_in_one_line(ws, command):
    out = str(ws["file"] / "report")
    argv = {"backtest": backtest(ws, "--out", out), "demo": ["demo", "--out", out],
            "simulate": ["simulate", "--scenario", "jetsons", "--paths", "4", "--years", "0.1", "--out", out]}[command]
    outcome = run_cli(argv)
    assert_refused(outcome, "is not a folder")
    assert outcome.out == ""


def test_unreadable_price_file_is_one_line(ws, monkeypatch):
    target = ws["prices"] / "AAA.csv"
    real_open = Path.open

    def guarded(self, *args, **kwargs):
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)
    assert_refused(run_cli(backtest(ws)), "AAA.csv", "cannot be read", "Permission denied")


def test_non_utf8_scenario_file_is_one_line(ws):
    spec = ws["root"] / "latin1.toml"
    spec.write_bytes('name = "mini"\n# caf\xe9\n'.encode("latin-1"))
    assert_refused(run_cli(["simulate", "--scenario", str(spec), "--paths", "4"]), "latin1.toml line 2", "UTF-8")


def test_data_status_names_a_corrupt_file_on_stderr_with_exit_2(ws):
    (ws["prices"] / "BAD.csv").write_text("Date,Close\n2024-01-02,abc\n")
    outcome = run_cli(["data", "status", "--data-dir", str(ws["prices"])])
    assert outcome.status == 2
    assert "SPY" in outcome.out  # the table still prints
    assert_refused(outcome, "BAD.csv line 2", "Close value 'abc'")


# --------------------------------------------------------------------------------------------- broken pipes
class _ClosedPipe(io.StringIO):
    def write(self, text):  # noqa: ARG002
        raise BrokenPipeError(32, "Broken pipe")


def test_broken_pipe_of_plain_output_exits_quietly(monkeypatch, capsys, ws):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(backtest(ws, "--format", "json")) == EXIT_BROKEN_PIPE
    err = capsys.readouterr().err  # nothing but progress lines (printed when a busy machine takes over 2 s)
    assert [line for line in err.splitlines() if not PROGRESS_LINE.search(line)] == []


def test_broken_pipe_of_a_real_pipe_exits_quietly(tmp_path):
    # The reader goes away before the command writes its table (as `theses list | head -0` does).
    code = "import sys; from theses.cli.main import main; sys.exit(main(['list']))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    # (a rich table: rich's own broken-pipe handling, which exits 1 quietly like the plain output above)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_BROKEN_PIPE, err
    assert err == b""


# ------------------------------------------------------------------------------------------------ file modes
def test_every_file_written_gets_the_mode_the_umask_gives(ws, monkeypatch):
    import stat

    original = os.umask(0o027)
    try:
        trades = ws["root"] / "trades.json"
        assert run_cli(rebalance(ws, "--format", "json", "--out", str(trades))).status == 0
        calibration = ws["root"] / "cal.json"
        assert run_cli(["calibrate", "--data-dir", str(ws["prices"]), "--min-obs", "50",
                        "--out", str(calibration)]).status == 0
        report = ws["root"] / "report"
        assert run_cli(backtest(ws, "--out", str(report))).status == 0
    finally:
        os.umask(original)
    for path in (trades, calibration, *report.iterdir()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    assert stat.S_IMODE(report.stat().st_mode) == 0o750


# ------------------------------------------------------------------------------------------- scenario priors
def test_priors_of_the_scenarios_run_that_sum_to_zero_are_one_line(ws):
    text = ('prior = 0.0\n[groups]\nindex = ["SPY", "RSP"]\n[phases.only]\nstart = 2025-01-01\n'
            'market_drift = 0.05\n')
    specs = []
    for name in ("a", "b"):
        (ws["root"] / f"{name}.toml").write_text(text)
        specs.append(str(ws["root"] / f"{name}.toml"))
    outcome = run_cli(["simulate", "index_beta", "--scenario", ",".join(specs), "--paths", "4", "--years", "0.1"])
    assert_refused(outcome, "priors of the scenarios run sum to 0")


@pytest.mark.parametrize(("given", "needle"), [
    ("jetsons=0.5,take_off=0.2", "sum to 0.7"), ("jetsons=-0.5,take_off=1.5", "jetsons=-0.5 is not a probability"),
    ("jetsons=1", "no probability for scenario 'take_off'"),
])
def test_probabilities_that_are_not_a_distribution_are_one_line(given, needle):
    argv = ["simulate", "index_beta", "--scenario", "jetsons,take_off", "--paths", "4", "--years", "0.1",
            "--probabilities", given]
    assert_refused(run_cli(argv), needle)
