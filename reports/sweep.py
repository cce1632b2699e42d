"""The report of a parameter sweep: heatmaps over two grid dimensions, the walk-forward, every grid point.

Reads a :class:`theses.studies.sweep.SweepRun` only. Folder contents: ``index.html`` (self-contained),
``points.csv`` and ``points.json`` (every grid point's parameters and figures), ``walk_forward.csv`` (the
chosen point of each window) when the sweep ran one.

Heatmaps show the objective and the CVaR for two grid dimensions (the first two unless ``axes`` says
otherwise); a menu picks where the points were scored (history, the blend of scenarios, each scenario) and,
for a grid of more dimensions, the values of the others.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from theses.reports import charts, html
from theses.reports.errors import ReportError
from theses.reports.figure_store import FigureStore, no_default_template
from theses.reports.folder import atomic_folder, default_report_dir
from theses.reports.tables import format_metric
from theses.util import csv_safe, jsonable

PERCENT_OBJECTIVES = frozenset({"cagr", "ce"})
# Worst point red, best green (higher is better for the objective and for the CVaR, a negative number).
SCALE = "RdYlGn"


def heatmap_axes(run: Any, axes: Sequence[str] | None = None) -> tuple[str, str | None]:
    """The (x, y) grid dimensions of the heatmaps; y is None for a one-dimensional grid."""
    names = run.grid.names
    chosen = list(axes or names[:2])
    unknown = [a for a in chosen if a not in names]
    if unknown or len(chosen) > 2 or len(set(chosen)) != len(chosen):
        raise ReportError(f"heatmap axes {', '.join(chosen)}: name one or two of the grid's dimensions "
                          f"({', '.join(names)})")
    return chosen[0], chosen[1] if len(chosen) > 1 else None


def _slices(run: Any, x: str, y: str | None) -> list[dict[str, Any]]:
    """Every combination of values of the dimensions that are not on an axis."""
    others = [d for d in run.grid.dimensions if d.name not in (x, y)]
    return [dict(zip([d.name for d in others], combo, strict=True))
            for combo in itertools.product(*(d.values for d in others))]


def _matrix(run: Any, values: pd.Series, x: str, y: str | None, fixed: dict[str, Any]) -> np.ndarray:
    """``values`` of the points in one slice laid out as (y values, x values)."""
    xs = run.grid.dimensions[run.grid.names.index(x)].values
    ys = run.grid.dimensions[run.grid.names.index(y)].values if y else (None,)
    z = np.full((len(ys), len(xs)), np.nan)
    for pid, point in enumerate(run.points):
        if all(point[k] == v for k, v in fixed.items()):
            z[ys.index(point[y]) if y else 0, xs.index(point[x])] = values.get(pid, np.nan)
    return z


def heatmap_figure(run: Any, metric: str, axes: Sequence[str] | None = None) -> go.Figure:
    """Heatmap of ``objective`` or ``cvar_5`` over two grid dimensions; a menu picks place and slice."""
    from theses.studies.grid import format_value, point_label

    x, y = heatmap_axes(run, axes)
    xs = [format_value(v) for v in run.grid.dimensions[run.grid.names.index(x)].values]
    ys = [format_value(v) for v in run.grid.dimensions[run.grid.names.index(y)].values] if y else [""]
    percent = metric == "cvar_5" or run.objective in PERCENT_OBJECTIVES
    labels, fig = [], go.Figure()
    for place in run.places:
        values = run.values(place, metric)
        for fixed in _slices(run, x, y):
            z = _matrix(run, values, x, y, fixed)
            labels.append(place + (f" · {point_label(fixed)}" if fixed else ""))
            fig.add_trace(go.Heatmap(
                z=z, x=xs, y=ys, name=labels[-1], visible=len(labels) == 1, xgap=2, ygap=2, colorscale=SCALE,
                texttemplate="%{z:.1%}" if percent else "%{z:.2f}", textfont={"size": 12},
                hovertemplate=f"{x}=%{{x}}" + (f", {y}=%{{y}}" if y else "") + ": %{z:.3f}<extra></extra>",
                colorbar={"tickformat": ".1%" if percent else ".2f", "thickness": 12},
            ))
    title = ("CVaR 5%" if metric == "cvar_5" else f"Objective: {run.objective}") + f" by {x}" + (f" and {y}" if y else "")
    charts.base_layout(fig, title=title, height=max(320, 150 + 44 * len(ys)))
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(type="category", title={"text": x}, showgrid=False)
    fig.update_yaxes(type="category", title={"text": y or ""}, showgrid=False)
    if len(labels) > 1:
        charts.add_dropdown(fig, labels, [1] * len(labels))
    return fig


def walk_forward_figure(walk: Any) -> go.Figure:
    """Growth of 1 out of sample: the walk-forward choices chained, and the default parameters."""
    fig = go.Figure()
    for series, name, color in ((walk.returns, "walk-forward", charts.STRATEGY_COLORS[0]),
                                (walk.default_returns, "default parameters", charts.BENCHMARK_COLORS[1])):
        equity = (1.0 + series).cumprod()
        fig.add_trace(go.Scatter(x=charts.iso_dates(equity.index), y=equity.to_numpy(), name=name, mode="lines",
                                 line={"color": color, "width": 2}))
    charts.base_layout(fig, title="Walk-forward out of sample against the default parameters", yformat=".2f")
    return fig


def _cell(key: str, value: Any) -> str:
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(float(value))
    data = repr(float(value)) if number else html.esc(value)
    shown = format_metric(key, value) if number and not isinstance(value, int) else html.esc(value)
    return f'<td data-value="{data}">{html.esc(shown)}</td>'


def table_html(frame: pd.DataFrame, table_id: str) -> str:
    """A sortable table of a frame (numbers formatted by their metric name)."""
    head = "".join(f"<th>{html.esc(c)}</th>" for c in [frame.index.name or "", *frame.columns])
    rows = []
    for label, row in frame.iterrows():
        cells = [f'<td class="name" data-value="{html.esc(label)}">{html.esc(label)}</td>']
        cells += [_cell(str(key).rsplit("/", 1)[-1], value) for key, value in row.items()]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<div class="table-scroll"><table class="metrics sortable" id="{table_id}"><thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table></div>")


def _points_frame(run: Any) -> pd.DataFrame:
    from theses.studies.grid import format_value

    keep = ("objective", "cvar_5", "cagr", "sharpe", "max_drawdown", "cagr_p50", "prob_loss", "ce")
    table = run.table()
    columns = [c for c in table.columns if "/" not in c or c.split("/", 1)[1] in keep]
    frame = table[columns].copy()
    for name in run.grid.names:  # parameters as written in the grid (none, not NaN)
        frame[name] = [format_value(run.point(pid)[name]) for pid in run.ids()]
    return frame


def _windows_frame(run: Any) -> pd.DataFrame:
    from theses.studies.grid import point_label

    frame = run.history.walk_forward.windows.copy()
    frame["chosen"] = [point_label(run.point(int(pid))) for pid in frame["chosen"]]
    for column in ("is_start", "is_end", "oos_start", "oos_end"):
        frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d")
    frame.index = [f"window {i + 1}" for i in range(len(frame))]
    frame.index.name = "window"
    return frame


def _best_html(run: Any) -> str:
    from theses.studies.grid import point_label

    items = []
    for place in run.places:
        best = run.best(place)
        if best["point"] is not None:
            items.append(f"<li><b>{html.esc(place)}</b>: {html.esc(point_label(best['params']))} "
                         f"({html.esc(run.objective)} {best['objective']:.3f})</li>")
    scores = "; ".join(f"{place} {run.objective} {value:.3f}" for place in run.places
                       if math.isfinite(value := float(run.default_values(place, "objective"))))
    default = f"<li>default: {html.esc(point_label(run.default_point))}" + (f" ({html.esc(scores)})" if scores else "") + "</li>"
    return f'<ul class="notes card">{"".join(items)}{default}</ul>'


def _walk_section(run: Any, store: FigureStore) -> str:
    walk = run.history.walk_forward
    s = walk.summary
    over = walk.overfitting
    pbo = (f"Probability of backtest overfitting {over.pbo:.0%} ({over.method}; {over.splits} blocks, "
           f"{over.combinations} splits)." if over else "Probability of backtest overfitting: needs two or more "
           "grid points and enough history.")
    lede = (f"In-sample {walk.is_days} days, out-of-sample {walk.oos_days} days, rolled by the out-of-sample "
            f"length. Out of sample the walk-forward earned CAGR {s['walk_forward']['cagr']:.1%} (Sharpe "
            f"{s['walk_forward']['sharpe']:.2f}) against {s['default']['cagr']:.1%} ({s['default']['sharpe']:.2f}) "
            f"for the default parameters over the same days. {pbo}")
    return (f'<section id="walk-forward"><h2>Walk-forward</h2><p class="lede">{html.esc(lede)}</p>'
            f"{html.figure_div(store, 'walk-forward', walk_forward_figure(walk), 'chart-walk-forward')}"
            f'<div class="card">{table_html(_windows_frame(run), "windows-table")}</div></section>')


def sweep_page(run: Any, title: str, axes: Sequence[str] | None = None) -> str:
    """The whole ``index.html`` of a sweep (the report's page frame, figures drawn by its loader)."""
    with no_default_template():
        store = FigureStore()
        ctx = {**html.default_context([]), **{k: v for k, v in run.header().items() if v is not None}}
        sections = [("best", "Best", f'<section id="best"><h2>Best points</h2>{_best_html(run)}</section>')]
        for metric, label in (("objective", "Objective"), ("cvar_5", "CVaR")):
            chart = html.figure_div(store, f"heatmap/{metric}", heatmap_figure(run, metric, axes), f"chart-heatmap-{metric}")
            sections.append((f"heatmap-{metric}", label, f'<section id="heatmap-{metric}"><h2>{html.esc(label)}</h2>'
                             '<p class="lede">Pick where the points were scored (and other dimensions) in the menu.</p>'
                             f"{chart}</section>"))
        if run.history is not None and run.history.walk_forward is not None:
            sections.append(("walk-forward", "Walk-forward", _walk_section(run, store)))
        sections.append(("points", "Points", '<section id="points"><h2>Every grid point</h2>'
                         f'<div class="card">{table_html(_points_frame(run), "points-table")}</div></section>'))
        subtitle = f"{len(run.points)} grid points · {', '.join(run.places)}"
        return html.document_html(title, subtitle, ctx, sections, store)


def write_sweep_report(run: Any, out_dir: str | os.PathLike[str] | None = None, *, title: str | None = None,
                       axes: Sequence[str] | None = None) -> Path:
    """Write the sweep report folder atomically and return its absolute path."""
    title = title or f"Parameter sweep: {run.strategy}"
    page = sweep_page(run, title, axes)
    dest = Path(out_dir) if out_dir is not None else default_report_dir()
    with atomic_folder(dest) as tmp:
        (tmp / "index.html").write_text(page, encoding="utf-8")
        csv_safe(run.table()).to_csv(tmp / "points.csv")
        (tmp / "points.json").write_text(json.dumps(jsonable(run.to_dict()), indent=1, allow_nan=False) + "\n",
                                         encoding="utf-8")
        if run.history is not None and run.history.walk_forward is not None:
            csv_safe(_windows_frame(run)).to_csv(tmp / "walk_forward.csv")
    return dest.expanduser().absolute()
