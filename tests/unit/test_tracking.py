"""The tracking measures against independent calculations: scipy densities, a plain loop over crash days,
hand-computed event responses and percentiles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from theses.engine.errors import EngineError
from theses.engine.tracking import (
    drift_loglik,
    event_response,
    gaussian_logpdf,
    month_windows,
    percentile_of,
    posterior,
    realised_covariance,
    top_counts,
    volatility_loglik,
    window_lengths,
    window_sums,
)


def test_month_windows_join_a_short_last_month():
    index = pd.bdate_range("2024-12-02", "2025-02-05")  # Dec, Jan, 3 days of Feb
    windows = month_windows(index)
    assert windows[0] == 0 and windows[-1] == 1 and len(set(windows)) == 2
    np.testing.assert_array_equal(window_lengths(windows), [22, 23 + 3])
    longer = month_windows(pd.bdate_range("2024-12-02", "2025-02-20"))
    assert len(set(longer)) == 3


def test_window_sums_and_covariance_against_pandas():
    rng = np.random.default_rng(0)
    index = pd.bdate_range("2025-01-01", periods=64)  # January, February, March 2025
    daily = rng.normal(size=(64, 3))
    sums = window_sums(daily, month_windows(index))
    expected = pd.DataFrame(daily, index=index).groupby(index.to_period("M")).sum().to_numpy()
    np.testing.assert_allclose(sums, expected)
    np.testing.assert_allclose(realised_covariance(daily), np.cov(daily, rowvar=False))


def test_gaussian_logpdf_matches_scipy():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + np.eye(3)
    x, mean = rng.normal(size=(4, 3)), rng.normal(size=3)
    np.testing.assert_allclose(gaussian_logpdf(x, mean, cov), stats.multivariate_normal(mean, cov).logpdf(x))


def _brute_force(observed, lengths, spread, mean, jump, prob):
    """One crash event: sum over the day's window (or no observed day) of the product of window densities."""
    total = 0.0
    for w in [None, *range(len(lengths))]:
        weight = 1.0 - prob.sum() if w is None else prob[w]
        density = 1.0
        for v in range(len(lengths)):
            shift = jump if v == w else 0.0
            density *= stats.multivariate_normal(mean[v] + shift, spread * lengths[v]).pdf(observed[v])
        total += weight * density
    return math.log(total)


def test_drift_loglik_with_a_crash_is_the_mixture_over_its_day():
    rng = np.random.default_rng(2)
    lengths = np.array([21.0, 20.0, 22.0])
    spread = np.array([[1e-4, 4e-5], [4e-5, 2e-4]])
    means = rng.normal(0, 0.01, (2, 3, 2))
    observed = rng.normal(0, 0.05, (1, 3, 2))
    observed[0, 1] -= 0.15  # a month with a crash-like fall
    jumps = [np.array([[-0.15, -0.05]]), np.zeros((0, 2))]
    probs = [np.array([[0.1, 0.2, 0.3]]), np.zeros((0, 3))]
    got = drift_loglik(observed, lengths, spread[None], means, jumps, probs)
    assert got.shape == (1, 2)
    assert got[0, 0] == pytest.approx(_brute_force(observed[0], lengths, spread, means[0], jumps[0][0], probs[0][0]),
                                      rel=1e-10)
    plain = sum(stats.multivariate_normal(means[1][v], spread * lengths[v]).logpdf(observed[0, v]) for v in range(3))
    assert got[0, 1] == pytest.approx(plain, rel=1e-12)
    # The fall is better explained with the crash: the crash scenario's likelihood exceeds its no-crash version.
    no_crash = drift_loglik(observed, lengths, spread[None], means[:1], [np.zeros((0, 2))], [np.zeros((0, 3))])
    assert got[0, 0] > no_crash[0, 0]


def test_two_crash_events_are_summed_over_every_assignment():
    lengths = np.array([20.0, 21.0])
    spread = np.array([[1e-4]])
    mean = np.zeros((1, 2, 1))
    observed = np.array([[[-0.2], [0.01]]])
    jumps = [np.array([[-0.1], [-0.1]])]
    probs = [np.array([[0.3, 0.2], [0.1, 0.4]])]
    got = drift_loglik(observed, lengths, spread[None], mean, jumps, probs)[0, 0]
    total = 0.0
    for a in (None, 0, 1):
        for b in (None, 0, 1):
            weight = (0.5 if a is None else probs[0][0][a]) * (0.5 if b is None else probs[0][1][b])
            density = 1.0
            for w in range(2):
                shift = -0.1 * ((a == w) + (b == w))
                density *= stats.norm(shift, math.sqrt(1e-4 * lengths[w])).pdf(observed[0, w, 0])
            total += weight * density
    assert got == pytest.approx(math.log(total), rel=1e-10)


def test_volatility_loglik_is_the_wishart_of_each_window():
    rng = np.random.default_rng(3)
    index = pd.bdate_range("2025-01-01", periods=64)
    windows = month_windows(index)
    daily = rng.normal(0, 0.01, (64, 2))
    cov = np.stack([np.tile(np.diag([1e-4, 2e-4]), (3, 1, 1)), np.tile(np.diag([4e-4, 8e-4]), (3, 1, 1))])
    got = volatility_loglik(daily, windows, cov)
    expected = np.zeros(2)
    for w in range(3):
        days = daily[windows == w]
        scatter = (days - days.mean(0)).T @ (days - days.mean(0))
        for s in range(2):
            expected[s] += stats.wishart(df=len(days) - 1, scale=cov[s, w]).logpdf(scatter)
    np.testing.assert_allclose(got, expected)
    assert got[0] > got[1]  # the data were drawn with vol 1%: the lower-volatility scenario fits
    with pytest.raises(EngineError, match="more days than groups"):
        volatility_loglik(daily[:2], windows[:2], cov[:, :1])


def test_posterior_is_bayes_rule_and_top_counts():
    prior = np.array([0.5, 0.3, 0.2])
    loglik = np.array([[0.0, math.log(2.0), math.log(4.0)]])
    expected = prior * np.array([1, 2, 4]) / (prior * np.array([1, 2, 4])).sum()
    np.testing.assert_allclose(posterior(prior, loglik)[0], expected)
    np.testing.assert_allclose(posterior(prior, loglik + 1000.0)[0], expected)  # no overflow
    np.testing.assert_array_equal(top_counts(np.array([[0.1, 0.9], [0.6, 0.4], [0.2, 0.8]])), [1, 2])


def test_percentile_of_ties_count_half():
    samples = np.array([1.0, 2.0, 3.0, 4.0])
    assert percentile_of(2.5, samples) == 50.0
    assert percentile_of(2.0, samples) == 37.5  # one below, one tie: (1 + 0.5) / 4
    assert percentile_of(0.0, samples) == 0.0 and percentile_of(9.0, samples) == 100.0
    assert math.isnan(percentile_of(float("nan"), samples))


def test_event_response_by_hand():
    index = pd.bdate_range("2025-01-20", periods=10)
    level = pd.Series([100, 101, 102, 90, 85, 95, 101, 103, 99, 104.0], index=index)
    out = event_response(level, index[3])
    assert out["drop"] == pytest.approx(90 / 102 - 1)
    assert out["drawdown"] == pytest.approx(85 / 102 - 1) and out["trough"] == f"{index[4]:%Y-%m-%d}"
    assert out["days_to_recover"] == 4 and out["recovered"] == f"{index[7]:%Y-%m-%d}"
    never = event_response(level.iloc[:7], index[3])
    assert never["days_to_recover"] is None and never["recovered"] is None
    with pytest.raises(EngineError, match="not a trading day"):
        event_response(level, "2025-01-25")
