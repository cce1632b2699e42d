"""Scoring a sweep from what its tasks stored: per point on history, per point and scenario, and the blend.

Everything here reads the stored tables (never the live task results), so an uninterrupted sweep and one
resumed after an interrupt score exactly the same numbers. Definitions are in :mod:`theses.studies.sweep`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from theses.studies.sweep_store import SweepStore
from theses.studies.sweep_tasks import HistoryTask, ScenarioTask, SweepContext
from theses.studies.walk_forward import objective_values

DAILY = 252.0
WEALTH_DECIMALS = 12  # as the scenario study: a book that *is* SPY must not "beat" SPY by float rounding


def _metrics_row(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (np.nan if v is None else v) for k, v in dict(meta.get("metrics") or {}).items()}


def history_results(store: SweepStore, tasks: Sequence[HistoryTask], context: SweepContext, *, objective: str,
                    gamma: float, default_id: int, windows: tuple[int, int] | None) -> Any:
    """Every point's backtest metrics plus ``objective``, ``ce`` and ``cvar_5``; the walk-forward if asked."""
    from theses.engine.metrics import cvar
    from theses.studies.sweep import HistorySweep

    risk_free = context.settings.config_for(tasks[0].strategy).risk_free
    rows, returns = {}, {}
    for task in tasks:
        frame, meta = store.read(task.key, task.expect)
        r = frame["returns"]
        values = r.to_numpy()[:, None]
        row = _metrics_row(meta)
        row["objective"] = float(objective_values(values, objective, gamma, risk_free)[0])
        row["ce"] = float(objective_values(values, "ce", gamma, risk_free)[0])
        row["cvar_5"] = cvar(r.to_numpy(), 0.05)
        rows[task.point_id] = row
        returns[task.point_id] = r
    matrix = pd.DataFrame(returns).sort_index()
    metrics = pd.DataFrame.from_dict(rows, orient="index")
    notes = tuple(context.prices.notes) if context.prices is not None else ()
    walk = None
    if windows is not None:
        walk = _walk_forward(matrix, default_id, windows, objective, gamma, risk_free)
    return HistorySweep(metrics=metrics, returns=matrix, walk_forward=walk, notes=notes)


def _walk_forward(matrix: pd.DataFrame, default_id: int, windows: tuple[int, int], objective: str,
                  gamma: float, risk_free: float) -> Any:
    """Walk-forward over the grid points on the days every grid point (and the default) trades."""
    from theses.studies.walk_forward import walk_forward

    grid_ids = [c for c in matrix.columns if c >= 0]
    common = matrix[[*grid_ids, *([default_id] if default_id < 0 else [])]].dropna()
    result = walk_forward(common[grid_ids], common[default_id], is_days=windows[0], oos_days=windows[1],
                          objective=objective, gamma=gamma, risk_free=risk_free)
    first = common.index[0].date()
    result.notes = (f"walk-forward on the {len(common)} trading days from {first} on which every grid point "
                    "trades; each point's returns come from one backtest over the whole history",)
    return result


def _scenario_paths(store: SweepStore, tasks: Sequence[ScenarioTask]) -> tuple[dict[tuple[int, int], dict[str, np.ndarray]], int]:
    """Per (point, scenario): the stored per-path columns in path order; and the return periods per path."""
    parts: dict[tuple[int, int], list[pd.DataFrame]] = {}
    periods = 0
    for task in sorted(tasks, key=lambda t: (t.point_id, t.scenario, t.path_start)):
        frame, meta = store.read(task.key, task.expect)
        parts.setdefault((task.point_id, task.scenario), []).append(frame)
        periods = int(meta.get("periods") or periods)
    merged = {}
    for key, frames in parts.items():
        frame = pd.concat(frames)
        paths = {c: frame[c].to_numpy(dtype=np.float64) for c in frame.columns}
        for column in ("terminal_wealth", "benchmark_terminal"):
            paths[column] = np.round(paths[column], WEALTH_DECIMALS)
        merged[key] = paths
    return merged, periods


def path_objectives(paths: Mapping[str, np.ndarray], weights: np.ndarray | None, years: float, objective: str,
                    gamma: float) -> dict[str, float]:
    """``sharpe_p50`` (median path Sharpe), ``ce`` (annualised certainty equivalent of terminal wealth) and
    ``objective`` of weighted paths."""
    from theses.engine.decision import certainty_equivalent, ruined, wealth_after_ruin
    from theses.engine.metrics import weighted_quantile

    sharpe = float(weighted_quantile(paths["sharpe"], 0.5, weights))
    # As the decision study: a path whose wealth reached zero stays ruined (CE -100%/yr for gamma >= 1).
    wealth = wealth_after_ruin(paths["terminal_wealth"], ruined(paths["max_drawdown"]))
    equal = np.full(len(wealth), 1.0 / len(wealth))
    ce = float(certainty_equivalent(wealth, equal if weights is None else weights, gamma, years)) if years > 0 else np.nan
    median_cagr = float(weighted_quantile(paths["cagr"], 0.5, weights))
    return {"sharpe_p50": sharpe, "ce": ce, "objective": {"sharpe": sharpe, "cagr": median_cagr, "ce": ce}[objective]}


def _pooled(by_scenario: Mapping[str, Mapping[str, np.ndarray]], probabilities: Mapping[str, float]
            ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The mixture of scenarios: paths of scenario s weighted ``p_s / n_s`` (as ``engine.metrics.scenario_blend``)."""
    names = [n for n in by_scenario if probabilities.get(n, 0) > 0 and len(by_scenario[n]["terminal_wealth"])]
    keys = by_scenario[names[0]].keys()
    pooled = {k: np.concatenate([by_scenario[n][k] for n in names]) for k in keys}
    weights = np.concatenate([np.full(len(by_scenario[n]["terminal_wealth"]),
                                      probabilities[n] / len(by_scenario[n]["terminal_wealth"])) for n in names])
    return pooled, weights


def scenario_results(store: SweepStore, tasks: Sequence[ScenarioTask], context: SweepContext, *, objective: str,
                     gamma: float, probabilities: Mapping[str, float] | None, paths: int, years: float, seed: int,
                     method: str) -> Any:
    """Every point's scenario summary per scenario and blended, with the objective."""
    from theses.engine.metrics import scenario_blend
    from theses.studies.scenarios import resolve_probabilities
    from theses.studies.sweep import ScenarioSweep

    assert context.source is not None
    names = [spec.name for spec in context.specs]
    probs, prior_notes = resolve_probabilities(context.specs, probabilities)
    merged, periods = _scenario_paths(store, tasks)
    span = periods / DAILY
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    point_ids = list(dict.fromkeys(t.point_id for t in tasks))
    for pid in point_ids:
        by_scenario = {names[s]: merged[(pid, s)] for s in range(len(names))}
        for name, scenario_paths in by_scenario.items():
            # As the scenario study: the summary of one scenario is its blend with probability 1.
            rows[(name, pid)] = {**scenario_blend({name: scenario_paths}, {name: 1.0}),
                                 **path_objectives(scenario_paths, None, span, objective, gamma)}
        pooled, weights = _pooled(by_scenario, probs)
        rows[("blend", pid)] = {**scenario_blend(by_scenario, probs),
                                **path_objectives(pooled, weights, span, objective, gamma)}
    ordered = {(where, pid): rows[(where, pid)] for where in [*names, "blend"] for pid in point_ids}
    summary = pd.DataFrame.from_dict(ordered, orient="index")
    summary.index = pd.MultiIndex.from_tuples(summary.index, names=["scenario", "point"])
    return ScenarioSweep(summary=summary, probabilities=probs, paths=int(paths), years=float(years), seed=int(seed),
                         method=method, index=context.source.index, notes=(*context.source.notes, *prior_notes))
