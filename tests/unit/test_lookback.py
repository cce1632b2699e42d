"""Look-back: signals read history before the window; trades and metrics cover the window only.

On synthetic CSVs: the data layer loads exactly the look-back before the window; a window run's targets equal
the full-history run's targets cut to the window; with zero costs its daily returns equal the full-history
run's from the first rebalance both share; the notes say when the data does not reach back far enough.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.unit.test_cli_compare import write_csvs
from theses.data import load_prices
from theses.strategies import Strategy
from theses.strategies.combinators import ListedEqualWeight, StaticBook, TrendFilter
from theses.studies import history, rebalance
from theses.studies.settings import RunSettings

ZERO_COSTS = RunSettings(fees_bps=0.0, slippage_bps=0.0, borrow_bps=0.0)
START = "2024-09-02"  # 175 trading days after the synthetic data's first day (2024-01-02)


@pytest.fixture
def prices(tmp_path: Path) -> Path:
    write_csvs(tmp_path / "prices", days=420)
    return tmp_path / "prices"


def trend(window: int = 60, buy_and_hold: bool = False) -> Strategy:
    rule = TrendFilter(basket=("AAA", "BBB"), window=window, on=ListedEqualWeight(("AAA", "BBB")),
                       off=StaticBook({"SPY": 1.0}), buy_and_hold=buy_and_hold)
    return Strategy(name=f"trend{window}", description="test trend filter",
                    rebalance="none" if buy_and_hold else "monthly", benchmark="SPY", params=None, rule=rule)


def test_the_data_layer_loads_exactly_the_look_back_before_the_window(prices):
    data = load_prices(["SPY", "AAA"], start=START, source="csv", data_dir=prices, history_days=60)
    window_first = data.close.index[data.close.index >= START][0]
    assert data.window_start == window_first
    assert data.window_row == 60
    assert data.close.index[60] == window_first
    assert data.notes == ()  # the history rows are not "a start later than requested"
    plain = load_prices(["SPY", "AAA"], start=START, source="csv", data_dir=prices)
    pd.testing.assert_frame_equal(data.close.iloc[60:], plain.close)
    assert plain.window_start is None and plain.window_row == 0


def test_history_is_cut_at_the_first_day_of_the_data(prices):
    data = load_prices(["SPY"], start="2024-02-01", source="csv", data_dir=prices, history_days=200)
    assert data.close.index[0] == pd.Timestamp("2024-01-02")
    assert data.window_row == 22  # January 2024 holds 22 business days
    with pytest.raises(Exception, match="history_days"):
        load_prices(["SPY"], start=START, source="csv", data_dir=prices, history_days=-1)


@pytest.mark.parametrize("buy_and_hold", [False, True])
def test_window_targets_equal_the_full_history_targets_cut_to_the_window(prices, buy_and_hold):
    strategy = trend(60, buy_and_hold)
    window = history.load_window(["SPY", "AAA", "BBB"], start=START, source="csv", data_dir=prices, lookback=60)
    full = history.load_window(["SPY", "AAA", "BBB"], source="csv", data_dir=prices)
    targets = history.window_targets(strategy, window)
    expected = strategy.target_weights(full.close[list(strategy.universe)]).loc[targets.weights.index]
    assert targets.history_rows == 60
    np.testing.assert_array_equal(targets.weights.iloc[1:].to_numpy(), expected.iloc[1:].to_numpy())
    first = expected.iloc[0]
    if first.isna().all():  # a held target: the window's first row carries the one in force, by a plain loop
        before = strategy.target_weights(full.close[list(strategy.universe)]).loc[: targets.weights.index[0]]
        for _, row in before.iloc[::-1].iterrows():
            if row.notna().any():
                first = row
                break
    np.testing.assert_array_equal(targets.weights.iloc[0].to_numpy(), first.to_numpy())
    assert targets.weights.iloc[0].notna().any()  # the book enters at the window's second day


def test_a_window_run_equals_the_full_history_run_after_their_first_shared_rebalance(prices):
    strategy = trend(60)
    full = history.backtest(strategy, source="csv", data_dir=str(prices), settings=ZERO_COSTS)
    since = history.backtest(strategy, start=START, source="csv", data_dir=str(prices), settings=ZERO_COSTS)
    index = since.returns.index
    assert index[0] == pd.Timestamp(START)
    assert since.trades["date"].min() == index[1]  # nothing trades on the window's first day
    second = sorted(set(since.trades["date"]))[1]
    after = index > second
    assert after.sum() > 150
    np.testing.assert_allclose(since.returns[after].to_numpy(), full.returns.loc[index][after].to_numpy(),
                               rtol=0, atol=1e-13)
    assert since.metrics["start"] == START
    assert any("reads the 60 trading days before 2024-09-02" in n for n in since.header()["notes"])


def test_a_signal_without_enough_history_is_named_in_the_notes(prices):
    run = history.backtest(trend(200), start="2024-03-01", source="csv", data_dir=str(prices))
    notes = [n for n in run.header()["notes"] if n.startswith("trend200:")]
    assert len(notes) == 1
    assert "needs 200 trading days of history before 2024-03-01, but the data has 43 (from 2024-01-02)" in notes[0]
    assert "complete from 2024-10-08" in notes[0]  # row 200 of the data
    comparison = history.compare([trend(200), trend(60)], start="2024-05-01", source="csv", data_dir=str(prices))
    assert sum("trend200: its signal needs 200 trading days of history before 2024-05-01, but the data has 86"
               in n for n in comparison.header()["notes"]) == 1
    assert sum("trend60: its signal reads the 60" in n for n in comparison.header()["notes"]) == 1


def test_static_books_are_unchanged_by_the_look_back(prices):
    book = Strategy(name="book", description="b", rebalance="monthly", benchmark="SPY", params=None,
                    rule=StaticBook({"AAA": 0.6, "BBB": 0.4}))
    with_signal = history.compare([book, trend(60)], start=START, source="csv", data_dir=str(prices))
    alone = history.backtest(book, start=START, source="csv", data_dir=str(prices))
    pd.testing.assert_series_equal(with_signal.backtests[0].equity, alone.equity)
    assert with_signal.backtests[0].result.metrics == alone.result.metrics


def test_rebalance_as_of_an_early_date_says_the_signal_lacks_history(prices, tmp_path):
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("ticker,shares\nSPY,10\n")
    run = rebalance.rebalance(trend(200), holdings=str(holdings), cash=0.0, as_of="2024-03-01", source="csv",
                              data_dir=str(prices))
    assert any("trend200: its signal needs 200 trading days" in n for n in run.all_notes)
    later = rebalance.rebalance(trend(60), holdings=str(holdings), cash=0.0, as_of="2024-09-02", source="csv",
                                data_dir=str(prices))
    assert not any("needs" in n for n in later.all_notes)
