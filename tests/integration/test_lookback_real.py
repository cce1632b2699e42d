"""Look-back on the real CSVs: every strategy since the essay is the full-history strategy cut to the window.

Since the essay each strategy's signal reads its look-back before 2024-12-02, so its targets in the window are
exactly those of the same strategy run on all the history; and ``bubble_watch`` since the essay (as ``compare
--since-essay`` runs it) equals the full-history run cut to the window: with zero costs its daily returns are the
same from the first rebalance both runs share, with the default costs within the one-off difference in fees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from theses.strategies import REGISTRY
from theses.studies import history
from theses.studies.settings import ESSAY_DATE, RunSettings, resolve_strategy, tickers_for

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ZERO_COSTS = RunSettings(fees_bps=0.0, slippage_bps=0.0, borrow_bps=0.0)
SPECS = [*REGISTRY, str(EXAMPLES / "ai_trend_filter.toml"), str(EXAMPLES / "my_portfolio.toml")]


@pytest.fixture(scope="module")
def frames(real_data_dir):
    strategies = [resolve_strategy(spec) for spec in SPECS]
    tickers = tickers_for(strategies)
    since = history.load_window(tickers, start=ESSAY_DATE, source="csv", data_dir=str(real_data_dir),
                                lookback=history.lookback_of(strategies))
    full = history.load_window(tickers, source="csv", data_dir=str(real_data_dir))
    return since, full


@pytest.mark.parametrize("spec", SPECS)
def test_since_essay_targets_are_the_full_history_targets_cut_to_the_window(spec, frames):
    strategy = resolve_strategy(spec)
    since, full = frames
    window = history.window_targets(strategy, since)
    assert window.weights.index[0] == since.window_start == full.close.index[full.close.index >= ESSAY_DATE][0]
    assert window.history_rows == strategy.lookback
    everything = strategy.target_weights(full.close[list(strategy.universe)])
    cut = everything.loc[window.weights.index]
    np.testing.assert_array_equal(window.weights.iloc[1:].to_numpy(), cut.iloc[1:].to_numpy())
    held = everything.loc[: window.weights.index[0]].dropna(how="all")
    np.testing.assert_array_equal(window.weights.iloc[0].to_numpy(), held.iloc[-1].to_numpy())


def _after_second_trade(run: history.Backtest):
    dates = sorted(set(run.trades["date"]))
    return run.returns.index > dates[1]


def test_bubble_watch_since_the_essay_equals_the_full_history_run_cut_to_the_window(real_data_dir):
    data = str(real_data_dir)
    for settings, tolerance in ((ZERO_COSTS, 1e-13), (RunSettings(), 1e-6)):
        since = history.compare(["bubble_watch"], since_essay=True, source="csv", data_dir=data,
                                settings=settings).backtests[0]
        full = history.backtest("bubble_watch", source="csv", data_dir=data, settings=settings)
        index = since.returns.index
        assert index[0].strftime("%Y-%m-%d") == ESSAY_DATE
        after = _after_second_trade(since)
        assert after.sum() > 400
        np.testing.assert_allclose(since.returns[after].to_numpy(), full.returns.loc[index][after].to_numpy(),
                                   rtol=0, atol=tolerance)
        # The signal was on at the essay's date (the basket was above its 200-day average): the window starts
        # in the basket, not in SPY as a cold start would have it.
        assert since.weights.iloc[1].drop("SPY").sum() > 0.99
