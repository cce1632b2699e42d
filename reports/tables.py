"""Tabular outputs of a report: the metrics table (CSV and JSON), equity curves (CSV), scenario summaries.

Numbers are written exactly as the engine produced them (no rounding), so a reader of ``metrics.json``
gets the same floats as ``BacktestResult.metrics``; formatting for people happens in the HTML and Markdown.
Text cells of every CSV (names in the index, the header and text columns) pass through
:func:`theses.util.csv_safe`, so a name starting with ``=``, ``+``, ``-`` or ``@`` is not run as a formula.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from theses.engine.result import BacktestResult
from theses.reports.charts import BAND_PERCENTILES, all_curves, batch_summary, equity_bands
from theses.reports.errors import ReportError
from theses.util import csv_safe, jsonable

# The order metric columns appear in; keys the engine adds later follow in their own order.
METRIC_ORDER: tuple[str, ...] = (
    "total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "max_drawdown_start",
    "max_drawdown_trough", "max_drawdown_end", "calmar", "beta", "alpha", "tracking_error", "information_ratio",
    "monthly_hit_rate", "best_month", "worst_month", "turnover_ex_entry", "initial_entry", "cost_drag_bps",
    "fee_drag_bps", "slippage_drag_bps", "borrow_drag_bps", "turnover", "costs", "fees", "slippage", "borrow",
    "risk_free", "start", "end",
)


def check_names(results: Sequence[BacktestResult]) -> None:
    """Raise ReportError when two results share a name (their rows and columns would overwrite each other)."""
    seen: set[str] = set()
    for result in results:
        if result.name in seen:
            raise ReportError(f'two strategies are both named "{result.name}": give each a distinct name')
        seen.add(result.name)


def benchmark_metrics(results: Sequence[BacktestResult]) -> dict[str, dict[str, Any]]:
    """Each benchmark's metrics once (from the first run that has it); a strategy's name wins a clash."""
    names = {r.name for r in results}
    out: dict[str, dict[str, Any]] = {}
    for result in results:
        for ticker, metrics in (result.benchmark_metrics or {}).items():
            if ticker not in out and ticker not in names:
                out[str(ticker)] = dict(metrics)
    return out


def _ordered_keys(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = [k for k in METRIC_ORDER if any(k in row for row in rows)]
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    return keys


def metrics_table(results: Sequence[BacktestResult], *, include_benchmarks: bool = True) -> pd.DataFrame:
    """One row per strategy (then benchmark), one column per metric, plus a ``kind`` column.

    Parameters
    ----------
    results : the backtests, in the order they should be listed.
    include_benchmarks : add a row per benchmark found in ``benchmark_metrics``.

    Returns
    -------
    DataFrame indexed by name (``name``), columns ``kind`` ("strategy" | "benchmark") then the metrics.
    """
    check_names(results)
    rows: dict[str, dict[str, Any]] = {r.name: {"kind": "strategy", **r.metrics} for r in results}
    if include_benchmarks:
        for ticker, metrics in benchmark_metrics(results).items():
            rows[ticker] = {"kind": "benchmark", **metrics}
    keys = ["kind", *[k for k in _ordered_keys(list(rows.values())) if k != "kind"]]
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=keys)
    frame.index.name = "name"
    return frame


def equity_table(results: Sequence[BacktestResult]) -> pd.DataFrame:
    """Equity of every strategy and benchmark by date (one column each, NaN where a curve has no value)."""
    curves, _, _ = all_curves(results)
    curves.index.name = "date"
    return curves


def metrics_document(
    results: Sequence[BacktestResult],
    context: Mapping[str, Any] | None = None,
    scenarios: Mapping[str, Mapping[str, Any]] | None = None,
    simulation_meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The content of ``metrics.json``: strategies, benchmarks, each run's config and the report context."""
    check_names(results)
    doc: dict[str, Any] = {
        "context": jsonable(dict(context or {})),
        "strategies": {r.name: jsonable(r.metrics) for r in results},
        "benchmarks": jsonable(benchmark_metrics(results)),
        "config": {r.name: jsonable(r.config) for r in results},
    }
    if scenarios:
        doc["simulation"] = jsonable(dict(simulation_meta or {}))
        doc["scenarios"] = {
            scenario: {name: jsonable(batch_summary(batch)) for name, batch in batches.items()}
            for scenario, batches in scenarios.items()
        }
    return doc


def scenario_table(scenarios: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Long table of scenario summaries: one row per (scenario, strategy), one column per summary key."""
    rows = []
    for scenario, batches in scenarios.items():
        for name, batch in batches.items():
            rows.append({"scenario": scenario, "strategy": name, **batch_summary(batch)})
    return pd.DataFrame(rows)


def bands_table(scenarios: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Percentile bands of equity by date for every (scenario, strategy): columns p5, p25, p50, p75, p95."""
    frames = []
    for scenario, batches in scenarios.items():
        for name, batch in batches.items():
            bands = equity_bands(batch)
            frame = pd.DataFrame(bands.T, columns=[f"p{p}" for p in BAND_PERCENTILES])
            frame.insert(0, "date", pd.DatetimeIndex(batch.index).strftime("%Y-%m-%d"))
            frame.insert(0, "strategy", name)
            frame.insert(0, "scenario", scenario)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# -------------------------------------------------------------------------------------------- writers
def write_metrics_csv(results: Sequence[BacktestResult], path: Path) -> None:
    """``metrics.csv``: the metrics table, full precision."""
    csv_safe(metrics_table(results)).to_csv(path, float_format="%.17g")


def write_metrics_json(
    results: Sequence[BacktestResult],
    path: Path,
    context: Mapping[str, Any] | None = None,
    scenarios: Mapping[str, Mapping[str, Any]] | None = None,
    simulation_meta: Mapping[str, Any] | None = None,
) -> None:
    """``metrics.json``: see ``metrics_document`` (NaN written as null, floats round-trip exactly)."""
    doc = metrics_document(results, context, scenarios, simulation_meta)
    path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def write_equity_csv(results: Sequence[BacktestResult], path: Path) -> None:
    """``equity.csv``: date, then one equity column per strategy and benchmark."""
    csv_safe(equity_table(results)).to_csv(path, date_format="%Y-%m-%d", float_format="%.17g")


def write_scenario_csvs(scenarios: Mapping[str, Mapping[str, Any]], folder: Path) -> None:
    """``scenarios.csv`` (summary per scenario and strategy) and ``scenario_bands.csv`` (fan chart data)."""
    csv_safe(scenario_table(scenarios)).to_csv(folder / "scenarios.csv", index=False, float_format="%.17g")
    # Wealth multiples to 6 significant digits (the charts show 2 decimals): a third of the bytes of %.17g.
    csv_safe(bands_table(scenarios)).to_csv(folder / "scenario_bands.csv", index=False, float_format="%.6g")


# ------------------------------------------------------------------------------------ formatting for people
KEY_METRICS: tuple[str, ...] = (
    "cagr", "total_return", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "beta", "alpha",
    "information_ratio", "monthly_hit_rate", "turnover_ex_entry", "cost_drag_bps",
)
"""The metrics shown in the HTML/Markdown tables (metrics.csv/json hold all of them)."""

PERCENT_METRICS = frozenset(
    {
        "total_return", "cagr", "volatility", "max_drawdown", "alpha", "tracking_error", "monthly_hit_rate",
        "best_month", "worst_month", "turnover", "costs", "fees", "slippage", "borrow", "interest", "risk_free",
        "turnover_ex_entry", "initial_entry", "prob_loss", "prob_beat_benchmark", "cvar_5", "median_max_drawdown",
        "cagr_p5", "cagr_p25", "cagr_p50", "cagr_p75", "cagr_p95",
    }
)
LABELS: dict[str, str] = {
    "total_return": "Total return", "cagr": "CAGR", "volatility": "Volatility", "sharpe": "Sharpe",
    "sortino": "Sortino", "max_drawdown": "Max drawdown", "calmar": "Calmar", "beta": "Beta", "alpha": "Alpha",
    "tracking_error": "Tracking error", "information_ratio": "Info ratio", "monthly_hit_rate": "Hit rate",
    "best_month": "Best month", "worst_month": "Worst month", "turnover": "Turnover (both sides, with entry) / yr",
    "costs": "Costs / starting capital",
    "fees": "Fees", "slippage": "Slippage", "borrow": "Borrow", "interest": "Interest",
    "turnover_ex_entry": "Turnover / yr", "initial_entry": "Initial entry", "cost_drag_bps": "Cost drag bps/yr",
    "fee_drag_bps": "Fees bps/yr", "slippage_drag_bps": "Slippage bps/yr", "borrow_drag_bps": "Borrow bps/yr",
    "start": "Start",
    "prob_loss": "P(loss)", "prob_beat_benchmark": "P(beat benchmark)", "cvar_5": "CVaR 5%",
    "median_max_drawdown": "Median max drawdown",
}
HIGHER_IS_BETTER = frozenset(
    {"total_return", "cagr", "sharpe", "sortino", "calmar", "alpha", "information_ratio", "monthly_hit_rate"}
)
"""Metrics whose sign is good or bad news (coloured green/red in the HTML)."""


def is_missing(value: Any) -> bool:
    """True for None and NaN (a metric that is undefined for the run)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_metric(key: str, value: Any) -> str:
    """A metric for people: percentages with one decimal, ratios with two, missing as an en dash."""
    if is_missing(value):
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | np.number):
        if key in PERCENT_METRICS:
            return f"{float(value):.1%}"
        if key.endswith("_bps"):
            return f"{float(value):,.1f}"
        if key == "paths":
            return f"{int(value):,}"
        return f"{float(value):.2f}"
    return str(value)
