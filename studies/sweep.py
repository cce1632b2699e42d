"""Parameter sweeps: every point of a grid on real history (with walk-forward) and on the scenarios' paths.

``sweep("bubble_watch", grid="window=100:300:50", on="scenarios", paths=500, out="DIR")``:

1. The grid (:mod:`theses.studies.grid`) is checked against the strategy's parameters and turned into one
   strategy per point; the strategy's own parameters join as the ``default`` point when they are off the grid.
2. The work is split into tasks (:mod:`theses.studies.sweep_tasks`): one per point on history, one per
   point x scenario x seed block of ``block_size`` paths. Every point sees the same paths (common random
   numbers), and paths never travel: the worker that runs a task regenerates them from the seed.
3. An executor (:mod:`theses.studies.executor`: in process, or Dask workers) runs the tasks that are not yet
   in the sweep folder; each finished task is written there at once (:mod:`theses.studies.sweep_store`), so
   an interrupted sweep resumes with ``resume=True`` and ends with the same result.
4. The stored tables are read back and scored: per point the backtest's metrics, the objective and the
   CVaR; per point and scenario the scenario summary (median CAGR, CVaR 5% of terminal return, ...), and
   the probability-weighted blend; with ``walk_forward="3y/1y"`` the walk-forward choice and the probability
   of backtest overfitting (:mod:`theses.studies.walk_forward`).

Objectives: ``sharpe`` (history: the Sharpe ratio; scenarios: the median of the paths' Sharpe ratios),
``cagr`` (history: CAGR; scenarios: the median path CAGR), ``ce`` (the CRRA certainty-equivalent growth
with risk aversion ``gamma``: of the daily returns on history, of terminal wealth across paths on
scenarios, annualised; a path whose wealth reached zero counts as ruined, as in ``theses decide``, see
``theses.engine.decision``). CVaR: of daily returns on history, of terminal return (5%) on scenarios.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from theses.studies.errors import StudyError
from theses.studies.grid import Grid, GridValue, build_grid, build_strategies, format_value
from theses.studies.settings import (
    DEFAULT_RISK_AVERSION,
    DEFAULT_SEED,
    DEFAULT_SETTINGS,
    DEFAULT_SWEEP_BLOCK,
    DEFAULT_SWEEP_PATHS,
    DEFAULT_YEARS,
    SWEEP_OBJECTIVES,
    SWEEP_ON,
    RunSettings,
    check_choice,
)
from theses.studies.sweep_tasks import HistoryTask, ScenarioTask, SweepContext, point_label

if TYPE_CHECKING:
    from theses.data.calibration import Calibration
    from theses.strategies import Strategy
    from theses.studies.executor import Executor
    from theses.studies.sweep_store import SweepStore
    from theses.studies.walk_forward import WalkForward

ProgressFn = Callable[[str, int, int], None]
DEFAULT_ID = -1


@dataclass
class HistorySweep:
    """Every point on real history: ``metrics`` (one row per point id; -1 is the default when off the grid)
    holds the backtest's metrics plus ``objective``, ``ce`` and ``cvar_5`` (of daily returns); ``returns``
    the daily returns of each point's executed window (columns = point ids)."""

    metrics: pd.DataFrame
    returns: pd.DataFrame
    walk_forward: WalkForward | None = None
    notes: tuple[str, ...] = ()


@dataclass
class ScenarioSweep:
    """Every point on every scenario: ``summary`` has a (scenario or ``blend``, point id) row index and the
    scenario summary's columns plus ``sharpe_p50``, ``ce`` and ``objective``."""

    summary: pd.DataFrame
    probabilities: dict[str, float]
    paths: int
    years: float
    seed: int
    method: str
    index: pd.DatetimeIndex
    notes: tuple[str, ...] = ()

    @property
    def scenarios(self) -> list[str]:
        return [s for s in dict.fromkeys(self.summary.index.get_level_values(0)) if s != "blend"]


@dataclass
class SweepRun:
    """Everything a sweep produced; ``table()`` has one row per point, ``to_dict()`` is the JSON document."""

    strategy: str
    grid: Grid
    points: list[dict[str, GridValue]]
    default_point: dict[str, GridValue]
    default_id: int
    objective: str
    gamma: float
    history: HistorySweep | None
    scenarios: ScenarioSweep | None
    settings: RunSettings
    tasks_total: int
    tasks_run: int
    folder: Path | None = None
    executor: str = "in process"
    costs: str = ""
    notes: tuple[str, ...] = field(default=())

    def point(self, point_id: int) -> dict[str, GridValue]:
        return self.default_point if point_id == DEFAULT_ID else self.points[point_id]

    def ids(self) -> list[int]:
        """Grid point ids, then the off-grid default (-1) when it was run."""
        return list(range(len(self.points))) + ([DEFAULT_ID] if self.default_id == DEFAULT_ID else [])

    @property
    def places(self) -> list[str]:
        """Where points were scored: ``history``, then ``blend`` and each scenario."""
        return (["history"] if self.history is not None else []) + (
            ["blend", *self.scenarios.scenarios] if self.scenarios is not None else [])

    def values(self, place: str, metric: str) -> pd.Series:
        """``metric`` of every grid point (index: point id) on ``history``, ``blend`` or one scenario."""
        if place == "history" and self.history is not None:
            column = self.history.metrics[metric]
        elif self.scenarios is not None and place in self.scenarios.summary.index.get_level_values(0):
            column = self.scenarios.summary.loc[place, metric]
        else:
            raise StudyError(f"no {place} results in this sweep; use one of {', '.join(self.places)}")
        return pd.to_numeric(column.reindex(range(len(self.points))), errors="coerce")

    def default_values(self, place: str, metric: str) -> float:
        """``metric`` of the strategy's own parameters on ``place`` (on the grid or not)."""
        if place == "history" and self.history is not None:
            return float(self.history.metrics.loc[self.default_id, metric])
        if self.scenarios is not None:
            return float(self.scenarios.summary.loc[(place, self.default_id), metric])
        raise StudyError(f"no {place} results in this sweep; use one of {', '.join(self.places)}")

    def table(self) -> pd.DataFrame:
        """One row per point: its parameters, then ``history/<metric>``, ``blend/<metric>``, ``<scenario>/<metric>``."""
        ids = self.ids()
        frame = pd.DataFrame([{"is_default": pid == self.default_id, **self.point(pid)} for pid in ids], index=ids)
        if self.history is not None:
            frame = frame.join(self.history.metrics.add_prefix("history/"))
        if self.scenarios is not None:
            for where in ["blend", *self.scenarios.scenarios]:
                frame = frame.join(self.scenarios.summary.loc[where].add_prefix(f"{where}/"))
        frame.index = pd.Index([point_label(pid) for pid in ids], name="point")
        return frame

    def best(self, where: str = "history") -> dict[str, Any]:
        """The grid point with the highest objective on ``history``, ``blend`` or one scenario."""
        frame = self.table().iloc[: len(self.points)]
        column = f"{where}/objective"
        if column not in frame:
            raise StudyError(f"no {where} results in this sweep")
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().all():
            return {"where": where, "point": None, "objective": None}
        label = values.idxmax()
        return {"where": where, "point": label, "params": self.points[int(label[1:])],
                "objective": float(values[label])}

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: settings, every point's figures, the best points, the walk-forward."""
        from theses.util import jsonable

        out: dict[str, Any] = {
            "strategy": self.strategy, "objective": self.objective, "risk_aversion": self.gamma,
            "grid": {d.name: list(d.values) for d in self.grid.dimensions}, "default": self.default_point,
            "points": self.table().reset_index().to_dict(orient="records"),
            "best": {where: self.best(where) for where in self.places},
            "tasks": {"total": self.tasks_total, "run": self.tasks_run, "reused": self.tasks_total - self.tasks_run},
            "settings": asdict(self.settings), "notes": list(self.notes),
        }
        if self.scenarios is not None:
            s = self.scenarios
            out["scenarios"] = {"names": s.scenarios, "probabilities": s.probabilities, "paths": s.paths,
                                "years": s.years, "seed": s.seed, "method": s.method}
        if self.history is not None and self.history.walk_forward is not None:
            out["walk_forward"] = self.history.walk_forward.to_dict()
        return jsonable(out)

    def header(self) -> dict[str, Any]:
        """Report header facts."""
        from theses import __version__

        grid_text = "; ".join(f"{d.name} = {', '.join(format_value(v) for v in d.values)}"
                              for d in self.grid.dimensions)
        facts: dict[str, Any] = {"strategy": self.strategy, "objective": objective_text(self.objective, self.gamma),
                                 "grid": f"{len(self.points)} points: {grid_text}", "costs": self.costs,
                                 "executor": self.executor, "version": __version__, "notes": list(self.notes)}
        if self.history is not None and len(self.history.returns):
            idx = self.history.returns.index
            facts["window"] = f"{idx[0].date()} to {idx[-1].date()}"
        if self.scenarios is not None:
            s = self.scenarios
            facts["scenarios"] = (f"{', '.join(s.scenarios)}; {s.paths} paths each, {s.years:g} years, "
                                  f"seed {s.seed}, method {s.method}")
        return facts



def objective_text(objective: str, gamma: float) -> str:
    return {"sharpe": "Sharpe ratio (scenarios: median over paths)",
            "cagr": "CAGR (scenarios: median over paths)",
            "ce": f"certainty-equivalent growth, CRRA risk aversion {gamma:g}"}[objective]


# -------------------------------------------------------------------------------------------- inputs
def resolve_target(strategy: str | Strategy) -> Any:
    """The grid target of a registered name, a portfolio ``.toml`` path, or a Strategy with a parameter dataclass."""
    from theses.studies.grid import ParamsTarget, TomlTarget
    from theses.studies.settings import is_portfolio_path, read_portfolio_text, resolve_strategy

    if isinstance(strategy, str) and is_portfolio_path(strategy):
        return TomlTarget(read_portfolio_text(strategy), source=strategy)
    chosen = resolve_strategy(strategy)
    if not hasattr(importlib.import_module(type(chosen.params).__module__), "make_strategy"):
        raise StudyError(f"strategy {chosen.name} cannot be rebuilt from parameters; pass its .toml path to sweep "
                         "a portfolio's keys")
    return ParamsTarget(chosen)


def _check_request(on: str, objective: str, paths: int, block_size: int, gamma: float, walk: str | None) -> None:
    check_choice("--on", on, SWEEP_ON)
    check_choice("--objective", objective, SWEEP_OBJECTIVES)
    if on != "history" and paths < 1:
        raise StudyError(f"--paths {paths}: simulate at least one path per scenario")
    if block_size < 1:
        raise StudyError(f"--block-size {block_size}: use a positive number of paths")
    if not math.isfinite(gamma) or gamma < 0:
        raise StudyError(f"--risk-aversion {gamma}: use a number >= 0 (1 is log utility)")
    if walk and on == "scenarios":
        raise StudyError("--walk-forward tests choices on real history: use it with --on history or --on both")


def _check_scenario_work(scenarios: Any, *, paths: Any, years: Any, seed: Any, block_size: Any, mean_block: Any,
                         sim_start: Any, books: int, in_process: bool) -> None:
    """The scenario options and the size of the work, checked as ``simulate`` checks them, before any task."""
    from theses.studies.limits import check_simulation, widest
    from theses.studies.scenarios import resolve_scenarios

    specs = resolve_scenarios(scenarios)
    check_simulation(paths=paths, years=years, seed=seed, chunk_size=block_size, mean_block=mean_block,
                     start=sim_start, assets=widest(specs), books=books, scenarios=max(len(specs), 1),
                     in_process=in_process)


def _points(target: Any, grid: Grid) -> tuple[list[dict[str, GridValue]], dict[str, GridValue], int, dict[int, Strategy]]:
    points = grid.points()
    default = target.default_point(grid.names)
    default_id = points.index(default) if default in points else DEFAULT_ID
    ids = list(range(len(points))) + ([DEFAULT_ID] if default_id == DEFAULT_ID else [])
    built = build_strategies(target, [points[i] if i >= 0 else default for i in ids])
    return points, default, default_id, dict(zip(ids, built, strict=True))


def _context(strategies: Mapping[int, Strategy], *, history: bool, scenarios: Any, on: str, years: float,
             seed: int, method: str, settings: RunSettings, start: object, end: object, source: str,
             data_dir: str | None, calibration: Calibration | None, sim_start: object,
             mean_block: float) -> tuple[SweepContext, dict[str, Any]]:
    """The shared context and the parts of the fingerprint (every input a task's result depends on)."""
    from theses.studies import scenarios as scenario_study
    from theses.studies.history import load_window, lookback_of
    from theses.studies.settings import benchmark_strategies, tickers_for

    prices = specs = path_source = spy = None
    parts: dict[str, Any] = {"grid points": {point_label(k): v for k, v in strategies.items()},
                             "costs": asdict(settings)}
    if history:
        books = list(strategies.values())
        prices = load_window(tickers_for(books), start=start, end=end, source=source, data_dir=data_dir,
                             lookback=lookback_of(books))
        parts["prices"] = [prices.close, prices.open]
    if on != "history":
        specs = tuple(scenario_study.resolve_scenarios(scenarios))
        if not specs:
            raise StudyError("no scenario to run; pass --scenario NAME, all, or a .toml file")
        spy = benchmark_strategies(("SPY",))[0]
        for spec in specs:
            scenario_study.check_universe([*strategies.values(), spy], spec)
        path_source = scenario_study.path_source(specs, years=years, seed=seed, method=method, data_dir=data_dir,
                                                 calibration=calibration, start=sim_start, mean_block=mean_block)
        parts |= {"scenarios": list(specs), "seed, horizon or calibration": path_source}
    return SweepContext("", settings, prices, specs or (), path_source, spy), parts


# ----------------------------------------------------------------------------------------------- run
def _run_pending(store: SweepStore, tasks: Sequence[HistoryTask | ScenarioTask], context: SweepContext,
                 executor: Executor | None, progress: ProgressFn | None) -> int:
    """Run the tasks not yet stored; each result is stored as it arrives. Returns how many ran."""
    from theses.studies.executor import SerialExecutor
    from theses.studies.sweep_tasks import clear_path_cache, run_task

    pending = [task for task in tasks if not store.has(task.key)]
    for task in tasks:
        if store.has(task.key):
            store.read(task.key, task.expect)  # a damaged file is refused before any work starts
    done_before = len(tasks) - len(pending)
    runner = executor or SerialExecutor()
    if progress is not None:
        progress(f"tasks ({done_before} of {len(tasks)} stored before)", 0, len(pending))
    try:
        for done, (position, (frame, meta)) in enumerate(runner.run(run_task, pending, context), 1):
            store.write(pending[position].key, frame, meta)
            if progress is not None:
                progress(f"tasks {runner.description}", done, len(pending))
    finally:
        clear_path_cache()
    return len(pending)


def sweep(
    strategy: str | Strategy,
    *,
    grid: str | Sequence[str] | Mapping[str, Any],
    on: str = "history",
    scenarios: str | Iterable[Any] = "all",
    paths: int = DEFAULT_SWEEP_PATHS,
    years: float = DEFAULT_YEARS,
    seed: int = DEFAULT_SEED,
    method: str = "t",
    probabilities: Mapping[str, float] | None = None,
    walk_forward: str | None = None,
    objective: str = "sharpe",
    gamma: float = DEFAULT_RISK_AVERSION,
    settings: RunSettings = DEFAULT_SETTINGS,
    start: object = None,
    end: object = None,
    source: str = "auto",
    data_dir: str | None = None,
    calibration: Calibration | None = None,
    sim_start: object = None,
    mean_block: float = 20.0,
    block_size: int = DEFAULT_SWEEP_BLOCK,
    out: str | Path | None = None,
    resume: bool = False,
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
) -> SweepRun:
    """Run ``strategy`` at every point of ``grid`` on history and/or the scenarios (see the module docstring).

    Parameters
    ----------
    strategy : a registered name, a portfolio ``.toml`` path, or a Strategy built by a thesis module.
    grid : ``"window=100:300:50,switch_band=none,0.25"`` (or a list of such texts, or ``{name: values}``).
    on : ``history``, ``scenarios`` or ``both``.
    scenarios, paths, years, seed, method, probabilities, calibration, sim_start, mean_block : as
        :func:`theses.studies.scenarios.simulate` (``sim_start`` is its ``start``).
    walk_forward : ``"3y/1y"``: in-sample/out-of-sample windows on history (units y, m, w, d).
    objective : ``sharpe``, ``cagr`` or ``ce``; ``gamma`` is the risk aversion of ``ce``.
    settings, start, end, source, data_dir : costs and the history window, as :func:`theses.studies.history.backtest`.
    block_size : paths per scenario task.
    out : the sweep folder (results kept there, resumable); None keeps them in memory.
    resume : continue the sweep in ``out``: only tasks without a stored result run.
    executor : where tasks run (:func:`theses.studies.executor.make_executor`); default in process.
    progress : ``progress(description, done, total)`` over the tasks that run.
    """
    from theses.studies.settings import costs_text
    from theses.studies.sweep_results import history_results, scenario_results
    from theses.studies.sweep_store import SweepStore
    from theses.studies.sweep_tasks import plan_tasks

    _check_request(on, objective, paths, block_size, gamma, walk_forward)
    windows = _walk_windows(walk_forward)
    target = resolve_target(strategy)
    grid_ = build_grid(grid, target)
    points, default, default_id, strategies = _points(target, grid_)
    if on != "history":
        _check_scenario_work(scenarios, paths=paths, years=years, seed=seed, block_size=block_size,
                             mean_block=mean_block, sim_start=sim_start, books=len(strategies) + 1,
                             in_process=executor is None)
    history = on in ("history", "both")
    context, parts = _context(strategies, history=history, scenarios=scenarios, on=on, years=years, seed=seed,
                              method=method, settings=settings, start=start, end=end, source=source,
                              data_dir=data_dir, calibration=calibration, sim_start=sim_start, mean_block=mean_block)
    on_paths, prime_notes = strategies, ()
    if context.source is not None:
        from theses.studies.scenarios import prime_books

        primed, prime_notes = prime_books(list(strategies.values()), context.source)
        on_paths = dict(zip(strategies, primed, strict=True))
    tasks = plan_tasks(strategies, history=history, n_scenarios=len(context.specs), paths=paths, block_size=block_size,
                       on_paths=on_paths)
    parts |= {"paths or block size": [t.key for t in tasks]}
    store = SweepStore.open(out, parts, resume=resume)
    context = SweepContext(store.fingerprint, context.settings, context.prices, context.specs, context.source,
                           context.benchmark)
    ran = _run_pending(store, tasks, context, executor, progress)

    hist = history_results(store, [t for t in tasks if isinstance(t, HistoryTask)], context, objective=objective,
                           gamma=gamma, default_id=default_id, windows=windows) if history else None
    scen = scenario_results(store, [t for t in tasks if isinstance(t, ScenarioTask)], context,
                            objective=objective, gamma=gamma, probabilities=probabilities, paths=paths,
                            years=years, seed=seed, method=method) if on != "history" else None
    notes = (*(hist.notes if hist else ()), *(scen.notes if scen else ()), *prime_notes)
    return SweepRun(strategy=target.name, grid=grid_, points=points, default_point=default, default_id=default_id,
                    objective=objective, gamma=gamma, history=hist, scenarios=scen, settings=settings,
                    tasks_total=len(tasks), tasks_run=ran, folder=store.folder,
                    executor=(executor.description if executor is not None else "in process"),
                    costs=costs_text(settings.config_for(strategies[default_id])), notes=notes)


def _walk_windows(text: str | None) -> tuple[int, int] | None:
    from theses.studies.walk_forward import parse_windows

    return parse_windows(text) if text else None
