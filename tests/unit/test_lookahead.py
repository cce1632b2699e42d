"""No look-ahead: weights that peek one bar into the future must not profit through the engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theses.engine import BacktestConfig, RebalanceRule, backtest
from theses.strategies import REGISTRY

N_BARS = 2520
SIGMA = 0.01


def _market(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A driftless random walk and its simple returns (r[t] = close[t] / close[t-1] - 1)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2010-01-04", periods=N_BARS)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0, SIGMA, N_BARS)))
    returns = np.r_[np.nan, close[1:] / close[:-1] - 1]
    return pd.DataFrame({"X": close}, index=dates), returns


def test_oracle_weights_do_not_profit_through_the_engine():
    prices, returns = _market(seed=2024)
    # Oracle: at bar t, long if the NEXT bar's return is positive, else flat -- it knows the future.
    oracle = np.r_[(returns[1:] > 0).astype(float), 0.0]
    weights = pd.DataFrame({"X": oracle}, index=prices.index)

    # Without a lag the oracle earns w[t] * r[t+1] every bar (numpy, no engine).
    no_lag = oracle[:-1] * returns[1:]
    # Through the engine (every row is a new target, zero costs) the book is set one bar later.
    result = backtest(prices, weights, BacktestConfig(rebalance=RebalanceRule("none")))
    engine_returns = result.returns.to_numpy()[2:]

    no_lag_growth = float(np.prod(1 + no_lag) - 1)
    engine_growth = result.metrics["total_return"]
    t_stat = engine_returns.mean() / (engine_returns.std(ddof=1) / np.sqrt(engine_returns.size))
    print(f"\noracle without lag: total return {no_lag_growth:.3g}, mean daily {no_lag.mean():.5f}")
    print(f"oracle through engine: total return {engine_growth:.3g}, mean daily {engine_returns.mean():.6f}, "
          f"t-stat {t_stat:.2f}")
    # The peeking book is right every day: mean daily return near E[max(r, 0)] = sigma / sqrt(2 pi).
    assert no_lag.mean() > 0.8 * SIGMA / np.sqrt(2 * np.pi)
    assert no_lag_growth > 1e3
    # Through the engine it is a coin flip: mean indistinguishable from zero, far below the no-lag one.
    assert abs(t_stat) < 4.0
    assert abs(engine_returns.mean()) < 0.1 * no_lag.mean()
    assert engine_growth < 1.0


def test_weights_row_t_never_moves_equity_up_to_bar_t():
    prices, _ = _market(seed=5)
    rng = np.random.default_rng(6)
    base = pd.DataFrame({"X": rng.uniform(-1, 1, N_BARS)}, index=prices.index)
    for k in (0, 1, 100, 1500):
        changed = base.copy()
        changed.iloc[k, 0] = -base.iloc[k, 0]  # a different target on bar k only
        a = backtest(prices, base).equity.to_numpy()
        b = backtest(prices, changed).equity.to_numpy()
        np.testing.assert_array_equal(a[: k + 1], b[: k + 1])  # bars 0..k untouched
        assert a[k + 2] != b[k + 2]  # the row is traded at bar k+1, so it shows from k+2 on


def test_nothing_trades_at_bar_zero_and_last_row_is_never_traded():
    prices, _ = _market(seed=8)
    weights = pd.DataFrame({"X": np.nan}, index=prices.index)
    weights.iloc[-1, 0] = 1.0
    result = backtest(prices, weights)
    assert result.trades.empty and (result.equity == 10_000.0).all()
    weights.iloc[:, 0] = 1.0
    result = backtest(prices, weights)
    assert result.trades["date"].min() == prices.index[1]
    assert result.equity.iloc[0] == 10_000.0


SIGNAL_STRATEGIES = [name for name, strategy in REGISTRY.items() if strategy.lookback > 0]


def _crashy_market(tickers, seed: int) -> pd.DataFrame:
    """Random walks with a few sharp sell-offs, so drawdown and trend signals switch several times."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0004, 0.015, (900, len(tickers)))
    steps[rng.choice(900, 6, replace=False)] -= 0.18
    dates = pd.bdate_range("2018-01-01", periods=900)
    return pd.DataFrame(100 * np.exp(np.cumsum(steps, axis=0)), index=dates, columns=list(tickers))


def test_signal_strategies_are_among_those_checked():
    assert SIGNAL_STRATEGIES == ["bubble_watch", "jevons_dip"]


@pytest.mark.parametrize("name", SIGNAL_STRATEGIES)
def test_a_signal_strategy_decides_from_closes_up_to_the_signal_day(name):
    strategy = REGISTRY[name]
    prices = _crashy_market(strategy.universe, seed=21)
    weights = strategy.target_weights(prices)
    assert weights.diff().abs().sum(axis=1).gt(0).sum() >= 4  # the signal switches: the test can fail
    config = BacktestConfig(rebalance=RebalanceRule(strategy.rebalance, band_abs=strategy.band_abs))
    base = backtest(prices, weights, config).equity.to_numpy()
    rng = np.random.default_rng(3)
    for t in (250, 420, 700):
        changed = prices.copy()
        changed.iloc[t + 1 :] *= rng.uniform(0.5, 2.0, size=changed.iloc[t + 1 :].shape)
        again = strategy.target_weights(changed)
        np.testing.assert_array_equal(again.iloc[: t + 1].to_numpy(), weights.iloc[: t + 1].to_numpy())
        equity = backtest(changed, again, config).equity.to_numpy()
        np.testing.assert_array_equal(equity[: t + 1], base[: t + 1])  # nothing up to bar t moves
