"""One strategy's tearsheet: the charts quantstats' report shows, each computed with :mod:`engine.metrics`.

Definitions follow quantstats where it has them (each function says which); the series come from the
project's metrics functions, over the strategy's executed window, against its own benchmark (the first
benchmark of the run, SPY for the registered books) over the same window:

* cumulative return ``prod(1 + r) - 1`` (quantstats ``compsum``), also volatility-matched to the benchmark
  (:func:`engine.metrics.volatility_matched`, quantstats ``match_volatility``);
* end-of-year returns (:func:`engine.metrics.annual_returns`, quantstats ``EOY``) beside the benchmark's;
* monthly returns with a year column (:func:`engine.metrics.monthly_returns`, quantstats ``monthly_returns``);
* distributions of daily and monthly returns (histograms on common bins);
* rolling beta over 6 and 12 months (quantstats ``rolling_greeks``), rolling volatility, Sharpe and Sortino
  over 6 months (126 days, quantstats' ``rolling_period`` default);
* the five deepest drawdowns (:func:`engine.metrics.drawdown_periods`) and the underwater curve.
"""

from __future__ import annotations

import copy
import html
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from theses.engine import metrics
from theses.engine.result import BacktestResult
from theses.reports.charts import (
    DIVERGING_SCALE,
    MONTH_NAMES,
    ROLLING_WINDOW,
    base_layout,
    iso_dates,
    monthly_table,
    shown,
    thin,
    weight_traces,
    window_equity,
)

Figure = dict[str, Any]
"""A plotly figure as plain JSON (``{"data": [...], "layout": {...}}``): a tearsheet has ~8 charts per
strategy, and plotly's validating objects cost ~0.2 s each, so traces are written as dicts onto layouts built
(and validated) once per process with plotly; ``go.Figure(figure)`` validates one when needed."""

STRATEGY_COLOR = "#2563eb"
BENCHMARK_COLOR = "#6b7280"
MATCHED_COLOR = "#f59e0b"
YEAR_WINDOW = 252
WORST_DRAWDOWNS = 5
HISTOGRAM_BINS = 60

CHARTS: tuple[tuple[str, str, str], ...] = (
    ("cumulative", "Cumulative return against the benchmark",
     "Compounded return since the window's start; the dashed line is the strategy scaled to the benchmark's "
     "volatility (quantstats' match_volatility), for a like-for-like comparison of the paths."),
    ("yearly", "End-of-year returns", "Each calendar year's compounded return (a partial first or last year counts)."),
    ("monthly", "Monthly returns", "Compounded return of each calendar month; the last column is the year's."),
    ("distribution", "Distribution of returns", "How often each size of daily and monthly return occurred."),
    ("rolling_beta", "Rolling beta to the benchmark",
     "Slope of the strategy's daily returns on the benchmark's, over the trailing 6 and 12 months."),
    ("rolling_risk", "Rolling volatility, Sharpe and Sortino",
     "Over the trailing 6 months (126 trading days); blank until the window is full."),
    ("underwater", "Underwater", "Distance below the previous high; the five deepest drawdowns are shaded."),
    ("weights", "Weights over time", "Realised end-of-day weights; cash is what is left over."),
)
"""(key, heading, lede) of each tearsheet chart, in page order."""


@dataclass(frozen=True)
class Series:
    """One strategy's returns and its benchmark's over the executed window."""

    name: str
    equity: pd.Series
    returns: pd.Series
    benchmark: str | None
    benchmark_returns: pd.Series | None
    risk_free: float


def series_of(result: BacktestResult) -> Series:
    """The strategy's window equity and returns, and its first benchmark's returns on the same dates."""
    equity = window_equity(result).dropna()
    returns = metrics.returns_from_equity(equity)
    bench_name, bench_returns = None, None
    frame = result.benchmark_equity
    if frame is not None and frame.shape[1]:
        bench_name = str(frame.columns[0])
        bench_returns = metrics.returns_from_equity(frame.iloc[:, 0].reindex(equity.index))
    risk_free = result.metrics.get("risk_free", 0.0)
    risk_free = float(risk_free) if isinstance(risk_free, int | float) and np.isfinite(risk_free) else 0.0
    return Series(result.name, equity, returns, bench_name, bench_returns, risk_free)


def _line(series: pd.Series, name: str, color: str, decimals: int, hover: str, **extra: Any) -> dict[str, Any]:
    line = {"color": color, "width": extra.pop("width", 2.0), "dash": extra.pop("dash", "solid")}
    return {"type": "scatter", "x": iso_dates(series.index), "y": shown(series, decimals), "name": name,
            "mode": "lines", "line": line, "hovertemplate": hover, "connectgaps": False, **extra}


@cache
def _layout_json(key: str) -> dict[str, Any]:
    """The layout of one kind of tearsheet chart, built with plotly (validated) once per process."""
    heights = {"cumulative": 420, "yearly": 380, "monthly": 300, "distribution": 380, "rolling_beta": 360,
               "rolling_risk": 620, "underwater": 340, "weights": 440}
    formats = {"cumulative": ".0%", "yearly": ".0%", "underwater": ".0%", "weights": ".0%", "rolling_beta": ".1f"}
    if key == "distribution":
        fig = make_subplots(rows=1, cols=2, subplot_titles=("Daily returns", "Monthly returns"),
                            horizontal_spacing=0.1)
    elif key == "rolling_risk":
        fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                            subplot_titles=("Volatility", "Sharpe ratio", "Sortino ratio"))
    else:
        fig = go.Figure()
    base_layout(fig, title=key, height=heights[key], yformat=formats.get(key))
    if key == "yearly":
        fig.update_layout(barmode="group", hovermode="x unified")
        fig.update_xaxes(type="category")
    elif key == "monthly":
        fig.update_layout(hovermode="closest")
        fig.update_yaxes(autorange="reversed", type="category", showgrid=False)
        fig.update_xaxes(showgrid=False, showline=False, type="category")
    elif key == "distribution":
        fig.update_layout(barmode="overlay", hovermode="closest", bargap=0.02)
        fig.update_xaxes(tickformat=".0%")
        fig.update_yaxes(tickformat=".0%")
        fig.update_annotations(font={"size": 13, "color": "#4b5563"})
    elif key == "rolling_risk":
        fig.update_yaxes(tickformat=".0%", row=1, col=1)
        fig.update_annotations(font={"size": 13, "color": "#4b5563"}, x=0.0, xanchor="left")
    elif key == "rolling_beta":
        fig.add_hline(y=1.0, line={"color": "#d1d5db", "width": 1, "dash": "dot"})
    layout = fig.to_plotly_json()["layout"]
    layout.pop("template", None)
    return layout


def _figure(key: str, title: str, data: list[dict[str, Any]], **layout: Any) -> Figure:
    """A tearsheet chart: ``data`` on a copy of the chart kind's layout, with its title and extra keys."""
    base = copy.deepcopy(_layout_json(key))
    base["title"] = {**base.get("title", {}), "text": title}
    base.update(layout)
    return {"data": data, "layout": base}


def _cumulative(returns: pd.Series) -> pd.Series:
    return (1.0 + returns.fillna(0.0)).cumprod() - 1.0


def cumulative_figure(s: Series) -> Figure:
    """Cumulative return of the strategy, its benchmark and the strategy matched to the benchmark's volatility."""
    start = pd.Series([0.0], index=s.equity.index[:1])
    data = [_line(thin(pd.concat([start, _cumulative(s.returns)])), s.name, STRATEGY_COLOR, 4, "%{y:.1%}")]
    if s.benchmark_returns is not None:
        matched = metrics.volatility_matched(s.returns, s.benchmark_returns)
        data.append(_line(thin(pd.concat([start, _cumulative(matched)])), f"{s.name}, volatility-matched",
                          MATCHED_COLOR, 4, "%{y:.1%}", dash="dot", width=1.6))
        data.append(_line(thin(pd.concat([start, _cumulative(s.benchmark_returns)])), str(s.benchmark),
                          BENCHMARK_COLOR, 4, "%{y:.1%}", dash="dash", width=1.6))
    return _figure("cumulative", "Cumulative return", data)


def _bar(x: Any, y: Any, name: str, color: str, hover: str, **extra: Any) -> dict[str, Any]:
    return {"type": "bar", "x": x, "y": y, "name": name, "marker": {"color": color}, "hovertemplate": hover,
            **extra}


def yearly_figure(s: Series) -> Figure:
    """End-of-year returns as bars, the benchmark's beside them."""
    years = metrics.annual_returns(s.returns)
    labels = [str(y) for y in years.index]
    data = [_bar(labels, shown(years, 4), s.name, STRATEGY_COLOR, "%{x}: %{y:.1%}")]
    if s.benchmark_returns is not None:
        bench = metrics.annual_returns(s.benchmark_returns).reindex(years.index)
        data.append(_bar(labels, shown(bench, 4), str(s.benchmark), BENCHMARK_COLOR, "%{x}: %{y:.1%}"))
    return _figure("yearly", "End-of-year returns", data)


def monthly_figure(s: Series) -> Figure:
    """Calendar of monthly returns (years down, months across) with the year's return as the last column."""
    table = monthly_table(s.returns)
    years = metrics.annual_returns(s.returns)
    table["Year"] = [years.get(int(y), np.nan) for y in table.index]
    values = table.to_numpy(dtype=float)
    months = values[:, :12]
    limit = float(np.nanpercentile(np.abs(months), 95)) if np.isfinite(months).any() else 0.1
    limit = max(limit, 1e-4)
    heatmap = {
        "type": "heatmap", "z": shown(values, 4), "x": [*MONTH_NAMES, "Year"], "y": list(table.index),
        "colorscale": DIVERGING_SCALE, "zmid": 0.0, "zmin": -limit, "zmax": limit, "texttemplate": "%{z:.1%}",
        "textfont": {"size": 11}, "hovertemplate": "%{y} %{x}: %{z:.2%}<extra></extra>",
        "colorbar": {"tickformat": ".0%", "thickness": 12}, "xgap": 2, "ygap": 2,
    }
    return _figure("monthly", "Monthly returns", [heatmap], height=max(280, 110 + 28 * len(table)))


def _histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(values[np.isfinite(values)], bins=edges)
    total = counts.sum()
    return counts / total if total else counts.astype(float)


def distribution_figure(s: Series) -> Figure:
    """Histograms of daily (left) and monthly (right) returns on common bins, the benchmark's overlaid."""
    data: list[dict[str, Any]] = []
    pairs = [(s.returns, s.benchmark_returns)]
    pairs.append((metrics.monthly_returns(s.returns),
                  None if s.benchmark_returns is None else metrics.monthly_returns(s.benchmark_returns)))
    for col, (own, bench) in enumerate(pairs, start=1):
        bins = HISTOGRAM_BINS if col == 1 else HISTOGRAM_BINS // 2  # a decade holds ~120 months, not ~2,500 days
        both = np.concatenate([own.dropna().to_numpy(), [] if bench is None else bench.dropna().to_numpy()])
        if not both.size:
            continue
        low, high = np.nanpercentile(both, [0.5, 99.5])
        edges = np.linspace(low, high, bins + 1) if high > low else np.linspace(low - 1e-3, low + 1e-3, 3)
        centres = (edges[:-1] + edges[1:]) / 2
        for values, name, color in ((own, s.name, STRATEGY_COLOR), (bench, str(s.benchmark), BENCHMARK_COLOR)):
            if values is None:
                continue
            hover = "%{x:.2%}: %{y:.1%} of periods<extra>" + html.escape(name) + "</extra>"
            axes = {"xaxis": "x" if col == 1 else "x2", "yaxis": "y" if col == 1 else "y2"}
            data.append(_bar(shown(centres, 5), shown(_histogram(values.to_numpy(), edges), 4), name, color,
                             hover, opacity=0.6, legendgroup=name, showlegend=col == 1, **axes))
    return _figure("distribution", "Distribution of returns", data)


def rolling_beta_figure(s: Series) -> Figure:
    """Rolling beta to the benchmark over 6 and 12 months (:func:`engine.metrics.rolling_beta`)."""
    data = []
    if s.benchmark_returns is not None:
        for window, label, color, dash in ((ROLLING_WINDOW, "6 months", STRATEGY_COLOR, "solid"),
                                           (YEAR_WINDOW, "12 months", BENCHMARK_COLOR, "dash")):
            beta = thin(metrics.rolling_beta(s.returns, s.benchmark_returns, window).dropna())
            data.append(_line(beta, label, color, 2, "%{y:.2f}", dash=dash))
    return _figure("rolling_beta", f"Rolling beta to {s.benchmark}", data)


def rolling_risk_figure(s: Series) -> Figure:
    """Six-month rolling volatility, Sharpe and Sortino of the strategy and its benchmark."""
    data: list[dict[str, Any]] = []
    series = [(s.returns, s.name, STRATEGY_COLOR, "solid")]
    if s.benchmark_returns is not None:
        series.append((s.benchmark_returns, str(s.benchmark), BENCHMARK_COLOR, "dash"))
    for returns, name, color, dash in series:
        stats = pd.DataFrame({
            "volatility": metrics.rolling_volatility(returns, ROLLING_WINDOW),
            "sharpe": metrics.rolling_sharpe(returns, ROLLING_WINDOW, s.risk_free),
            "sortino": metrics.rolling_sortino(returns, ROLLING_WINDOW, s.risk_free),
        }).dropna(how="all")
        stats = thin(stats)
        for row, (key, decimals, hover) in enumerate((("volatility", 4, "%{y:.1%}"), ("sharpe", 2, "%{y:.2f}"),
                                                      ("sortino", 2, "%{y:.2f}")), start=1):
            axes = {"xaxis": "x" if row == 1 else f"x{row}", "yaxis": "y" if row == 1 else f"y{row}"}
            data.append(_line(stats[key], name, color, decimals, hover, dash=dash, legendgroup=name,
                              showlegend=row == 1, width=1.8, **axes))
    return _figure("rolling_risk", "Rolling risk", data)


def underwater_figure(s: Series, worst: pd.DataFrame) -> Figure:
    """The drawdown curve with the deepest drawdown periods shaded."""
    dd = thin(metrics.drawdown_series(s.equity), how="min")
    line = _line(dd, s.name, "#b91c1c", 4, "%{y:.1%}", fill="tozeroy", fillcolor="rgba(185,28,28,0.18)", width=1.2)
    last = s.equity.index[-1]
    shapes = []
    for row in worst.itertuples():
        end = row.recovery if pd.notna(row.recovery) else last
        shapes.append({"type": "rect", "xref": "x", "yref": "y domain", "x0": row.start.strftime("%Y-%m-%d"),
                       "x1": end.strftime("%Y-%m-%d"), "y0": 0, "y1": 1, "fillcolor": "#fde68a", "opacity": 0.35,
                       "line": {"width": 0}, "layer": "below"})
    return _figure("underwater", "Underwater", [line], shapes=shapes)


def weights_figure(result: BacktestResult, ticker_colors: dict[str, str]) -> Figure:
    """Realised end-of-day weights as stacked areas (see :func:`reports.charts.weight_traces`)."""
    data = weight_traces(result, ticker_colors)
    return _figure("weights", "Weights over time (fraction of equity; shorts below zero)", data,
                   hovermode="x unified")


def drawdown_table_html(worst: pd.DataFrame, table_id: str) -> str:
    """The five deepest drawdowns: start (the last high), trough, recovery, depth, calendar days."""
    rows = []
    for i, row in enumerate(worst.itertuples(), start=1):
        recovery = row.recovery.strftime("%Y-%m-%d") if pd.notna(row.recovery) else "not recovered"
        rows.append(
            f"<tr><td>{i}</td><td>{row.start:%Y-%m-%d}</td><td>{row.trough:%Y-%m-%d}</td><td>{recovery}</td>"
            f'<td class="neg">{row.depth:.1%}</td><td>{row.days:,}</td></tr>'
        )
    body = "".join(rows) or '<tr><td colspan="6">no drawdown in the window</td></tr>'
    return (
        f'<table class="metrics dd" id="{html.escape(table_id)}"><thead><tr><th>#</th><th>Start (high)</th>'
        "<th>Trough</th><th>Recovery</th><th>Depth</th><th>Days</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def figures(result: BacktestResult, ticker_colors: dict[str, str]) -> tuple[dict[str, Figure], pd.DataFrame]:
    """Every tearsheet chart of one strategy (keys of :data:`CHARTS`) and its table of deepest drawdowns."""
    s = series_of(result)
    worst = metrics.drawdown_periods(s.equity, top=WORST_DRAWDOWNS)
    out = {
        "cumulative": cumulative_figure(s),
        "yearly": yearly_figure(s),
        "monthly": monthly_figure(s),
        "distribution": distribution_figure(s),
        "rolling_beta": rolling_beta_figure(s),
        "rolling_risk": rolling_risk_figure(s),
        "underwater": underwater_figure(s, worst),
        "weights": weights_figure(result, ticker_colors),
    }
    return out, worst
