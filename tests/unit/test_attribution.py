"""Sleeve attribution: ticker P&L against a plain loop over shares and prices; contributions sum to the return."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theses.engine import BacktestConfig, CostModel, EngineError, RebalanceRule, backtest
from theses.engine.attribution import (
    COSTS_AND_CASH,
    TOTAL,
    period_contributions,
    sleeve_contributions,
    ticker_pnl,
)
from theses.engine.result import BacktestResult

TICKERS = ("AAA", "BBB", "CCC", "SPY")
SLEEVES = {"growth": ("AAA", "BBB"), "short": ("CCC",), "index": ("SPY",)}


def market(n: int = 600, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Closes and opens: seeded random walks; opens between the previous close and the close."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2022-01-03", periods=n, name="date")
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, (n, len(TICKERS))), axis=0))
    gap = rng.uniform(0.2, 0.8, close.shape)
    opens = np.vstack([close[:1], close[:-1] + gap[1:] * (close[1:] - close[:-1])])
    return (pd.DataFrame(close, index=index, columns=TICKERS), pd.DataFrame(opens, index=index, columns=TICKERS))


def run(execution: str) -> tuple[BacktestResult, pd.DataFrame, pd.DataFrame]:
    close, opens = market()
    weights = pd.DataFrame({"AAA": 0.4, "BBB": 0.3, "CCC": -0.2, "SPY": 0.4}, index=close.index)
    weights.iloc[:40] = np.nan  # enter late: the window starts at bar 40
    config = BacktestConfig(costs=CostModel(fees_bps=5, slippage_bps=5, borrow_bps=200, cash_rate=0.03),
                            rebalance=RebalanceRule("monthly"), execution=execution)
    result = backtest(close, weights, config, open_prices=opens, name="book")
    return result, close, opens


def plain_loop_pnl(result: BacktestResult, close: pd.DataFrame, opens: pd.DataFrame, execution: str) -> np.ndarray:
    """Held shares times the price move, split at the execution price on a trading bar (independent of weights)."""
    shares = result.positions.to_numpy()
    px_close = close.to_numpy()
    px_exec = opens.to_numpy() if execution == "open" else px_close
    out = np.zeros_like(shares)
    for t in range(1, len(shares)):
        for i in range(shares.shape[1]):
            before, after = shares[t - 1, i], shares[t, i]
            out[t, i] = before * (px_exec[t, i] - px_close[t - 1, i]) + after * (px_close[t, i] - px_exec[t, i])
    return out


@pytest.mark.parametrize("execution", ["close", "open"])
def test_ticker_pnl_equals_a_plain_loop_and_adds_up_to_equity(execution):
    result, close, opens = run(execution)
    pnl = ticker_pnl(result)
    np.testing.assert_allclose(pnl.to_numpy(), plain_loop_pnl(result, close, opens, execution), rtol=0, atol=1e-8)
    costs = result.costs
    cash = costs["interest"] - costs["borrow"] - costs["fees"] - costs["slippage"]
    np.testing.assert_allclose((pnl.sum(axis=1) + cash).to_numpy()[1:], np.diff(result.equity.to_numpy()),
                               rtol=0, atol=1e-8)


@pytest.mark.parametrize("execution", ["close", "open"])
def test_contributions_sum_exactly_to_the_total_return(execution):
    result, _, _ = run(execution)
    cumulative = sleeve_contributions(result, SLEEVES)
    start = result.config["window_start"]
    assert cumulative.index[0] == pd.Timestamp(start) == result.equity.index[40]  # row 40 traded at bar 41
    assert list(cumulative.columns) == [*SLEEVES, COSTS_AND_CASH]
    growth = result.equity.loc[start:] / result.equity.loc[start] - 1
    np.testing.assert_allclose(cumulative.sum(axis=1).to_numpy(), growth.to_numpy(), rtol=0, atol=1e-12)
    assert cumulative.iloc[-1].sum() == pytest.approx(result.metrics["total_return"], abs=1e-12)
    assert cumulative[COSTS_AND_CASH].iloc[-1] != 0.0  # fees, slippage and borrow less interest
    assert cumulative["short"].iloc[-1] != 0.0


def test_period_contributions_add_up_to_each_year_return():
    result, _, _ = run("close")
    cumulative = sleeve_contributions(result, SLEEVES)
    table = period_contributions(cumulative)
    assert list(table.columns) == ["2022", "2023", "2024", "whole window"]
    equity = result.equity.loc[cumulative.index[0]:]
    year_end = equity.groupby(equity.index.year).tail(1)
    starts = np.r_[equity.iloc[0], year_end.to_numpy()[:-1]]
    np.testing.assert_allclose(table.loc[TOTAL].to_numpy()[:-1], year_end.to_numpy() / starts - 1, atol=1e-12)
    assert table.loc[TOTAL, "whole window"] == pytest.approx(result.metrics["total_return"], abs=1e-12)


def test_a_held_ticker_outside_every_sleeve_is_an_error():
    result, _, _ = run("close")
    with pytest.raises(EngineError, match="CCC held but in no sleeve"):
        sleeve_contributions(result, {"growth": ("AAA", "BBB"), "index": ("SPY",)})


def test_a_report_shows_the_sleeves_chart_and_table(tmp_path):
    from theses.reports import write_report

    result, _, _ = run("close")
    result.config["sleeves"] = {k: list(v) for k, v in SLEEVES.items()}
    plain, _, _ = run("open")
    plain.name = "no_sleeves"
    page = (write_report([result, plain], tmp_path / "r") / "index.html").read_text()
    assert 'id="attribution"' in page and 'id="chart-attribution"' in page
    assert 'data-strategy="book"' in page and 'data-strategy="no_sleeves"' not in page
    total = f"{result.metrics['total_return']:.1%}"
    row = page.split('<td class="name">total</td>')[1].split("</tr>")[0]
    assert row.rstrip().endswith(f">{total}</td>")
    assert "geometric cumulative contribution" in page
    bare = (write_report([plain], tmp_path / "bare") / "index.html").read_text()
    assert 'id="attribution"' not in bare
