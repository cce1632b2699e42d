"""The scenarios' group-basket models against the path generator, and the posterior concentrating on the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.unit.track_factory import GROUPS, synthetic_calibration, write_scenarios
from theses.data.generators import ParametricGenerator, trading_days
from theses.data.scenario_spec import load_scenario
from theses.engine.tracking import month_windows, window_sums
from theses.studies.track_evidence import basket_matrix, basket_returns, confusion, group_model

GROUP_NAMES = tuple(GROUPS)


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    return [load_scenario(p) for p in write_scenarios(tmp_path_factory.mktemp("scenarios"))]


def test_the_group_model_is_what_the_generator_draws(specs):
    fast = specs[2]
    calibration = synthetic_calibration()
    index = trading_days("2024-12-02", "2025-03-31")
    windows = month_windows(index)
    model = group_model(fast, calibration, index, GROUP_NAMES, windows)
    assert model.mean.shape == (4, 3) and model.cov.shape == (4, 3, 3) and model.jumps.shape == (1, 3)
    # The crash window 2025-01-20 .. 2025-02-28 holds 28 NYSE sessions (not Jan 20, Feb 17): 9 in January, 19 in
    # February; the generator draws the crash day from them.
    np.testing.assert_allclose(model.crash_prob, [[0.0, 9 / 28, 19 / 28, 0.0]])
    np.testing.assert_allclose(model.jumps, [[-0.15, -0.02, 0.0]])
    paths = 4000
    daily = basket_returns(ParametricGenerator(fast, calibration, index, seed=5).log_returns(0, paths),
                           basket_matrix(fast, GROUP_NAMES))
    sums = window_sums(daily, windows)
    expected_mean = model.mean + model.crash_prob.T @ model.jumps
    standard_error = sums.std(axis=0) / np.sqrt(paths)
    assert (np.abs(sums.mean(axis=0) - expected_mean) < 4 * standard_error).all()
    lengths = np.bincount(windows)
    for w in (0, 3):  # months without the crash: the covariance is the model's
        simulated = np.cov(sums[:, w, :], rowvar=False)
        np.testing.assert_allclose(simulated, model.cov[w] * lengths[w], rtol=0.1)


@pytest.mark.parametrize("truth", [0, 1, 2])
def test_on_paths_of_a_scenario_the_posterior_moves_to_it_as_the_window_grows(specs, truth):
    calibration = synthetic_calibration()
    prior = np.full(3, 1 / 3)
    weights = []
    for days in (65, 260, 1040):
        index = pd.bdate_range("2024-12-02", periods=days)
        windows = month_windows(index)
        models = {s.name: group_model(s, calibration, index, GROUP_NAMES, windows) for s in specs}
        result = confusion(specs, calibration, index, models, GROUP_NAMES, prior, paths=120, seed=11)
        weights.append(result.mean_posterior[specs[truth].name])
    assert weights[0] < weights[1] < weights[2]
    assert weights[2] > 0.7  # four years of monthly baskets separate compute drifts 15-25 points apart
