"""Trade lists for real holdings: hand-computed cases, skip rules, funding, whole shares, invariants."""

from __future__ import annotations

import numpy as np
import pytest

from theses.engine.errors import EngineError
from theses.engine.trade_list import TradeOptions, action_label, build_trade_list

# A four-ticker account used by several tests:
#   A: 10 sh @ 100 = 1000, B: 0 @ 50, C: -5 @ 20 = -100 (short), D: 30 @ 10 = 300 (not in the strategy)
#   cash 1000  ->  equity = 1000 + 1000 - 100 + 300 = 2200
#   targets A 0.5, B 0.3, C -0.1, D 0   ->  shares A 11, B 13.2, C -11, D 0
TICKERS = ["A", "B", "C", "D"]
PRICES = [100.0, 50.0, 20.0, 10.0]
SHARES = [10.0, 0.0, -5.0, 30.0]
WEIGHTS = [0.5, 0.3, -0.1, 0.0]
MEMBER = [True, True, True, False]


def test_fractional_hand_computed() -> None:
    tl = build_trade_list(TICKERS, PRICES, SHARES, WEIGHTS, 1000.0, in_strategy=MEMBER)
    assert tl.equity == 2200.0
    np.testing.assert_allclose(tl.current_weights, [1000 / 2200, 0.0, -100 / 2200, 300 / 2200])
    np.testing.assert_allclose(tl.target_shares, [11.0, 13.2, -11.0, 0.0])
    np.testing.assert_allclose(tl.trade_shares, [1.0, 13.2, -6.0, -30.0])
    np.testing.assert_allclose(tl.notional, [100.0, 660.0, -120.0, -300.0])
    assert tl.actions == ("buy", "buy", "short", "sell")
    # cash 1000 - 100 - 660 + 120 (short proceeds) + 300 = 660 = (1 - 0.7) * 2200
    assert tl.cash_after == pytest.approx(660.0, abs=1e-9)
    assert tl.gross_after == pytest.approx(0.9, abs=1e-12)
    assert tl.net_after == pytest.approx(0.7, abs=1e-12)
    assert tl.turnover == pytest.approx(1180.0 / 2200.0, abs=1e-12)
    assert tl.total_fees == 0.0
    assert tl.buy_scale == 1.0
    assert np.abs(tl.weights_after - np.array(WEIGHTS)).max() <= 1e-12
    assert any("D is not in the strategy: sell" in note for note in tl.notes)
    frame = tl.to_frame()
    assert frame.loc["D", "in_strategy"] is np.False_ or not frame.loc["D", "in_strategy"]
    assert frame.loc["B", "shares_after"] == pytest.approx(13.2)


def test_fractional_fees_are_taken_from_cash_and_weights_use_pre_fee_equity() -> None:
    tl = build_trade_list(TICKERS, PRICES, SHARES, WEIGHTS, 1000.0, TradeOptions(fees_bps=10), in_strategy=MEMBER)
    # fees = 0.001 * (100 + 660 + 120 + 300) = 1.18
    np.testing.assert_allclose(tl.fees, [0.10, 0.66, 0.12, 0.30])
    assert tl.total_fees == pytest.approx(1.18)
    assert tl.cash_after == pytest.approx(660.0 - 1.18)
    assert tl.equity_after_fees == pytest.approx(2200.0 - 1.18)
    assert np.abs(tl.weights_after - np.array(WEIGHTS)).max() <= 1e-12
    assert tl.totals()["weights_measured_on"] == "equity before fees"


def test_whole_shares_hand_computed() -> None:
    tl = build_trade_list(
        TICKERS, PRICES, SHARES, WEIGHTS, 1000.0, TradeOptions(whole_shares=True, fees_bps=10), in_strategy=MEMBER
    )
    # A 11 and C -11 are whole; B 13.2 -> 13 (a 14th share would overshoot by 0.8 > the 0.2 shortfall)
    np.testing.assert_array_equal(tl.shares_after, [11.0, 13.0, -11.0, 0.0])
    # notional 100 + 650 - 120 - 300 = 330; fees 0.001 * 1170 = 1.17
    assert tl.cash_after == pytest.approx(1000.0 - 330.0 - 1.17)
    np.testing.assert_allclose(tl.weight_error, [0.0, -10.0 / 2200, 0.0, 0.0], atol=1e-15)
    assert tl.weight_error_total == pytest.approx(10.0 / 2200)


def test_whole_shares_greedy_buys_largest_weight_shortfall_first() -> None:
    # equity 1000 in cash. Ideal: A 4.7 sh @ 100 (w .47), B 8.8 sh @ 50 (w .44), C 1 sh @ 90 (w .09).
    # Rounded toward zero: A 4 (400), B 8 (400), C 1 (90) -> cash 110.
    # Shortfalls: A 0.7 sh = 0.07 of equity, B 0.8 sh = 0.04: A gets the next share (100) -> cash 10,
    # then B's share (50) is unaffordable and 10 stays in cash. (By share count B would have gone first.)
    tl = build_trade_list(["A", "B", "C"], [100, 50, 90], [0, 0, 0], [0.47, 0.44, 0.09], 1000.0,
                          TradeOptions(whole_shares=True))
    np.testing.assert_array_equal(tl.shares_after, [5.0, 8.0, 1.0])
    assert tl.cash_after == pytest.approx(10.0)
    np.testing.assert_allclose(tl.weight_error, [0.03, -0.04, 0.0], atol=1e-12)
    assert tl.weight_error_total == pytest.approx(0.07)


def test_whole_shares_extra_share_spends_leftover_cash() -> None:
    # equity 1000: A 16.67 sh @ 30 -> 16, B 7.14 sh @ 70 -> 7, cash 30 buys A's 17th share exactly.
    tl = build_trade_list(["A", "B"], [30, 70], [0, 0], [0.5, 0.5], 1000.0, TradeOptions(whole_shares=True))
    np.testing.assert_array_equal(tl.shares_after, [17.0, 7.0])
    assert tl.cash_after == pytest.approx(0.0, abs=1e-9)
    assert tl.cash_after >= 0.0


def test_whole_shares_snap_keeps_a_position_already_on_target() -> None:
    # 0.3 * 1000 / 30 is 9.999999999999998 in floating point; the 10 shares held must not be cut to 9.
    tl = build_trade_list(["A"], [30.0], [10.0], [0.3], 700.0, TradeOptions(whole_shares=True))
    assert tl.shares_after[0] == 10.0
    assert tl.actions == ("hold",)


def test_short_position_crossing_zero() -> None:
    # A 10 sh @ 10 long, cash 0, equity 100. Target A -0.5 (-5 sh), B +0.5 (2 sh @ 25).
    tl = build_trade_list(["A", "B"], [10.0, 25.0], [10.0, 0.0], [-0.5, 0.5], 0.0)
    np.testing.assert_allclose(tl.trade_shares, [-15.0, 2.0])
    assert tl.actions == ("sell+short", "buy")
    # 150 of sale and short proceeds in, 50 out
    assert tl.cash_after == pytest.approx(100.0)
    assert tl.gross_after == pytest.approx(1.0)
    assert tl.net_after == pytest.approx(0.0, abs=1e-12)
    assert "short sale proceeds are credited to cash" in tl.notes


def test_cover_labels_and_cover_trade() -> None:
    # short 20 sh @ 10, cash 1000 -> equity 800; target -0.05 -> -4 sh: cover 16 (160 spent)
    tl = build_trade_list(["X"], [10.0], [-20.0], [-0.05], 1000.0)
    assert tl.trade_shares[0] == pytest.approx(16.0)
    assert tl.actions == ("cover",)
    assert tl.cash_after == pytest.approx(840.0)


@pytest.mark.parametrize(
    ("current", "after", "label"),
    [
        (0, 5, "buy"), (5, 8, "buy"), (8, 5, "sell"), (5, 0, "sell"), (5, -2, "sell+short"),
        (0, -3, "short"), (-3, -6, "short"), (-6, -2, "cover"), (-2, 0, "cover"), (-2, 4, "cover+buy"),
        (4, 4, "hold"), (0, 0, "hold"),
    ],
)
def test_action_labels(current: float, after: float, label: str) -> None:
    assert action_label(current, after) == label


def test_ticker_sold_off_when_not_in_strategy() -> None:
    # held OLD (not in the strategy) 4 sh @ 25; cash 900 -> equity 1000; SPY 100% at 200 -> 5 sh
    tl = build_trade_list(["SPY", "OLD"], [200.0, 25.0], [0.0, 4.0], [1.0, 0.0], 900.0, in_strategy=[True, False])
    np.testing.assert_allclose(tl.trade_shares, [5.0, -4.0])
    assert tl.actions == ("buy", "sell")
    assert tl.shares_after[1] == 0.0
    assert tl.cash_after == pytest.approx(0.0, abs=1e-9)
    assert "OLD is not in the strategy: sell to close the position" in tl.notes


def test_min_trade_skips_small_trades() -> None:
    # A 10 @ 100 + cash 1000 = 2000. A .51 -> buy 0.2 sh ($20, below 25: skipped); B .49 @ 49 -> 20 sh ($980)
    tl = build_trade_list(["A", "B"], [100.0, 49.0], [10.0, 0.0], [0.51, 0.49], 1000.0, TradeOptions(min_trade=25))
    np.testing.assert_allclose(tl.trade_shares, [0.0, 20.0])
    assert tl.actions == ("skip", "buy")
    assert tl.skip_reasons[0] == "skipped buy 0.2 sh (below min trade: |20.00| < 25)"
    assert tl.skip_reasons[1] == ""
    assert tl.proposed_shares[0] == pytest.approx(0.2)
    assert tl.cash_after == pytest.approx(20.0)
    assert tl.weight_error_total == pytest.approx(0.01)


def test_bands_skip_tickers_close_to_target() -> None:
    # A 5, B 3, C 2 sh @ 100, cash 0 -> weights .5/.3/.2; targets .52/.25/.22 with band .03:
    # A and C drift .02 (skip), B drifts .05 (sell 0.5 sh -> 50 cash).
    tl = build_trade_list(["A", "B", "C"], [100.0] * 3, [5.0, 3.0, 2.0], [0.52, 0.25, 0.22], 0.0,
                          TradeOptions(band_abs=0.03))
    np.testing.assert_allclose(tl.trade_shares, [0.0, -0.5, 0.0])
    assert tl.actions == ("skip", "sell", "skip")
    assert tl.skip_reasons[0] == "skipped buy 0.2 sh (within band: |0.5000 - 0.5200| <= 0.03)"
    assert tl.skip_reasons[2] == "skipped buy 0.2 sh (within band: |0.2000 - 0.2200| <= 0.03)"
    assert tl.cash_after == pytest.approx(50.0)
    np.testing.assert_allclose(tl.weights_after, [0.5, 0.25, 0.2])
    assert tl.weight_error_total == pytest.approx(0.04)
    assert tl.skipped.tolist() == [True, False, True]


def test_not_enough_cash_with_fees_scales_buys() -> None:
    # cash 1000, SPY 100% @ 100 with 10 bps: 10 sh + 1.00 fee > 1000, so buys are scaled by 1000/1001.
    tl = build_trade_list(["SPY"], [100.0], [0.0], [1.0], 1000.0, TradeOptions(fees_bps=10))
    assert tl.buy_scale == pytest.approx(1000.0 / 1001.0, rel=1e-9)
    assert tl.shares_after[0] == pytest.approx(10.0 / 1.001, rel=1e-9)
    assert 0.0 <= tl.cash_after < 1e-6
    assert any(note.startswith("cash 1000.00 plus sales cannot fund the buys and fees: buys scaled to 99.90%")
               for note in tl.notes)


def test_not_enough_cash_when_sells_are_skipped() -> None:
    # A 5 @ 100, C 5 @ 100, cash 25 -> equity 1025. Targets A .45, C .45 (sell $38.75 each, below the
    # 40 minimum: skipped), B .10 @ 50 (buy 2.05 sh = $102.50). Only 25 in cash: B scaled to 0.5 sh.
    tl = build_trade_list(["A", "B", "C"], [100.0, 50.0, 100.0], [5.0, 0.0, 5.0], [0.45, 0.10, 0.45], 25.0,
                          TradeOptions(min_trade=40))
    assert tl.actions == ("skip", "buy", "skip")
    assert tl.buy_scale == pytest.approx(25.0 / 102.5, rel=1e-9)
    assert tl.shares_after[1] == pytest.approx(0.5, rel=1e-9)
    assert 0.0 <= tl.cash_after < 1e-6
    assert any("buys scaled to 24.39%" in note for note in tl.notes)


def test_whole_shares_rounding_can_turn_a_skipped_sell_into_a_share() -> None:
    # Same account in whole shares: A and C round to 4 sh (sell 1 = $100, above the minimum), B to 2 sh
    # ($100): cash 25 + 200 - 100 = 125. The greedy then buys back one A (gap 0.61 sh; A and C tie, A is
    # first), leaving 25, too little for C's share.
    tl = build_trade_list(["A", "B", "C"], [100.0, 50.0, 100.0], [5.0, 0.0, 5.0], [0.45, 0.10, 0.45], 25.0,
                          TradeOptions(min_trade=40, whole_shares=True))
    np.testing.assert_array_equal(tl.shares_after, [5.0, 2.0, 4.0])
    assert tl.actions == ("hold", "buy", "sell")
    assert tl.cash_after == pytest.approx(25.0)


def test_not_enough_cash_whole_shares_with_fees() -> None:
    # cash 1000, SPY 100% @ 100, 10 bps: 10 sh cost 1001 with the fee. Scaled to 9.99 -> 9 sh; the 10th
    # share (100.10 with its fee) does not fit in the 99.10 left.
    tl = build_trade_list(["SPY"], [100.0], [0.0], [1.0], 1000.0, TradeOptions(whole_shares=True, fees_bps=10))
    assert tl.shares_after[0] == 9.0
    assert tl.cash_after == pytest.approx(1000.0 - 900.0 - 0.9)
    assert any("buys scaled" in note for note in tl.notes)


def test_not_enough_cash_whole_shares_with_skipped_sells() -> None:
    # A 5 @ 100, C 5 @ 100, cash 25 (equity 1025); band .06 skips A and C (drift .0378); B 2.05 -> 2 sh
    # needs $100 with only $25: scaled to 0.5 -> 0 sh, and one share ($50) does not fit either.
    tl = build_trade_list(["A", "B", "C"], [100.0, 50.0, 100.0], [5.0, 0.0, 5.0], [0.45, 0.10, 0.45], 25.0,
                          TradeOptions(band_abs=0.06, whole_shares=True))
    np.testing.assert_array_equal(tl.shares_after, [5.0, 0.0, 5.0])
    assert tl.actions == ("skip", "hold", "skip")
    assert tl.cash_after == 25.0
    assert tl.buy_scale == pytest.approx(0.25, rel=1e-9)


def test_covers_are_funded_before_buys() -> None:
    # short F 100 @ 10 (-1000), cash 1500 -> equity 500; SPY 100% @ 100, F not in the strategy; 10 bps.
    # Plan: cover 100 F (1000 + 1.00 fee), buy 5 SPY (500 + 0.50). Only 1500 in cash: the cover is kept
    # whole and the SPY buy scaled by (1500 - 1001) / 500.5.
    tl = build_trade_list(["SPY", "F"], [100.0, 10.0], [0.0, -100.0], [1.0, 0.0], 1500.0,
                          TradeOptions(fees_bps=10), in_strategy=[True, False])
    assert tl.shares_after[1] == 0.0
    assert tl.actions == ("buy", "cover")
    assert tl.cover_scale == 1.0
    assert tl.buy_scale == pytest.approx(499.0 / 500.5, rel=1e-9)
    assert tl.shares_after[0] == pytest.approx(5.0 * 499.0 / 500.5, rel=1e-9)
    assert 0.0 <= tl.cash_after < 1e-6


def test_covers_scaled_when_cash_cannot_fund_them() -> None:
    # short F 100 @ 10, cash 1000.50 -> equity 0.50; covering costs 1001 with a 10 bps fee: covers scaled
    # to 1000.5 / 1001 and nothing bought.
    tl = build_trade_list(["SPY", "F"], [100.0, 10.0], [0.0, -100.0], [1.0, 0.0], 1000.5,
                          TradeOptions(fees_bps=10), in_strategy=[True, False])
    assert tl.buy_scale == 0.0
    assert tl.cover_scale == pytest.approx(1000.5 / 1001.0, rel=1e-9)
    assert tl.shares_after[0] == 0.0
    assert 0.0 <= tl.cash_after < 1e-6
    assert any(note.startswith("covers of short positions scaled to 99.95%") for note in tl.notes)


def test_leveraged_targets_may_borrow_up_to_their_own_net() -> None:
    # net 1.2 of equity 1000: 12 sh @ 100, cash -200 = the target's own borrowing (cash floor -200)
    tl = build_trade_list(["SPY"], [100.0], [0.0], [1.2], 1000.0)
    assert tl.cash_floor == pytest.approx(-200.0)
    assert tl.cash_after == pytest.approx(-200.0)
    assert tl.buy_scale == 1.0


def test_fractional_post_trade_weights_equal_targets_to_1e12() -> None:
    rng = np.random.default_rng(20240601)
    for _ in range(300):
        n = int(rng.integers(1, 12))
        prices = np.exp(rng.normal(4.0, 1.5, n))
        shares = np.round(rng.normal(0, 50, n), 3)
        raw = rng.normal(0, 1, n)
        weights = raw / np.abs(raw).sum() * rng.uniform(0.2, 1.0)  # net <= gross <= 1
        if rng.uniform() < 0.3:  # fully invested, long only: cash lands exactly on 0
            weights = np.abs(raw) / np.abs(raw).sum()
        cash = float(rng.uniform(0, 1e5))
        if cash + float(shares @ prices) <= 0:
            continue
        fees = float(rng.choice([0.0, 1.0, 5.0])) if weights.sum() < 0.99 else 0.0
        tl = build_trade_list([f"T{i}" for i in range(n)], prices, shares, weights, cash, TradeOptions(fees_bps=fees))
        assert np.abs(tl.weights_after - weights).max() <= 1e-12
        assert tl.cash_after >= -1e-9 * tl.equity
        assert tl.buy_scale == 1.0


def test_whole_share_cash_never_negative_property() -> None:
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(400):
        n = int(rng.integers(1, 9))
        prices = np.round(np.exp(rng.normal(4.0, 1.2, n)), 2)
        shares = rng.integers(-40, 120, n).astype(float) * (rng.uniform(size=n) < 0.7)
        raw = rng.normal(0.3, 1, n)
        weights = raw / np.abs(raw).sum() * rng.uniform(0.3, 1.0)
        if rng.uniform() < 0.3:  # fully invested long-only books are the common case
            weights = np.abs(raw) / np.abs(raw).sum()
        cash = float(rng.choice([0.0, rng.uniform(0, 5000), rng.uniform(0, 200)]))
        if cash + float(shares @ prices) <= 0:
            continue
        options = TradeOptions(
            whole_shares=True,
            fees_bps=float(rng.choice([0.0, 1.0, 25.0])),
            min_trade=float(rng.choice([0.0, 50.0])),
            band_abs=None if rng.uniform() < 0.6 else 0.02,
        )
        tl = build_trade_list([f"T{i}" for i in range(n)], prices, shares, weights, cash, options)
        checked += 1
        assert tl.cash_after >= 0.0, (prices, shares, weights, cash, options)
        traded = ~tl.skipped
        np.testing.assert_array_equal(tl.shares_after[traded], np.round(tl.shares_after[traded]))
        # the greedy stopped: no ticker can take one more improving share within cash
        gap = tl.target_shares - tl.shares_after
        for i in np.flatnonzero(traded & (np.abs(gap) > 0.5) & (weights != 0)):
            step = np.sign(gap[i])
            trial = tl.shares_after.copy()
            trial[i] += step
            trade = trial - tl.current_shares
            notional = trade * prices
            cash_trial = cash - notional.sum() - options.fees_bps / 1e4 * np.abs(notional).sum()
            blocked_by_min = trade[i] != 0 and abs(notional[i]) < options.min_trade
            assert cash_trial < 0.0 or blocked_by_min
    assert checked > 300


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(prices=[100.0, np.nan]), "no usable price for B (a price must be a positive number)"),
        (dict(prices=[100.0, 0.0]), "no usable price for B"),
        (dict(weights=[0.5, np.nan]), "target weights of B are not numbers"),
        (dict(cash=-5000.0), "account equity is -4000.00 (cash -5000.00 + holdings 1000.00)"),
        (dict(member=[True, False]), "B are not in the strategy but have a target weight"),
        (dict(shares=[10.0]), "current shares has 1 entries for 2 tickers"),
    ],
)
def test_input_errors(kwargs: dict, message: str) -> None:
    args = dict(prices=[100.0, 50.0], shares=[10.0, 0.0], weights=[0.5, 0.5], cash=0.0, member=None)
    args.update(kwargs)
    with pytest.raises(EngineError) as info:
        build_trade_list(["A", "B"], args["prices"], args["shares"], args["weights"], args["cash"],
                         in_strategy=args["member"])
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(min_trade=-1.0), "min trade -1.0 must be a number >= 0"),
        (dict(band_abs=-0.1), "band -0.1 must be a weight >= 0"),
        (dict(fees_bps=-2.0), "fees -2.0 bps must be >= 0"),
    ],
)
def test_option_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(EngineError, match=message.replace("(", r"\(")):
        TradeOptions(**kwargs)


@pytest.mark.parametrize(("prices", "cash"), [([1e-6, 2e-6], 1e12), ([1e9, 3.0], 1e12), ([0.37, 1.1], 123456.78)])
def test_whole_share_top_up_always_terminates_and_never_overspends(prices, cash) -> None:
    import time

    start = time.perf_counter()
    tl = build_trade_list(["A", "B"], prices, [0.0, 0.0], [0.5, 0.49], cash, TradeOptions(whole_shares=True, fees_bps=3))
    assert time.perf_counter() - start < 10  # the top-up is capped; it cannot run share by share for ever
    assert tl.cash_after >= 0
    assert np.all(tl.shares_after == np.round(tl.shares_after))
    # a whole-share book within one share (or the cap's unspent cash, 1e-4 of equity here) of the targets
    assert np.all(tl.shares_after * np.array(prices) <= np.array([0.5, 0.49]) * cash * (1 + 1e-9) + np.array(prices))
