"""Metrics: hand-computed golden values, invariants, and cross-checks against empyrical-reloaded and scipy."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pandas as pd
import pytest
import scipy.stats

from theses.engine import metrics as m
from theses.engine.errors import EngineError

RTOL = 1e-9


def random_returns(seed: int, n: int = 750, nan_at: tuple[int, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """A strategy and a correlated benchmark, daily simple returns, with optional NaN holes."""
    rng = np.random.default_rng(seed)
    bench = rng.standard_t(4, n) * 0.01 + 0.0003
    strat = 1.3 * bench + rng.normal(0.0002, 0.006, n)
    strat[list(nan_at)] = np.nan
    return strat, bench


def bdays(n: int, start: str = "2021-01-04") -> pd.DatetimeIndex:
    return pd.bdate_range(start, periods=n, name="date")


# ---------------------------------------------------------------------------------------------- annualisation


def test_annualization_factor_resolves_numbers_and_names():
    assert m.annualization_factor() == 252.0
    assert m.annualization_factor(12) == 12.0
    assert m.annualization_factor("Weekly") == 52.0
    assert m.annualization_factor("quarterly") == 4.0


@pytest.mark.parametrize("bad", [0, -252, float("nan"), "hourly"])
def test_annualization_factor_rejects_bad_input(bad):
    with pytest.raises(EngineError, match="periods_per_year"):
        m.annualization_factor(bad)


# ---------------------------------------------------------------------------------------------- golden values


def test_total_return_and_cagr_by_hand():
    r = np.array([0.1, -0.1])
    assert m.total_return(r) == pytest.approx(1.1 * 0.9 - 1)  # -0.01
    # Two periods at 2 a year is one year: CAGR equals the total return.
    assert m.cagr(r, periods_per_year=2) == pytest.approx(-0.01, rel=1e-12)
    # At 1 a year it is two years: sqrt(0.99) - 1.
    assert m.cagr(r, periods_per_year=1) == pytest.approx(math.sqrt(0.99) - 1, rel=1e-12)
    # A NaN period compounds as zero but still counts as a period (empyrical's convention).
    assert m.cagr(np.array([0.1, np.nan, -0.1, 0.0]), periods_per_year=2) == pytest.approx(
        math.sqrt(0.99) - 1
    )


def test_cagr_is_minus_one_when_wiped_out():
    assert m.cagr(np.array([0.5, -1.2, 0.1])) == -1.0
    assert math.isnan(m.cagr(np.array([])))


def test_volatility_and_sharpe_by_hand():
    r = np.array([0.01, -0.01, 0.02, 0.0])
    # mean 0.005; squared deviations sum to 0.0005; sample variance 0.0005/3; four periods a year.
    assert m.annual_volatility(r, 4) == pytest.approx(math.sqrt(0.0005 / 3) * 2, rel=1e-12)
    # rf 4%/yr is 1% a period: excess (0, -0.02, 0.01, -0.01), mean -0.005, same deviation.
    assert m.sharpe_ratio(r, risk_free=0.04, periods_per_year=4) == pytest.approx(-math.sqrt(0.6), rel=1e-12)
    assert m.sharpe_ratio(r, periods_per_year=4) == pytest.approx(math.sqrt(0.6), rel=1e-12)


def test_sortino_by_hand():
    r = np.array([0.02, -0.01, 0.03, -0.02])
    # mean 0.005; downside mean square (0 + 1e-4 + 0 + 4e-4) / 4 over ALL periods; one period a year.
    assert m.downside_risk(r, periods_per_year=1) == pytest.approx(math.sqrt(1.25e-4), rel=1e-12)
    assert m.sortino_ratio(r, periods_per_year=1) == pytest.approx(1 / math.sqrt(5), rel=1e-12)


def test_max_drawdown_by_hand():
    # wealth 1, 1.1, 0.88, 0.968, 0.484, 1.21: worst fall 1.1 -> 0.484
    assert m.max_drawdown(np.array([0.1, -0.2, 0.1, -0.5, 1.5])) == pytest.approx(0.484 / 1.1 - 1, rel=1e-12)
    # a fall on the first period counts (wealth starts at 1)
    assert m.max_drawdown(np.array([-0.1, 0.05])) == pytest.approx(-0.1, rel=1e-12)


def test_drawdown_details_dates():
    idx = bdays(7)
    equity = pd.Series([100.0, 110, 99, 105, 88, 110, 120], index=idx)
    dd = m.drawdown_details(equity)
    assert dd.max_drawdown == pytest.approx(88 / 110 - 1, rel=1e-12)
    assert (dd.peak, dd.trough, dd.recovery) == (idx[1], idx[4], idx[5])  # back AT the peak counts
    unrecovered = m.drawdown_details(equity.iloc[:5])
    assert (unrecovered.peak, unrecovered.trough, unrecovered.recovery) == (idx[1], idx[4], None)
    # equal highs: the drawdown starts at the last one
    tie = m.drawdown_details(pd.Series([100.0, 110, 100, 110, 88], index=idx[:5]))
    assert (tie.peak, tie.trough) == (idx[3], idx[4])
    assert m.drawdown_series(equity).iloc[4] == pytest.approx(-0.2)


def test_calmar_by_hand():
    r = np.array([0.1, -0.2, 0.1, -0.5, 1.5])
    expected = (1.21 ** (2 / 5) - 1) / (1 - 0.484 / 1.1)
    assert m.calmar_ratio(r, periods_per_year=2) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(m.calmar_ratio(np.array([0.01, 0.02])))  # no drawdown


def test_beta_alpha_by_hand():
    b = np.array([0.01, -0.02, 0.015, 0.0, -0.005])
    r = 2 * b + 0.001
    assert m.beta(r, b) == pytest.approx(2.0, rel=1e-12)
    assert m.alpha(r, b) == pytest.approx(1.001**252 - 1, rel=1e-12)
    # with rf: (r - rf_p) - 2 (b - rf_p) = 0.001 + rf_p each period
    rf_p = 0.0252 / 252
    assert m.alpha(r, b, risk_free=0.0252) == pytest.approx((1.001 + rf_p) ** 252 - 1, rel=1e-12)


def test_tracking_error_and_information_ratio_by_hand():
    b = np.array([0.0, 0.01])
    r = np.array([0.02, 0.01])  # active 0.02, 0.0: mean 0.01, sample std sqrt(2e-4)
    assert m.tracking_error(r, b, 4) == pytest.approx(math.sqrt(2e-4) * 2, rel=1e-12)
    assert m.information_ratio(r, b, 4) == pytest.approx(0.01 / math.sqrt(2e-4) * 2, rel=1e-12)


def test_pairs_use_only_common_periods():
    idx = bdays(5)
    r = pd.Series([0.01, 0.02, np.nan, -0.01, 0.03], index=idx)
    b = pd.Series([0.02, 0.01, 0.0, np.nan], index=idx[[0, 1, 2, 3]])  # no value on idx[4]
    # Only idx[0] and idx[1] have both: active 0.01 vs -0.01 (hand), mean 0
    assert m.tracking_error(r, b, 1) == pytest.approx(math.sqrt(2e-4), rel=1e-12)
    assert m.beta(r, b) == pytest.approx(-1.0, rel=1e-12)
    with pytest.raises(ValueError, match="length"):
        m.beta(np.zeros(3), np.zeros(4))


def test_monthly_returns_by_hand():
    dates = ["2024-01-30", "2024-01-31", "2024-02-01", "2024-03-28", "2024-03-29", "2024-04-01", "2024-05-01"]
    r = pd.Series([0.1, 0.1, -0.05, 0.02, -0.01, 0.0, np.nan], index=pd.DatetimeIndex(dates))
    months = m.monthly_returns(r)
    assert list(months.index.astype(str)) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    np.testing.assert_allclose(months.to_numpy(), [0.21, -0.05, 1.02 * 0.99 - 1, 0.0, np.nan], rtol=1e-12)
    # a flat month is not a hit; a month with no return is not counted
    assert m.monthly_hit_rate(r) == pytest.approx(2 / 4)
    assert m.best_month(r) == pytest.approx(0.21)
    assert m.worst_month(r) == pytest.approx(-0.05)


def test_cvar_by_hand():
    values = np.arange(1.0, 21.0)  # 1..20
    assert m.cvar(values, 0.05) == 1.0  # one value is 5% of twenty
    assert m.cvar(values, 0.10) == pytest.approx(1.5, rel=1e-12)
    # 15% of ten values is one and a half: all of 1, half of 2
    assert m.cvar(np.arange(1.0, 11.0), 0.15) == pytest.approx((1 + 0.5 * 2) / 1.5, rel=1e-12)
    # weighted: 2% on the lowest, then 3% of the next fills the 5% tail
    assert m.cvar(np.array([3.0, 1.0, 2.0]), 0.05, np.array([0.48, 0.02, 0.5])) == pytest.approx(1.6)
    assert m.cvar(np.array([np.nan, 4.0]), 0.5) == 4.0
    with pytest.raises(EngineError, match="cutoff"):
        m.cvar(values, 0.0)


def test_short_or_flat_inputs_give_nan():
    one = np.array([0.01])
    for fn in (m.annual_volatility, m.sharpe_ratio, m.sortino_ratio):
        assert math.isnan(fn(one))
    flat = np.full(10, 0.001)
    assert math.isnan(m.sharpe_ratio(flat))  # no dispersion: undefined, not 1e15
    assert math.isnan(m.sortino_ratio(flat))  # never below the risk-free rate
    assert math.isnan(m.information_ratio(flat, flat))
    assert math.isnan(m.beta(flat, flat))


# ---------------------------------------------------------------------------------------------- invariants


def test_sharpe_and_sortino_unchanged_when_returns_and_risk_free_shift_together():
    r, _ = random_returns(1)
    shift = 0.0004  # per period
    assert m.sharpe_ratio(r + shift, risk_free=0.02 + shift * 252) == pytest.approx(
        m.sharpe_ratio(r, risk_free=0.02), rel=1e-9
    )
    assert m.sortino_ratio(r + shift, risk_free=0.02 + shift * 252) == pytest.approx(
        m.sortino_ratio(r, risk_free=0.02), rel=1e-9
    )


def test_scale_invariance_at_zero_risk_free():
    r, b = random_returns(2)
    assert m.sharpe_ratio(3 * r) == pytest.approx(m.sharpe_ratio(r), rel=1e-12)
    assert m.sortino_ratio(3 * r) == pytest.approx(m.sortino_ratio(r), rel=1e-12)
    assert m.annual_volatility(3 * r) == pytest.approx(3 * m.annual_volatility(r), rel=1e-12)
    assert m.beta(3 * r, b) == pytest.approx(3 * m.beta(r, b), rel=1e-12)
    assert m.beta(r + 0.01, b) == pytest.approx(m.beta(r, b), rel=1e-12)  # constant shift: same beta


def test_monotone_series_has_no_drawdown():
    r = np.abs(random_returns(3)[0])
    assert m.max_drawdown(r) == 0.0
    assert math.isnan(m.calmar_ratio(r))
    equity = pd.Series(np.cumprod(1 + r), index=bdays(len(r)))
    assert m.drawdown_details(equity) == (0.0, None, None, None)


def test_benchmark_against_itself():
    _, b = random_returns(4)
    assert m.beta(b, b) == pytest.approx(1.0, rel=1e-12)
    assert m.alpha(b, b, risk_free=0.03) == pytest.approx(0.0, abs=1e-12)
    assert m.tracking_error(b, b) == 0.0
    assert math.isnan(m.information_ratio(b, b))


def test_cagr_equals_total_return_over_exactly_one_year():
    r = random_returns(5, n=252)[0]
    assert m.cagr(r) == pytest.approx(m.total_return(r), rel=1e-12)


# ---------------------------------------------------------------------------------------------- empyrical


@pytest.mark.parametrize("seed", [11, 12, 13])
@pytest.mark.parametrize("nan_at", [(), (3, 100, 101)])
@pytest.mark.parametrize("risk_free", [0.0, 0.035])
def test_matches_empyrical(seed, nan_at, risk_free):
    r, b = random_returns(seed, nan_at=nan_at)
    rf_p = risk_free / 252  # empyrical takes the risk-free rate per period
    pairs = {
        "total_return": (m.total_return(r), empyrical.cum_returns_final(r)),
        "cagr": (m.cagr(r), empyrical.annual_return(r)),
        "volatility": (m.annual_volatility(r), empyrical.annual_volatility(r)),
        "sharpe": (m.sharpe_ratio(r, risk_free), empyrical.sharpe_ratio(r, risk_free=rf_p)),
        "downside": (m.downside_risk(r, risk_free), empyrical.downside_risk(r, required_return=rf_p)),
        "sortino": (m.sortino_ratio(r, risk_free), empyrical.sortino_ratio(r, required_return=rf_p)),
        "max_drawdown": (m.max_drawdown(r), empyrical.max_drawdown(r)),
        "calmar": (m.calmar_ratio(r), empyrical.calmar_ratio(r)),
        "beta": (m.beta(r, b), empyrical.beta(r, b)),
        "alpha": (m.alpha(r, b, risk_free), empyrical.alpha(r, b, risk_free=rf_p)),
        "information_ratio": (m.information_ratio(r, b), empyrical.excess_sharpe(r, b) * np.sqrt(252)),
    }
    for name, (ours, theirs) in pairs.items():
        assert ours == pytest.approx(float(theirs), rel=RTOL, abs=1e-12), name
    empyrical_ab = empyrical.alpha_beta(r, b, risk_free=rf_p)
    assert (m.alpha(r, b, risk_free), m.beta(r, b)) == pytest.approx(tuple(empyrical_ab), rel=RTOL)


def test_cvar_matches_empyrical_when_the_tail_is_whole():
    x = np.random.default_rng(6).normal(size=2000)
    assert m.cvar(x, 0.05) == pytest.approx(empyrical.conditional_value_at_risk(x, 0.05), rel=1e-12)
    assert m.cvar(x[:1000], 0.01) == pytest.approx(
        empyrical.conditional_value_at_risk(x[:1000], 0.01), rel=1e-12
    )


def test_monthly_returns_match_empyrical_aggregate():
    r, _ = random_returns(7, n=300)
    series = pd.Series(r, index=bdays(300, "2020-01-15"))
    ours = m.monthly_returns(series)
    theirs = empyrical.aggregate_returns(series, "monthly")
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=RTOL)
    assert [(p.year, p.month) for p in ours.index] == list(theirs.index)


# ---------------------------------------------------------------------------------------------- scipy


def test_beta_and_volatility_match_scipy():
    r, b = random_returns(8)
    assert m.beta(r, b) == pytest.approx(scipy.stats.linregress(b, r).slope, rel=RTOL)
    assert m.annual_volatility(r) == pytest.approx(scipy.stats.tstd(r) * np.sqrt(252), rel=RTOL)
    active = r - b
    assert m.tracking_error(r, b) == pytest.approx(scipy.stats.tstd(active) * np.sqrt(252), rel=RTOL)


def test_weighted_quantile_matches_scipy_and_numpy_inverted_cdf():
    rng = np.random.default_rng(9)
    x = rng.normal(size=501)
    w = rng.uniform(0.0, 2.0, size=501)
    q = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    ours = m.weighted_quantile(x, q, w)
    np.testing.assert_array_equal(ours, scipy.stats.quantile(x, q, method="inverted_cdf", weights=w))
    np.testing.assert_array_equal(ours, np.quantile(x, q, method="inverted_cdf", weights=w))
    # equal weights, including q * n whole (0.05 * 2000 = 100): the 100th smallest value
    y = rng.normal(size=2000)
    np.testing.assert_array_equal(m.weighted_quantile(y, q), np.quantile(y, q, method="inverted_cdf"))
    assert m.weighted_quantile(y, 0.05) == np.sort(y)[99]
    # weights 1/n (a scenario of probability 1 in a blend): the sums round, the answer must not move
    z = y[:100]
    np.testing.assert_array_equal(
        m.weighted_quantile(z, q, np.full(100, 1 / 100)), np.quantile(z, q, method="inverted_cdf")
    )


def test_weighted_quantile_with_whole_weights_equals_the_repeated_sample():
    x = np.array([3.0, 1.0, 2.0, 5.0])
    counts = np.array([2, 1, 3, 4])
    q = np.arange(21) / 20  # not linspace: its 0.6000000000000001 is within the boundary tolerance
    np.testing.assert_array_equal(
        m.weighted_quantile(x, q, counts.astype(float)),
        np.quantile(np.repeat(x, counts), q, method="inverted_cdf"),
    )


# ---------------------------------------------------------------------------------------------- one run


def test_performance_metrics_by_hand():
    idx = bdays(6, "2024-01-29")  # Jan 29..31, Feb 1, 2, 5
    equity = pd.Series([100.0, 110, 99, 105, 88, 110], index=idx)
    out = m.performance_metrics(equity, risk_free=0.01)
    returns = equity.pct_change().to_numpy()[1:]
    assert out["total_return"] == pytest.approx(0.10, rel=1e-12)
    assert out["cagr"] == pytest.approx(1.1 ** (252 / 5) - 1, rel=1e-12)  # five periods
    assert out["volatility"] == pytest.approx(np.std(returns, ddof=1) * np.sqrt(252), rel=1e-12)
    excess = returns - 0.01 / 252
    assert out["sharpe"] == pytest.approx(excess.mean() / excess.std(ddof=1) * np.sqrt(252), rel=1e-12)
    assert out["max_drawdown"] == pytest.approx(-0.2, rel=1e-12)
    assert (out["max_drawdown_start"], out["max_drawdown_trough"], out["max_drawdown_end"]) == (
        "2024-01-30",
        "2024-02-02",
        "2024-02-05",
    )
    assert out["calmar"] == pytest.approx(out["cagr"] / 0.2, rel=1e-12)
    # January: 100 -> 99; February: 99 -> 110
    assert out["worst_month"] == pytest.approx(-0.01, rel=1e-12)
    assert out["best_month"] == pytest.approx(110 / 99 - 1, rel=1e-12)
    assert out["monthly_hit_rate"] == 0.5
    for key in ("beta", "alpha", "tracking_error", "information_ratio"):
        assert math.isnan(out[key])
    assert (out["start"], out["end"], out["risk_free"], out["periods_per_year"]) == (
        "2024-01-29",
        "2024-02-05",
        0.01,
        252,
    )
    expected_keys = {
        "total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "max_drawdown_start",
        "max_drawdown_trough", "max_drawdown_end", "calmar", "beta", "alpha", "tracking_error",
        "information_ratio", "monthly_hit_rate", "best_month", "worst_month", "start", "end", "risk_free",
        "periods_per_year",
    }  # fmt: skip
    assert set(out) == expected_keys
    for key, value in out.items():
        assert value is None or type(value) in (float, int, str), key


def test_performance_metrics_with_benchmark_that_lists_late():
    r, b = random_returns(10, n=400)
    idx = bdays(401)
    equity = pd.Series(1000 * np.cumprod(np.r_[1.0, 1 + r]), index=idx)
    bench = pd.Series(50 * np.cumprod(np.r_[1.0, 1 + b]), index=idx)
    bench.iloc[:31] = np.nan  # benchmark quotes start on idx[31]: its first return is on idx[32]
    out = m.performance_metrics(equity, benchmark_equity=bench.iloc[5:], risk_free=0.02)
    rr, bb = r[31:], b[31:]
    assert out["beta"] == pytest.approx(empyrical.beta(rr, bb), rel=RTOL)
    assert out["alpha"] == pytest.approx(empyrical.alpha(rr, bb, risk_free=0.02 / 252), rel=RTOL)
    assert out["tracking_error"] == pytest.approx(np.std(rr - bb, ddof=1) * np.sqrt(252), rel=RTOL)
    assert out["information_ratio"] == pytest.approx(empyrical.excess_sharpe(rr, bb) * np.sqrt(252), rel=RTOL)
    assert out["sharpe"] == pytest.approx(empyrical.sharpe_ratio(r, 0.02 / 252), rel=RTOL)


# ---------------------------------------------------------------------------------------------- paths


def random_equity(seed: int, paths: int = 37, days: int = 260, dtype=np.float64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    growth = np.cumprod(1 + rng.normal(0.0003, 0.015, (paths, days - 1)), axis=1)
    return (100 * np.hstack([np.ones((paths, 1)), growth])).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_path_metrics_match_a_per_path_loop(dtype, monkeypatch):
    equity = random_equity(20, dtype=dtype)
    equity[3] *= np.linspace(1.0, 0.0, equity.shape[1])  # wiped out: terminal 0, CAGR -1
    monkeypatch.setattr(m, "_PATH_CHUNK_BYTES", 8 * 260 * 5)  # five paths a chunk: several chunks
    out = m.path_metrics(equity)
    for p, row in enumerate(equity.astype(np.float64)):
        returns = row[1:] / row[:-1] - 1
        assert out["terminal_wealth"][p] == pytest.approx(row[-1] / row[0], rel=1e-12)
        assert out["cagr"][p] == pytest.approx(m.cagr(returns), rel=1e-9, abs=1e-12)
        assert out["max_drawdown"][p] == pytest.approx(m.max_drawdown(returns), rel=1e-9)
        if p != 3:
            assert out["cagr"][p] == pytest.approx(empyrical.annual_return(returns), rel=1e-9)
            assert out["max_drawdown"][p] == pytest.approx(empyrical.max_drawdown(returns), rel=1e-9)
    assert out["cagr"][3] == -1.0 and out["max_drawdown"][3] == -1.0
    assert all(v.dtype == np.float64 and v.shape == (37,) for v in out.values())


def test_scenario_summary_by_hand():
    # four paths of three days; terminal wealth 0.8, 1.0, 1.2, 1.5
    equity = np.array([[1.0, 0.9, 0.8], [1.0, 1.1, 1.0], [1.0, 1.3, 1.2], [1.0, 1.2, 1.5]])
    bench = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.6]])
    out = m.scenario_summary(equity, bench)
    # inverted CDF over 4 equal paths: share 0.25 each
    expected_tw = {5: 0.8, 25: 0.8, 50: 1.0, 75: 1.2, 95: 1.5}
    for pct, value in expected_tw.items():
        assert out[f"terminal_wealth_p{pct}"] == pytest.approx(value)
        assert out[f"cagr_p{pct}"] == pytest.approx(value ** (252 / 2) - 1, rel=1e-9)
    assert out["prob_loss"] == 0.25  # 1.0 is not a loss
    assert out["prob_beat_benchmark"] == 0.25  # only 1.2 > 1.0; 1.0 ties; 1.5 < 1.6
    assert out["cvar_5"] == pytest.approx(-0.2)
    # drawdowns: -0.2, 1.0/1.1-1, 1.2/1.3-1, 0 -> lower middle by the inverted CDF
    assert out["median_max_drawdown"] == pytest.approx(1.0 / 1.1 - 1)
    assert out["paths"] == 4
    assert math.isnan(m.scenario_summary(equity)["prob_beat_benchmark"])
    precomputed = {**m.path_metrics(equity), "benchmark_terminal": m.path_metrics(bench)["terminal_wealth"]}
    assert m.summarize_paths(precomputed) == out


def test_scenario_summary_matches_scipy_percentiles():
    equity = random_equity(21, paths=2000, days=64, dtype=np.float32)
    out = m.scenario_summary(equity)
    paths = m.path_metrics(equity)
    q = np.array(m.SCENARIO_PERCENTILES) / 100
    tw = scipy.stats.quantile(paths["terminal_wealth"], q, method="inverted_cdf")
    np.testing.assert_array_equal([out[f"terminal_wealth_p{p}"] for p in m.SCENARIO_PERCENTILES], tw)
    worst = np.sort(paths["terminal_wealth"] - 1)[:100]  # 5% of 2,000 paths
    assert out["cvar_5"] == pytest.approx(worst.mean(), rel=1e-12)
    assert out["prob_loss"] == np.mean(paths["terminal_wealth"] < 1)


def test_scenario_blend_weights_scenarios_by_probability():
    a = {"terminal_wealth": np.array([0.5]), "cagr": np.array([-0.2]), "max_drawdown": np.array([-0.6])}
    b = {
        "terminal_wealth": np.array([1.1, 1.2, 1.3, 1.4]),
        "cagr": np.array([0.02, 0.04, 0.06, 0.07]),
        "max_drawdown": np.array([-0.1, -0.2, -0.15, -0.05]),
    }
    out = m.scenario_blend({"crash": a, "boom": b}, {"crash": 0.1, "boom": 0.9})
    # cumulative weight 0.1 (the crash path), then 0.225 per boom path: 0.325, 0.55, 0.775, 1.0
    assert out["terminal_wealth_p5"] == 0.5
    assert (out["terminal_wealth_p25"], out["terminal_wealth_p50"], out["terminal_wealth_p95"]) == (
        1.1,
        1.2,
        1.4,
    )
    assert out["prob_loss"] == pytest.approx(0.1)  # pooling paths unweighted would say 0.2
    assert out["cvar_5"] == pytest.approx(-0.5)
    # drawdowns sorted: -0.6 (0.1), -0.2 (0.325), -0.15 (0.55) -> median -0.15
    assert out["median_max_drawdown"] == -0.15
    assert out["paths"] == 5
    assert math.isnan(out["prob_beat_benchmark"])


def test_scenario_blend_consistent_with_scenario_summary():
    eq1, eq2 = random_equity(30, paths=300, days=50), random_equity(31, paths=100, days=50) * 1.01
    bench1, bench2 = random_equity(32, paths=300, days=50), random_equity(33, paths=100, days=50)

    def paths(eq, bench):
        return {**m.path_metrics(eq), "benchmark_terminal": m.path_metrics(bench)["terminal_wealth"]}

    single = m.scenario_blend({"only": paths(eq1, bench1)}, {"only": 1.0})
    assert single == pytest.approx(m.scenario_summary(eq1, bench1), nan_ok=True)
    # probabilities proportional to path counts: the same as pooling every path
    blend = m.scenario_blend({"a": paths(eq1, bench1), "b": paths(eq2, bench2)}, {"a": 0.75, "b": 0.25})
    pooled = m.scenario_summary(np.vstack([eq1, eq2]), np.vstack([bench1, bench2]))
    assert blend == pytest.approx(pooled, rel=1e-12)
    # a zero-probability scenario changes nothing but the path count
    zero = m.scenario_blend({"a": paths(eq1, bench1), "b": paths(eq2, bench2)}, {"a": 1.0, "b": 0.0})
    assert {**zero, "paths": 300} == pytest.approx(m.scenario_summary(eq1, bench1))


@pytest.mark.parametrize(
    ("probabilities", "message"),
    [
        ({"a": 1.0}, "no probability for scenario 'b'"),
        ({"a": 0.5, "b": 0.5, "c": 0.0}, "unknown scenario 'c'"),
        ({"a": 1.2, "b": -0.2}, "b=-0.2"),
        ({"a": 0.5, "b": 0.4}, "sum to 0.9"),
    ],
)
def test_scenario_blend_rejects_bad_probabilities(probabilities, message):
    paths = m.path_metrics(random_equity(34, paths=5, days=10))
    with pytest.raises(EngineError, match=message):
        m.scenario_blend({"a": paths, "b": paths}, probabilities)


# ---------------------------------------------------------------------------------------------- one series or many paths

PATH_FUNCTIONS = {
    "total_return": m.total_return,
    "cagr": m.cagr,
    "annual_volatility": m.annual_volatility,
    "sharpe_ratio": m.sharpe_ratio,
    "sharpe_rf": lambda r: m.sharpe_ratio(r, risk_free=0.03),
    "downside_risk": m.downside_risk,
    "sortino_ratio": lambda r: m.sortino_ratio(r, risk_free=0.01, periods_per_year=12),
    "max_drawdown": m.max_drawdown,
    "calmar_ratio": m.calmar_ratio,
}


def path_returns(seed: int, paths: int = 6, periods: int = 400) -> np.ndarray:
    """Rows of different character: ordinary, with NaN holes, wiped out, flat, too short to measure."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0004, 0.015, (paths, periods))
    returns[1, [3, 50, 51]] = np.nan
    returns[2, 100] = -1.2  # wiped out: CAGR -1
    returns[3] = 0.001  # constant: no dispersion, no drawdown
    returns[4, 1:] = np.nan  # a single return
    return returns


@pytest.mark.parametrize("name", list(PATH_FUNCTIONS))
def test_two_dimensional_form_equals_the_one_dimensional_form_row_by_row(name):
    function = PATH_FUNCTIONS[name]
    returns = path_returns(seed=21)
    per_path = function(returns)
    assert isinstance(per_path, np.ndarray) and per_path.shape == (returns.shape[0],)
    rows = np.array([function(row) for row in returns])
    assert all(isinstance(function(row), float) for row in returns)
    clean = [0, 2, 3, 5]  # rows without NaN: the same arithmetic, the same bits
    np.testing.assert_array_equal(per_path[clean], rows[clean])
    np.testing.assert_allclose(per_path, rows, rtol=1e-12, atol=0, equal_nan=True)


def test_two_dimensional_forms_handle_special_rows():
    returns = path_returns(seed=22)
    assert m.cagr(returns)[2] == -1.0
    assert math.isnan(m.sharpe_ratio(returns)[3]) and m.max_drawdown(returns)[3] == 0.0
    assert math.isnan(m.annual_volatility(returns)[4]) and math.isnan(m.calmar_ratio(returns)[3])
    empty = np.empty((3, 0))
    assert np.isnan(m.cagr(empty)).all() and np.isnan(m.max_drawdown(empty)).all()
    with pytest.raises(ValueError, match="2-D"):
        m.sharpe_ratio(np.zeros((2, 3, 4)))


def test_cagr_from_growth_is_the_one_formula_of_cagr_and_path_metrics():
    returns = path_returns(seed=23)[[0, 2, 5]]
    equity = 100.0 * np.cumprod(np.concatenate([np.ones((3, 1)), 1 + returns], axis=1), axis=1)
    growth = np.nanprod(1 + returns, axis=1)
    np.testing.assert_array_equal(m.cagr(returns), m.cagr_from_growth(growth, returns.shape[1]))
    np.testing.assert_allclose(m.path_metrics(equity)["cagr"], m.cagr(returns), rtol=1e-12)
    np.testing.assert_allclose(m.path_metrics(equity)["max_drawdown"], m.max_drawdown(returns), rtol=1e-12)
    assert m.cagr_from_growth(1.21, 2, 1) == pytest.approx(0.1, rel=1e-14)
    assert m.cagr_from_growth(-0.5, 10) == -1.0 and math.isnan(m.cagr_from_growth(1.1, 0))
    np.testing.assert_array_equal(m.cagr_from_growth(np.array([np.nan, 0.0, 4.0]), 2, 1), [np.nan, -1.0, 1.0])


def test_path_metrics_chunks_give_the_unchunked_result(monkeypatch):
    equity = random_equity(24, paths=50, days=40)
    whole = m.path_metrics(equity)
    monkeypatch.setattr(m, "_PATH_CHUNK_BYTES", 8 * 40 * 7)  # seven paths a chunk
    chunked = m.path_metrics(equity)
    for key in whole:
        np.testing.assert_array_equal(chunked[key], whole[key])


def test_drawdown_series_of_series_and_arrays():
    equity = pd.Series([100.0, np.nan, 120.0, 90.0, 130.0, 65.0], index=bdays(6), name="book")
    series = m.drawdown_series(equity)
    assert series.index.equals(equity.index) and series.name == "book"
    np.testing.assert_allclose(series.to_numpy(), [0, np.nan, 0, -0.25, 0, -0.5], equal_nan=True)
    pd.testing.assert_series_equal(series, equity / equity.cummax() - 1.0)  # pandas' running max
    paths = np.vstack([equity.to_numpy(), equity.to_numpy()[::-1]])
    np.testing.assert_array_equal(m.drawdown_series(paths)[0], series.to_numpy())
    # reversed: 65, 130, 90, 120, NaN, 100 -> peaks 65, 130, 130, 130, 130, 130
    np.testing.assert_allclose(m.drawdown_series(paths)[1], [0, 0, 90 / 130 - 1, 120 / 130 - 1, np.nan, 100 / 130 - 1],
                               equal_nan=True)


def _loop_rolling(returns: np.ndarray, window: int, risk_free: float) -> tuple[np.ndarray, np.ndarray]:
    """Rolling Sharpe and volatility by a plain loop over windows (statistics module, no numpy reductions)."""
    import statistics

    sharpe, vol = np.full(returns.size, np.nan), np.full(returns.size, np.nan)
    for t in range(window - 1, returns.size):
        chunk = [float(x) for x in returns[t - window + 1 : t + 1]]
        if any(math.isnan(x) for x in chunk):
            continue
        sd = statistics.stdev(chunk)
        vol[t] = sd * math.sqrt(252)
        sharpe[t] = (statistics.fmean(chunk) - risk_free / 252) / sd * math.sqrt(252) if sd > 1e-14 else np.nan
    return sharpe, vol


def test_rolling_statistics_match_a_plain_loop_and_pandas():
    rng = np.random.default_rng(25)
    returns = pd.Series(rng.normal(0.0005, 0.01, 300), index=bdays(300))
    returns.iloc[[40, 41]] = np.nan
    returns.iloc[200:230] = 0.002  # a flat stretch: the Sharpe ratio is undefined there, not huge
    sharpe, vol = m.rolling_sharpe(returns, 20, risk_free=0.03), m.rolling_volatility(returns, 20)
    assert isinstance(sharpe, pd.Series) and sharpe.index.equals(returns.index)
    loop_sharpe, loop_vol = _loop_rolling(returns.to_numpy(), 20, 0.03)
    np.testing.assert_allclose(vol.to_numpy(), loop_vol, rtol=1e-9, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(sharpe.to_numpy(), loop_sharpe, rtol=1e-7, atol=1e-9, equal_nan=True)
    assert sharpe.iloc[:19].isna().all() and sharpe.iloc[40:60].isna().all() and sharpe.iloc[219:230].isna().all()
    # the plain pandas computation
    excess = returns - 0.03 / 252
    std = returns.rolling(20).std()
    pandas_sharpe = excess.rolling(20).mean() / std * math.sqrt(252)
    np.testing.assert_allclose(sharpe.iloc[:200], pandas_sharpe.iloc[:200], rtol=1e-12, equal_nan=True)
    # the last full window equals the whole-sample functions on it
    assert vol.iloc[-1] == pytest.approx(m.annual_volatility(returns.iloc[-20:]), rel=1e-9)
    assert sharpe.iloc[-1] == pytest.approx(m.sharpe_ratio(returns.iloc[-20:], 0.03), rel=1e-9)


def test_rolling_statistics_on_paths_equal_each_path_alone():
    returns = path_returns(seed=26, periods=120)
    for function in (lambda r: m.rolling_sharpe(r, 15, 0.02), lambda r: m.rolling_volatility(r, 15, "weekly")):
        per_path = function(returns)
        assert per_path.shape == returns.shape
        for row, values in zip(returns, per_path, strict=True):
            np.testing.assert_array_equal(values, function(row))
            np.testing.assert_array_equal(values, function(pd.Series(row)).to_numpy())
    with pytest.raises(EngineError, match="rolling window"):
        m.rolling_volatility(returns, 0)


# ------------------------------------------------------------------------- tearsheet series (quantstats parity)


def _qs():
    return pytest.importorskip("quantstats")


def test_rolling_sortino_matches_quantstats_and_a_plain_loop():
    qs = _qs()
    strat, _ = random_returns(11, n=300)
    series = pd.Series(strat, index=bdays(300))
    ours = m.rolling_sortino(series, 63)
    theirs = qs.stats.rolling_sortino(series, rolling_period=63, prepare_returns=False)
    np.testing.assert_allclose(ours.to_numpy()[62:], theirs.to_numpy()[62:], rtol=1e-9)
    assert ours.iloc[:62].isna().all()  # blank, not 0, before the window is full
    for t in (62, 150, 299):  # each value is the whole-series Sortino of its window
        assert ours.iloc[t] == pytest.approx(m.sortino_ratio(strat[t - 62 : t + 1]), rel=1e-9)
    paths = np.vstack([strat, strat[::-1]])
    np.testing.assert_allclose(m.rolling_sortino(paths, 63)[1], m.rolling_sortino(strat[::-1], 63), rtol=1e-12)


def test_rolling_beta_matches_quantstats_and_the_window_beta():
    qs = _qs()
    strat, bench = random_returns(12, n=300)
    index = bdays(300)
    r, b = pd.Series(strat, index=index), pd.Series(bench, index=index)
    ours = m.rolling_beta(r, b, 126)
    theirs = qs.stats.rolling_greeks(r, b, periods=126, prepare_returns=False)["beta"]
    np.testing.assert_allclose(ours.to_numpy()[125:], theirs.to_numpy()[125:], rtol=1e-8)
    assert ours.iloc[:125].isna().all()
    assert ours.iloc[-1] == pytest.approx(m.beta(strat[-126:], bench[-126:]), rel=1e-9)
    # Paths: each row against the same benchmark row.
    both = m.rolling_beta(np.vstack([strat, 2 * strat]), bench, 126)
    np.testing.assert_allclose(both[1][125:], 2 * ours.to_numpy()[125:], rtol=1e-9)


def test_volatility_matched_returns_take_the_benchmark_volatility():
    strat, bench = random_returns(13, n=200)
    index = bdays(200)
    matched = m.volatility_matched(pd.Series(strat, index=index), pd.Series(bench, index=index))
    assert matched.std() == pytest.approx(np.std(bench, ddof=1), rel=1e-12)
    assert m.sharpe_ratio(matched) == pytest.approx(m.sharpe_ratio(strat), rel=1e-12)


def test_annual_returns_compound_each_calendar_year_like_quantstats_eoy():
    qs = _qs()
    strat, _ = random_returns(14, n=600)
    series = pd.Series(strat, index=bdays(600, "2021-03-01"))
    years = m.annual_returns(series)
    assert list(years.index) == [2021, 2022, 2023]
    by_hand = np.prod(1 + strat[series.index.year == 2022]) - 1
    assert years[2022] == pytest.approx(by_hand, rel=1e-12)
    table = qs.stats.monthly_returns(series, eoy=True, compounded=True, prepare_returns=False)
    np.testing.assert_allclose(table["EOY"].astype(float).to_numpy(), years.to_numpy(), rtol=1e-9)


def test_drawdown_periods_by_hand():
    equity = pd.Series([100, 110, 99, 88, 110, 120, 108, 121, 90, 95], dtype=float, index=bdays(10, "2024-01-01"))
    table = m.drawdown_periods(equity, top=5)
    assert list(table.columns) == ["start", "trough", "recovery", "depth", "days"]
    d = equity.index
    # Deepest first: 121 -> 90 (not recovered), 110 -> 88 (recovered at 110), 120 -> 108 (recovered at 121).
    assert list(table["start"]) == [d[7], d[1], d[5]]
    assert list(table["trough"]) == [d[8], d[3], d[6]]
    assert table["recovery"].iloc[0] is pd.NaT and list(table["recovery"].iloc[1:]) == [d[4], d[7]]
    np.testing.assert_allclose(table["depth"], [90 / 121 - 1, 88 / 110 - 1, 108 / 120 - 1])
    assert list(table["days"]) == [(d[9] - d[7]).days, (d[4] - d[1]).days, (d[7] - d[5]).days]
    assert table["depth"].iloc[0] == pytest.approx(m.drawdown_details(equity).max_drawdown)
    assert len(m.drawdown_periods(equity, top=2)) == 2
    assert m.drawdown_periods(pd.Series([1.0, 2.0, 3.0], index=bdays(3))).empty


def test_drawdown_periods_match_quantstats_drawdown_details():
    qs = _qs()
    strat, _ = random_returns(15, n=500)
    index = bdays(500)
    returns = pd.Series(strat, index=index)
    equity = pd.concat([pd.Series([1.0], index=[index[0] - pd.offsets.BDay(1)]), (1 + returns).cumprod()])
    ours = m.drawdown_periods(equity, top=None).sort_values("trough").reset_index(drop=True)
    theirs = qs.stats.drawdown_details(qs.stats.to_drawdown_series(returns))
    assert len(ours) == len(theirs)
    np.testing.assert_allclose(ours["depth"] * 100, theirs["max drawdown"].to_numpy(), rtol=1e-9)
    assert list(ours["trough"].dt.strftime("%Y-%m-%d")) == list(theirs["valley"])
    positions = {date: i for i, date in enumerate(equity.index)}
    # quantstats dates the first and last day under water: one bar after our start, one before our recovery.
    starts = [equity.index[positions[s] + 1].strftime("%Y-%m-%d") for s in ours["start"]]
    assert starts == list(theirs["start"])
    recovered = ours["recovery"].notna()
    ends = [equity.index[positions[r] - 1].strftime("%Y-%m-%d") for r in ours.loc[recovered, "recovery"]]
    assert ends == list(theirs.loc[recovered.to_numpy(), "end"])


def test_cost_drag_is_annual_cost_over_average_equity():
    index = bdays(505)  # 504 return periods: two years
    equity = pd.Series(np.linspace(10_000, 30_000, 505), index=index)
    costs = pd.DataFrame({"fees": 0.0, "slippage": 0.0, "borrow": 0.0, "interest": 0.0}, index=index)
    costs.iloc[[1, 200, 400], 0] = [10.0, 20.0, 10.0]  # 40 of fees
    costs.iloc[:, 2] = 0.01  # 5.05 of borrow
    drag = m.cost_drag_bps(costs, equity)
    assert drag["fees"] == pytest.approx(40.0 / 20_000 / 2 * 1e4)  # 10 bps/yr
    assert drag["borrow"] == pytest.approx(5.05 / 20_000 / 2 * 1e4)
    assert drag["slippage"] == 0.0
    assert drag["total"] == pytest.approx(drag["fees"] + drag["borrow"])
    # A constant cost rate on equity is that rate, whatever the growth: 1 bp of equity a day is 252 bps/yr.
    grow = pd.Series(10_000 * 1.001 ** np.arange(505), index=index)
    steady = costs.assign(fees=grow * 1e-4, borrow=0.0)
    assert m.cost_drag_bps(steady, grow)["fees"] == pytest.approx(252 * grow.sum() / grow.mean() / 504, rel=1e-12)
    assert math.isnan(m.cost_drag_bps(costs.iloc[:1], equity.iloc[:1])["total"])


def test_turnover_figures_exclude_the_initial_entry_and_count_one_way():
    turnover = np.zeros(253)  # 252 periods: one year
    turnover[1] = 1.0  # the entry: cash into the book
    turnover[[60, 120]] = [0.2, 0.1]  # two rebalances: 0.15 one-way
    figures = m.turnover_figures(turnover, entry=1)
    assert figures == {"turnover_ex_entry": pytest.approx(0.15), "initial_entry": 1.0}
    hold = np.zeros(505)
    hold[1] = 1.0
    assert m.turnover_figures(hold, entry=1) == {"turnover_ex_entry": 0.0, "initial_entry": 1.0}
    assert m.turnover_figures(np.zeros(10), entry=-1) == {"turnover_ex_entry": 0.0, "initial_entry": 0.0}
