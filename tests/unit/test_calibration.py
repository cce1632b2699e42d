"""Calibration: Ledoit-Wolf constant-correlation shrinkage against a loop reference, and the JSON file."""

from __future__ import annotations

import json
import stat

import numpy as np
import pandas as pd
import pytest

from theses.data.calibration import (
    DEFAULT_CALIBRATION,
    calibrate,
    ledoit_wolf_constant_correlation,
    read_calibration,
    write_calibration,
)
from theses.data.errors import DataError
from theses.util import default_file_mode


def _reference_lw(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit & Wolf (2004) appendix, written entry by entry with explicit loops."""
    t, n = x.shape
    x = x - x.mean(axis=0)
    s = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            s[i, j] = sum(x[k, i] * x[k, j] for k in range(t)) / t
    r = [[s[i, j] / np.sqrt(s[i, i] * s[j, j]) for j in range(n)] for i in range(n)]
    rbar = sum(r[i][j] for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    f = [[s[i, i] if i == j else rbar * np.sqrt(s[i, i] * s[j, j]) for j in range(n)] for i in range(n)]
    pi = [[sum((x[k, i] * x[k, j] - s[i, j]) ** 2 for k in range(t)) / t for j in range(n)] for i in range(n)]

    def theta(i, j):  # AsyCov(sqrt(T) s_ii, sqrt(T) s_ij)
        return sum((x[k, i] ** 2 - s[i, i]) * (x[k, i] * x[k, j] - s[i, j]) for k in range(t)) / t

    rho = sum(pi[i][i] for i in range(n))
    for i in range(n):
        for j in range(n):
            if i != j:
                rho += rbar / 2 * (np.sqrt(s[j, j] / s[i, i]) * theta(i, j) + np.sqrt(s[i, i] / s[j, j]) * theta(j, i))
    gamma = sum((f[i][j] - s[i, j]) ** 2 for i in range(n) for j in range(n))
    delta = max(0.0, min(1.0, (sum(map(sum, pi)) - rho) / gamma / t))
    return delta * np.array(f) + (1 - delta) * s, delta


def test_ledoit_wolf_matches_loop_reference():
    rng = np.random.default_rng(3)
    mix = np.array([[1, 0.9, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0.2], [0, 0, 0, 2.0]])
    x = rng.standard_t(5, size=(80, 4)) @ mix
    cov, delta = ledoit_wolf_constant_correlation(x)
    ref_cov, ref_delta = _reference_lw(x)
    assert 0 < delta < 1
    assert delta == pytest.approx(ref_delta, rel=1e-10)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-10)


def test_shrinkage_is_high_when_correlation_is_constant_and_low_when_it_is_not():
    rng = np.random.default_rng(4)
    n, t = 6, 400
    constant = np.full((n, n), 0.4) + 0.6 * np.eye(n)
    x = rng.multivariate_normal(np.zeros(n), constant, size=t)
    _, delta_constant = ledoit_wolf_constant_correlation(x)
    blocks = np.eye(n)
    blocks[:3, :3] = blocks[3:, 3:] = 0.9
    np.fill_diagonal(blocks, 1.0)
    y = rng.multivariate_normal(np.zeros(n), blocks, size=5000)
    _, delta_blocks = ledoit_wolf_constant_correlation(y)
    assert delta_constant > 0.5
    assert delta_blocks < 0.05


def _prices(seed: int = 5, days: int = 1500) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vols = np.array([0.01, 0.02, 0.015])
    corr = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.5], [0.3, 0.5, 1.0]])
    rets = rng.multivariate_normal(np.full(3, 0.0004), corr * np.outer(vols, vols), size=days)
    index = pd.bdate_range("2015-01-02", periods=days + 1, name="date")
    prices = pd.DataFrame(100 * np.exp(np.vstack([np.zeros(3), np.cumsum(rets, axis=0)])), index=index,
                          columns=["AAA", "BBB", "CCC"])
    return prices, vols, corr


def test_calibrate_recovers_vols_means_and_correlation():
    prices, vols, corr = _prices()
    prices["LATE"] = np.nan
    prices.iloc[-100:, 3] = 50.0 + np.arange(100)  # listed late: too little history
    cal = calibrate(prices, min_obs=500)
    assert cal.tickers == ("AAA", "BBB", "CCC")
    assert "LATE" in cal.dropped
    n = 1500
    np.testing.assert_allclose(cal.daily_vol, vols, rtol=4 / np.sqrt(2 * n))
    assert np.all(np.abs(cal.daily_mean - 0.0004) < 4 * vols / np.sqrt(n))
    assert np.abs(cal.correlation - corr).max() < 0.06
    np.testing.assert_allclose(np.diag(cal.correlation), 1.0)
    assert np.all(np.linalg.eigvalsh(cal.correlation) > 0)
    assert cal.start == prices.index[0] and cal.end == prices.index[-1] and cal.correlation_obs == n


def test_calibrate_rejects_bad_input():
    prices, _, _ = _prices(days=100)
    with pytest.raises(DataError, match="fewer than two tickers"):
        calibrate(prices, min_obs=500)
    bad = prices.copy()
    bad.iloc[5, 0] = -1.0
    with pytest.raises(DataError, match="non-positive prices in AAA"):
        calibrate(bad, min_obs=10)


def test_write_read_round_trip_holds_summary_figures_only(tmp_path):
    prices, _, _ = _prices(days=700)
    cal = calibrate(prices)
    path = write_calibration(cal, tmp_path / "cal.json")
    assert [p.name for p in tmp_path.iterdir()] == ["cal.json"]  # no temporary file left behind
    assert stat.S_IMODE(path.stat().st_mode) == default_file_mode()  # the umask's mode, not 0600
    raw = json.loads(path.read_text())
    assert set(raw) == {"format", "method", "start", "end", "shrinkage", "correlation_obs", "tickers", "n_obs",
                        "daily_vol", "daily_mean", "correlation", "dropped"}
    back = read_calibration(path)
    assert back.tickers == cal.tickers and back.end == cal.end
    np.testing.assert_allclose(back.daily_vol, cal.daily_vol, rtol=1e-6)
    np.testing.assert_allclose(back.correlation, cal.correlation, atol=1e-6)
    sub = back.subset(["CCC", "AAA"])
    assert sub.correlation[0, 1] == back.correlation[2, 0]
    with pytest.raises(DataError, match="ticker\\(s\\) ZZZ not calibrated"):
        back.subset(["ZZZ"])


def test_read_errors(tmp_path):
    with pytest.raises(DataError, match="not found; run `theses calibrate"):
        read_calibration(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": ')
    with pytest.raises(DataError, match="line 1: not valid JSON"):
        read_calibration(broken)


def test_shipped_calibration_is_valid():
    cal = read_calibration(DEFAULT_CALIBRATION)
    assert len(cal.tickers) == 40 and "SPY" in cal.tickers
    assert 0 <= cal.shrinkage <= 1
    assert np.all(np.linalg.eigvalsh(cal.correlation) > 0)
    spy = cal.tickers.index("SPY")
    assert 0.005 < cal.daily_vol[spy] < 0.02  # SPY's daily vol is ~1.1%


def _damaged(kind: str) -> object:
    import json

    from theses.data.calibration import DEFAULT_CALIBRATION

    raw = json.loads(DEFAULT_CALIBRATION.read_text())
    first = raw["tickers"][0]
    if kind == "a list":
        return [raw]
    if kind == "negative vol":
        raw["daily_vol"][first] = -0.01
    elif kind == "NaN vol":
        raw["daily_vol"][first] = float("nan")
    elif kind == "vol as text":
        raw["daily_vol"][first] = "high"
    elif kind == "asymmetric":
        raw["correlation"][0][1] = 0.99
    elif kind == "not positive definite":
        n = len(raw["tickers"])
        raw["correlation"] = [[1.0 if i == j else -0.9 for j in range(n)] for i in range(n)]
    elif kind == "shrinkage 2":
        raw["shrinkage"] = 2
    elif kind == "bad date":
        raw["start"] = "the beginning"
    elif kind == "dates reversed":
        raw["start"], raw["end"] = raw["end"], raw["start"]
    elif kind == "tickers repeated":
        raw["tickers"][1] = first
    return raw


@pytest.mark.parametrize(("kind", "problem"), [
    ("a list", "a JSON list, not a calibration object"), ("negative vol", "daily_vol of"), ("NaN vol", "is nan"),
    ("vol as text", "a field is malformed (ValueError"), ("asymmetric", "not a symmetric matrix"),
    ("not positive definite", "not positive definite"), ("shrinkage 2", "shrinkage 2.0 is outside [0, 1]"),
    ("bad date", "a field is malformed"), ("dates reversed", "not in order"), ("tickers repeated", "distinct"),
])
def test_a_damaged_calibration_is_refused_in_one_line(tmp_path, kind, problem):
    import json

    from theses.data.calibration import read_calibration
    from theses.data.errors import DataError

    path = tmp_path / "cal.json"
    path.write_text(json.dumps(_damaged(kind)))
    with pytest.raises(DataError) as caught:
        read_calibration(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path)) and problem in message, message
    assert message.endswith("re-run `theses calibrate`")
