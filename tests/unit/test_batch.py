"""The batch kernel against the single-path backtest, path by path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theses.engine import BacktestConfig, CostModel, EngineError, RebalanceRule, backtest, backtest_batch

P, T, N = 5, 400, 7


def _panel(seed: int, dtype=np.float64):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2018-01-01", periods=T)
    tickers = [f"A{i}" for i in range(N)]
    prices = 80 * np.exp(np.cumsum(rng.normal(0.0002, 0.018, (P, T, N)), axis=1))
    prices[:, :90, 5] = np.nan  # a late listing on every path
    prices[2, :250, 6] = np.nan  # and one on a single path
    weights = np.full((P, T, N), np.nan)
    rows = rng.random(T) < 0.2
    base = rng.normal(0.05, 1.0, (T, N))
    base = base / np.abs(base).sum(axis=1, keepdims=True) * 1.4
    weights[:, rows] = base[rows] * rng.uniform(0.7, 1.0, (P, 1, 1))  # path-dependent sizes
    weights[:, 3] = [0.4, 0.3, 0.2, -0.2, -0.1, 0.2, 0.2]
    return prices.astype(dtype), weights, dates, tickers


CONFIGS = [
    BacktestConfig(costs=CostModel(fees_bps=10.0), rebalance=RebalanceRule("monthly")),
    BacktestConfig(
        initial_cash=5_000.0,
        costs=CostModel(fees_bps=5.0, slippage_bps=4.0, borrow_bps=120.0, cash_rate=0.02),
        rebalance=RebalanceRule("weekly", anchor="last", band_abs=0.04, band_rel=0.3),
        missing_policy="renormalize",
    ),
    BacktestConfig(costs=CostModel(fees_bps=2.0, borrow_bps=50.0), rebalance=RebalanceRule(band_rel=0.2)),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["monthly", "weekly-bands-renorm", "none-band"])
def test_batch_equals_single_path_backtest(config):
    prices, weights, dates, tickers = _panel(1)
    batch = backtest_batch(prices, weights, config, index=dates, tickers=tickers, keep_equity=True)
    for p in range(P):
        single = backtest(pd.DataFrame(prices[p], index=dates, columns=tickers),
                          pd.DataFrame(weights[p], index=dates, columns=tickers), config)
        # Bit for bit: the batch kernel marks quiet stretches four bars at a time with the step's arithmetic.
        np.testing.assert_array_equal(batch.equity[p], single.equity.to_numpy() / config.initial_cash)
        assert batch.turnover[p] == pytest.approx(single.metrics["turnover"], rel=1e-12)
        assert batch.costs[p] == pytest.approx(single.metrics["costs"], rel=1e-12)
        assert batch.terminal_wealth[p] == pytest.approx(single.equity.iloc[-1] / config.initial_cash, rel=1e-12)
        assert batch.cagr[p] == pytest.approx(single.metrics["cagr"], rel=1e-9)
        assert batch.max_drawdown[p] == pytest.approx(single.metrics["max_drawdown"], rel=1e-9)
    np.testing.assert_allclose(batch.equity_bands, np.percentile(batch.equity, [5, 25, 50, 75, 95], axis=0),
                               rtol=1e-14)
    assert batch.summary["paths"] == P
    assert batch.costs.min() > 0


def test_shared_weights_equal_tiled_weights_and_float32_input():
    prices, weights, dates, tickers = _panel(2, dtype=np.float32)
    shared = weights[:1]
    config = CONFIGS[1]
    a = backtest_batch(prices, shared, config, index=dates, tickers=tickers, keep_equity=True)
    b = backtest_batch(prices, np.repeat(shared, P, axis=0), config, index=dates, tickers=tickers,
                       keep_equity=True)
    np.testing.assert_array_equal(a.equity, b.equity)
    d = backtest_batch(prices, np.broadcast_to(shared, (P, T, N)), config, index=dates, tickers=tickers,
                       keep_equity=True)
    np.testing.assert_array_equal(a.equity, d.equity)
    # float32 prices give exactly the float64 run on the same (widened) values.
    c = backtest_batch(prices.astype(np.float64), shared[0], config, index=dates, tickers=tickers,
                       keep_equity=True)
    np.testing.assert_allclose(a.equity, c.equity, rtol=1e-13)
    assert a.equity.dtype == np.float64
    assert a.to_dict()["summary"]["paths"] == P


def test_batch_exposure_breach_names_date_and_path():
    prices, weights, dates, tickers = _panel(3)
    weights[4, 10] = [1.0, 1.0, 1.0, 0.5, 0.0, 0.0, 0.0]
    with pytest.raises(EngineError, match=r"weights on 2018-01-15 \(path 4\): gross exposure 3\.5 exceeds max_gross=3; weights \{A0: 1, A1: 1, A2: 1, A3: 0\.5\}"):
        backtest_batch(prices, weights, BacktestConfig(), index=dates, tickers=tickers)


def test_batch_handles_delisting_and_ruin_exactly_as_single_paths():
    rng = np.random.default_rng(11)
    dates = pd.bdate_range("2020-01-01", periods=T)
    prices = 50 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (P, T, 3)), axis=1))
    prices[1, 200:, 2] = np.nan  # delisted on path 1
    prices[3, 100:, 0] *= np.linspace(1.0, 5.0, T - 100)  # the short quintuples on path 3: ruin
    weights = np.full((T, 3), np.nan)
    weights[0] = [-0.8, 0.6, 0.4]
    weights[250] = [-0.4, 0.6, 0.4]
    config = BacktestConfig(costs=CostModel(fees_bps=5.0, borrow_bps=50.0), rebalance=RebalanceRule("none"))
    tickers = ["A", "B", "C"]
    batch = backtest_batch(prices, weights, config, index=dates, tickers=tickers, keep_equity=True)
    assert batch.ruin_bar[3] > 100 and (np.delete(batch.ruin_bar, 3) == -1).all()
    for p in range(P):
        single = backtest(pd.DataFrame(prices[p], index=dates, columns=tickers),
                          pd.DataFrame(weights, index=dates, columns=tickers), config)
        np.testing.assert_array_equal(batch.equity[p], single.equity.to_numpy() / config.initial_cash)
        assert (single.ruin_date is not None) == (p == 3)
    assert np.isfinite(batch.cagr).all() and batch.cagr[3] == -1.0


def test_batch_realised_exposure_breach_names_date_and_path():
    prices, weights, dates, tickers = _panel(4)
    prices[2, 60:80, 0] = np.nan  # path 2 cannot sell A for a while
    w = np.full((T, N), np.nan)
    w[0] = [1.0, 0, 0, 0, 0, 0, 0]
    w[65] = [0, 1.0, 0, 0, 0, 0, 0]
    with pytest.raises(EngineError, match=rf"the trade on {dates[66]:%Y-%m-%d} \(path 2\) left realised exposure"):
        backtest_batch(prices, w, BacktestConfig(max_gross=1.5), index=dates, tickers=tickers)


@pytest.mark.parametrize("calendar", ["weekly", "monthly", "quarterly"])
def test_shared_rows_are_cut_to_the_ones_in_force_and_trade_the_same(calendar, monkeypatch):
    """in_force_rows keeps the first row and, per calendar day, the last row dated before it (a plain loop
    says which); the engine gives the same results bit for bit as with every row, on dense and sparse rows."""
    import theses.engine.batch as batch
    from theses.engine import TargetRows
    from theses.engine.backtest import calendar_days

    rng = np.random.default_rng(7)
    index = pd.bdate_range("2021-01-04", periods=300)
    prices = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, (6, 300, 3)), axis=1))
    config = BacktestConfig(costs=CostModel(fees_bps=5, borrow_bps=40), rebalance=RebalanceRule(calendar))
    sparse_bars = np.arange(3, 300, 7)
    sparse = TargetRows(bars=sparse_bars, rows=rng.uniform(-0.3, 0.6, (len(sparse_bars), 3)))
    dense = np.repeat(rng.uniform(-0.3, 0.6, (1, 3)), 300, axis=0) + rng.normal(0, 0.01, (300, 3))
    calendar_bars = np.flatnonzero(calendar_days(config, index))
    for weights, bars in ((dense, np.arange(300)), (sparse, sparse_bars)):
        rows = np.asarray(weights.rows if isinstance(weights, TargetRows) else weights)[None]
        kept, _ = batch.in_force_rows(bars, rows, config, index)
        expected = {bars[0]} | {max(b for b in bars if b <= t - 1) for t in calendar_bars if t >= 1 and bars[0] <= t - 1}
        assert list(kept) == sorted(expected) and len(kept) < (len(bars) if len(bars) < 300 else len(bars) / 4)
        cut = backtest_batch(prices, weights, config, index=index, tickers=["A", "B", "C"], keep_equity=True)
        with monkeypatch.context() as m:
            m.setattr(batch, "in_force_rows", lambda bars, rows, config, index: (bars, rows))
            every = backtest_batch(prices, weights, config, index=index, tickers=["A", "B", "C"], keep_equity=True)
        for key in ("equity", "turnover", "costs", "terminal_wealth", "max_drawdown"):
            np.testing.assert_array_equal(getattr(cut, key), getattr(every, key), key)
        assert every.turnover.min() > 0
    banded = BacktestConfig(rebalance=RebalanceRule(calendar, band_abs=0.05))
    for rule_config in (banded, BacktestConfig(rebalance=RebalanceRule("none"))):
        assert len(batch.in_force_rows(np.arange(300), dense[None], rule_config, index)[0]) == 300
    assert len(batch.in_force_rows(np.arange(300), np.repeat(dense[None], 2, axis=0), config, index)[0]) == 300
