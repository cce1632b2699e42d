"""The public Python API: one function per question, each a thin call of a study (``theses.studies``).

Costs are plain keyword arguments here (``fees_bps=...``); the studies take them as one ``RunSettings``.
Results are the studies' objects, with pandas views (``.metrics``, ``.equity``, ``.weights``, ``.trades``,
``.summary``) and ``to_dict()`` for JSON; :func:`report` writes any of them as a report folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from theses.studies import decide as decide_study
from theses.studies import history
from theses.studies import rebalance as rebalance_study
from theses.studies import scenarios as scenario_study
from theses.studies import sweep as sweep_study
from theses.studies.settings import (
    DEFAULT_INITIAL_CASH,
    DEFAULT_RISK_AVERSION,
    DEFAULT_SEED,
    DEFAULT_SWEEP_PATHS,
    DEFAULT_YEARS,
    TRACK_CONFUSION_PATHS,
    TRACK_PATHS,
    RunSettings,
)


def _settings(
    fees_bps: float | None, slippage_bps: float | None, borrow_bps: float | None, cash_rate: float | None,
    risk_free: float | None, initial_cash: float, execution: str,
) -> RunSettings:
    return RunSettings(fees_bps=fees_bps, slippage_bps=slippage_bps, borrow_bps=borrow_bps, cash_rate=cash_rate,
                       risk_free=risk_free, initial_cash=initial_cash, execution=execution)


def backtest(
    strategy: Any, *, start: object = None, end: object = None, data_dir: str | None = None, source: str = "auto",
    fees_bps: float | None = None, slippage_bps: float | None = None, borrow_bps: float | None = None,
    cash_rate: float | None = None, risk_free: float | None = None, initial_cash: float = DEFAULT_INITIAL_CASH,
    execution: str = "close",
) -> history.Backtest:
    """Backtest one strategy on real history: ``theses.backtest("essay_book", start="2024-12-02")``.

    ``strategy`` is a registered name (``theses.list_strategies()``), a portfolio ``.toml`` path or a
    ``Strategy``. The result has ``.metrics`` (a Series), ``.equity``, ``.weights``, ``.trades``,
    ``.benchmark_metrics`` and ``.to_dict()``. Unset costs use the portfolio's own, else the project defaults
    (1 bp fees, 2 bps slippage, 50 bps/yr borrow).
    """
    settings = _settings(fees_bps, slippage_bps, borrow_bps, cash_rate, risk_free, initial_cash, execution)
    return history.backtest(strategy, start=start, end=end, source=source, data_dir=data_dir, settings=settings)


def compare(
    strategies: Iterable[Any] | None = None, *, since_essay: bool = False, start: object = None, end: object = None,
    data_dir: str | None = None, source: str = "auto", fees_bps: float | None = None,
    slippage_bps: float | None = None, borrow_bps: float | None = None, cash_rate: float | None = None,
    risk_free: float | None = None, initial_cash: float = DEFAULT_INITIAL_CASH, execution: str = "close",
) -> history.Comparison:
    """Backtest several strategies (default: all) over one window against SPY and RSP; ``.metrics`` is a table."""
    settings = _settings(fees_bps, slippage_bps, borrow_bps, cash_rate, risk_free, initial_cash, execution)
    return history.compare(strategies, since_essay=since_essay, start=start, end=end, source=source,
                           data_dir=data_dir, settings=settings)


def simulate(
    strategies: Iterable[Any] | None = None, *, scenarios: Any = "all",
    paths: int = scenario_study.DEFAULT_PATHS, years: float = scenario_study.DEFAULT_YEARS,
    seed: int = scenario_study.DEFAULT_SEED, method: str = "t", probabilities: Mapping[str, float] | None = None,
    data_dir: str | None = None, calibration: Any = None, start: object = None,
    fees_bps: float | None = None, slippage_bps: float | None = None, borrow_bps: float | None = None,
    cash_rate: float | None = None, chunk_size: int = scenario_study.DEFAULT_CHUNK_SIZE,
) -> scenario_study.SimulationRun:
    """Run strategies (default: all, plus SPY and RSP) on simulated paths of the scenarios.

    ``scenarios`` is ``"all"``, a shipped name (``theses.list_scenarios()``), a scenario ``.toml`` path, or a
    list of them; ``calibration`` a calibration file path (default: the shipped one). Every book sees the same
    paths (common random numbers); the same ``seed`` gives the same result. ``.summary`` is a table of every
    scenario and the probability-weighted blend.
    """
    from theses.studies.calibration import read_calibration

    if isinstance(calibration, str | Path):
        calibration = read_calibration(calibration)
    settings = _settings(fees_bps, slippage_bps, borrow_bps, cash_rate, None, DEFAULT_INITIAL_CASH, "close")
    return scenario_study.simulate(strategies, scenarios=scenarios,
                              paths=paths, years=years, seed=seed, method=method, probabilities=probabilities,
                              settings=settings, data_dir=data_dir, calibration=calibration, start=start,
                              chunk_size=chunk_size)


def decide(
    strategies: Iterable[Any] | None = None, *, scenarios: Any = "all",
    paths: int = scenario_study.DEFAULT_PATHS, years: float = scenario_study.DEFAULT_YEARS,
    seed: int = scenario_study.DEFAULT_SEED, oos_seed: int | None = None, method: str = "t",
    probabilities: Mapping[str, float] | None = None, risk_aversion: float = decide_study.DEFAULT_RISK_AVERSION,
    max_weight: float = decide_study.DEFAULT_MAX_WEIGHT, data_dir: str | None = None, calibration: Any = None,
    start: object = None, fees_bps: float | None = None, slippage_bps: float | None = None,
    borrow_bps: float | None = None, cash_rate: float | None = None,
    chunk_size: int = scenario_study.DEFAULT_CHUNK_SIZE, executor: Any = None,
) -> decide_study.Decision:
    """Which book to hold across the scenarios: ``theses.decide(paths=2000).verdict``.

    Every book (default: all, plus SPY and RSP) runs on the same paths; the result has ``.verdict``,
    ``.scoreboard`` (rows ``(scenario or "blend", book)``), ``.certainty`` (CE at risk aversion 1, 2, 5),
    ``.regret``, ``.robustness``, ``.break_even``, ``.mix`` and ``.to_dict()``. ``risk_aversion`` is the CRRA
    gamma of the ranking (default 2); the best mix is optimised on ``seed`` and reported on ``oos_seed``
    (default seed + 1); ``executor`` is a ``map``-like callable over the simulation's chunk tasks.
    """
    from theses.studies.calibration import read_calibration

    if isinstance(calibration, str | Path):
        calibration = read_calibration(calibration)
    settings = _settings(fees_bps, slippage_bps, borrow_bps, cash_rate, None, DEFAULT_INITIAL_CASH, "close")
    return decide_study.decide(strategies, scenarios=scenarios, paths=paths, years=years, seed=seed,
                               oos_seed=oos_seed, method=method, probabilities=probabilities,
                               risk_aversion=risk_aversion, max_weight=max_weight, settings=settings,
                               data_dir=data_dir, calibration=calibration, start=start, chunk_size=chunk_size,
                               executor=executor)


def rebalance(
    strategy: Any, *, holdings: Any, cash: float = 0.0, as_of: object = None, whole_shares: bool = False,
    min_trade: float = 0.0, bands: float | None = None, fees_bps: float | None = None,
    data_dir: str | None = None, source: str = "auto",
) -> rebalance_study.Rebalance:
    """The trade list from ``holdings`` (a CSV path) plus ``cash`` to a strategy's targets as of a date.

    ``.trades.to_frame()`` is the per-ticker table, ``.to_dict()`` the JSON document, ``.to_csv()`` the CSV.
    """
    return rebalance_study.rebalance(strategy, holdings=holdings, cash=cash, as_of=as_of, whole_shares=whole_shares,
                                     min_trade=min_trade, bands=bands, fees_bps=fees_bps, source=source,
                                     data_dir=data_dir)


def track(
    strategies: Iterable[Any] | None = None, *, scenarios: Any = "all", as_of: object = None, paths: int = TRACK_PATHS,
    confusion_paths: int = TRACK_CONFUSION_PATHS, years: float = DEFAULT_YEARS, seed: int = DEFAULT_SEED,
    probabilities: Mapping[str, float] | None = None, data_dir: str | None = None, source: str = "auto",
    decide: bool = True, workers: int | None = None, cluster: str | None = None,
) -> Any:
    """Track the essay's scenarios against what happened since 2024-12-02: ``theses.track(data_dir=...)``.

    The model is calibrated on prices before the essay only; every scenario is simulated from 2024-12-02 and
    the realised path of each book and ticker group is placed inside it. ``.posterior`` holds the updated odds
    (drift and crash evidence; volatility reported apart), ``.log_bayes_factors()`` the evidence by group,
    ``.confusion`` what data of this length can tell, ``.percentiles`` where the realised values sit,
    ``.event_study`` the 2025-01-27 shock, ``.decision_before`` / ``.decision_after`` the decision with the
    priors and the posterior, ``.headline()`` the findings in words, ``.to_dict()`` the JSON document.
    ``workers=N`` / ``cluster="tcp://host:8786"`` run the simulations on Dask (the same result).
    """
    import contextlib

    from theses.studies.executor import make_executor
    from theses.studies.track import track as track_study

    distributed = workers is not None or cluster is not None
    with make_executor(workers, cluster) if distributed else contextlib.nullcontext() as executor:
        return track_study(strategies, scenarios=scenarios, as_of=as_of, paths=paths, confusion_paths=confusion_paths,
                           years=years, seed=seed, probabilities=probabilities, source=source, data_dir=data_dir,
                           decide=decide, executor=executor)


def sweep(
    strategy: Any, *, grid: Any, on: str = "history", scenarios: Any = "all",
    paths: int = DEFAULT_SWEEP_PATHS, years: float = DEFAULT_YEARS,
    seed: int = DEFAULT_SEED, method: str = "t", probabilities: Mapping[str, float] | None = None,
    walk_forward: str | None = None, objective: str = "sharpe", risk_aversion: float = DEFAULT_RISK_AVERSION,
    start: object = None, end: object = None, data_dir: str | None = None, source: str = "auto",
    calibration: Any = None, fees_bps: float | None = None, slippage_bps: float | None = None,
    borrow_bps: float | None = None, cash_rate: float | None = None, risk_free: float | None = None,
    out: str | Path | None = None, resume: bool = False, workers: int | None = None, cluster: str | None = None,
) -> sweep_study.SweepRun:
    """Run a strategy at every point of a parameter grid on history and/or the scenarios' paths.

    ``grid`` is ``"window=100:300:50,switch_band=none,0.25"`` (ranges inclusive) or ``{"window": [100, 200]}``;
    names are the fields of a registered strategy's parameters or a portfolio ``.toml``'s keys
    (``trend_filter.window``, ``weights.NVDA``). ``on`` is ``history``, ``scenarios`` or ``both``;
    ``walk_forward="3y/1y"`` adds walk-forward validation on history. ``out`` keeps every finished task in a
    folder (``resume=True`` continues an interrupted sweep there); ``workers=N`` runs on a local Dask cluster
    of N processes, ``cluster="tcp://host:8786"`` on a running scheduler. ``.table()`` has one row per point,
    ``.best("blend")`` the best point, ``theses.report(run, dir)`` writes the heatmaps.
    """
    import contextlib

    from theses.studies.calibration import read_calibration
    from theses.studies.executor import make_executor

    if isinstance(calibration, str | Path):
        calibration = read_calibration(calibration)
    settings = _settings(fees_bps, slippage_bps, borrow_bps, cash_rate, risk_free, DEFAULT_INITIAL_CASH, "close")
    distributed = workers is not None or cluster is not None
    with make_executor(workers, cluster) if distributed else contextlib.nullcontext() as executor:
        return sweep_study.sweep(strategy, grid=grid, on=on, scenarios=scenarios, paths=paths, years=years, seed=seed,
                                 method=method, probabilities=probabilities, walk_forward=walk_forward,
                                 objective=objective, gamma=risk_aversion, settings=settings, start=start, end=end,
                                 source=source, data_dir=data_dir, calibration=calibration, out=out, resume=resume,
                                 executor=executor)


def report(result: Any, out_dir: str | Path | None = None, *, title: str | None = None) -> Path:
    """Write a result of :func:`backtest`, :func:`compare`, :func:`simulate`, :func:`decide`, :func:`track` or
    :func:`sweep` as a
    report folder.

    The folder holds a self-contained ``index.html`` plus Markdown, CSV and JSON; returns its path
    (default ``./theses-report/<timestamp>/``).
    """
    from theses.reports import (
        ReportError,
        write_decision_report,
        write_report,
        write_simulation_report,
        write_sweep_report,
    )

    if isinstance(result, history.Backtest):
        return write_report([result.result], out_dir, title=title or f"Backtest: {result.name}",
                            context=result.header())
    if isinstance(result, history.Comparison):
        return write_report(result.results, out_dir, title=title or result.title, context=result.header())
    if isinstance(result, decide_study.Decision):
        return write_decision_report(result, out_dir, title=title or "Which book to hold")
    if isinstance(result, scenario_study.SimulationRun):
        return write_simulation_report(result.results, result.report_meta(), out_dir,
                                       title=title or "Scenario simulation", context=result.header())
    from theses.studies.track import TrackRun

    if isinstance(result, TrackRun):
        from theses.reports.track import write_track_report

        return write_track_report(result, out_dir, title=title or "Tracking the essay")
    if isinstance(result, sweep_study.SweepRun):
        return write_sweep_report(result, out_dir, title=title)
    raise ReportError(f"cannot report a {type(result).__name__}; pass the result of theses.backtest, "
                      "theses.compare, theses.simulate, theses.decide, theses.track or theses.sweep")
