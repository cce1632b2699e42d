"""Hand-computed cases of the engine: exact shares, fees, cash and equity; buy-and-hold; errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theses.engine import BacktestConfig, BacktestResult, CostModel, EngineError, RebalanceRule, backtest
from theses.engine.schedule import rebalance_mask

DATES = pd.bdate_range("2021-03-29", periods=5)  # Mon 29 Mar .. Fri 2 Apr 2021


def one_asset(closes, rows: dict[int, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prices of one ticker A and a weights frame with the given rows (others NaN = hold)."""
    dates = DATES[: len(closes)]
    prices = pd.DataFrame({"A": closes}, index=dates, dtype=float)
    weights = pd.DataFrame({"A": np.nan}, index=dates)
    for bar, w in rows.items():
        weights.iloc[bar, 0] = w
    return prices, weights


FEE_10BPS = BacktestConfig(initial_cash=1000.0, costs=CostModel(fees_bps=10.0))


def test_full_long_at_price_100_with_10bps_fee():
    prices, weights = one_asset([100, 100, 110, 121], {0: 1.0})
    result = backtest(prices, weights, FEE_10BPS)
    # Bar 1 (row 0 lagged): V = 1000, 10 shares at 100, fee 1.0, cash -1.
    trade = result.trades.iloc[0]
    assert (trade["date"], trade["ticker"]) == (DATES[1], "A")
    assert trade["shares"] == pytest.approx(10.0, abs=1e-12)
    assert trade["notional"] == pytest.approx(1000.0, abs=1e-12)
    assert trade["fee"] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(result.equity.to_numpy(), [1000.0, 999.0, 1099.0, 1209.0], rtol=0, atol=1e-10)
    assert result.costs["fees"].sum() == pytest.approx(1.0, abs=1e-12)
    assert result.metrics["fees"] == pytest.approx(0.001, abs=1e-15)
    assert result.turnover.iloc[1] == pytest.approx(1.0, abs=1e-15)
    assert len(result.trades) == 1


def test_half_long_then_rebalance_on_new_row():
    prices, weights = one_asset([100, 100, 110, 121, 121], {0: 0.5, 2: 0.5})
    result = backtest(prices, weights, FEE_10BPS)
    # Bar 1: 5 shares, notional 500, fee 0.5, cash 499.5, equity 999.5.
    # Bar 2 (close 110): equity 499.5 + 550 = 1049.5.
    # Bar 3 at 121: V = 499.5 + 605 = 1104.5; target 552.25 / 121 shares; sell 52.75 notional, fee 0.05275;
    #   cash = 499.5 + 52.75 - 0.05275 = 552.19725; equity = 552.19725 + 552.25 = 1104.44725.
    np.testing.assert_allclose(
        result.equity.to_numpy(), [1000.0, 999.5, 1049.5, 1104.44725, 1104.44725], rtol=0, atol=1e-10
    )
    assert result.positions["A"].iloc[3] == pytest.approx(552.25 / 121, rel=1e-14)
    sell = result.trades.iloc[1]
    assert sell["date"] == DATES[3]
    assert sell["notional"] == pytest.approx(-52.75, abs=1e-10)
    assert sell["fee"] == pytest.approx(0.05275, abs=1e-12)
    assert result.turnover.iloc[3] == pytest.approx(52.75 / 1104.5, rel=1e-12)


def test_short_with_borrow_charged_on_previous_close():
    prices, weights = one_asset([100, 100, 90, 90], {0: -0.5})
    config = BacktestConfig(initial_cash=1000.0, costs=CostModel(fees_bps=10.0, borrow_bps=252.0))
    result = backtest(prices, weights, config)
    # Bar 1: short 5 at 100: cash 1000 + 500 - 0.5 = 1499.5; equity 999.5.
    # Bar 2: borrow 5 * 100 * 252e-4 / 252 = 0.05; cash 1499.45; equity 1499.45 - 450 = 1049.45.
    # Bar 3: borrow 5 * 90 * 1e-4 = 0.045; equity 1499.405 - 450 = 1049.405.
    np.testing.assert_allclose(result.equity.to_numpy(), [1000.0, 999.5, 1049.45, 1049.405], rtol=0, atol=1e-10)
    np.testing.assert_allclose(result.costs["borrow"].to_numpy(), [0, 0, 0.05, 0.045], rtol=0, atol=1e-12)
    assert result.metrics["borrow"] == pytest.approx(0.095 / 1000, rel=1e-12)
    assert result.metrics["costs"] == pytest.approx((0.5 + 0.095) / 1000, rel=1e-12)


def test_cash_interest_accrues_before_sizing():
    prices, weights = one_asset([100, 100, 100], {0: 0.5})
    config = BacktestConfig(initial_cash=1000.0, costs=CostModel(fees_bps=10.0, cash_rate=0.0252))
    result = backtest(prices, weights, config)
    # Bar 1: interest 1000 * 1e-4 = 0.1 -> V 1000.1; buy 500.05 notional, fee 0.50005; cash 499.54995.
    # Bar 2: interest 0.049954995; equity 499.599904995 + 500.05.
    np.testing.assert_allclose(
        result.equity.to_numpy(), [1000.0, 999.59995, 499.599904995 + 500.05], rtol=0, atol=1e-10
    )
    np.testing.assert_allclose(result.costs["interest"].to_numpy(), [0, 0.1, 0.049954995], rtol=0, atol=1e-12)


def test_calendar_rebalance_trades_only_on_rebalance_days():
    dates = pd.bdate_range("2021-01-25", "2021-03-10")
    rng = np.random.default_rng(4)
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (len(dates), 2)), 0)), index=dates,
                          columns=["A", "B"])
    weights = pd.DataFrame(0.5, index=dates, columns=["A", "B"])  # dense rows
    result = backtest(prices, weights, BacktestConfig(rebalance=RebalanceRule("monthly")))
    traded_days = sorted(set(result.trades["date"]))
    # Initial entry on bar 1, then the first trading day of February and March.
    assert traded_days == [dates[1], pd.Timestamp("2021-02-01"), pd.Timestamp("2021-03-01")]


def test_buy_and_hold_equals_price_ratio_over_executed_window():
    dates = pd.bdate_range("2015-01-01", periods=800)
    rng = np.random.default_rng(11)
    spy = 200 * np.exp(np.cumsum(rng.normal(0.0004, 0.011, len(dates))))
    prices = pd.DataFrame({"SPY": spy}, index=dates)
    weights = pd.DataFrame({"SPY": np.nan}, index=dates)
    weights.iloc[40, 0] = 1.0  # first target on bar 40 -> executed at bar 41's close
    result = backtest(prices, weights, BacktestConfig(), benchmarks=prices[["SPY"]])
    e = 41
    np.testing.assert_allclose(result.equity.to_numpy()[e:] / result.equity.iloc[e], spy[e:] / spy[e],
                               rtol=1e-12, atol=0)
    assert result.metrics["total_return"] == pytest.approx(spy[-1] / spy[e] - 1, rel=1e-12, abs=1e-12)
    assert result.metrics["start"] == f"{dates[e - 1]:%Y-%m-%d}"
    assert result.benchmark_metrics["SPY"]["total_return"] == pytest.approx(spy[-1] / spy[e] - 1, rel=1e-12)
    np.testing.assert_allclose(result.benchmark_equity["SPY"].to_numpy()[e - 1 :],
                               result.equity.to_numpy()[e - 1 :], rtol=1e-12)
    assert result.benchmark_equity["SPY"].iloc[: e - 1].isna().all()
    assert result.metrics["beta"] == pytest.approx(1.0, rel=1e-9)


def test_next_open_execution_buys_at_the_open():
    prices, weights = one_asset([100, 100, 110, 121], {0: 1.0})
    opens = pd.DataFrame({"A": [99, 105, 108, 120]}, index=prices.index, dtype=float)
    config = BacktestConfig(initial_cash=1000.0, execution="open")
    result = backtest(prices, weights, config, open_prices=opens)
    # Bar 1: 1000 / 105 shares at the open, marked at the close 100.
    assert result.equity.iloc[1] == pytest.approx(1000 / 105 * 100, rel=1e-14)
    assert result.metrics["total_return"] == pytest.approx(121 / 105 - 1, rel=1e-12)


def test_result_json_round_trip():
    prices, weights = one_asset([100, 100, 110, 121, 121], {0: 0.5, 2: 0.5})
    result = backtest(prices, weights, FEE_10BPS, benchmarks=prices, name="half")
    again = BacktestResult.from_json(result.to_json())
    pd.testing.assert_series_equal(again.equity, result.equity, check_freq=False)
    pd.testing.assert_frame_equal(again.costs, result.costs, check_freq=False)
    pd.testing.assert_frame_equal(again.positions, result.positions, check_freq=False)
    assert again.metrics["fees"] == result.metrics["fees"]
    assert again.metrics["total_return"] == result.metrics["total_return"]
    assert len(again.trades) == len(result.trades) == 2


def test_exposure_breach_names_date_and_weights():
    dates = pd.bdate_range("2020-01-06", periods=4)
    prices = pd.DataFrame(100.0, index=dates, columns=["A", "B"])
    weights = pd.DataFrame(np.nan, index=dates, columns=["A", "B"])
    weights.iloc[0] = [0.5, 0.5]
    weights.iloc[1] = [2.0, -1.5]
    with pytest.raises(EngineError, match=r"2020-01-07.*gross exposure 3\.5 exceeds max_gross=3.*A: 2, B: -1\.5"):
        backtest(prices, weights)
    weights.iloc[1] = [0.9, 0.8]
    with pytest.raises(EngineError, match=r"2020-01-07.*net exposure 1\.7 exceeds max_net=1\.5.*A: 0\.9, B: 0\.8"):
        backtest(prices, weights)
    assert "\n" not in _message(lambda: backtest(prices, weights))


def _message(call) -> str:
    with pytest.raises(EngineError) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: RebalanceRule(calendar="biweekly"), r"calendar='biweekly' is unknown; use one of none, daily"),
        (lambda: RebalanceRule(anchor="middle"), r"anchor='middle' is unknown"),
        (lambda: RebalanceRule(band_abs=-0.1), r"band_abs=-0.1 must be > 0"),
        (lambda: CostModel(fees_bps=-1.0), r"fees_bps=-1.0 must be >= 0"),
        (lambda: CostModel(borrow_bps=float("nan")), r"borrow_bps=nan is not a finite number"),
        (lambda: BacktestConfig(missing_policy="drop"), r"missing_policy='drop' is unknown; use one of cash"),
        (lambda: BacktestConfig(execution="vwap"), r"execution='vwap' is unknown"),
        (lambda: BacktestConfig(initial_cash=0.0), r"initial_cash=0.0 must be > 0"),
        (lambda: BacktestConfig(periods_per_year=0), r"periods_per_year=0 must be a positive integer"),
    ],
)
def test_config_validation(make, pattern):
    with pytest.raises(EngineError, match=pattern):
        make()


def test_input_errors_name_the_input():
    prices, weights = one_asset([100, 100, 110], {0: 1.0})
    with pytest.raises(EngineError, match=r"weights column 'ZZZ' has no prices"):
        backtest(prices, weights.assign(ZZZ=0.0))
    with pytest.raises(EngineError, match=r'execution="open" needs open_prices'):
        backtest(prices, weights, BacktestConfig(execution="open"))
    bad = prices.copy()
    bad.iloc[1, 0] = -5.0
    with pytest.raises(EngineError, match=r"prices: A on 2021-03-30 is -5.0; prices must be positive"):
        backtest(bad, weights)
    shifted = weights.copy()
    shifted.index = shifted.index + pd.Timedelta(days=100)
    with pytest.raises(EngineError, match=r"weights date 2021-07-07 is not a trading day of the prices"):
        backtest(prices, shifted)


def test_rebalance_masks():
    dates = pd.DatetimeIndex(["2020-12-30", "2020-12-31", "2021-01-04", "2021-01-05", "2021-02-01", "2021-04-01"])
    assert rebalance_mask(dates, "monthly", "first").tolist() == [True, False, True, False, True, True]
    assert rebalance_mask(dates, "monthly", "last").tolist() == [False, True, False, True, True, True]
    assert rebalance_mask(dates, "quarterly", "first").tolist() == [True, False, True, False, False, True]
    assert rebalance_mask(dates, "yearly", "last").tolist() == [False, True, False, False, False, True]
    # 2020-12-31 (Thu) and 2021-01-04 (Mon) are in different ISO weeks; 04 and 05 Jan share one.
    assert rebalance_mask(dates, "weekly", "first").tolist() == [True, False, True, False, True, True]
    assert rebalance_mask(dates, "daily").all() and not rebalance_mask(dates, "none").any()


def test_cost_and_turnover_metrics_of_a_rebalanced_book():
    prices, weights = one_asset([100, 100, 110, 121, 121], {0: 0.5, 2: 0.5})
    result = backtest(prices, weights, FEE_10BPS)
    m = result.metrics
    # Entry at bar 1 (500 of 999.5... turnover 0.5), one rebalance at bar 3 (52.75 / 1104.5): one-way is half.
    years = 4 / 252  # the window is bars 0..4: four return periods
    assert m["initial_entry"] == pytest.approx(0.5, rel=1e-12)
    assert m["turnover_ex_entry"] == pytest.approx(52.75 / 1104.5 / 2 / years, rel=1e-12)
    # Fees 0.5 + 0.05275 over the average equity, per year, in bps.
    average = result.equity.mean()
    assert m["fee_drag_bps"] == pytest.approx(0.55275 / average / years * 1e4, rel=1e-12)
    assert m["slippage_drag_bps"] == 0.0 and m["borrow_drag_bps"] == 0.0
    assert m["cost_drag_bps"] == pytest.approx(m["fee_drag_bps"])
    # The earlier figures stay: fees over the initial cash, turnover with the entry and both sides.
    assert m["fees"] == pytest.approx(0.55275 / 1000, rel=1e-12)
    assert m["turnover"] == pytest.approx((0.5 + 52.75 / 1104.5) / 4 * 252, rel=1e-12)


def test_buy_and_hold_has_no_turnover_after_its_entry():
    prices, weights = one_asset([100, 100, 110, 121, 121], {0: 1.0})
    result = backtest(prices, weights, BacktestConfig(rebalance=RebalanceRule("none")))
    assert result.metrics["turnover_ex_entry"] == 0.0
    assert result.metrics["initial_entry"] == pytest.approx(1.0)


def test_a_book_whose_tickers_all_list_later_starts_at_the_listing():
    dates = pd.bdate_range("2020-01-06", periods=8)
    prices = pd.DataFrame({"A": [np.nan] * 4 + [10.0, 11.0, 12.0, 13.0], "SPY": np.linspace(100, 107, 8)},
                          index=dates)
    weights = pd.DataFrame({"A": 1.0}, index=dates)
    result = backtest(prices[["A"]], weights, BacktestConfig(rebalance=RebalanceRule("daily")),
                      benchmarks=prices[["SPY"]])
    # Nothing could be bought before A listed (bar 4): the window starts the bar before the first purchase.
    assert result.config["first_trade"] == dates[4].strftime("%Y-%m-%d")
    assert result.metrics["start"] == dates[3].strftime("%Y-%m-%d")
    assert result.metrics["total_return"] == pytest.approx(13.0 / 10.0 - 1, rel=1e-12)
    assert result.config["late_listings"] == {}  # A lists at the window's first trade: not late for this window
    assert result.benchmark_equity["SPY"].first_valid_index() == dates[3]


def test_a_book_with_one_late_ticker_keeps_its_window_and_names_the_listing():
    dates = pd.bdate_range("2020-01-06", periods=8)
    prices = pd.DataFrame({"A": [np.nan] * 4 + [10.0, 11.0, 12.0, 13.0], "B": np.linspace(50, 57, 8)}, index=dates)
    weights = pd.DataFrame({"A": 0.5, "B": 0.5}, index=dates)
    result = backtest(prices, weights, BacktestConfig(rebalance=RebalanceRule("daily")))
    assert result.metrics["start"] == dates[0].strftime("%Y-%m-%d")
    assert result.config["late_listings"] == {"A": dates[4].strftime("%Y-%m-%d")}


def test_a_first_target_of_all_cash_keeps_its_window():
    prices, weights = one_asset([100, 100, 110, 121, 121], {0: 0.0, 2: 1.0})
    result = backtest(prices, weights)
    assert result.metrics["start"] == DATES[0].strftime("%Y-%m-%d")
