"""Measures for tracking a thesis against what happened: evidence for scenarios, percentiles, event responses.

Pure functions of arrays (numpy, scipy); the study (``theses.studies.track``) builds their inputs from the
scenario files, the calibration and the prices.

Evidence for a scenario (the definitions the study states in its output)
------------------------------------------------------------------------
The data are **group baskets**: on each day, the mean daily log return of a group's tickers; summed over
non-overlapping **windows** (calendar months) they give ``B`` of shape ``(W, G)``. Under a scenario the
model (the same one that generates the paths) gives each window's expected basket return ``M`` (the drifts
of the phase in force each day, summed) and its covariance (the calibrated volatilities and correlation
times the phase's volatility factors); crash events add a one-day jump ``J`` to the window their day falls
in, with the probability that it falls there.

- **Drift and crash evidence** (:func:`drift_loglik`): ``log N(B_w; M_w (+ J), n_w * S)`` summed over windows,
  where ``S`` is the *realised* daily covariance of the baskets over the observed days and ``n_w`` the
  window's length. Every scenario is judged with the same spread, so volatility -- a nuisance here, estimated
  from the data -- cannot move the odds; only the drifts and crashes, which are what the scenarios disagree
  about, do. Crash events enter as a mixture over the window each one's day falls in (or none observed),
  weighted by those probabilities (exact: every assignment of the events to windows is summed).
- **Volatility evidence** (:func:`volatility_loglik`): the Wishart log-likelihood of each window's realised
  scatter of daily basket returns (``n_w - 1`` degrees of freedom) under the scenario's mean daily
  covariance in that window (crash jumps left out). Gaussian days are assumed; with fat tails this overstates
  the evidence, one more reason it is reported beside the headline and not in it.
- Log Bayes factors are differences of these log-likelihoods against a reference scenario; the posterior is
  ``prior x likelihood``, normalised (:func:`posterior`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from theses.engine.errors import EngineError

MAX_CRASH_ASSIGNMENTS = 200_000


# ---------------------------------------------------------------------------------------------- windows
def month_windows(index: pd.DatetimeIndex, min_days: int = 10) -> np.ndarray:
    """The window of each day: calendar months in order, a last month shorter than ``min_days`` joined to the one before."""
    months = pd.DatetimeIndex(index).to_period("M")
    codes = np.unique(months.asi8, return_inverse=True)[1].astype(np.int64)
    if codes.max() > 0 and (codes == codes.max()).sum() < min_days:
        codes[codes == codes.max()] -= 1
    return codes


def window_sums(daily: np.ndarray, window_of_day: np.ndarray) -> np.ndarray:
    """Sum ``(..., T, G)`` daily values over the windows: ``(..., W, G)``."""
    n_windows = int(window_of_day.max()) + 1
    onehot = np.zeros((n_windows, len(window_of_day)))
    onehot[window_of_day, np.arange(len(window_of_day))] = 1.0
    return np.einsum("wt,...tg->...wg", onehot, daily)


def window_lengths(window_of_day: np.ndarray) -> np.ndarray:
    """Days in each window, ``(W,)``."""
    return np.bincount(window_of_day).astype(float)


def realised_covariance(daily: np.ndarray) -> np.ndarray:
    """Sample covariance (ddof 1) of ``(..., T, G)`` daily values over T: ``(..., G, G)``."""
    centred = daily - daily.mean(axis=-2, keepdims=True)
    return np.einsum("...tg,...th->...gh", centred, centred) / (daily.shape[-2] - 1)


# ------------------------------------------------------------------------------------------- densities
def gaussian_logpdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Multivariate normal log density, broadcasting over leading axes (``x``, ``mean``: ``(..., G)``)."""
    chol = np.linalg.cholesky(cov)
    diff = x - mean
    z = np.linalg.solve(chol, diff[..., None])[..., 0]
    log_det = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)
    return -0.5 * ((z**2).sum(axis=-1) + log_det + x.shape[-1] * math.log(2.0 * math.pi))


def _logsumexp(values: np.ndarray, axis: int = 0) -> np.ndarray:
    top = np.max(values, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(top, axis=axis) + np.log(np.exp(values - top).sum(axis=axis))


def drift_loglik(
    observed: np.ndarray, lengths: np.ndarray, spread: np.ndarray, means: np.ndarray,
    jumps: Sequence[np.ndarray], crash_prob: Sequence[np.ndarray],
) -> np.ndarray:
    """Log-likelihood of window basket returns under each scenario's drifts and crashes (module docstring).

    Parameters
    ----------
    observed : ``(P, W, G)`` window sums of basket log returns (P paths; 1 for the real history).
    lengths : ``(W,)`` days per window.
    spread : ``(P, G, G)`` daily covariance used for every scenario (the realised one).
    means : ``(S, W, G)`` each scenario's expected window sums.
    jumps : per scenario, ``(E_s, G)`` log jumps of its crash events.
    crash_prob : per scenario, ``(E_s, W)`` probability that event e's day falls in window w (the rest of
        its probability: not in the observed days).

    Returns
    -------
    ndarray ``(P, S)``
    """
    cov = spread[:, None, :, :] * lengths[None, :, None, None]  # (P, W, G, G)
    out = np.empty((observed.shape[0], means.shape[0]))
    for s in range(means.shape[0]):
        base = gaussian_logpdf(observed, means[s][None], cov)  # (P, W)
        events = [e for e in range(len(jumps[s])) if crash_prob[s][e].sum() > 0]
        if not events:
            out[:, s] = base.sum(axis=1)
            continue
        out[:, s] = _crash_mixture(observed, cov, means[s], base, [jumps[s][e] for e in events],
                                   [crash_prob[s][e] for e in events])
    return out


def _crash_mixture(observed: np.ndarray, cov: np.ndarray, mean: np.ndarray, base: np.ndarray,
                   jumps: list[np.ndarray], probs: list[np.ndarray]) -> np.ndarray:
    """Sum over every assignment of the crash events to a window (or to no observed day) of its likelihood."""
    n_windows = base.shape[1]
    if (n_windows + 1) ** len(jumps) > MAX_CRASH_ASSIGNMENTS:
        raise EngineError(f"{len(jumps)} crash events overlap the observed days: too many assignments to sum")
    total = base.sum(axis=1)
    terms = []
    # Each event lands in one window where it can (probability > 0), or outside the observed days.
    options = [[*np.flatnonzero(p > 0).tolist(), *([None] if 1.0 - p.sum() > 1e-15 else [])] for p in probs]
    for assignment in itertools.product(*options):
        log_weight = sum(math.log(p[w]) if w is not None else math.log(1.0 - p.sum())
                         for p, w in zip(probs, assignment, strict=True))
        term = total + log_weight
        for window in {w for w in assignment if w is not None}:
            shift = sum(j for j, w in zip(jumps, assignment, strict=True) if w == window)
            term = term - base[:, window] + gaussian_logpdf(observed[:, window], mean[window] + shift,
                                                            cov[:, window])
        terms.append(term)
    return _logsumexp(np.stack(terms), axis=0)


def volatility_loglik(daily: np.ndarray, window_of_day: np.ndarray, model_cov: np.ndarray) -> np.ndarray:
    """Wishart log-likelihood of each window's realised scatter under each scenario, summed: ``(S,)``.

    ``daily`` is ``(T, G)`` basket log returns; ``model_cov`` ``(S, W, G, G)`` the scenario's mean daily
    covariance in each window. Windows need more days than groups.
    """
    from scipy.stats import wishart

    out = np.zeros(model_cov.shape[0])
    for w in range(int(window_of_day.max()) + 1):
        days = daily[window_of_day == w]
        df = len(days) - 1
        if df < daily.shape[1]:
            raise EngineError(f"window {w} has {len(days)} days; volatility evidence needs more days than groups")
        centred = days - days.mean(axis=0)
        scatter = centred.T @ centred
        for s in range(model_cov.shape[0]):
            out[s] += float(wishart.logpdf(scatter, df=df, scale=model_cov[s, w]))
    return out


# ------------------------------------------------------------------------------------------- odds
def posterior(prior: np.ndarray, loglik: np.ndarray) -> np.ndarray:
    """``prior x exp(loglik)`` normalised over the last axis (scenarios), computed in logs."""
    with np.errstate(divide="ignore"):
        logs = np.log(np.asarray(prior, dtype=float)) + loglik
    top = logs.max(axis=-1, keepdims=True)
    weights = np.exp(logs - top)
    return weights / weights.sum(axis=-1, keepdims=True)


def top_counts(posteriors: np.ndarray) -> np.ndarray:
    """How often each scenario is the posterior's top one over ``(P, S)`` posteriors: ``(S,)`` counts."""
    return np.bincount(np.argmax(posteriors, axis=-1), minlength=posteriors.shape[-1])


# --------------------------------------------------------------------------------------- realised paths
def percentile_of(value: float, samples: np.ndarray) -> float:
    """Where ``value`` falls among ``samples``, in percent (ties count half: scipy's ``kind="mean"``)."""
    from scipy.stats import percentileofscore

    samples = np.asarray(samples, dtype=float)
    samples = samples[np.isfinite(samples)]
    if not len(samples) or not math.isfinite(value):
        return math.nan
    return float(percentileofscore(samples, value, kind="mean"))


def basket_level(prices: pd.DataFrame, base_day: pd.Timestamp) -> pd.Series:
    """An equal-weight basket bought at ``base_day``'s close and held: the mean of each ticker's price relative."""
    relative = prices / prices.loc[base_day]
    return relative.mean(axis=1)


def event_response(level: pd.Series, event_day: object) -> dict[str, Any]:
    """How a price (or basket level) took an event: its fall that day, the drawdown after, the days to recover.

    ``drop`` is the close-to-close return on the event day; ``drawdown`` the lowest close from the event day
    until the level first closes back at or above the close before the event (or the end of the data), over
    that close, less 1, with its ``trough`` date; ``days_to_recover`` the trading days from the event day to
    that first close (None when it has not recovered by ``end``).
    """
    level = level.dropna()
    day = pd.Timestamp(event_day)
    if day not in level.index or level.index.get_loc(day) == 0:
        raise EngineError(f"event day {day.date()} is not a trading day after the first price of the series")
    at = int(level.index.get_loc(day))
    before = float(level.iloc[at - 1])
    after = level.iloc[at:]
    back = np.flatnonzero(after.to_numpy() >= before)
    stop = int(back[0]) if len(back) else len(after)
    span = after.iloc[: max(stop, 1)]
    trough = span.idxmin()
    return {
        "close_before": before,
        "drop": float(level.iloc[at] / before - 1.0),
        "drawdown": float(min(span.min() / before - 1.0, 0.0)),
        "trough": trough.strftime("%Y-%m-%d"),
        "days_to_recover": stop if len(back) else None,
        "recovered": after.index[stop].strftime("%Y-%m-%d") if len(back) else None,
        "end": level.index[-1].strftime("%Y-%m-%d"),
    }
