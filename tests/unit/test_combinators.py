"""The strategy combinators, each against a hand calculation or a plain loop, and the one input check in Strategy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theses.strategies import (
    REGISTRY,
    DrawdownSwitch,
    Glide,
    HedgedShort,
    ListedEqualWeight,
    StaticBook,
    Strategy,
    StrategyError,
    TrendFilter,
    strategy_from_toml,
)
from theses.strategies.signals import drawdown_from_high, hysteresis, linear_glide, rolling_max

DATES = pd.bdate_range("2024-01-01", periods=8).to_numpy(dtype="datetime64[ns]")


def walk(n_paths: int, n_days: int, n_assets: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, (n_paths, n_days, n_assets)), axis=1))


def test_static_book_dense_and_buy_and_hold():
    book = StaticBook({"AAA": 0.7, "BBB": -0.2, "CCC": 0.0})
    assert book.universe == ("AAA", "BBB", "CCC") and book.lookback == 0
    prices = np.full((4, 4), 50.0)
    np.testing.assert_array_equal(book.weights(prices, DATES[:4], ["ZZZ", "BBB", "AAA", "CCC"]),
                                  np.tile([0.0, -0.2, 0.7, 0.0], (4, 1)))
    held = StaticBook({"AAA": 0.5, "BBB": 0.5, "CCC": 0.0}, buy_and_hold=True)
    prices[:2, 1] = np.nan  # BBB lists on row 2; CCC (weight 0) never matters
    prices[:, 2] = np.nan
    weights = held.weights(prices[:, :3], DATES[:4], ["AAA", "BBB", "CCC"])
    assert np.isnan(weights[[0, 1, 3]]).all()
    np.testing.assert_array_equal(weights[2], [0.5, 0.5, 0.0])


def test_static_book_accepts_pairs_and_is_hashable_data():
    assert StaticBook((("A", 1), ("B", 0.5))) == StaticBook({"A": 1.0, "B": 0.5})
    assert StaticBook({"A": 1.0}).book == (("A", 1.0),)


def test_glide_values_by_hand_and_against_linear_glide():
    dates = pd.DatetimeIndex(["2019-12-01", "2020-01-01", "2020-01-11", "2020-01-21", "2020-03-01"])
    glide = Glide({"X": 1.0, "Y": 0.0, "Z": 0.25}, {"X": 0.0, "Y": 1.0, "Z": 0.25}, "2020-01-01", "2020-01-21")
    assert glide.universe == ("X", "Y", "Z") and glide.lookback == 0
    out = glide.weights(np.ones((5, 3)), dates.to_numpy(), ["X", "Y", "Z"])
    np.testing.assert_allclose(out[:, 0], [1.0, 1.0, 0.5, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(out[:, 1], [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-15)
    assert (out[:, 2] == 0.25).all()
    np.testing.assert_array_equal(out[:, 0], linear_glide(dates, "2020-01-01", "2020-01-21", 1.0, 0.0))


def test_glide_rest_keeps_the_total_exact():
    rng = np.random.default_rng(1)
    dates = np.sort(pd.Timestamp("2024-01-01").to_datetime64() + rng.integers(0, 10**3, 200).astype("timedelta64[D]"))
    glide = Glide({"A": 0.7, "B": 0.3 - 0.1, "C": 0.1}, {"A": 0.13, "B": 0.77, "C": 0.1}, "2024-03-01",
                  "2026-01-01", rest="B")
    out = glide.weights(np.ones((200, 3)), dates, ["A", "B", "C"])
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[:, 1], 1.0 - out[:, 0] - 0.1, atol=1e-15)
    with pytest.raises(StrategyError, match="same total"):
        Glide({"A": 1.0}, {"A": 0.5, "B": 0.6}, "2024-01-01", "2025-01-01", rest="B")
    with pytest.raises(StrategyError, match="in neither book"):
        Glide({"A": 1.0}, {"A": 1.0}, "2024-01-01", "2025-01-01", rest="Q")
    with pytest.raises(StrategyError, match="after its start"):
        Glide({"A": 1.0}, {"A": 0.0}, "2025-01-01", "2024-01-01")


def test_hedged_short_by_hand():
    rule = HedgedShort(("S1", "S2"), "H", size=0.6)
    assert rule.universe == ("S1", "S2", "H") and rule.lookback == 0
    prices = np.full((3, 3), 10.0)
    prices[0, :2] = np.nan  # no short priced: nothing to hedge
    prices[1, 0] = np.nan  # one short priced: it carries the whole short book
    np.testing.assert_allclose(rule.weights(prices, DATES[:3], ["S1", "S2", "H"]),
                               [[0.0, 0.0, 0.0], [0.0, -0.6, 0.6], [-0.3, -0.3, 0.6]])


def test_listed_equal_weight_by_hand_and_per_path():
    rule = ListedEqualWeight(("A", "B"))
    prices = np.full((2, 3, 2), 5.0)
    np.testing.assert_array_equal(rule.weights(prices, DATES[:3], ["A", "B"]), np.full((3, 2), 0.5))
    prices[1, 0, 1] = np.nan  # B unlisted on row 0 of path 1 only: the weights become path-dependent
    out = rule.weights(prices, DATES[:3], ["A", "B"])
    assert out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out[1, 0], [1.0, 0.0])
    np.testing.assert_array_equal(out[0], np.full((3, 2), 0.5))


def _loop_trend(prices: np.ndarray, window: int) -> np.ndarray:
    """A plain loop: equal-weight index of every column, on when above its trailing mean (rows <= t)."""
    n_days, n_assets = prices.shape
    level = [1.0]
    for t in range(1, n_days):
        level.append(level[-1] * (1.0 + sum(prices[t, i] / prices[t - 1, i] - 1.0 for i in range(n_assets)) / n_assets))
    return np.array([t >= window - 1 and level[t] > sum(level[t - window + 1 : t + 1]) / window
                     for t in range(n_days)])


def test_trend_filter_matches_a_plain_loop_on_every_path():
    prices = walk(4, 120, 3, seed=2)
    rule = TrendFilter(("A", "B"), 10, on=StaticBook({"A": 0.6, "B": 0.4}), off=StaticBook({"C": 1.0}))
    assert rule.universe == ("A", "B", "C") and rule.lookback == 10
    out = rule.weights(prices, np.arange(120).astype("datetime64[D]"), ["A", "B", "C"])
    assert out.shape == (4, 120, 3)
    switches = 0
    for path in range(4):
        on = _loop_trend(prices[path, :, :2], 10)
        switches += int(np.abs(np.diff(on.astype(int))).sum())
        np.testing.assert_array_equal(out[path], np.where(on[:, None], [0.6, 0.4, 0.0], [0.0, 0.0, 1.0]))
    assert switches > 4  # the comparison covers both regimes


def test_trend_filter_buy_and_hold_emits_only_switch_rows():
    prices = walk(1, 80, 1, seed=4)[0]
    rule = TrendFilter(("A",), 5, on=StaticBook({"A": 1.0}), off=StaticBook({}), buy_and_hold=True)
    out = rule.weights(prices, np.arange(80).astype("datetime64[D]"), ["A"])[:, 0]
    on = _loop_trend(prices, 5)
    rows = np.flatnonzero(~np.isnan(out))
    assert rows.tolist() == [0, *(np.flatnonzero(np.diff(on.astype(int))) + 1)]
    np.testing.assert_array_equal(out[rows], on[rows].astype(float))
    with pytest.raises(StrategyError, match="window"):
        TrendFilter(("A",), 0, on=StaticBook({"A": 1.0}), off=StaticBook({}))


# ------------------------------------------------------------------------------------------ Strategy
def test_lookback_is_derived_from_the_rule():
    assert {name: s.lookback for name, s in REGISTRY.items() if s.lookback} == {"bubble_watch": 200, "jevons_dip": 126}
    switch = DrawdownSwitch(("A",), 30, 0.2, 0.05, on=TrendFilter(("A",), 80, StaticBook({"A": 1}), StaticBook({})),
                            off=StaticBook({"A": 0.5}))
    assert switch.lookback == 80  # the deepest look-back of the switch and its books
    trend = strategy_from_toml('name = "t"\nrebalance = "monthly"\n[weights]\nSPY = 1\n[trend_filter]\nwindow = 50\n',
                               "t.toml")
    assert trend.lookback == 50
    assert strategy_from_toml('name = "s"\nrebalance = "none"\n[weights]\nSPY = 1\n', "s.toml").lookback == 0


class _Recorder:
    """A rule that records what the Strategy passes it."""

    universe = ("A", "B")
    lookback = 0

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def weights(self, prices, dates, tickers):
        self.calls.append((prices.dtype, dates.dtype, list(tickers)))
        return np.zeros(prices.shape[-2:])


def test_inputs_are_checked_once_in_strategy():
    rule = _Recorder()
    strategy = Strategy(name="r", description="r", rebalance="daily", benchmark="SPY", params=None, rule=rule)
    assert strategy.universe == ("A", "B")
    frame = pd.DataFrame({"B": [1, 2, 3], "A": [4, 5, 6]}, index=pd.bdate_range("2024-01-01", periods=3))
    assert list(strategy.target_weights(frame).columns) == ["A", "B"]
    assert rule.calls == [(np.dtype(float), np.dtype("datetime64[ns]"), ["A", "B"])]
    for prices, dates, tickers, match in [
        (np.ones(3), frame.index, ["A", "B"], "shape"),
        (np.ones((3, 2)), frame.index[:2], ["A", "B"], "3 days but 2 dates"),
        (np.ones((3, 3)), frame.index, ["A", "B"], "3 columns but 2 tickers"),
    ]:
        with pytest.raises(StrategyError, match=match):
            strategy.target_weights_array(prices, dates, tickers)
    assert len(rule.calls) == 1  # a bad input never reaches the rule


def test_rolling_max_and_drawdown_match_pandas():
    level = np.r_[np.nan, 1.0, 1.2, 1.1, 0.9, 1.3, 1.0, 0.8]
    expected = pd.Series(level).rolling(3).max().to_numpy()
    np.testing.assert_array_equal(rolling_max(level, 3), expected)
    np.testing.assert_allclose(drawdown_from_high(level, 3), level / expected - 1)
    paths = walk(3, 40, 1, seed=4)[..., 0]
    for p in range(3):
        np.testing.assert_array_equal(rolling_max(paths, 7)[p], pd.Series(paths[p]).rolling(7).max().to_numpy())


@pytest.mark.parametrize("window", [1, 2, 5, 6, 126, 300])
def test_rolling_max_with_gaps_matches_pandas_for_odd_and_even_windows(window):
    """NaN until the window is full and wherever it holds a NaN, as pandas' ``rolling(window).max()``."""
    rng = np.random.default_rng(window)
    paths = np.cumsum(rng.normal(size=(3, 320)), axis=1)
    paths[0, :9] = np.nan  # before a listing
    paths[1, 150] = np.nan  # a missing day
    paths[2, ::41] = np.nan
    ours = rolling_max(paths, window)
    for p in range(3):
        np.testing.assert_array_equal(ours[p], pd.Series(paths[p]).rolling(window).max().to_numpy())


def test_hysteresis_by_hand():
    enter = np.array([0, 1, 0, 0, 0, 1, 1, 0], dtype=bool)
    leave = np.array([1, 0, 0, 1, 0, 0, 1, 1], dtype=bool)
    np.testing.assert_array_equal(hysteresis(enter, leave), [0, 1, 1, 0, 0, 1, 1, 0])


def _switch_loop(level: np.ndarray, window: int, enter: float, leave: float) -> np.ndarray:
    """The drawdown switch as a plain loop over days."""
    state, out = False, np.zeros(len(level), dtype=bool)
    for t in range(len(level)):
        if t >= window - 1 and np.isfinite(level[t - window + 1 : t + 1]).all():
            drawdown = level[t] / level[t - window + 1 : t + 1].max() - 1
            if drawdown <= -enter:
                state = True
            elif drawdown >= -leave:
                state = False
        out[t] = state
    return out


def test_drawdown_switch_matches_a_plain_loop_on_every_path():
    rule = DrawdownSwitch(("AAA", "BBB"), window=20, enter=0.15, leave=0.04, on=StaticBook({"AAA": 0.6, "SPY": 0.4}),
                          off=StaticBook({"AAA": 0.2, "SPY": 0.8}))
    assert rule.universe == ("AAA", "SPY", "BBB") and rule.lookback == 20
    prices = walk(4, 300, 3, seed=9)
    dates = pd.bdate_range("2024-01-01", periods=300).to_numpy(dtype="datetime64[ns]")
    weights = rule.weights(prices, dates, ["AAA", "BBB", "SPY"])
    assert weights.shape == (4, 300, 3)
    switches = 0
    for p in range(4):
        level = np.cumprod(np.r_[1.0, 1 + (prices[p, 1:, :2] / prices[p, :-1, :2] - 1).mean(axis=1)])
        on = _switch_loop(level, 20, 0.15, 0.04)
        switches += int(np.abs(np.diff(on.astype(int))).sum())
        np.testing.assert_allclose(weights[p, :, 0], np.where(on, 0.6, 0.2))
        np.testing.assert_allclose(weights[p, :, 2], np.where(on, 0.4, 0.8))
        assert (weights[p, :, 1] == 0).all()
    assert switches >= 4  # the walks dip often enough for the comparison to mean something
    with pytest.raises(StrategyError, match="leave < enter"):
        DrawdownSwitch(("A",), 20, 0.05, 0.1, on=StaticBook({"A": 1}), off=StaticBook({}))


def test_primed_rule_reads_history_before_the_paths_and_matches_the_full_run():
    from theses.strategies.combinators import Primed

    rule = TrendFilter(("AAA", "BBB"), 50, on=ListedEqualWeight(("AAA", "BBB")), off=StaticBook({"SPY": 1.0}))
    prices = walk(1, 400, 3, seed=12)[0]
    dates = pd.bdate_range("2020-01-01", periods=400).to_numpy(dtype="datetime64[ns]")
    tickers = ["AAA", "BBB", "SPY"]
    full = rule.weights(prices, dates, tickers)
    cut = 150
    universe = list(rule.universe)  # ("AAA", "BBB", "SPY") in the rule's own order
    history = prices[:cut][:, [tickers.index(t) for t in universe]]
    # Paths that start at 100 one day before their first row: the history is rescaled to join them smoothly.
    start = np.full(3, 100.0)
    scaled_paths = prices[cut:] / prices[cut - 1] * start
    primed = Primed(rule, history, dates[:cut], anchor=start)
    assert primed.lookback == 0 and primed.universe == rule.universe
    np.testing.assert_allclose(primed.weights(scaled_paths, dates[cut:], tickers), full[cut:], atol=1e-12)
    cold = rule.weights(scaled_paths, dates[cut:], tickers)
    assert (cold[:49, 2] == 1.0).all()  # without history the filter is off for its first 49 days
    assert not np.array_equal(cold, full[cut:])
    other = walk(1, 250, 3, seed=13)[0]
    other = other / other[0] * start  # another path from the same start prices
    stacked = primed.weights(np.stack([scaled_paths, other]), dates[cut:], tickers)
    assert stacked.shape == (2, 250, 3)
    np.testing.assert_allclose(stacked[0], full[cut:], atol=1e-12)
    alone = Primed(rule, history, dates[:cut], anchor=start).weights(other, dates[cut:], tickers)
    np.testing.assert_allclose(stacked[1], alone, atol=1e-12)
    with pytest.raises(StrategyError, match="primed history must be"):
        Primed(rule, history[:, :2], dates[:cut])


def _switch_rules() -> tuple[TrendFilter, DrawdownSwitch]:
    """A trend filter between a listed equal weight and SPY, and a drawdown switch between two static books."""
    trend = TrendFilter(("AAA", "BBB"), 30, on=ListedEqualWeight(("AAA", "BBB")), off=StaticBook({"SPY": 1.0}))
    dip = DrawdownSwitch(("AAA", "BBB"), window=25, enter=0.1, leave=0.03, on=StaticBook({"AAA": 0.7, "SPY": 0.3}),
                         off=StaticBook({"SPY": 1.0}))
    return trend, dip


def _switch_strategy(rule, tickers: list[str]) -> tuple[Strategy, list[str], list[int]]:
    """A monthly strategy of ``rule``, its universe, and the universe's positions in ``tickers``."""
    strategy = Strategy("s", "d", "monthly", "SPY", None, rule)
    universe = list(strategy.universe)
    return strategy, universe, [tickers.index(t) for t in universe]


def test_switch_rows_alone_equal_the_dense_weights_on_those_rows():
    """Strategy.target_rows_array: the trend and drawdown switches (primed or not) compute the requested rows
    alone, equal to the dense weights there; None where a left-out row could matter (buy and hold)."""
    from theses.strategies.combinators import Primed

    tickers = ["AAA", "BBB", "SPY"]
    prices = walk(5, 320, 3, seed=21)
    dates = pd.bdate_range("2021-01-01", periods=320)
    rows = np.array([0, 19, 40, 41, 150, 319])
    trend, dip = _switch_rules()
    primed = Primed(trend, walk(1, 60, 3, seed=22)[0], pd.bdate_range("2020-09-01", periods=60).to_numpy(),
                    anchor=prices[0, 0])
    for rule in (trend, dip, primed):
        strategy, universe, cols = _switch_strategy(rule, tickers)
        for dtype in (np.float64, np.float32):
            part = prices[..., cols].astype(dtype)
            dense = strategy.target_weights_array(part, dates, universe)
            alone = strategy.target_rows_array(part, dates, universe, rows)
            assert alone is not None and alone.shape == (5, len(rows), 3)
            np.testing.assert_array_equal(alone, dense[:, rows])
        assert len(np.unique(dense[:, :, universe.index("SPY")])) == 2  # both regimes occur: the test can fail
    hold = TrendFilter(("AAA",), 30, on=StaticBook({"AAA": 1.0}), off=StaticBook({"SPY": 1.0}), buy_and_hold=True)
    assert Strategy("h", "d", "monthly", "SPY", None, hold).target_rows_array(
        prices[..., [0, 2]], dates, ["AAA", "SPY"], rows) is None
    static = Strategy("b", "d", "monthly", "SPY", None, StaticBook({"SPY": 1.0}))
    assert static.target_rows_array(prices[..., 2:], dates, ["SPY"], rows) is None


def test_switch_picks_give_the_dense_weights():
    """Strategy.target_picks: palette[picks] equals the dense weights of the trend and drawdown switches (primed
    or not, float32 or float64 prices); a listed equal weight whose rows change gives one palette row a day."""
    from theses.strategies.combinators import Primed

    tickers = ["AAA", "BBB", "SPY"]
    prices = walk(4, 300, 3, seed=31)
    dates = pd.bdate_range("2021-01-01", periods=300)
    late = prices.copy()
    late[:, :40, 1] = np.nan  # BBB lists on day 40 on every path: the equal weight changes then
    trend, dip = _switch_rules()
    primed = Primed(dip, walk(1, 60, 3, seed=32)[0], pd.bdate_range("2020-09-01", periods=60).to_numpy(),
                    anchor=prices[0, 0])
    for rule, data, palette_rows in ((trend, prices, 2), (trend, late, 301), (dip, prices, 2), (primed, prices, 2)):
        strategy, universe, cols = _switch_strategy(rule, tickers)
        for dtype in (np.float64, np.float32):
            part = data[..., cols].astype(dtype)
            dense = strategy.target_weights_array(part, dates, universe)
            palette, picks = strategy.target_picks(part, dates, universe)
            assert palette.shape == (palette_rows, 3) and picks.shape == (4, 300)
            np.testing.assert_array_equal(palette[picks], dense)
        assert len(np.unique(picks)) >= 2  # both regimes occur
    hold = TrendFilter(("AAA",), 30, on=StaticBook({"AAA": 1.0}), off=StaticBook({"SPY": 1.0}), buy_and_hold=True)
    assert Strategy("h", "d", "none", "SPY", None, hold).target_picks(prices[..., [0, 2]], dates, ["AAA", "SPY"]) is None
    static = Strategy("b", "d", "monthly", "SPY", None, StaticBook({"SPY": 1.0}))
    assert static.target_picks(prices[..., 2:], dates, ["SPY"]) is None


@pytest.mark.parametrize("seed", range(3))
def test_switch_signal_kernels_equal_their_numpy_references(seed):
    """trend_on and drawdown_switch (one compiled pass each, and their interpreted twins) against the numpy
    formulas: gaps, a late start, an infinite level, windows from 1 to longer than the series."""
    from theses import util
    from theses.strategies import signals

    rng = np.random.default_rng(seed)
    import theses.strategies._signals_nb as compiled

    twin = util.interpreted_twin("theses.strategies._signals_nb")
    switched = 0
    for trial in range(60):
        n_days, n_paths = int(rng.integers(1, 260)), int(rng.integers(1, 4))
        level = np.exp(np.cumsum(rng.normal(0.0, 0.03, (n_paths, n_days)), axis=1))
        if trial % 3 == 0:
            level[rng.random(level.shape) < 0.05] = np.nan
        if trial % 7 == 0:
            level[:, : min(n_days, 10)] = np.nan
        if trial % 11 == 0:
            level[0, n_days // 2] = np.inf
        window = int(rng.integers(1, 90))
        enter = float(rng.uniform(0.05, 0.3))
        leave = float(rng.uniform(0.0, enter))
        trend = signals._trend_on_numpy(level, window)
        dip = signals._drawdown_switch_numpy(level, window, enter, leave)
        np.testing.assert_array_equal(signals.trend_on(level, window), trend)
        np.testing.assert_array_equal(signals.trend_on(level[0], window), trend[0])
        np.testing.assert_array_equal(signals.drawdown_switch(level, window, enter, leave), dip)
        for kernel, args, expected in ((twin.trend_on_nb, (window,), trend), (compiled.trend_on_nb, (window,), trend),
                                       (twin.drawdown_switch_nb, (window, enter, leave), dip),
                                       (compiled.drawdown_switch_nb, (window, enter, leave), dip)):
            out = np.empty(level.shape, dtype=bool)
            with np.errstate(invalid="ignore"):
                kernel(level, *args, out)
            np.testing.assert_array_equal(out, expected)
        switched += int(dip.any()) + int(trend.any())
    assert switched > 40  # most draws switch on somewhere: the comparisons mean something


def test_the_index_after_a_lead_equals_the_index_of_the_joined_rows():
    """equal_weight_index_after: a shared lead (names listed late in it) then each path's rows, bit for bit the
    index of the joined array, for float64 and float32 paths read in place among other columns; None where the
    joined index would take its masked rule on a path row, or a checked column lacks a close."""
    from theses.strategies.signals import equal_weight_index, equal_weight_index_after

    lead = walk(1, 80, 3, seed=41)[0]
    lead[:30, 1] = np.nan  # lists on row 30 of the lead
    lead[:5, 2] = np.nan
    paths = walk(6, 150, 5, seed=42)
    positions = np.array([3, 0, 4])  # the basket's columns of the paths, in the lead's order
    for dtype in (np.float64, np.float32):
        ours = equal_weight_index_after(lead, paths.astype(dtype), positions, checked=np.array([1]))
        joined = np.concatenate([np.broadcast_to(lead, (6, 80, 3)), paths.astype(dtype)[..., positions]], axis=1)
        theirs = equal_weight_index(joined, np.arange(3))
        assert ours.shape == (6, 230) and np.isnan(theirs[:, :1]).all() == np.isnan(ours[:, :1]).all()
        np.testing.assert_array_equal(ours, theirs)
    assert not np.allclose(ours[0], ours[1])  # the paths differ: a shared answer would fail
    gap = paths.copy()
    gap[2, 70, 0] = np.nan
    assert equal_weight_index_after(lead, gap, positions) is None
    assert equal_weight_index_after(lead, gap, np.array([3, 4, 4]), checked=np.array([0])) is None
    assert equal_weight_index_after(lead, gap, np.array([3, 4, 4])) is not None
    unlisted = lead.copy()
    unlisted[-1, 2] = np.nan
    assert equal_weight_index_after(unlisted, paths, positions) is None


def test_a_primed_switch_reads_the_paths_in_place_as_the_joined_rule_does():
    """Primed basket switches with an anchor read a whole chunk with every column (``whole_chunk``) and give
    the joined rule's picks and rows bit for bit; a path with a missing close falls back to the joined rule."""
    from theses.strategies.combinators import Primed

    tickers = ["ZZZ", "SPY", "AAA", "YYY", "BBB"]
    prices = walk(5, 260, 5, seed=51).astype(np.float32)
    dates = pd.bdate_range("2021-01-01", periods=260).to_numpy()
    history = walk(1, 60, 3, seed=52)[0]
    history[:20, 1] = np.nan  # BBB lists inside the history
    rows = np.array([0, 21, 40, 120, 259])
    for rule in _switch_rules():
        primed = Primed(rule, history, pd.bdate_range("2020-09-01", periods=60).to_numpy(),
                        anchor=np.array([40.0, 60.0, 300.0]))
        assert primed.whole_chunk and primed._switch_level(prices, dates, tickers) is not None
        joined, joined_dates = primed.joined(prices, dates, tickers)
        palette, picks = primed.picks(prices, dates, tickers)
        their_palette, their_picks = rule.picks(joined, joined_dates, tickers)
        np.testing.assert_array_equal(palette, their_palette)
        np.testing.assert_array_equal(picks, their_picks[:, 60:])
        at = primed.weights_at(prices, dates, tickers, rows)
        np.testing.assert_array_equal(at, rule.weights_at(joined, joined_dates, tickers, rows + 60))
        assert len(np.unique(palette[picks][..., 1])) == 2  # SPY held and not: both regimes occur
        gap = prices.copy()
        gap[3, 100, 1] = np.nan  # SPY, an off-book name: the paths' listings may differ now
        assert primed._switch_level(gap, dates, tickers) is None
        joined, joined_dates = primed.joined(gap, dates, tickers)
        np.testing.assert_array_equal(primed.weights_at(gap, dates, tickers, rows),
                                      rule.weights_at(joined, joined_dates, tickers, rows + 60))
    assert not Primed(_switch_rules()[0], history, pd.bdate_range("2020-09-01", periods=60).to_numpy()).whole_chunk
