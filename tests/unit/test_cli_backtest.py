"""``theses backtest`` end to end on synthetic CSVs: inline weights, JSON output, reports and user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.unit.test_cli_compare import write_csvs
from theses.cli.main import main


@pytest.fixture
def prices_dir(tmp_path: Path) -> Path:
    write_csvs(tmp_path / "prices")
    return tmp_path / "prices"


def run_json(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_inline_buy_and_hold_return_is_the_price_ratio_of_the_executed_window(prices_dir, capsys):
    doc = run_json(
        capsys, "backtest", "--weights", "SPY=1", "--rebalance", "none", "--format", "json", "--source", "csv",
        "--data-dir", str(prices_dir), "--fees-bps", "0", "--slippage-bps", "0",
    )
    close = pd.read_csv(prices_dir / "SPY.csv", index_col="Date", parse_dates=True)["Close"]
    # Weights of day 0 trade at day 1's close; the metrics window starts at the decision bar (day 0, still in
    # cash), so the first return is 0 and the total return is the price ratio from day 1's close.
    assert doc["start"] == close.index[0].strftime("%Y-%m-%d")
    assert doc["metrics"]["total_return"] == pytest.approx(close.iloc[-1] / close.iloc[1] - 1, rel=1e-12)
    assert doc["metrics"]["costs"] == 0.0
    assert set(doc["benchmarks"]) == {"SPY", "RSP"}
    assert doc["benchmarks"]["SPY"]["total_return"] == pytest.approx(doc["metrics"]["total_return"], rel=1e-12)


def test_json_holds_the_documented_keys_and_costs_are_charged(prices_dir, capsys):
    doc = run_json(
        capsys, "backtest", "--weights", "AAA=0.6,BBB=0.6,SPY=-0.2", "--rebalance", "weekly", "--format", "json",
        "--source", "csv", "--data-dir", str(prices_dir), "--fees-bps", "5", "--borrow-bps", "100",
    )
    assert doc["strategy"] == "inline"
    for key in ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "turnover", "costs"):
        assert isinstance(doc["metrics"][key], float), key
    assert doc["metrics"]["fees"] > 0 and doc["metrics"]["borrow"] > 0
    assert doc["metrics"]["costs"] == pytest.approx(
        doc["metrics"]["fees"] + doc["metrics"]["slippage"] + doc["metrics"]["borrow"], rel=1e-12
    )
    assert doc["config"]["costs"]["fees_bps"] == 5.0


def test_out_writes_a_report_with_the_same_metrics(prices_dir, tmp_path, capsys):
    out = tmp_path / "report"
    doc = run_json(
        capsys, "backtest", "--weights", "AAA=0.5,BBB=0.5", "--format", "json", "--source", "csv",
        "--data-dir", str(prices_dir), "--out", str(out),
    )
    assert (out / "index.html").is_file()
    written = json.loads((out / "metrics.json").read_text())
    assert written["strategies"]["inline"]["total_return"] == doc["metrics"]["total_return"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["backtest"], "name a strategy"),
        (["backtest", "index_beta", "--weights", "SPY=1"], "either a STRATEGY or --weights"),
        (["backtest", "--weights", "SPY:1"], '--weights item "SPY:1" is not TICKER=FRACTION'),
        (["backtest", "--weights", "SPY=1,SPY=0.5"], "names SPY twice"),
        (["backtest", "essay_bok"], "essay_book"),
        (["backtest", "missing/portfolio.toml"], "portfolio file missing/portfolio.toml not found"),
        (["backtest", "--weights", "AAA=2,BBB=2"], "gross"),
        (["backtest", "--weights", "ZZZ=1"], "ZZZ"),
    ],
)
def test_user_errors_are_one_line_with_exit_code_2(prices_dir, capsys, argv, expected):
    code = main([*argv, "--source", "csv", "--data-dir", str(prices_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(prices_dir):
    from theses.strategies import StrategyError

    with pytest.raises(StrategyError):
        main(["--debug", "backtest", "essay_bok", "--source", "csv", "--data-dir", str(prices_dir)])
