"""Reports of engine results: a self-contained HTML page, Markdown, CSV and JSON, written as one folder.

Reads engine results only (``engine.result.BacktestResult`` and batch results with ``equity_bands``,
``terminal_wealth`` and ``summary``); knows nothing of data sources, strategies or the CLI.

Folder contents: ``index.html`` (plotly inlined, opens offline), ``summary.md``, ``metrics.csv``,
``metrics.json``, ``equity.csv``; with scenarios also ``scenarios.csv`` and ``scenario_bands.csv``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from theses.engine.result import BacktestResult
from theses.reports.errors import ReportError
from theses.reports.folder import atomic_folder, default_report_dir
from theses.reports.tables import metrics_table

__all__ = ["Lead", "ReportError", "metrics_table", "write_report", "write_simulation_report", "write_decision_report",
           "write_sweep_report", "default_report_dir"]


class Lead(NamedTuple):
    """What a report shows before everything else: HTML sections ``(id, nav label, html)``, Markdown lines,
    and extra files ``{name: text}`` written into the folder."""

    sections: Sequence[tuple[str, str, str]] = ()
    markdown: Sequence[str] = ()
    files: Mapping[str, str] = {}


def write_report(
    results: Sequence[BacktestResult],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    title: str = "Strategy comparison",
    context: Mapping[str, Any] | None = None,
    simulation: Mapping[str, Mapping[str, Any]] | None = None,
    simulation_meta: Mapping[str, Any] | None = None,
    sort_by: str | None = "sharpe",
    lead: Lead | None = None,
    progress: Callable[[str, int, int], Any] | None = None,
) -> Path:
    """Write a report folder atomically and return its path.

    Parameters
    ----------
    results : backtests to report (may be empty when ``simulation`` is given).
    out_dir : the report folder; ``None`` gives ``./theses-report/<timestamp>/``. An existing empty
        folder or earlier report there is replaced; another non-empty folder raises ``ReportError``.
    title : page and Markdown title.
    context : header facts: ``data_source``, ``window``, ``costs``, ``execution``, ``version``, ``seed``,
        ``notes`` (list of strings) and any other ``key: text``; missing ones are filled from the results.
    simulation : ``{scenario: {strategy: BatchResult}}``; adds the scenario section and CSVs.
    simulation_meta : ``seed``, ``method``, ``paths``, ``years``, ``probabilities`` ``{scenario: p}`` and
        ``blend`` ``{strategy: summary dict}`` of the simulation.
    sort_by : metric the tables are ordered by.
    lead : sections, Markdown and files shown first (see :class:`Lead`; the decision of a scenario report).
    progress : called as ``progress(description, done, total)`` while the page's charts are built.

    Returns
    -------
    Path of the written folder (absolute).
    """
    from theses.reports import html, markdown, tables

    results = list(results)
    lead = lead or Lead()
    if not results and not simulation:
        raise ReportError("nothing to report: give at least one backtest result or scenario result")
    tables.check_names(results)
    full_context = {**html.default_context(results), **{k: v for k, v in (context or {}).items() if v is not None}}
    for key in ("seed", "method", "paths", "years"):
        if simulation_meta and key in simulation_meta:
            full_context.setdefault(key, simulation_meta[key])
    page = html.render_page(
        results, title=title, context=full_context, scenario_results=simulation,
        simulation_meta=simulation_meta, sort_by=sort_by, lead_sections=lead.sections, progress=progress,
    )
    summary = markdown.render_markdown(
        results, title=title, context=full_context, scenario_results=simulation, simulation_meta=simulation_meta,
        sort_by=sort_by, lead_markdown=lead.markdown,
    )
    dest = Path(out_dir) if out_dir is not None else default_report_dir()
    with atomic_folder(dest) as tmp:
        (tmp / "index.html").write_text(page, encoding="utf-8")
        (tmp / "summary.md").write_text(summary, encoding="utf-8")
        tables.write_metrics_json(results, tmp / "metrics.json", full_context, simulation, simulation_meta)
        if results:
            tables.write_metrics_csv(results, tmp / "metrics.csv")
            tables.write_equity_csv(results, tmp / "equity.csv")
        if simulation:
            tables.write_scenario_csvs(simulation, tmp)
        for name, text in lead.files.items():
            (tmp / name).write_text(text, encoding="utf-8")
    return dest.expanduser().absolute()


def write_simulation_report(
    scenario_results: Mapping[str, Mapping[str, Any]],
    meta: Mapping[str, Any],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    title: str = "Scenario simulation",
    context: Mapping[str, Any] | None = None,
    results: Sequence[BacktestResult] = (),
    progress: Callable[[str, int, int], Any] | None = None,
) -> Path:
    """A report of scenario runs (optionally with historical backtests beside them); see ``write_report``."""
    return write_report(
        results, out_dir, title=title, context=context, simulation=scenario_results, simulation_meta=meta,
        progress=progress,
    )


def write_decision_report(
    decision: Any, out_dir: str | os.PathLike[str] | None = None, *, title: str = "Which book to hold",
    context: Mapping[str, Any] | None = None, progress: Callable[[str, int, int], Any] | None = None,
) -> Path:
    """A scenario report that leads with a :class:`~theses.studies.decide.Decision` (see ``reports.decision``)."""
    from theses.reports import decision as decision_report

    return decision_report.write_decision_report(decision, out_dir, title=title, context=context, progress=progress)


def write_sweep_report(run: Any, out_dir: str | os.PathLike[str] | None = None, *, title: str | None = None,
                       axes: Sequence[str] | None = None) -> Path:
    """A parameter sweep's report folder (heatmaps, walk-forward, every point); see ``reports.sweep``."""
    from theses.reports.sweep import write_sweep_report as write

    return write(run, out_dir, title=title, axes=axes)
