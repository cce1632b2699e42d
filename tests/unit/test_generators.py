"""Path generators: moments match the spec, crashes land in their window, seeds reproduce, chunking is moot."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from theses.data.calibration import Calibration
from theses.data.errors import DataError
from theses.data.generators import (
    PATH_BLOCK,
    BootstrapGenerator,
    ParametricGenerator,
    next_business_day,
    scenario_plan,
    simulation_index,
)
from theses.data.scenario_spec import parse_scenario

SPEC = textwrap.dedent('''\
    t_df = 6.0
    [groups]
    growth = ["AAA", "BBB"]
    index = ["CCC"]

    [phases.one]
    start = 2030-01-01
    end = 2030-06-30
    market_drift = 0.10
    market_vol = 1.0
    [phases.one.excess_drift]
    growth = 0.15
    BBB = -0.05

    [phases.two]
    start = 2030-07-01
    market_drift = -0.20
    market_vol = 2.0
    [phases.two.vol_mult]
    growth = 1.5
''')

VOLS = np.array([0.01, 0.02, 0.015])
CORR = np.array([[1.0, 0.7, 0.3], [0.7, 1.0, 0.5], [0.3, 0.5, 1.0]])


def _calibration(vols: np.ndarray = VOLS) -> Calibration:
    return Calibration(tickers=("AAA", "BBB", "CCC"), daily_vol=vols, daily_mean=np.zeros(3), correlation=CORR,
                       shrinkage=0.1, start=pd.Timestamp("2020-01-01"), end=pd.Timestamp("2029-12-31"))


def _index(days: int = 252) -> pd.DatetimeIndex:
    return pd.bdate_range("2030-01-01", periods=days, name="date")


def _within(estimates: np.ndarray, target: np.ndarray, axis: int = 0) -> None:
    """Mean of per-path estimates within 4 standard errors of the target (paths are independent)."""
    mean = estimates.mean(axis=axis)
    se = estimates.std(axis=axis, ddof=1) / np.sqrt(estimates.shape[axis])
    assert np.all(np.abs(mean - target) < 4 * se), (mean, target, se)


def test_index_helpers():
    assert next_business_day(pd.Timestamp("2026-09-25")) == pd.Timestamp("2026-09-28")  # Friday -> Monday
    index = simulation_index("2026-09-26", 2)
    assert index[0] == pd.Timestamp("2026-09-28") and index[-1] == pd.Timestamp("2028-09-25")
    assert index.name == "date" and 500 <= len(index) <= 506
    with pytest.raises(DataError, match="--years"):
        simulation_index("2026-01-01", 0.001)


# NYSE holidays of 2027, by hand: New Year's Day, MLK, Presidents', Good Friday, Memorial Day, Juneteenth
# (observed Fri 18th), Independence Day (observed Mon 5th), Labor Day, Thanksgiving, Christmas (observed Fri 24th).
NYSE_HOLIDAYS_2027 = ("2027-01-01", "2027-01-18", "2027-02-15", "2027-03-26", "2027-05-31", "2027-06-18",
                      "2027-07-05", "2027-09-06", "2027-11-25", "2027-12-24")


def test_simulated_dates_follow_the_nyse_calendar():
    from theses.data.generators import trading_days

    year = trading_days("2027-01-01", "2027-12-31")
    weekdays = pd.bdate_range("2027-01-01", "2027-12-31")
    assert sorted(set(weekdays) - set(year)) == [pd.Timestamp(d) for d in NYSE_HOLIDAYS_2027]
    assert len(year) == 261 - 10
    five = simulation_index("2027-01-04", 5)
    # "5 years" ends on the last session before 2032-01-04 (Fri 2nd: 2032-01-01 is a holiday, 3rd a Saturday).
    assert five[0] == pd.Timestamp("2027-01-04") and five[-1] == pd.Timestamp("2032-01-02")
    assert not set(five) & {pd.Timestamp(d) for d in NYSE_HOLIDAYS_2027}
    assert next_business_day(pd.Timestamp("2027-11-24")) == pd.Timestamp("2027-11-26")  # over Thanksgiving
    assert next_business_day(pd.Timestamp("2027-12-23")) == pd.Timestamp("2027-12-27")  # over Christmas (obs.)


def test_plan_phase_drifts_and_vol_factors():
    plan = scenario_plan(parse_scenario(SPEC), _index())
    june, july = plan.index.get_loc(pd.Timestamp("2030-06-28")), plan.index.get_loc(pd.Timestamp("2030-07-01"))
    np.testing.assert_allclose(plan.daily_drift[june], np.array([0.25, 0.20, 0.10]) / 252)
    np.testing.assert_allclose(plan.daily_drift[july], np.full(3, -0.20) / 252)
    np.testing.assert_allclose(plan.vol_factor[june], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(plan.vol_factor[july], [3.0, 3.0, 2.0])


def test_parametric_moments_match_spec_within_four_standard_errors():
    spec = parse_scenario(SPEC)
    gen = ParametricGenerator(spec, _calibration(), _index(), seed=11)
    r = gen.log_returns(0, 3000).astype(np.float64)  # (P, T, N)
    plan = gen.plan
    for phase_days in (slice(0, 125), slice(130, 252)):
        block = r[:, phase_days]
        drift = plan.daily_drift[phase_days][0]
        vol = VOLS * plan.vol_factor[phase_days][0]
        _within(block.mean(axis=1), drift)
        _within(block.var(axis=1, ddof=1), vol**2)
        z = (block - block.mean(axis=1, keepdims=True)) / block.std(axis=1, keepdims=True)
        per_path_corr = np.einsum("ptj,ptk->pjk", z, z) / z.shape[1]
        for j, k in ((0, 1), (0, 2), (1, 2)):
            _within(per_path_corr[:, j, k], CORR[j, k] - (1 - CORR[j, k] ** 2) * CORR[j, k] / (2 * z.shape[1]))


def test_student_t_shocks_have_fat_tails():
    spec = parse_scenario(SPEC)
    r = ParametricGenerator(spec, _calibration(), _index(), seed=2).log_returns(0, 1000)[:, :120, 0]
    z = (r - r.mean()) / r.std()
    excess_kurtosis = (z**4).mean() - 3
    assert 1.5 < excess_kurtosis < 5  # t(6): 6 / (6 - 4) = 3; a normal would give ~0
    normal = parse_scenario(SPEC.replace("t_df = 6.0", "t_df = inf"))
    r = ParametricGenerator(normal, _calibration(), _index(), seed=2).log_returns(0, 1000)[:, :120, 0]
    z = (r - r.mean()) / r.std()
    assert abs((z**4).mean() - 3) < 0.1


CRASH = SPEC + textwrap.dedent('''\

    [[crashes]]
    name = "burst"
    start = 2030-03-02
    end = 2030-03-31
    [crashes.size]
    growth = -0.5
    BBB = -0.8
''')


def test_crash_lands_in_its_window_with_its_size():
    spec = parse_scenario(CRASH)
    gen = ParametricGenerator(spec, _calibration(VOLS * 1e-3), _index(), seed=5)
    r = gen.log_returns(0, 500).astype(np.float64)
    base = ParametricGenerator(parse_scenario(SPEC), _calibration(VOLS * 1e-3), _index(), seed=5).log_returns(0, 500)
    jump = r - base
    day = np.argmin(r[:, :, 0], axis=1)
    dates = gen.index[day]
    window = pd.bdate_range("2030-03-02", "2030-03-31")
    assert dates.isin(window).all()
    assert len(np.unique(day)) > 0.8 * len(window)  # spread over the window, not one fixed day
    rows = np.arange(500)
    np.testing.assert_allclose(jump[rows, day], np.tile([-0.5, -0.8, 0.0], (500, 1)), atol=1e-6)
    jump[rows, day] = 0.0
    assert np.abs(jump).max() < 1e-6  # nothing else moved


def test_crash_outside_the_simulated_dates_does_not_happen():
    spec = parse_scenario(CRASH.replace("2030-03-02", "2031-03-02").replace("2030-03-31", "2031-03-31"))
    with_crash = ParametricGenerator(spec, _calibration(), _index(), seed=5).log_returns(0, 10)
    without = ParametricGenerator(parse_scenario(SPEC), _calibration(), _index(), seed=5).log_returns(0, 10)
    np.testing.assert_array_equal(with_crash, without)


def test_same_seed_is_bit_identical_and_seeds_differ():
    spec = parse_scenario(CRASH)
    a = ParametricGenerator(spec, _calibration(), _index(), seed=42).generate(0, 70)
    b = ParametricGenerator(spec, _calibration(), _index(), seed=42).generate(0, 70)
    c = ParametricGenerator(spec, _calibration(), _index(), seed=43).generate(0, 70)
    assert a.dtype == np.float32 and a.shape == (70, 252, 3)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    assert len({a[i, -1, 0] for i in range(70)}) == 70  # every path is different


def test_chunk_size_does_not_change_paths():
    spec = parse_scenario(CRASH)
    gen = ParametricGenerator(spec, _calibration(), _index(), seed=7)
    whole = gen.generate(0, 2 * PATH_BLOCK + 5)
    for size in (7, PATH_BLOCK, 100):
        chunks = list(gen.chunks(2 * PATH_BLOCK + 5, size))
        assert [start for start, _ in chunks] == list(range(0, 2 * PATH_BLOCK + 5, size))
        assert np.array_equal(np.concatenate([c for _, c in chunks]), whole)


def test_prices_are_start_times_exp_cumsum():
    spec = parse_scenario(SPEC)
    start = np.array([10.0, 200.0, 55.5])
    gen = ParametricGenerator(spec, _calibration(), _index(), seed=3, start_prices=start)
    prices = gen.generate(3, 4)
    expected = start * np.exp(np.cumsum(gen.log_returns(3, 4).astype(np.float64), axis=1))
    np.testing.assert_allclose(prices, expected, rtol=2e-6)
    with pytest.raises(DataError, match="start prices"):
        ParametricGenerator(spec, _calibration(), _index(), seed=3, start_prices=np.array([1.0, -1.0, 2.0]))


def test_uncalibrated_ticker_is_named():
    spec = parse_scenario(SPEC.replace('index = ["CCC"]', 'index = ["CCC", "DDD"]'))
    with pytest.raises(DataError, match="DDD not calibrated"):
        ParametricGenerator(spec, _calibration(), _index(), seed=1)


def _garch_history(days: int = 4000, seed: int = 9) -> np.ndarray:
    """Two tickers with GARCH(1,1) volatility clustering and a common shock."""
    rng = np.random.default_rng(seed)
    omega, alpha, beta = 2e-6, 0.1, 0.88
    var = omega / (1 - alpha - beta)
    out = np.empty((days, 2))
    for t in range(days):
        z = rng.standard_normal(2)
        shocks = np.sqrt(var) * np.array([z[0], 0.6 * z[0] + 0.8 * z[1]])
        out[t] = 0.0003 + shocks
        var = omega + alpha * shocks[0] ** 2 + beta * var
    return out


def _abs_acf1(r: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelation of |r| per path, along the day axis (axis 1)."""
    a = np.abs(r) - np.abs(r).mean(axis=1, keepdims=True)
    return (a[:, 1:] * a[:, :-1]).sum(axis=1) / (a * a).sum(axis=1)


BOOT_SPEC = textwrap.dedent('''\
    [groups]
    growth = ["AAA"]
    index = ["BBB"]
    [phases.all]
    start = 2030-01-01
    market_drift = 0.05
    [phases.all.excess_drift]
    growth = 0.10
''')


def test_bootstrap_keeps_volatility_clustering_better_than_iid():
    history = _garch_history()
    spec = parse_scenario(BOOT_SPEC)
    index = _index(500)
    boot = BootstrapGenerator(spec, history, index, seed=1, mean_block=20).log_returns(0, 400).astype(np.float64)
    iid = BootstrapGenerator(spec, history, index, seed=1, mean_block=1).log_returns(0, 400).astype(np.float64)
    target = _abs_acf1(history.T[:, :, None])[:, 0]  # per ticker
    assert target[0] > 0.1  # the synthetic history does cluster
    for ticker in range(2):
        boot_acf = _abs_acf1(boot[:, :, ticker]).mean()
        iid_acf = _abs_acf1(iid[:, :, ticker]).mean()
        assert abs(boot_acf - target[ticker]) < abs(iid_acf - target[ticker])
        assert abs(iid_acf) < 0.02
    # Cross-section kept: the two tickers' correlation is the history's.
    hist_corr = np.corrcoef(history.T)[0, 1]
    per_path = np.array([np.corrcoef(p.T)[0, 1] for p in boot[:50]])
    assert abs(per_path.mean() - hist_corr) < 0.05


def test_bootstrap_is_tilted_to_the_scenario_drift():
    history = _garch_history(days=2000)
    spec = parse_scenario(BOOT_SPEC)
    gen = BootstrapGenerator(spec, history, _index(252), seed=4)
    r = gen.log_returns(0, 2000).astype(np.float64)
    _within(r.mean(axis=1), np.array([0.15, 0.05]) / 252)
    same = BootstrapGenerator(spec, history, _index(252), seed=4)
    assert np.array_equal(same.generate(5, 80), np.concatenate([c for _, c in same.chunks(85, 30)])[5:])
    with pytest.raises(DataError, match="history must be"):
        BootstrapGenerator(spec, history[:, :1], _index(252), seed=4)


# The parametric generator's random streams and samplers (numba) against numpy and scipy.
def test_block_streams_are_numpys_sfc64():
    from theses.data._paths_nb import sfc64_raw_nb
    from theses.data.generators import stream_words

    for seed, key in ((7, (0,)), (7, (3,)), (123456789, (41, 0))):
        ours = sfc64_raw_nb(stream_words(seed, key), 1000)
        theirs = np.random.SFC64(np.random.SeedSequence(seed, spawn_key=key)).random_raw(1000)
        np.testing.assert_array_equal(ours, theirs)


def _draws(kind: int, n: int, shape: float = 0.0, seed: int = 3) -> np.ndarray:
    from theses.data._paths_nb import draw_nb, ziggurat_tables
    from theses.data.generators import stream_words

    return draw_nb(stream_words(seed, (0,)), n, kind, shape, *ziggurat_tables())


def test_ziggurat_normals_are_standard_normal():
    from scipy import stats

    z = _draws(1, 400_000)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 4 / np.sqrt(len(z)) and abs(z.var() - 1) < 4 * np.sqrt(2 / len(z))
    for cut in (1.0, 2.5, 3.6541528853610088, 4.2):  # inside the layers, the layer edge, the tail
        share = np.mean(np.abs(z) > cut)
        expected = 2 * stats.norm.sf(cut)
        assert abs(share - expected) < 4 * np.sqrt(expected / len(z)), (cut, share, expected)
    assert abs(np.mean(z > 0) - 0.5) < 4 * np.sqrt(0.25 / len(z))


@pytest.mark.parametrize("shape", [1.25, 3.0])
def test_gamma_draws_follow_the_gamma_law(shape):
    from scipy import stats

    g = _draws(2, 100_000, shape)
    assert stats.kstest(g, stats.gamma(shape).cdf).pvalue > 1e-3


def test_bounded_integers_are_uniform():
    from scipy import stats

    k = _draws(3, 60_000, 21.0)
    assert k.min() == 0 and k.max() == 20 and np.all(k == np.round(k))
    assert stats.chisquare(np.bincount(k.astype(int), minlength=21)).pvalue > 1e-3


def test_generation_runs_blocks_in_parallel_with_the_same_result():
    import numba

    spec = parse_scenario(CRASH)
    gen = ParametricGenerator(spec, _calibration(), _index(), seed=8)
    default = gen.generate(10, 3 * PATH_BLOCK)
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        single = gen.generate(10, 3 * PATH_BLOCK)
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(default, single)


def test_price_exp_is_accurate_over_the_whole_range():
    from theses.data._paths_nb import exp_nb

    x = np.concatenate([np.linspace(-700, 700, 200_001), np.random.default_rng(1).normal(4.6, 0.5, 100_000)])
    np.testing.assert_allclose(exp_nb(x), np.exp(x), rtol=5e-16, atol=0)
    assert exp_nb(np.array([0.0]))[0] == 1.0


def test_shocks_mixed_along_the_days_equal_the_day_by_day_product():
    """mix_shocks_nb (row by row along the days, the zeros above the diagonal skipped) gives exactly the float32
    sums of the full day-by-day ``L @ z``, and the returns of the generator are drift + vol * scale * L z."""
    from theses.data._paths_nb import lower_extent_nb, mix_shocks_nb

    rng = np.random.default_rng(4)
    n, days = 7, 53
    a = rng.normal(size=(n, n))
    chol_t = np.ascontiguousarray(np.linalg.cholesky(a @ a.T + n * np.eye(n)).T, dtype=np.float32)
    z = rng.normal(size=(days, n)).astype(np.float32)
    day_by_day = np.empty_like(z)
    for t in range(days):  # the plain loop: k ascending over the whole square, float32
        acc = np.zeros(n, dtype=np.float32)
        for k in range(n):
            acc = acc + chol_t[k] * z[t, k]
        day_by_day[t] = acc
    shocks = np.ascontiguousarray(z.T)
    mix_shocks_nb(shocks, chol_t, lower_extent_nb(chol_t), np.empty(days, dtype=np.float32))
    assert np.array_equal(shocks.T, day_by_day)
    np.testing.assert_allclose(shocks.T, z @ chol_t, rtol=1e-5, atol=1e-5)  # and it is L z
    with pytest.raises(ValueError, match="lower-triangular"):
        lower_extent_nb(np.ascontiguousarray(chol_t.T))


def test_trading_days_from_the_cached_sessions_equal_the_calendars(tmp_path, monkeypatch):
    """span_sessions: written to the cache on first use, read back later (a corrupt file is rebuilt), and
    trading_days from it equal exchange_calendars' sessions, inside the span and outside it."""
    import exchange_calendars

    from theses.data import generators

    monkeypatch.setenv("THESES_CACHE_DIR", str(tmp_path))
    generators.span_sessions.cache_clear()
    calendar = exchange_calendars.get_calendar("XNYS", start="1995-01-01", end="2105-12-31")
    try:
        for start, end in (("2024-12-02", "2025-12-01"), ("2027-01-01", "2032-01-03"), ("2001-01-01", "2001-01-10"),
                           ("1998-06-01", "1999-02-01"), ("2099-12-20", "2102-01-05")):
            ours = generators.trading_days(start, end)
            theirs = calendar.sessions_in_range(start, end)
            theirs = theirs.tz_localize(None) if theirs.tz else theirs
            np.testing.assert_array_equal(ours.to_numpy(), theirs.to_numpy(dtype="datetime64[ns]"), f"{start} {end}")
            assert ours.name == "date" and len(ours) > 3
        written = list((tmp_path / "calendars").glob("XNYS-2000-2100-*.npy"))
        assert len(written) == 1 and len(np.load(written[0])) == len(generators.span_sessions())
        written[0].write_bytes(b"not an array")
        generators.span_sessions.cache_clear()
        assert generators.trading_days("2025-01-01", "2025-12-31")[0] == pd.Timestamp("2025-01-02")
        assert len(np.load(written[0])) > 25_000  # rewritten whole
    finally:
        generators.span_sessions.cache_clear()
