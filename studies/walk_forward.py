"""Walk-forward selection and the probability of backtest overfitting, on a matrix of daily returns.

Input: the daily returns of every grid point over the days they all trade (``(days, points)``), each from
one backtest over the whole history, so every signal has its look-back before any window starts.

**Walk-forward.** Rolling windows of ``is_days`` in-sample days followed by ``oos_days`` out-of-sample days,
stepping by ``oos_days`` (the last out-of-sample stretch may be shorter). In each window the grid point with
the best in-sample objective is chosen (the first one on ties) and its out-of-sample returns are chained.
Switching points costs nothing extra here: each point's returns come from its own continuous run, so the
chained curve is what holding the chosen point's positions would have earned, less its own trading costs.
The default parameters over the same out-of-sample days are the comparison.

**Probability of backtest overfitting (PBO)** by combinatorially symmetric cross-validation (CSCV; Bailey,
Borwein, López de Prado and Zhu, "The probability of backtest overfitting", J. Computational Finance
2017): the days are cut into ``S`` equal blocks (the earliest ``days mod S`` dropped); for each of the
``C(S, S/2)`` ways of taking half the blocks as in-sample and the rest as out-of-sample, the in-sample best
point's out-of-sample rank ``w`` among all points (average ranks, ``1..N``) gives the logit
``log(w' / (1 - w'))`` with ``w' = w / (N + 1)``. PBO is the share of splits with logit <= 0: how often the
in-sample winner does no better than the median point out of sample. Near 0: the choice generalises; near
0.5 or above: the in-sample ranking is noise.

**Objectives** (annualised with 252 days; ``rf`` an annual rate): ``sharpe`` (mean excess daily return over
its standard deviation, x sqrt(252)), ``cagr`` (``exp(252 * mean log(1 + r)) - 1``) and ``ce``, the CRRA
certainty-equivalent growth of the daily gross returns with risk aversion ``gamma``,
``E[(1 + r) ** (1 - gamma)] ** (252 / (1 - gamma)) - 1`` (``gamma = 1`` gives the CAGR). They are computed
from per-block sums, so any union of blocks costs one matrix product; tests check them against
``theses.engine.metrics``.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from theses.studies.errors import StudyError
from theses.studies.settings import SWEEP_OBJECTIVES as OBJECTIVES

DAYS = {"y": 252, "m": 21, "w": 5, "d": 1}
DEFAULT_SPLITS = 16
MIN_BLOCK_DAYS = 20
ZERO_DISPERSION = 1e-14


# ------------------------------------------------------------------------------------------- objective
def block_stats(returns: np.ndarray, gamma: float) -> np.ndarray:
    """Sufficient statistics of ``returns`` ``(days, points)`` for every objective: ``(6, points)`` sums.

    Rows: number of days, sum of r, sum of r squared, sum of log(1 + r), days with ``1 + r <= 0``, and the
    certainty equivalent's sum of ``(1 + r) ** (1 - gamma)`` (of log(1 + r) when ``gamma = 1``). Sums of
    these over blocks are the statistics of the union of the blocks.
    """
    r = np.asarray(returns, dtype=np.float64)
    gross = 1.0 + r
    ruined = gross <= 0
    safe = np.where(ruined, 1.0, gross)
    with np.errstate(divide="ignore", over="ignore"):
        ce_terms = np.log(safe) if gamma == 1 else safe ** (1.0 - gamma)
    logs = np.log(safe)
    return np.stack([np.full(r.shape[1:], float(r.shape[0])), r.sum(axis=0), (r * r).sum(axis=0),
                     logs.sum(axis=0), ruined.sum(axis=0).astype(float), ce_terms.sum(axis=0)])


def objective_from_stats(stats: np.ndarray, objective: str, gamma: float = 2.0, risk_free: float = 0.0) -> np.ndarray:
    """The objective of each point from :func:`block_stats` (summed over any set of blocks)."""
    count, total, squares, logs, ruined, ce_terms = stats
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if objective == "sharpe":
            mean = total / count
            variance = (squares - total * mean) / (count - 1)
            std = np.sqrt(np.maximum(variance, 0.0))
            ok = (count > 1) & (std > ZERO_DISPERSION)
            return np.where(ok, (mean - risk_free / 252.0) / np.where(ok, std, 1.0) * math.sqrt(252.0), np.nan)
        if objective == "cagr":
            return np.where(ruined > 0, -1.0, np.expm1(252.0 * logs / count))
        if objective == "ce":
            if gamma == 1:
                daily = ce_terms / count
            else:
                daily = np.log(ce_terms / count) / (1.0 - gamma)
            lost = (ruined > 0) & (gamma >= 1)
            return np.where(lost, -1.0, np.expm1(252.0 * daily))
    raise StudyError(f"--objective {objective!r}: use one of {', '.join(OBJECTIVES)}")


def objective_values(returns: np.ndarray, objective: str, gamma: float = 2.0, risk_free: float = 0.0) -> np.ndarray:
    """The objective of each column of ``returns`` ``(days, points)``."""
    return objective_from_stats(block_stats(returns, gamma), objective, gamma, risk_free)


# ------------------------------------------------------------------------------------------- windows
def parse_windows(text: str) -> tuple[int, int]:
    """``"3y/1y"`` -> (756, 252) trading days; units y (252), m (21), w (5), d (1); no unit means years."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([ymwd]?)\s*/\s*(\d+(?:\.\d+)?)\s*([ymwd]?)\s*", text or "")
    if not match:
        raise StudyError(f"--walk-forward {text!r}: write in-sample/out-of-sample lengths like 3y/1y "
                         "(units y, m, w, d)")
    is_days = round(float(match.group(1)) * DAYS[match.group(2) or "y"])
    oos_days = round(float(match.group(3)) * DAYS[match.group(4) or "y"])
    if is_days < 2 or oos_days < 1:
        raise StudyError(f"--walk-forward {text}: both windows need at least a few days, e.g. 3y/1y")
    return is_days, oos_days


def window_bounds(n_days: int, is_days: int, oos_days: int) -> list[tuple[int, int, int]]:
    """``(is_start, oos_start, oos_end)`` positions of every rolling window (ends exclusive)."""
    bounds = []
    start = 0
    while start + is_days < n_days:
        bounds.append((start, start + is_days, min(start + is_days + oos_days, n_days)))
        start += oos_days
    return bounds


# ------------------------------------------------------------------------------------------------ PBO
@dataclass(frozen=True)
class Overfitting:
    """The probability of backtest overfitting by CSCV (see the module docstring)."""

    pbo: float
    splits: int
    combinations: int
    median_logit: float
    method: str = ("probability of backtest overfitting by combinatorially symmetric cross-validation "
                   "(Bailey, Borwein, Lopez de Prado & Zhu 2017)")

    def to_dict(self) -> dict[str, Any]:
        return {"pbo": self.pbo, "splits": self.splits, "combinations": self.combinations,
                "median_logit": self.median_logit, "method": self.method}


def split_count(n_days: int, wanted: int = DEFAULT_SPLITS) -> int:
    """The even number of CSCV blocks (at most ``wanted``) that leaves each at least ``MIN_BLOCK_DAYS`` days."""
    splits = min(wanted, n_days // MIN_BLOCK_DAYS)
    return splits - splits % 2


def probability_of_overfitting(returns: np.ndarray, objective: str, gamma: float = 2.0, risk_free: float = 0.0,
                               splits: int = DEFAULT_SPLITS) -> Overfitting | None:
    """PBO of choosing the best column of ``returns`` ``(days, points)`` by ``objective``; None if undefined.

    Undefined with fewer than two points or too few days for four blocks of ``MIN_BLOCK_DAYS``.
    """
    from scipy.stats import rankdata

    r = np.asarray(returns, dtype=np.float64)
    n_days, n_points = r.shape
    s = split_count(n_days, splits)
    if n_points < 2 or s < 4:
        return None
    size = n_days // s
    r = r[n_days - size * s:]
    stats = np.stack([block_stats(r[b * size:(b + 1) * size], gamma) for b in range(s)])  # (S, 6, N)
    member = np.array([[b in combo for b in range(s)] for combo in itertools.combinations(range(s), s // 2)],
                      dtype=float)  # (C, S)
    in_sample = objective_from_stats(np.einsum("cs,skn->kcn", member, stats), objective, gamma, risk_free)
    out_sample = objective_from_stats(np.einsum("cs,skn->kcn", 1.0 - member, stats), objective, gamma, risk_free)
    best = np.argmax(np.nan_to_num(in_sample, nan=-np.inf), axis=1)
    ranks = rankdata(np.nan_to_num(out_sample, nan=-np.inf), axis=1)
    relative = ranks[np.arange(len(best)), best] / (n_points + 1)
    logits = np.log(relative / (1.0 - relative))
    return Overfitting(pbo=float(np.mean(logits <= 0)), splits=s, combinations=len(member),
                       median_logit=float(np.median(logits)))


# ---------------------------------------------------------------------------------------- walk-forward
@dataclass
class WalkForward:
    """Walk-forward choices, the chained out-of-sample returns, the default's, and the overfitting measure.

    ``windows``: one row per window (in-sample and out-of-sample dates, the chosen point's id, its
    in-sample and out-of-sample objective, the default's out-of-sample objective, the chosen point's
    out-of-sample rank among all points, 1 = best). ``returns``/``default_returns``: daily out-of-sample
    returns chained over the windows. ``summary``: total return, CAGR, Sharpe, maximum drawdown and the
    objective of both.
    """

    is_days: int
    oos_days: int
    objective: str
    gamma: float
    windows: pd.DataFrame
    returns: pd.Series
    default_returns: pd.Series
    summary: dict[str, dict[str, float]]
    overfitting: Overfitting | None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        from theses.util import jsonable

        return jsonable({
            "in_sample_days": self.is_days, "out_of_sample_days": self.oos_days, "objective": self.objective,
            "windows": self.windows.to_dict(orient="records"), "summary": self.summary,
            "overfitting": self.overfitting.to_dict() if self.overfitting else None, "notes": list(self.notes),
        })


def _summary(returns: pd.Series, objective: str, gamma: float, risk_free: float) -> dict[str, float]:
    from theses.engine import metrics

    return {
        "total_return": metrics.total_return(returns), "cagr": metrics.cagr(returns),
        "sharpe": metrics.sharpe_ratio(returns, risk_free), "max_drawdown": metrics.max_drawdown(returns),
        "objective": float(objective_values(returns.to_numpy()[:, None], objective, gamma, risk_free)[0]),
    }


def walk_forward(returns: pd.DataFrame, default: pd.Series, *, is_days: int, oos_days: int, objective: str,
                 gamma: float = 2.0, risk_free: float = 0.0) -> WalkForward:
    """Walk-forward selection over the columns of ``returns`` (point ids), against ``default``.

    Raises
    ------
    StudyError
        When the common history is shorter than one in-sample window plus a day.
    """
    bounds = window_bounds(len(returns), is_days, oos_days)
    if not bounds:
        have = len(returns) / 252.0
        raise StudyError(f"--walk-forward needs more than {is_days / 252:.1f} years of history that every grid "
                         f"point trades; there are {have:.1f}: shorten the in-sample window")
    values = returns.to_numpy(dtype=np.float64)
    base = default.reindex(returns.index).to_numpy(dtype=np.float64)
    rows, chained, chained_default = [], [], []
    for is_start, oos_start, oos_end in bounds:
        in_sample = objective_values(values[is_start:oos_start], objective, gamma, risk_free)
        out_sample = objective_values(values[oos_start:oos_end], objective, gamma, risk_free)
        chosen = int(np.argmax(np.nan_to_num(in_sample, nan=-np.inf)))
        default_oos = objective_values(base[oos_start:oos_end, None], objective, gamma, risk_free)[0]
        order = np.argsort(-np.nan_to_num(out_sample, nan=-np.inf), kind="stable")
        rows.append({
            "is_start": returns.index[is_start], "is_end": returns.index[oos_start - 1],
            "oos_start": returns.index[oos_start], "oos_end": returns.index[oos_end - 1],
            "chosen": returns.columns[chosen], "is_objective": float(in_sample[chosen]),
            "oos_objective": float(out_sample[chosen]), "default_oos_objective": float(default_oos),
            "oos_rank": int(np.flatnonzero(order == chosen)[0]) + 1,
        })
        chained.append(returns.iloc[oos_start:oos_end, chosen])
        chained_default.append(default.reindex(returns.index).iloc[oos_start:oos_end])
    oos = pd.concat(chained).rename("walk_forward")
    oos_default = pd.concat(chained_default).rename("default")
    return WalkForward(
        is_days=is_days, oos_days=oos_days, objective=objective, gamma=gamma, windows=pd.DataFrame(rows),
        returns=oos, default_returns=oos_default,
        summary={"walk_forward": _summary(oos, objective, gamma, risk_free),
                 "default": _summary(oos_default, objective, gamma, risk_free)},
        overfitting=probability_of_overfitting(values, objective, gamma, risk_free),
    )
