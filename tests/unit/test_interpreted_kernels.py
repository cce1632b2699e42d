"""The interpreted twins of the kernel modules (theses.util.interpreted_twin): the same source run as plain
Python, for small single-path work in a process that has not loaded numba (a quicker `theses backtest`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from theses import util
from theses.engine.backtest import calendar_days, sim_params
from theses.engine.config import BacktestConfig, CostModel, RebalanceRule


def _market(seed: int):
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, (400, 5)), axis=0))
    close[:60, 3] = np.nan  # a late listing
    close[200:230, 4] = np.nan  # a gap long enough to delist
    weights = np.full((400, 5), np.nan)
    weights[::9] = rng.uniform(-0.3, 0.6, (len(range(0, 400, 9)), 5))
    return close, weights


@pytest.mark.parametrize("rule", [RebalanceRule("monthly"), RebalanceRule("none"),
                                  RebalanceRule("weekly", band_abs=0.03), RebalanceRule("quarterly", band_rel=0.2)])
@pytest.mark.parametrize("policy", ["cash", "renormalize"])
def test_the_twin_engine_equals_the_compiled_one_bit_for_bit(rule, policy):
    import theses.engine.kernels as compiled

    twin = util.interpreted_twin("theses.engine.kernels")
    assert twin is not compiled and twin.simulate_path_nb is not compiled.simulate_path_nb
    assert not hasattr(twin.simulate_path_nb, "py_func")  # a plain function: numba never ran it
    close, weights = _market(3)
    config = BacktestConfig(costs=CostModel(fees_bps=6, slippage_bps=2, borrow_bps=80, cash_rate=0.02),
                            rebalance=rule, missing_policy=policy, max_net=3.0)
    index = pd.bdate_range("2021-01-01", periods=400)
    args = (close, close, np.arange(400), weights, calendar_days(config, index), sim_params(config, 20))
    ours, theirs = twin.simulate_path_nb(*args), compiled.simulate_path_nb(*args)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.abs(ours[3]).sum() > 0  # it traded
    paths = np.nan_to_num(weights)[None]
    assert twin.first_exposure_breach_nb(paths, 1.0, 0.5) == compiled.first_exposure_breach_nb(paths, 1.0, 0.5)


def test_the_twin_signals_equal_the_compiled_ones():
    import theses.strategies._signals_nb as compiled

    twin = util.interpreted_twin("theses.strategies._signals_nb")
    close, _ = _market(4)
    prices = np.stack([close, close * 1.01])
    positions = np.array([0, 1, 2, 4])
    assert twin.last_gap_nb(prices, positions) == compiled.last_gap_nb(prices, positions) == 229
    ours, theirs = np.empty((2, 169)), np.empty((2, 169))
    twin.mean_returns_nb(prices, positions, 231, ours)
    compiled.mean_returns_nb(prices, positions, 231, theirs)
    np.testing.assert_array_equal(ours, theirs)
    tail = prices[:, 240:].astype(np.float32)
    ours, theirs = np.zeros((2, 170)), np.zeros((2, 170))
    args = (positions, np.array([1]), prices[0, 239, positions], 1.5)
    assert twin.level_after_nb(tail, *args, ours, 10) and compiled.level_after_nb(tail, *args, theirs, 10)
    np.testing.assert_array_equal(ours, theirs)
    assert ours[1, -1] != ours[0, -1]
    gap = prices[:, 150:310]  # name 4 has no close on rows 200-229
    assert not compiled.level_after_nb(gap, *args, theirs, 10) and not twin.level_after_nb(gap, *args, ours, 10)
    with pytest.raises(ValueError, match="out must be"):
        compiled.level_after_nb(prices, *args, theirs, 10)


def test_interpreted_only_without_numba_and_for_small_work(monkeypatch):
    monkeypatch.delitem(sys.modules, "numba", raising=False)
    monkeypatch.delenv("THESES_JIT", raising=False)
    assert util.prefer_interpreted(1000)
    assert not util.prefer_interpreted(util.INTERPRETED_WORK + 1)
    monkeypatch.setenv("THESES_JIT", "1")
    assert not util.prefer_interpreted(1000)
    monkeypatch.delenv("THESES_JIT")
    import numba  # noqa: F401  (back in sys.modules: compiled from here on)

    monkeypatch.setitem(sys.modules, "numba", numba)
    assert not util.prefer_interpreted(1000)


SCRIPT = (
    "import json, sys\n"
    "import theses\n"
    "run = theses.backtest('semis_barbell', source='sample')\n"
    "print(json.dumps({'numba': 'numba' in sys.modules, 'equity': run.result.equity.round(10).tolist()}))\n"
)


def test_a_fresh_backtest_runs_without_numba_and_equals_the_compiled_run():
    env = {k: v for k, v in os.environ.items() if k != "THESES_JIT"}
    fresh = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    forced = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300,
                            env={**env, "THESES_JIT": "1"})
    assert fresh.returncode == 0 and forced.returncode == 0, fresh.stderr + forced.stderr
    interpreted, jit = json.loads(fresh.stdout), json.loads(forced.stdout)
    assert interpreted["numba"] is False and jit["numba"] is True
    assert len(interpreted["equity"]) > 1000 and interpreted["equity"] == jit["equity"]
