"""Cross-check of the plain case against vectorbt's ``Portfolio.from_orders`` (target percent, shared cash).

vectorbt does not lag weights, so the test shifts them by one bar itself and places orders only on the
bars where the engine trades (initial entry and calendar rebalance days). Only fees are used: vectorbt
applies slippage to the price, the engine bills it like a fee. Gross long exposure stays below 100% so
vectorbt never has to fill an order partially for lack of cash.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theses.engine import BacktestConfig, CostModel, RebalanceRule, backtest
from theses.engine.schedule import rebalance_mask

vbt = pytest.importorskip("vectorbt")  # first import compiles its kernels (tens of seconds)


def _market(seed: int, n_bars: int = 500, n: int = 5):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2017-01-02", periods=n_bars)
    tickers = [f"S{i}" for i in range(n)]
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, (n_bars, n)), 0)), index=dates,
                          columns=tickers)
    return prices, rng


def _vectorbt_equity(prices: pd.DataFrame, weights: pd.DataFrame, fees_bps: float, cash: float) -> np.ndarray:
    lagged = weights.ffill().shift(1)  # the target in force at bar t is row t-1 (or earlier)
    has_target = lagged.notna().any(axis=1).to_numpy()
    trade = rebalance_mask(prices.index, "monthly", "first") & has_target
    trade[np.argmax(has_target)] = True  # initial entry
    size = lagged.where(np.repeat(trade[:, None], lagged.shape[1], axis=1), np.nan)
    pf = vbt.Portfolio.from_orders(
        prices, size=size, size_type="targetpercent", direction="both", fees=fees_bps / 1e4,
        init_cash=cash, cash_sharing=True, group_by=True, call_seq="auto", freq="1D",
    )
    return pf.value().to_numpy()


@pytest.mark.parametrize("book", ["long_only", "long_short"])
@pytest.mark.parametrize("seed", [0, 1])
def test_monthly_fees_only_matches_vectorbt(book, seed):
    prices, rng = _market(seed)
    n_bars, n = prices.shape
    if book == "long_only":
        raw = rng.uniform(0.1, 1.0, (n_bars, n))
        w = raw / raw.sum(axis=1, keepdims=True) * 0.9
    else:
        raw = rng.normal(0.2, 1.0, (n_bars, n))
        w = raw / np.abs(raw).sum(axis=1, keepdims=True) * 1.6
        w = np.where(np.abs(w.sum(axis=1, keepdims=True)) > 0.9, w * 0.9 / np.abs(w.sum(axis=1, keepdims=True)), w)
    weights = pd.DataFrame(w, index=prices.index, columns=prices.columns)
    config = BacktestConfig(initial_cash=100_000.0, costs=CostModel(fees_bps=10.0),
                            rebalance=RebalanceRule("monthly"))
    ours = backtest(prices, weights, config).equity.to_numpy()
    theirs = _vectorbt_equity(prices, weights, 10.0, 100_000.0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    assert abs(ours[-1] / ours[0] - 1) > 0.01  # it moved
