"""Unit tests of the thesis strategies, the signal helpers and the registry, on small synthetic prices."""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pandas as pd
import pytest

from theses.strategies import (
    REGISTRY,
    Strategy,
    StrategyError,
    bubble_watch,
    get_strategy,
    jevons_dip,
    list_strategies,
    obvious_losers_short,
    semis_barbell,
    short_legacy_autos,
)
from theses.strategies.autonomy_doordash import AutonomyDoordashParams
from theses.strategies.autonomy_doordash import make_strategy as make_autonomy
from theses.strategies.signals import equal_weight_index, linear_glide, rolling_mean, trend_on

NAMES = [
    "index_beta",
    "meta_single_pick",
    "platform_winners",
    "autonomy_doordash",
    "short_legacy_autos",
    "semis_barbell",
    "obvious_losers_short",
    "compute_buildout",
    "concentration_unwind",
    "bubble_watch",
    "jevons_dip",
    "essay_book",
]


def random_prices(tickers, n_days=300, seed=0, start="2024-06-03") -> pd.DataFrame:
    """Geometric random-walk closes on business days (seeded)."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0005, 0.02, size=(n_days, len(tickers)))
    values = 100.0 * np.exp(np.cumsum(steps, axis=0))
    return pd.DataFrame(
        values, index=pd.bdate_range(start, periods=n_days, name="date"), columns=list(tickers)
    )


def fixed_prices(columns: dict[str, np.ndarray], start="2024-01-01") -> pd.DataFrame:
    n_days = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=pd.bdate_range(start, periods=n_days, name="date"))


def small_bubble(window=5, switch_band=None) -> Strategy:
    params = bubble_watch.BubbleWatchParams(basket=("AAA", "BBB"), window=window, switch_band=switch_band)
    return bubble_watch.make_strategy(params)


# --- registry -------------------------------------------------------------------------------------------


def test_registry_holds_the_twelve_theses_in_order():
    assert list(REGISTRY) == NAMES
    assert [s.name for s in list_strategies()] == NAMES
    for strategy in list_strategies():
        assert strategy.benchmark == "SPY"
        assert "\n" not in strategy.description and strategy.description


def test_rebalance_rules_match_theses():
    expected = {
        "index_beta": "none", "meta_single_pick": "none", "platform_winners": "quarterly",
        "autonomy_doordash": "quarterly", "short_legacy_autos": "monthly", "semis_barbell": "monthly",
        "obvious_losers_short": "monthly", "compute_buildout": "monthly", "concentration_unwind": "monthly",
        "bubble_watch": "monthly", "jevons_dip": "monthly", "essay_book": "monthly",
    }  # fmt: skip
    assert {s.name: s.rebalance for s in list_strategies()} == expected


@pytest.mark.parametrize("name", NAMES)
def test_module_docstring_states_thesis_and_source(name):
    module = importlib.import_module(f"theses.strategies.{name}")
    assert "source " in module.__doc__.lower()
    assert module.STRATEGY is REGISTRY[name]
    params = module.STRATEGY.params
    assert dataclasses.is_dataclass(params)
    field = dataclasses.fields(params)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(params, field, None)


def test_get_strategy_suggests_close_name():
    assert get_strategy("essay_book") is REGISTRY["essay_book"]
    with pytest.raises(StrategyError, match="did you mean 'index_beta'") as info:
        get_strategy("index_bta")
    assert "bubble_watch" in str(info.value)


def test_strategy_rejects_unknown_rebalance():
    with pytest.raises(StrategyError, match="fortnightly"):
        dataclasses.replace(REGISTRY["essay_book"], rebalance="fortnightly")


# --- pandas wrapper -------------------------------------------------------------------------------------


def test_target_weights_frame_uses_universe_columns_and_ignores_extra():
    strategy = REGISTRY["concentration_unwind"]
    prices = random_prices(["SPY", "QQQ", "RSP"], n_days=10)
    weights = strategy.target_weights(prices)
    assert list(weights.columns) == ["RSP", "SPY"]
    assert weights.index.equals(prices.index)
    assert (weights["RSP"] == 1.0).all() and (weights["SPY"] == -1.0).all()


def test_target_weights_missing_tickers_named():
    prices = random_prices(["SPY", "F"], n_days=10)
    with pytest.raises(StrategyError, match="GM, STLA"):
        REGISTRY["short_legacy_autos"].target_weights(prices)


def test_target_weights_array_gives_zero_to_extra_columns():
    prices = random_prices(["QQQ", "RSP", "SPY"], n_days=10)
    weights = REGISTRY["concentration_unwind"].target_weights_array(
        prices.to_numpy(), prices.index, prices.columns
    )
    np.testing.assert_array_equal(weights[0], [0.0, 1.0, -1.0])
    with pytest.raises(StrategyError, match="RSP"):
        REGISTRY["concentration_unwind"].target_weights_array(
            prices[["SPY"]].to_numpy(), prices.index, ["SPY"]
        )


# --- static books ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["index_beta", "meta_single_pick"])
def test_buy_and_hold_target_only_on_first_row(name):
    strategy = REGISTRY[name]
    prices = random_prices(strategy.universe, n_days=20)
    weights = strategy.target_weights(prices)
    assert weights.iloc[0].tolist() == [1.0]
    assert weights.iloc[1:].isna().all().all()


def test_buy_and_hold_waits_for_first_price():
    prices = random_prices(["SPY"], n_days=10)
    prices.iloc[:3] = np.nan
    weights = REGISTRY["index_beta"].target_weights(prices)["SPY"]
    assert weights.iloc[3] == 1.0
    assert weights.drop(weights.index[3]).isna().all()
    with pytest.raises(StrategyError, match="no date"):
        REGISTRY["index_beta"].target_weights(prices.iloc[:3])


@pytest.mark.parametrize(
    ("name", "expected", "net", "gross"),
    [
        ("platform_winners", {"META": 0.4, "MSFT": 0.3, "AMZN": 0.2, "ORCL": 0.1}, 1.0, 1.0),
        ("autonomy_doordash", {"DASH": 1.0}, 1.0, 1.0),
        ("compute_buildout", dict.fromkeys(["NVDA", "AVGO", "AMD", "MU", "TSM", "ANET", "MRVL"], 1 / 7), 1.0, 1.0),
        ("concentration_unwind", {"RSP": 1.0, "SPY": -1.0}, 0.0, 2.0),
        ("short_legacy_autos", {"F": -1 / 3, "GM": -1 / 3, "STLA": -1 / 3, "SPY": 1.0}, 0.0, 2.0),
        ("obvious_losers_short", {"INFY": -0.2, "CRM": -0.2, "VGK": -0.2, "F": -0.2, "GM": -0.2, "SPY": 1.0}, 0.0, 2.0),
        (
            "essay_book",
            {"SPY": 0.40, "META": 0.15, "MSFT": 0.10, "AMZN": 0.10, "DASH": 0.10, "NVDA": 0.05, "TSM": 0.10,
             "F": -1 / 30, "GM": -1 / 30, "STLA": -1 / 30},
            0.9,
            1.1,
        ),
    ],
)  # fmt: skip
def test_static_book_values_sum_and_signs(name, expected, net, gross):
    strategy = REGISTRY[name]
    prices = random_prices(strategy.universe, n_days=30)
    weights = strategy.target_weights(prices)
    assert set(weights.columns) == set(expected)
    for ticker, value in expected.items():
        np.testing.assert_allclose(weights[ticker].to_numpy(), value, rtol=0, atol=1e-15)
    np.testing.assert_allclose(weights.sum(axis=1), net, atol=1e-12)
    np.testing.assert_allclose(weights.abs().sum(axis=1), gross, atol=1e-12)


def test_autonomy_half_spy_variant_and_unlisted_dash_keeps_target():
    strategy = make_autonomy(AutonomyDoordashParams(dash_weight=0.5, spy_weight=0.5))
    prices = random_prices(["DASH", "SPY"], n_days=10)
    prices.iloc[:4, 0] = np.nan  # DASH not listed yet
    weights = strategy.target_weights(prices)
    assert (weights["DASH"] == 0.5).all() and (weights["SPY"] == 0.5).all()


# --- hedged shorts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [short_legacy_autos, obvious_losers_short])
def test_hedge_equal_notional_every_row(module):
    strategy = module.STRATEGY
    prices = random_prices(strategy.universe, n_days=40, seed=3)
    prices.iloc[:5, 0] = np.nan  # first short lists late: the other shorts carry the book
    weights = strategy.target_weights(prices)
    shorts = list(strategy.params.shorts)
    np.testing.assert_allclose(weights[shorts].sum(axis=1), -weights["SPY"], atol=1e-12)
    np.testing.assert_allclose(weights["SPY"], 1.0)
    assert (weights[shorts].to_numpy() <= 0).all()
    n = len(shorts)
    np.testing.assert_allclose(weights[shorts].iloc[0].to_numpy(), [0.0] + [-1 / (n - 1)] * (n - 1))
    np.testing.assert_allclose(weights[shorts].iloc[5].to_numpy(), [-1 / n] * n)


def test_hedge_short_size_scales_both_legs():
    params = obvious_losers_short.ObviousLosersShortParams(short_size=0.5)
    strategy = obvious_losers_short.make_strategy(params)
    weights = strategy.target_weights(random_prices(strategy.universe, n_days=5))
    np.testing.assert_allclose(weights["SPY"], 0.5)
    np.testing.assert_allclose(weights[list(params.shorts)].to_numpy(), -0.1)


# --- glide path -----------------------------------------------------------------------------------------


def test_semis_glide_values_at_dates():
    strategy = semis_barbell.STRATEGY
    dates = pd.DatetimeIndex(
        [
            "2015-01-02",
            "2024-12-31",
            "2025-01-01",
            "2026-01-01",
            "2026-07-02",
            "2027-01-01",
            "2028-01-01",
            "2030-06-03",
        ]
    )
    prices = pd.DataFrame(100.0, index=dates, columns=["NVDA", "TSM"])
    weights = strategy.target_weights(prices)
    # 2025-01-01 -> 2028-01-01 is 1095 days; 2026-01-01 is 365 in (1/3), 2027-01-01 is 730 (2/3),
    # 2026-07-02 is 547 in: 0.8 - 0.6 * 547/1095.
    nvda = [0.8, 0.8, 0.8, 0.6, 0.8 - 0.6 * 547 / 1095, 0.4, 0.2, 0.2]
    np.testing.assert_allclose(weights["NVDA"], nvda, rtol=0, atol=1e-12)
    np.testing.assert_allclose(weights["TSM"], 1.0 - np.array(nvda), rtol=0, atol=1e-12)


def test_semis_optional_intel_weight():
    params = semis_barbell.SemisBarbellParams(intc_weight=0.2)
    strategy = semis_barbell.make_strategy(params)
    assert strategy.universe == ("NVDA", "TSM", "INTC")
    prices = pd.DataFrame(
        100.0, index=pd.DatetimeIndex(["2024-06-03", "2026-01-01"]), columns=strategy.universe
    )
    weights = strategy.target_weights(prices)
    np.testing.assert_allclose(weights.to_numpy(), [[0.64, 0.16, 0.2], [0.48, 0.32, 0.2]], atol=1e-12)


def test_linear_glide_helper_and_bad_range():
    dates = pd.DatetimeIndex(["2020-01-01", "2020-01-11", "2020-01-21", "2020-02-01"])
    np.testing.assert_allclose(
        linear_glide(dates, "2020-01-01", "2020-01-21", 1.0, 0.0), [1.0, 0.5, 0.0, 0.0]
    )
    with pytest.raises(StrategyError, match="after its start"):
        linear_glide(dates, "2020-02-01", "2020-01-01", 1.0, 0.0)


# --- signal helpers -------------------------------------------------------------------------------------


def test_rolling_mean_matches_pandas_on_2d_and_3d():
    rng = np.random.default_rng(7)
    values = rng.normal(size=(3, 40, 4))
    values[1, 10, 2] = np.nan
    for path in range(3):
        expected = pd.DataFrame(values[path]).rolling(6).mean().to_numpy()
        np.testing.assert_allclose(rolling_mean(values[path], 6), expected, atol=1e-12)
        np.testing.assert_allclose(rolling_mean(values, 6)[path], expected, atol=1e-12)
    with pytest.raises(StrategyError, match="window"):
        rolling_mean(values, 0)


def test_equal_weight_index_by_hand():
    # A: 100 -> 110 -> 121; B lists on day 1 at 50 -> 45. Day 1: only A has a return (+10%); day 2: mean(+10%, -10%).
    prices = np.array([[np.nan, np.nan], [100.0, np.nan], [110.0, 50.0], [121.0, 45.0]])
    level = equal_weight_index(prices, np.array([0, 1]))
    np.testing.assert_allclose(level, [np.nan, 1.0, 1.1, 1.1], equal_nan=True)
    level3 = equal_weight_index(np.stack([prices, prices]), np.array([0, 1]))
    np.testing.assert_allclose(level3, np.stack([level, level]), equal_nan=True)


def _loop_equal_weight_index(prices: np.ndarray) -> np.ndarray:
    """Plain loop: mean return of the names with closes on t-1 and t; NaN before any close; flat on empty days."""
    level, out = np.nan, np.full(len(prices), np.nan)
    for t in range(len(prices)):
        if np.isnan(level):
            level = 1.0 if np.isfinite(prices[t]).any() else np.nan
        elif t > 0:
            both = np.isfinite(prices[t]) & np.isfinite(prices[t - 1])
            level *= 1.0 + (np.mean(prices[t, both] / prices[t - 1, both] - 1.0) if both.any() else 0.0)
        out[t] = level
    return out


@pytest.mark.parametrize("gaps", ["none", "late listings", "a missing quote late"])
def test_equal_weight_index_fast_tail_matches_the_masked_rule(gaps):
    """The unmasked tail (rows where every name trades) equals the masked formula bit for bit, and a plain loop."""
    from theses.strategies.signals import _masked_mean_returns

    rng = np.random.default_rng(7)
    prices = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (3, 400, 11)), axis=1))
    if gaps == "late listings":
        prices[:, :30, 2] = np.nan
        prices[:, :90, 9] = np.nan
    elif gaps == "a missing quote late":
        prices[1, 350, 4] = np.nan
    positions = np.arange(11)
    level = equal_weight_index(prices, positions)
    mean, started = _masked_mean_returns(prices)
    masked = np.where(started, np.cumprod(1.0 + np.where(started, mean, 0.0), axis=-1), np.nan)
    np.testing.assert_array_equal(level, masked)
    for p in range(3):
        np.testing.assert_allclose(level[p], _loop_equal_weight_index(prices[p]), rtol=1e-13, equal_nan=True)
        np.testing.assert_array_equal(equal_weight_index(prices[p], positions), level[p])


@pytest.mark.parametrize("names", [1, 5, 8, 11, 17, 40])
def test_equal_weight_index_kernel_is_numpys_formula_bit_for_bit(names):
    """The kernel sums each row pairwise as numpy does: the same bits for any basket size and column order."""
    from theses.strategies.signals import _equal_weight_index_numpy

    rng = np.random.default_rng(names)
    prices = 60 * np.exp(np.cumsum(rng.normal(0, 0.03, (4, 300, names + 3)), axis=1))
    prices[:, :25, 1] = np.nan  # a late listing
    prices[3, 200, 0] = np.nan  # a missing quote on one path
    positions = rng.permutation(names + 3)[:names]
    np.testing.assert_array_equal(equal_weight_index(prices, positions), _equal_weight_index_numpy(prices, positions))
    np.testing.assert_array_equal(equal_weight_index(prices[1], positions),
                                  _equal_weight_index_numpy(prices[1], positions))
    np.testing.assert_allclose(equal_weight_index(prices[0], positions),
                               _loop_equal_weight_index(prices[0][:, positions]), rtol=1e-13, equal_nan=True)


def test_trend_on_needs_full_window_and_strict_crossing():
    level = np.array([1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 4.0])
    # averages (window 3): -, -, 2, 2.667, 3, 3, 3.333
    assert trend_on(level, 3).tolist() == [False, False, True, True, False, False, True]


# --- bubble watch: the trend switch --------------------------------------------------------------------


def _falling_then_rising() -> pd.DataFrame:
    path = np.array([100.0 - t for t in range(10)] + [91.0 + 5.0 * (t - 9) for t in range(10, 20)])
    spy = np.linspace(100.0, 120.0, 20)
    return fixed_prices({"AAA": path, "BBB": path, "SPY": spy})


def test_bubble_switch_flips_on_the_crossing_bar():
    prices = _falling_then_rising()
    weights = small_bubble(5).target_weights(prices)
    # Day 9: level 0.91 vs 5-day mean 0.93 (off). Day 10: 0.96 vs mean(0.94,0.93,0.92,0.91,0.96)=0.932 (on).
    assert (weights["SPY"].iloc[:10] == 1.0).all()
    assert (weights[["AAA", "BBB"]].iloc[:10] == 0.0).all().all()
    assert (weights["SPY"].iloc[10:] == 0.0).all()
    assert (weights[["AAA", "BBB"]].iloc[10:] == 0.5).all().all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)


def test_bubble_holds_fallback_until_window_filled():
    rising = np.linspace(100.0, 200.0, 250)
    prices = fixed_prices({t: rising for t in bubble_watch.STRATEGY.universe})
    weights = bubble_watch.STRATEGY.target_weights(prices)
    assert (weights["SPY"].iloc[:199] == 1.0).all()  # fewer than 200 observations: hold SPY
    assert (weights["SPY"].iloc[199:] == 0.0).all()
    np.testing.assert_allclose(weights.drop(columns="SPY").iloc[199:], 1 / 11)


def test_bubble_equal_weight_over_listed_names_when_on():
    prices = _falling_then_rising()
    prices.loc[prices.index[:12], "BBB"] = np.nan
    weights = small_bubble(5).target_weights(prices)
    assert weights.loc[prices.index[11], "AAA"] == 1.0 and weights.loc[prices.index[11], "BBB"] == 0.0
    assert weights.loc[prices.index[12], "AAA"] == 0.5 and weights.loc[prices.index[12], "BBB"] == 0.5


def test_bubble_switch_is_executed_one_bar_later_by_the_engine():
    from theses import engine

    strategy = small_bubble(5, switch_band=0.25)
    prices = _falling_then_rising()
    config = engine.BacktestConfig(
        rebalance=engine.RebalanceRule(calendar=strategy.rebalance, band_abs=strategy.band_abs)
    )
    result = engine.backtest(prices, strategy.target_weights(prices), config)
    held = result.weights["AAA"] + result.weights["BBB"]
    assert (held.iloc[:11] == 0.0).all()  # crossing on bar 10, never traded before bar 11
    assert held.iloc[11] == pytest.approx(1.0)


def test_bubble_switch_waits_for_the_monthly_rebalance_by_default():
    from theses import engine

    strategy = small_bubble(5)
    assert strategy.band_abs is None and strategy.rebalance == "monthly"
    path = np.array([100.0 - t for t in range(10)] + [91.0 + 5.0 * (t - 9) for t in range(10, 30)])
    prices = fixed_prices({"AAA": path, "BBB": path, "SPY": np.linspace(100.0, 130.0, 30)})
    weights = strategy.target_weights(prices)
    assert weights["SPY"].iloc[9] == 1.0 and weights["SPY"].iloc[10] == 0.0  # decided on the crossing bar
    config = engine.BacktestConfig(rebalance=engine.RebalanceRule(calendar="monthly"))
    result = engine.backtest(prices, weights, config)
    held = result.weights["AAA"] + result.weights["BBB"]
    first_february = prices.index.get_loc(pd.Timestamp("2024-02-01"))
    assert first_february == 23
    assert (held.iloc[:first_february] == 0.0).all()  # decided on bar 10, traded at the next month start
    assert held.iloc[first_february] == pytest.approx(1.0, rel=1e-3)


# --- jevons_dip -----------------------------------------------------------------------------------------


def small_jevons(**changes) -> Strategy:
    params = jevons_dip.JevonsDipParams(basket=("AAA", "BBB"), window=10, **changes)
    return jevons_dip.make_strategy(params)


def _shock_and_recovery() -> pd.DataFrame:
    """Flat at 100 for 15 days, a one-day 20% efficiency shock on day 15, then back to 100 by day 20."""
    path = np.r_[np.full(15, 100.0), 80.0, 84.0, 88.0, 92.0, 96.0, np.full(10, 100.0)]
    return fixed_prices({"AAA": path, "BBB": path, "SPY": np.linspace(100.0, 110.0, len(path))})


def test_jevons_adds_on_the_shock_and_scales_back_after_recovery():
    weights = small_jevons().target_weights(_shock_and_recovery())
    basket = weights["AAA"] + weights["BBB"]
    np.testing.assert_allclose(basket.iloc[:15], 0.30)  # normal book (and before the 10-day high exists)
    np.testing.assert_allclose(basket.iloc[15:19], 0.60)  # 20% below the high: the dip book, held while recovering
    # Day 19 closes at 96, 4% below the high: back within 5%, so the book scales back.
    np.testing.assert_allclose(basket.iloc[19:], 0.30)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    np.testing.assert_allclose(weights["SPY"], 1.0 - basket)


def test_jevons_dip_is_traded_the_bar_after_the_shock():
    from theses import engine

    strategy = small_jevons()
    prices = _shock_and_recovery()
    config = engine.BacktestConfig(
        rebalance=engine.RebalanceRule(calendar=strategy.rebalance, band_abs=strategy.band_abs),
        costs=engine.CostModel(fees_bps=0.0, slippage_bps=0.0),
    )
    result = engine.backtest(prices, strategy.target_weights(prices), config)
    held = result.weights["AAA"] + result.weights["BBB"]
    assert held.iloc[15] < 0.30  # the shock day itself: still the normal book (after the fall)
    assert held.iloc[16] == pytest.approx(0.60)  # decided from day 15's close, traded at day 16's
    assert held.iloc[20] == pytest.approx(0.30)  # recovery seen on day 19, traded on day 20


def test_jevons_thresholds_are_parameters_and_checked():
    deeper = small_jevons(enter=0.25).target_weights(_shock_and_recovery())
    np.testing.assert_allclose(deeper["AAA"] + deeper["BBB"], 0.30)  # a 20% fall is not a 25% dip
    with pytest.raises(StrategyError, match="leave < enter"):
        small_jevons(enter=0.05, leave=0.10)


# --- no peeking and path consistency, every strategy ---------------------------------------------------


ALL = [*(REGISTRY[n] for n in NAMES), small_bubble(5), small_jevons(enter=0.06, leave=0.02)]
ALL_IDS = [*NAMES, "bubble_watch_window5", "jevons_dip_window10"]


@pytest.mark.parametrize("strategy", ALL, ids=ALL_IDS)
def test_rows_up_to_t_ignore_prices_after_t(strategy):
    prices = random_prices(strategy.universe, n_days=320, seed=11, start="2024-06-03")
    base = strategy.target_weights(prices).to_numpy()
    rng = np.random.default_rng(5)
    for t in (30, 150, 205, 260):
        changed = prices.copy()
        changed.iloc[t + 1 :] *= rng.uniform(0.3, 3.0, size=changed.iloc[t + 1 :].shape)
        again = strategy.target_weights(changed).to_numpy()
        np.testing.assert_array_equal(again[: t + 1], base[: t + 1])


def test_no_peeking_test_sees_bubble_switches():
    # The random prices used above must make the trend filter switch, or the no-peeking test proves little.
    prices = random_prices(small_bubble(5).universe, n_days=320, seed=11)
    spy = small_bubble(5).target_weights(prices)["SPY"]
    assert 5 < (spy.diff().abs() > 0).sum()
    twitchy = small_jevons(enter=0.06, leave=0.02)
    jevons = twitchy.target_weights(random_prices(twitchy.universe, n_days=320, seed=11))["SPY"]
    assert 3 < (jevons.diff().abs() > 0).sum()


@pytest.mark.parametrize("strategy", ALL, ids=ALL_IDS)
def test_paths_give_the_single_path_result(strategy):
    frames = [random_prices(strategy.universe, n_days=260, seed=s) for s in (1, 2, 3)]
    index, tickers = frames[0].index, list(strategy.universe)
    singles = [strategy.target_weights_array(f.to_numpy(), index, tickers) for f in frames]
    shape = (3, len(index), len(tickers))
    copies = strategy.target_weights_array(np.stack([frames[0].to_numpy()] * 3), index, tickers)
    np.testing.assert_array_equal(np.broadcast_to(copies, shape), np.broadcast_to(singles[0], shape))
    stacked = strategy.target_weights_array(np.stack([f.to_numpy() for f in frames]), index, tickers)
    for path in range(3):
        np.testing.assert_array_equal(np.broadcast_to(stacked, shape)[path], singles[path])
    path_dependent = strategy.name in ("bubble_watch", "jevons_dip")
    assert stacked.shape == (shape if path_dependent else shape[1:])


def test_hedge_becomes_path_dependent_only_when_listings_differ():
    strategy = short_legacy_autos.STRATEGY
    paths = np.stack([random_prices(strategy.universe, n_days=10, seed=s).to_numpy() for s in (1, 2)])
    index = random_prices(strategy.universe, n_days=10).index
    paths[1, :3, 2] = np.nan  # STLA unlisted for three days on path 1 only
    weights = strategy.target_weights_array(paths, index, strategy.universe)
    assert weights.shape == paths.shape
    np.testing.assert_allclose(weights[0, 0], [-1 / 3, -1 / 3, -1 / 3, 1.0])
    np.testing.assert_allclose(weights[1, 0], [-0.5, -0.5, 0.0, 1.0])
