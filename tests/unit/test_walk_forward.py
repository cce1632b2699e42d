"""Objectives, walk-forward choices and the probability of backtest overfitting, against independent sums."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from theses.engine import metrics
from theses.studies.errors import StudyError
from theses.studies.walk_forward import (
    objective_values,
    parse_windows,
    probability_of_overfitting,
    walk_forward,
    window_bounds,
)


@pytest.fixture(scope="module")
def returns() -> np.ndarray:
    return np.random.default_rng(3).normal(0.0005, 0.012, size=(600, 4))


@pytest.mark.parametrize("risk_free", [0.0, 0.03])
def test_sharpe_and_cagr_match_the_engine_metrics(returns, risk_free):
    sharpe = objective_values(returns, "sharpe", risk_free=risk_free)
    cagr = objective_values(returns, "cagr")
    for j in range(returns.shape[1]):
        assert sharpe[j] == pytest.approx(metrics.sharpe_ratio(returns[:, j], risk_free), rel=1e-9)
        assert cagr[j] == pytest.approx(metrics.cagr(returns[:, j]), rel=1e-12)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_ce_is_the_certainty_equivalent_of_daily_gross_returns(returns, gamma):
    from theses.engine.decision import certainty_equivalent

    ce = objective_values(returns, "ce", gamma)
    equal = np.full(len(returns), 1.0 / len(returns))
    for j in range(returns.shape[1]):
        # The decision study's CE of the daily gross returns, quoted per year (one day = 1/252 of a year).
        assert ce[j] == pytest.approx(float(certainty_equivalent(1.0 + returns[:, j], equal, gamma, 1 / 252)), rel=1e-9)
    # Log utility values a series at its growth rate; more risk aversion values it lower.
    assert objective_values(returns, "ce", 1.0) == pytest.approx(objective_values(returns, "cagr"), rel=1e-12)
    assert np.all(objective_values(returns, "ce", 5.0) < objective_values(returns, "ce", 2.0))


def test_a_wiped_out_series_scores_minus_one():
    r = np.array([[0.01], [-1.0], [0.02]])
    assert objective_values(r, "cagr")[0] == -1.0
    assert objective_values(r, "ce", 2.0)[0] == -1.0


@pytest.mark.parametrize(("text", "days"), [("3y/1y", (756, 252)), ("36m/12m", (756, 252)), ("2/0.5", (504, 126)),
                                            ("100d/20d", (100, 20)), (" 8w / 2w ", (40, 10))])
def test_window_text(text, days):
    assert parse_windows(text) == days


@pytest.mark.parametrize("text", ["3y", "3y-1y", "y/y", "0d/1d", "3x/1y"])
def test_bad_window_text_is_one_line(text):
    with pytest.raises(StudyError, match="--walk-forward") as info:
        parse_windows(text)
    assert "\n" not in str(info.value)


def test_windows_roll_by_the_out_of_sample_length():
    assert window_bounds(10, 4, 3) == [(0, 4, 7), (3, 7, 10), (6, 10, 10)][:2]
    assert window_bounds(11, 4, 3) == [(0, 4, 7), (3, 7, 10), (6, 10, 11)]
    assert window_bounds(4, 4, 3) == []


def regime_returns(n: int = 2000, switch: int = 1000, seed: int = 1) -> pd.DataFrame:
    """Point 0 earns in the first regime and loses in the second; point 1 the reverse."""
    rng = np.random.default_rng(seed)
    first = np.arange(n) < switch
    a = np.where(first, 0.002, -0.001) + rng.normal(0, 0.0005, n)
    b = np.where(first, -0.001, 0.002) + rng.normal(0, 0.0005, n)
    return pd.DataFrame({0: a, 1: b}, index=pd.bdate_range("2010-01-01", periods=n))


@pytest.mark.parametrize("objective", ["sharpe", "cagr", "ce"])
def test_walk_forward_switches_when_the_in_sample_majority_changes_regime(objective):
    frame = regime_returns()
    result = walk_forward(frame, frame[0], is_days=300, oos_days=100, objective=objective)
    starts = [frame.index.get_loc(d) for d in result.windows["is_start"]]
    chosen = list(result.windows["chosen"])
    # In-sample windows starting before day 850 hold more first-regime days (point 0 wins); from 900 on, more
    # second-regime days (point 1 wins). Window starts are multiples of 100.
    assert chosen == [0 if s < 850 else 1 for s in starts]
    assert result.windows["oos_start"].iloc[0] == frame.index[300]
    assert len(result.returns) == len(frame) - 300 == len(result.default_returns)
    # The chained returns are the chosen point's, day by day.
    for row in result.windows.itertuples():
        np.testing.assert_array_equal(result.returns[row.oos_start:row.oos_end], frame[row.chosen][row.oos_start:row.oos_end])
    assert result.summary["walk_forward"]["cagr"] > result.summary["default"]["cagr"]


def test_walk_forward_needs_enough_history():
    frame = regime_returns(n=200)
    with pytest.raises(StudyError, match="needs more than"):
        walk_forward(frame, frame[0], is_days=300, oos_days=100, objective="sharpe")


def brute_force_pbo(r: np.ndarray, splits: int, objective: str) -> float:
    """CSCV written out: every half of the blocks, objectives of the concatenated days, ranks by scipy."""
    size = len(r) // splits
    r = r[len(r) - size * splits:]
    blocks = [r[b * size:(b + 1) * size] for b in range(splits)]
    logits = []
    for combo in itertools.combinations(range(splits), splits // 2):
        inside = np.concatenate([blocks[b] for b in combo])
        outside = np.concatenate([blocks[b] for b in range(splits) if b not in combo])
        perf_in = [metrics.sharpe_ratio(inside[:, j]) if objective == "sharpe" else metrics.cagr(inside[:, j])
                   for j in range(r.shape[1])]
        perf_out = [metrics.sharpe_ratio(outside[:, j]) if objective == "sharpe" else metrics.cagr(outside[:, j])
                    for j in range(r.shape[1])]
        best = int(np.argmax(perf_in))
        w = rankdata(perf_out)[best] / (r.shape[1] + 1)
        logits.append(np.log(w / (1 - w)))
    return float(np.mean(np.array(logits) <= 0))


@pytest.mark.parametrize("objective", ["sharpe", "cagr"])
def test_pbo_equals_the_written_out_computation(objective):
    r = np.random.default_rng(8).normal(0.0003, 0.01, size=(250, 5))
    result = probability_of_overfitting(r, objective, splits=8)
    assert result is not None and result.splits == 8 and result.combinations == 70
    assert result.pbo == brute_force_pbo(r, 8, objective)


def test_pbo_is_low_for_a_real_edge_and_near_half_for_noise():
    rng = np.random.default_rng(4)
    noise = rng.normal(0.0, 0.01, size=(2000, 10))
    edge = noise.copy()
    edge[:, 3] += 0.002  # one point truly better every day
    assert probability_of_overfitting(edge, "sharpe").pbo < 0.05
    pbo_noise = probability_of_overfitting(noise, "sharpe").pbo
    assert 0.25 < pbo_noise < 0.75


def test_pbo_is_undefined_for_one_point_or_too_few_days():
    assert probability_of_overfitting(np.zeros((500, 1)), "sharpe") is None
    assert probability_of_overfitting(np.zeros((60, 3)), "sharpe") is None
