"""The scenarios' models of the group baskets, and the evidence the observed days give for each scenario.

A *group basket* is the mean daily log return of a scenario group's tickers (the groups of the scenario
files). :func:`group_model` lays one scenario onto the observed days exactly as the path generator does
(``theses.data.generators.scenario_plan``: the phase in force each day, the calibrated volatilities and
correlation, the crash events), and reduces it to the baskets: each window's expected sum, each window's
mean daily covariance, each crash event's jump and the probability that its day falls in each window.
:func:`scenario_evidence` scores observed (or simulated) basket returns under every scenario with the
measures of :mod:`theses.engine.tracking`, whose docstring states the method; :func:`confusion` applies the
same method to paths simulated from each scenario, to say how much data of this length can tell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from theses.studies.errors import StudyError

if TYPE_CHECKING:
    from theses.data.calibration import Calibration
    from theses.data.scenario_spec import ScenarioSpec

#: The ticker groups of the scenario files whose baskets carry the evidence (``other`` and ``bonds`` are left
#: out: the scenarios give them the market drift only, or a yield).
EVIDENCE_GROUPS: tuple[str, ...] = (
    "ai_platforms", "compute", "autonomy", "legacy_autos", "obvious_losers", "europe", "index", "broad_market",
)  # fmt: skip
TOTAL = "total"


@dataclass(frozen=True)
class GroupModel:
    """One scenario's model of the group baskets over the observed days.

    Attributes
    ----------
    mean : ``(W, G)`` expected window sums of the baskets' daily log returns.
    cov : ``(W, G, G)`` mean daily covariance of the baskets in each window.
    jumps : ``(E, G)`` log jump of each crash event on the baskets.
    crash_prob : ``(E, W)`` probability that each event's day falls in each window.
    """

    mean: np.ndarray
    cov: np.ndarray
    jumps: np.ndarray
    crash_prob: np.ndarray


def basket_matrix(spec: ScenarioSpec, groups: Sequence[str]) -> np.ndarray:
    """``(G, N)``: 1/n_g on the members of each group (columns in ``spec.tickers`` order)."""
    tickers = spec.tickers
    matrix = np.zeros((len(groups), len(tickers)))
    for g, group in enumerate(groups):
        members = spec.groups.get(group)
        if not members:
            raise StudyError(f"scenario {spec.name} ({spec.source}) has no group {group!r}; the evidence uses "
                             f"the groups {', '.join(groups)}")
        matrix[g, [tickers.index(t) for t in members]] = 1.0 / len(members)
    return matrix


def group_model(spec: ScenarioSpec, calibration: Calibration, index: pd.DatetimeIndex, groups: Sequence[str],
                window_of_day: np.ndarray) -> GroupModel:
    """The scenario's drifts, covariances and crashes on the observed days, reduced to the group baskets."""
    from theses.data.generators import scenario_plan
    from theses.engine.tracking import window_lengths, window_sums

    plan = scenario_plan(spec, index)
    cal = calibration.subset(spec.tickers, source=f"scenario {spec.name}")
    baskets = basket_matrix(spec, groups)
    mean = window_sums(plan.daily_drift @ baskets.T, window_of_day)
    scaled = baskets[None] * (cal.daily_vol[None, :] * plan.vol_factor)[:, None, :]  # (T, G, N)
    daily_cov = scaled @ cal.correlation @ scaled.transpose(0, 2, 1)
    onehot = np.zeros((int(window_of_day.max()) + 1, len(index)))
    onehot[window_of_day, np.arange(len(index))] = 1.0
    cov = np.einsum("wt,tgh->wgh", onehot, daily_cov) / window_lengths(window_of_day)[:, None, None]
    jumps = np.array([j @ baskets.T for j in plan.crash_jumps]).reshape(len(plan.crash_jumps), len(groups))
    crash_prob = np.zeros((len(plan.crash_days), onehot.shape[0]))
    for e, days in enumerate(plan.crash_days):  # every business day of the event's window is equally likely
        inside = days[days >= 0]
        np.add.at(crash_prob[e], window_of_day[inside], 1.0 / len(days))
    return GroupModel(mean, cov, jumps, crash_prob)


def basket_returns(log_returns: np.ndarray, baskets: np.ndarray) -> np.ndarray:
    """``(..., T, N)`` daily log returns of the scenario tickers -> ``(..., T, G)`` group baskets."""
    return np.asarray(log_returns, dtype=float) @ baskets.T


@dataclass(frozen=True)
class Evidence:
    """Log-likelihoods of the observed baskets under each scenario (see ``theses.engine.tracking``).

    ``drift`` and ``volatility`` map ``"total"`` (all groups jointly) and each group (alone) to ``(S,)``
    log-likelihoods; ``volatility`` is empty when it was not computed (simulated paths).
    """

    scenarios: tuple[str, ...]
    drift: Mapping[str, np.ndarray]
    volatility: Mapping[str, np.ndarray]


def _drift(daily: np.ndarray, window_of_day: np.ndarray, models: Sequence[GroupModel], cols: list[int]) -> np.ndarray:
    """``(P, S)`` drift-and-crash log-likelihood of ``(P, T, G)`` baskets, on the groups ``cols``."""
    from theses.engine.tracking import drift_loglik, realised_covariance, window_lengths, window_sums

    sub = daily[..., cols]
    spread = realised_covariance(sub)
    means = np.stack([m.mean[:, cols] for m in models])
    return drift_loglik(window_sums(sub, window_of_day), window_lengths(window_of_day), spread, means,
                        [m.jumps[:, cols] for m in models], [m.crash_prob for m in models])


def scenario_evidence(daily: np.ndarray, window_of_day: np.ndarray, models: Mapping[str, GroupModel],
                      groups: Sequence[str], volatility: bool = True) -> Evidence:
    """Drift (and volatility) evidence of observed ``(T, G)`` baskets for every scenario, in total and by group."""
    from theses.engine.tracking import volatility_loglik

    names, fits = tuple(models), list(models.values())
    paths = daily[None]
    drift = {TOTAL: _drift(paths, window_of_day, fits, list(range(len(groups))))[0]}
    drift |= {group: _drift(paths, window_of_day, fits, [g])[0] for g, group in enumerate(groups)}
    vol: dict[str, np.ndarray] = {}
    if volatility:
        vol[TOTAL] = volatility_loglik(daily, window_of_day, np.stack([m.cov for m in fits]))
        for g, group in enumerate(groups):
            vol[group] = volatility_loglik(daily[:, [g]], window_of_day, np.stack([m.cov[:, [g]][:, :, [g]] for m in fits]))
    return Evidence(names, drift, vol)


@dataclass(frozen=True)
class Confusion:
    """The method applied to paths simulated from each scenario (the truth), ``paths`` of them each.

    ``counts[truth][top]`` how often ``top`` had the highest posterior; ``mean_posterior[truth]`` the average
    posterior of the true scenario; ``accuracy`` the share of paths whose top scenario is the true one.
    """

    paths: int
    days: int
    counts: dict[str, dict[str, int]]
    mean_posterior: dict[str, float]
    accuracy: float


def confusion(
    specs: Sequence[ScenarioSpec], calibration: Calibration, index: pd.DatetimeIndex, models: Mapping[str, GroupModel],
    groups: Sequence[str], prior: np.ndarray, *, paths: int, seed: int,
    progress: Callable[[str], None] | None = None,
) -> Confusion:
    """Simulate ``paths`` paths on ``index`` from each scenario and score them as the observed days were."""
    from theses.data.generators import ParametricGenerator
    from theses.engine.tracking import month_windows, posterior, top_counts

    window_of_day = month_windows(index)
    names = [spec.name for spec in specs]
    counts, mean_post, hits = {}, {}, 0
    for k, spec in enumerate(specs):
        if progress is not None:
            progress(f"confusion: paths of {spec.name}")
        generator = ParametricGenerator(spec, calibration, index, seed + k)
        daily = basket_returns(generator.log_returns(0, paths), basket_matrix(spec, groups))
        post = posterior(prior, _drift(daily, window_of_day, list(models.values()), list(range(len(groups)))))
        tops = top_counts(post)
        counts[spec.name] = {name: int(c) for name, c in zip(names, tops, strict=True)}
        mean_post[spec.name] = float(post[:, k].mean())
        hits += int(tops[k])
    return Confusion(int(paths), len(index), counts, mean_post, hits / (paths * len(specs)))
