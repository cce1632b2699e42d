"""Plotly figures of backtest and scenario results.

Every function takes engine results and returns a ``plotly.graph_objects.Figure``; nothing here writes
files. A strategy keeps the same colour in every chart, benchmarks are drawn dashed in greys, curves longer
than about three years are thinned to one point a week, and values are rounded to the precision the chart
shows, so the page stays light. Each strategy is drawn over its executed window only (blank before).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from theses.engine import metrics
from theses.engine.result import BacktestResult

ROLLING_WINDOW = 126  # bars in six months of trading days
MAX_DAILY_POINTS = 800  # above this many bars (about 3 years) curves use one point per week
BAND_PERCENTILES = (5, 25, 50, 75, 95)

FONT_FAMILY = "Inter, 'Segoe UI', system-ui, -apple-system, Roboto, 'Helvetica Neue', Arial, sans-serif"
STRATEGY_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#393b79", "#ad494a", "#637939", "#8c6d31", "#7b4173", "#3182bd", "#e6550d",
)
BENCHMARK_COLORS = ("#111827", "#6b7280", "#9ca3af", "#374151")
TICKER_COLORS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
CASH_COLOR = "#d1d5db"
LOG_TICKS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0)
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Red for losses, white at zero, green for gains (the heatmap is centred on zero).
DIVERGING_SCALE = [[0.0, "#b91c1c"], [0.25, "#f87171"], [0.5, "#f9fafb"], [0.75, "#4ade80"], [1.0, "#15803d"]]


# ------------------------------------------------------------------------------------------------ helpers
def base_layout(fig: go.Figure, *, title: str, height: int = 460, yformat: str | None = None) -> go.Figure:
    """Apply the report's common look (white template, one font, legend on top, unified hover)."""
    # No template here: the page applies plotly_white once for every chart (a template per figure costs
    # 50 ms of copying); see reports.figure_store.
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 17, "color": "#111827"}},
        font={"family": FONT_FAMILY, "size": 12, "color": "#374151"},
        height=height,
        margin={"l": 60, "r": 24, "t": 84, "b": 40},
        # Legend along the bottom of the figure: the top right belongs to plotly's tool bar.
        legend={"orientation": "h", "yref": "container", "y": 0.0, "yanchor": "bottom", "xanchor": "left", "x": 0.0,
                "font": {"size": 12}},
        hovermode="x unified",
        hoverlabel={"namelength": -1},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
    )
    if yformat:
        fig.update_yaxes(tickformat=yformat)
    fig.update_xaxes(showline=True, linecolor="#e5e7eb")
    return fig


def color_map(names: Sequence[str], benchmarks: Sequence[str] = ()) -> dict[str, str]:
    """A stable colour per strategy (palette order) and a grey per benchmark."""
    colors = {name: STRATEGY_COLORS[i % len(STRATEGY_COLORS)] for i, name in enumerate(names)}
    for i, name in enumerate(b for b in benchmarks if b not in colors):
        colors[name] = BENCHMARK_COLORS[i % len(BENCHMARK_COLORS)]
    return colors


def benchmark_curves(results: Sequence[BacktestResult]) -> pd.DataFrame:
    """Benchmark equity curves of the runs, each benchmark once (first run that has it), minus strategy names."""
    names = {r.name for r in results}
    curves: dict[str, pd.Series] = {}
    for result in results:
        frame = result.benchmark_equity
        if frame is None or frame.empty:
            continue
        for column in frame.columns:
            if column not in curves and column not in names:
                curves[str(column)] = frame[column].astype(float)
    return pd.DataFrame(curves)


def all_curves(results: Sequence[BacktestResult]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Equity of every strategy and benchmark on one date index, plus the strategy and benchmark names."""
    strategy_curves = pd.DataFrame({r.name: r.equity.astype(float) for r in results})
    bench = benchmark_curves(results)
    frame = strategy_curves.join(bench, how="outer") if not bench.empty else strategy_curves
    return frame.sort_index(), list(strategy_curves.columns), list(bench.columns)


def iso_dates(index: pd.Index) -> list[str]:
    """Dates as ``YYYY-MM-DD`` text (the report's figure store writes them as day steps)."""
    return list(pd.DatetimeIndex(index).strftime("%Y-%m-%d"))


def thin(frame: pd.DataFrame | pd.Series, how: str = "last") -> pd.DataFrame | pd.Series:
    """One point a week when a series is longer than ``MAX_DAILY_POINTS`` bars; short series pass unchanged.

    ``how="last"`` keeps each week's last row (curves of levels: equity, rolling statistics, weights);
    ``how="min"`` keeps each week's lowest value at its own date (a drawdown's trough is never thinned away).
    """
    if len(frame) <= MAX_DAILY_POINTS:
        return frame
    weeks = frame.index.to_period("W")
    if how == "min" and isinstance(frame, pd.Series):
        present = frame.dropna()
        return frame.loc[present.groupby(present.index.to_period("W")).idxmin().to_numpy()]
    return frame.groupby(weeks).tail(1)


def shown(values: pd.Series | np.ndarray, decimals: int) -> np.ndarray:
    """Values rounded to the precision a chart shows (a percentage with one decimal is 3 decimals)."""
    return np.round(np.asarray(values, dtype=float), decimals)


def window_equity(result: BacktestResult) -> pd.Series:
    """A run's equity over its executed window (from ``config["window_start"]``), the part its metrics cover."""
    equity = result.equity.astype(float)
    start = (result.config or {}).get("window_start")
    return equity.loc[pd.Timestamp(start):] if start else equity


def window_curves(results: Sequence[BacktestResult]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Like :func:`all_curves` but each strategy only over its executed window (NaN before: blank lines)."""
    strategy_curves = pd.DataFrame({r.name: window_equity(r) for r in results})
    bench = benchmark_curves(results)
    frame = strategy_curves.join(bench, how="outer") if not bench.empty else strategy_curves
    return frame.sort_index(), list(strategy_curves.columns), list(bench.columns)


def _line_style(name: str, colors: Mapping[str, str], benchmarks: Sequence[str]) -> dict[str, Any]:
    dash = "dash" if name in benchmarks else "solid"
    width = 1.6 if name in benchmarks else 2.0
    return {"color": colors[name], "width": width, "dash": dash}


def _line(name: str, series: pd.Series, decimals: int, colors: Mapping[str, str], benchmarks: Sequence[str],
          hover: str, **extra: Any) -> go.Scatter:
    """One curve of a comparison chart; ``legendgroup`` and ``meta`` name the book for the focus menu."""
    return go.Scatter(
        x=iso_dates(series.index), y=shown(series, decimals), name=name, mode="lines", legendgroup=name,
        meta={"book": name, "benchmark": name in benchmarks}, line=_line_style(name, colors, benchmarks),
        hovertemplate=hover, connectgaps=False, **extra,
    )


def monthly_table(returns: pd.Series) -> pd.DataFrame:
    """Compounded calendar-month returns (:func:`engine.metrics.monthly_returns`) as a years x months table.

    NaN returns are dropped first; a month without data is NaN.
    """
    months = metrics.monthly_returns(returns.dropna())
    if months.empty:
        return pd.DataFrame(columns=list(MONTH_NAMES), dtype=float)
    months.index = pd.MultiIndex.from_arrays([months.index.year, months.index.month])
    table = months.unstack().reindex(columns=range(1, 13))
    table.columns = list(MONTH_NAMES)
    table.index = [str(y) for y in table.index]
    return table


def _visibility_buttons(labels: Sequence[str], counts: Sequence[int]) -> list[dict[str, Any]]:
    """Dropdown entries that show only the traces of the chosen label (traces are grouped in order)."""
    total = sum(counts)
    buttons = []
    start = 0
    for label, count in zip(labels, counts, strict=True):
        visible = [False] * total
        visible[start : start + count] = [True] * count
        buttons.append({"label": label, "method": "update", "args": [{"visible": visible}]})
        start += count
    return buttons


def add_dropdown(fig: go.Figure, labels: Sequence[str], counts: Sequence[int]) -> go.Figure:
    """A menu at the top left that shows one group of traces at a time."""
    fig.update_layout(
        updatemenus=[
            {
                "buttons": _visibility_buttons(labels, counts),
                "direction": "down",
                "showactive": True,
                "x": 0.0,
                "xanchor": "left",
                "y": 1.03,
                "yanchor": "bottom",
                "bgcolor": "#f9fafb",
                "bordercolor": "#d1d5db",
                "font": {"size": 13},
                "pad": {"l": 0, "r": 0, "t": 0, "b": 0},
            }
        ],
    )
    return fig


# ------------------------------------------------------------------------------------------ backtests
def equity_figure(results: Sequence[BacktestResult]) -> go.Figure:
    """Equity curves of the strategies and their benchmarks, with a linear/log scale toggle.

    Each strategy's curve starts at its executed window; one point a week past ~3 years.
    """
    curves, names, benchmarks = window_curves(results)
    colors = color_map(names, benchmarks)
    fig = go.Figure()
    for name in names + benchmarks:
        fig.add_trace(_line(name, thin(curves[name].dropna()), 0, colors, benchmarks, "%{y:,.0f}"))
    base_layout(fig, title="Growth of the starting capital", height=540, yformat=",.0f")
    # Curves that grow more than tenfold are unreadable on a linear axis: start on log then.
    ratio = curves.max().max() / max(curves.min().min(), 1e-12) if len(curves) else 1.0
    start_log = bool(np.isfinite(ratio) and ratio > 10)
    controls = {"x": 0.0, "xanchor": "left", "y": 1.02, "yanchor": "bottom", "bgcolor": "#f3f4f6"}
    fig.update_layout(
        yaxis={"type": "log" if start_log else "linear"},
        updatemenus=[
            {
                **controls,
                "type": "buttons",
                "direction": "right",
                "x": 0.17,
                "active": 1 if start_log else 0,
                "showactive": True,
                "bordercolor": "#d1d5db",
                "pad": {"l": 0, "r": 0, "t": 0, "b": 0},
                "buttons": [
                    {"label": "Linear", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
                    {"label": "Log", "method": "relayout", "args": [{"yaxis.type": "log"}]},
                ],
            }
        ],
    )
    fig.update_xaxes(
        rangeselector={
            **controls,
            "buttons": [
                {"count": 1, "label": "1y", "step": "year", "stepmode": "backward"},
                {"count": 3, "label": "3y", "step": "year", "stepmode": "backward"},
                {"count": 5, "label": "5y", "step": "year", "stepmode": "backward"},
                {"step": "all", "label": "All"},
            ],
        }
    )
    return fig


def drawdown_figure(results: Sequence[BacktestResult]) -> go.Figure:
    """Underwater chart: how far each curve is below its previous peak (each week's deepest point)."""
    curves, names, benchmarks = window_curves(results)
    colors = color_map(names, benchmarks)
    fig = go.Figure()
    for name in names + benchmarks:
        dd = thin(metrics.drawdown_series(curves[name].dropna()), how="min")
        fill = "tozeroy" if name in names and len(names) == 1 else None
        fig.add_trace(_line(name, dd, 4, colors, benchmarks, "%{y:.1%}", fill=fill))
    return base_layout(fig, title="Drawdowns (distance below the previous peak)", yformat=".0%")


def rolling_stats(returns: pd.Series, window: int = ROLLING_WINDOW, risk_free: float = 0.0) -> pd.DataFrame:
    """Rolling annualised Sharpe ratio and volatility over ``window`` bars (:mod:`engine.metrics`)."""
    return pd.DataFrame({
        "sharpe": metrics.rolling_sharpe(returns, window, risk_free),
        "volatility": metrics.rolling_volatility(returns, window),
    })


def _risk_free_of(results: Sequence[BacktestResult]) -> float:
    for result in results:
        value = result.metrics.get("risk_free", result.config.get("risk_free"))
        if isinstance(value, int | float) and np.isfinite(value):
            return float(value)
    return 0.0


def rolling_figure(results: Sequence[BacktestResult], window: int = ROLLING_WINDOW) -> go.Figure:
    """Rolling six-month Sharpe (top) and volatility (bottom) of every strategy and benchmark.

    Blank until a curve has ``window`` returns inside its executed window (never a run of zeros before).
    """
    curves, names, benchmarks = window_curves(results)
    colors = color_map(names, benchmarks)
    risk_free = _risk_free_of(results)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.09,
        subplot_titles=(f"Sharpe ratio, rolling {window} days", f"Volatility, rolling {window} days"),
    )
    for name in names + benchmarks:
        returns = metrics.returns_from_equity(curves[name].dropna())
        stats = thin(rolling_stats(returns, window, risk_free).dropna(how="all"))
        fig.add_trace(_line(name, stats["sharpe"], 2, colors, benchmarks, "%{y:.2f}"), row=1, col=1)
        fig.add_trace(_line(name, stats["volatility"], 4, colors, benchmarks, "%{y:.1%}", showlegend=False),
                      row=2, col=1)
    base_layout(fig, title="Rolling six-month risk and return", height=640)
    fig.update_yaxes(tickformat=".1f", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    fig.update_annotations(font={"size": 13, "color": "#4b5563"}, x=0.0, xanchor="left")
    return fig


SMALL_MULTIPLE_COLUMNS = 4


def small_multiples_figure(results: Sequence[BacktestResult]) -> go.Figure:
    """One small panel per book: its growth against its benchmark (dashed), each panel on its own log scale."""
    curves, names, benchmarks = window_curves(results)
    colors = color_map(names, benchmarks)
    columns = min(SMALL_MULTIPLE_COLUMNS, max(len(names), 1))
    rows = max(math.ceil(len(names) / columns), 1)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=names, horizontal_spacing=0.05,
                        vertical_spacing=0.5 / rows)
    for i, result in enumerate(results):
        row, col = i // columns + 1, i % columns + 1
        bench = next((str(c) for c in result.benchmark_equity.columns if str(c) in benchmarks), None)
        for name in ([bench] if bench else []) + [result.name]:
            trace = _line(name, thin(curves[name].dropna()), 0, colors, benchmarks, "%{y:,.0f}",
                          showlegend=i == 0 and name == bench)
            if name == result.name:
                trace.line.width = 1.6
            fig.add_trace(trace, row=row, col=col)
        # Ticks at doublings (log10 2 apart): 10k, 20k, 40k ... read as growth and never crowd a small panel.
        fig.update_yaxes(type="log", row=row, col=col, tickformat="~s", dtick=math.log10(2))
    base_layout(fig, title="Each book against its benchmark", height=120 + 210 * rows)
    fig.update_layout(hovermode="x", margin={"t": 60, "l": 40})
    fig.update_annotations(font={"size": 12, "color": "#374151"})
    fig.update_xaxes(showticklabels=True, tickfont={"size": 10}, nticks=5)
    return fig


def ticker_colors(results: Sequence[BacktestResult]) -> dict[str, str]:
    """One colour per ticker across every strategy, so a ticker looks the same in each weights chart."""
    tickers: dict[str, None] = {}
    for result in results:
        tickers.update(dict.fromkeys(str(c) for c in result.weights.columns))
    return {t: TICKER_COLORS[i % len(TICKER_COLORS)] for i, t in enumerate(tickers)}


def weight_traces(result: BacktestResult, colors: Mapping[str, str]) -> list[dict[str, Any]]:
    """Stacked areas: long weights (and positive cash) stack upwards, shorts (and borrowed cash) downwards."""
    weights = result.weights.astype(float).reindex(window_equity(result).index).fillna(0.0)
    weights = weights.loc[:, (weights != 0).any(axis=0)]
    cash = 1.0 - weights.sum(axis=1)
    frame = thin(weights.assign(Cash=cash))
    traces: list[dict[str, Any]] = []  # plain trace dicts: a report draws one chart per strategy
    dates = iso_dates(frame.index)
    for column in frame.columns:
        values = frame[column]
        color = CASH_COLOR if column == "Cash" else colors.get(str(column), "#999999")
        for side, part in (("long", values.clip(lower=0.0)), ("short", values.clip(upper=0.0))):
            if not (part != 0).any():
                continue
            traces.append({
                "type": "scatter", "x": dates, "y": shown(part, 3), "name": str(column),
                "legendgroup": str(column), "stackgroup": side, "mode": "lines",
                "line": {"width": 0.5, "color": color}, "fillcolor": color, "hovertemplate": "%{y:.1%}",
                "showlegend": side == "long" or not bool((values > 0).any()),
            })
    return traces


def weights_figure(result: BacktestResult, colors: Mapping[str, str] | None = None) -> go.Figure:
    """One strategy's realised end-of-day weights as stacked areas (cash is what is left over)."""
    fig = go.Figure(weight_traces(result, colors or ticker_colors([result])))
    base_layout(fig, title="Weights over time (fraction of equity; shorts below zero)", height=440, yformat=".0%")
    return fig


def _metric(result: BacktestResult, key: str) -> float:
    value = result.metrics.get(key)
    return float(value) if isinstance(value, int | float) and value is not None else float("nan")


COST_KINDS = (("fee_drag_bps", "Fees", "#f59e0b"), ("slippage_drag_bps", "Slippage", "#ef4444"),
              ("borrow_drag_bps", "Borrow", "#8b5cf6"))


def costs_turnover_figure(results: Sequence[BacktestResult]) -> go.Figure:
    """Cost drag by kind (bps a year of average equity) and one-way turnover a year without the initial entry."""
    names = [r.name for r in results]
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.12,
        subplot_titles=("Cost drag, bps a year of average equity", "Turnover a year, one-way, initial entry excluded"),
    )
    for key, label, color in COST_KINDS:
        fig.add_trace(
            go.Bar(x=names, y=shown([_metric(r, key) for r in results], 1), name=label, marker_color=color,
                   hovertemplate="%{x}: %{y:.1f} bps/yr<extra>" + label.lower() + "</extra>"),
            row=1, col=1,
        )
    colors = color_map(names)
    fig.add_trace(
        go.Bar(x=names, y=shown([_metric(r, "turnover_ex_entry") for r in results], 4), name="Turnover",
               showlegend=False, marker_color=[colors[n] for n in names],
               hovertemplate="%{x}: %{y:.0%}<extra>turnover</extra>"),
        row=1, col=2,
    )
    base_layout(fig, title="Costs and turnover", height=440)
    fig.update_layout(barmode="stack", hovermode="closest")
    fig.update_yaxes(tickformat=",.0f", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    fig.update_xaxes(tickangle=-30)
    fig.update_annotations(font={"size": 13, "color": "#4b5563"})
    return fig


# ------------------------------------------------------------------------------------------ scenarios
def batch_summary(batch: Any) -> dict[str, Any]:
    """The summary dict of a batch result (a method in some versions, a dict field in others)."""
    summary = getattr(batch, "summary", None)
    if callable(summary):
        summary = summary()
    return dict(summary or {})


def equity_bands(batch: Any) -> np.ndarray:
    """Percentile bands (5, T) of a batch: its ``equity_bands`` field, else computed from ``equity`` (P, T)."""
    bands = getattr(batch, "equity_bands", None)
    if bands is None:
        bands = np.nanpercentile(np.asarray(batch.equity, dtype=float), BAND_PERCENTILES, axis=0)
    return np.asarray(bands, dtype=float)


def terminal_wealth(batch: Any) -> np.ndarray:
    """Terminal wealth per path (P,): the ``terminal_wealth`` field, else the last column of ``equity``."""
    values = getattr(batch, "terminal_wealth", None)
    if values is None:
        values = np.asarray(batch.equity, dtype=float)[:, -1]
    return np.asarray(values, dtype=float)


def _rgba(hex_color: str, alpha: float) -> str:
    hex_color = hex_color.lstrip("#")
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def fan_figure(scenario: str, batches: Mapping[str, Any], reference: Any | None = None,
               reference_name: str = "SPY", realised: Mapping[str, pd.Series] | None = None) -> go.Figure:
    """Percentile fan (5-95% and 25-75% bands, median line) of one scenario; a dropdown picks the strategy.

    Bands are equity as a multiple of the initial cash (``BatchResult.equity_bands``), so 1.0 is break-even.
    With ``reference`` (a batch, e.g. SPY on the same paths) its median (dashed) and 25-75% band (dotted) stay
    drawn over whichever strategy's fan is shown. ``realised`` adds each strategy's realised path (same units)
    as a black line inside its fan.
    """
    names = list(batches)
    colors = color_map(names)
    fig = go.Figure()
    counts = []
    for i, name in enumerate(names):
        batch = batches[name]
        bands = pd.DataFrame(equity_bands(batch).T, index=pd.DatetimeIndex(batch.index), columns=BAND_PERCENTILES)
        bands = thin(bands).round(4)
        color = colors[name]
        common = {"x": iso_dates(bands.index), "mode": "lines", "visible": i == 0}
        edge = {"width": 0, "color": color}
        fig.add_trace(go.Scatter(y=bands[95].to_numpy(), name="95th percentile", line=edge, showlegend=False,
                                 hovertemplate="95%: %{y:.2f}x<extra></extra>", **common))
        fig.add_trace(go.Scatter(y=bands[5].to_numpy(), name="5-95% of paths", line=edge, fill="tonexty",
                                 fillcolor=_rgba(color, 0.15), hovertemplate="5%: %{y:.2f}x<extra></extra>", **common))
        fig.add_trace(go.Scatter(y=bands[75].to_numpy(), name="75th percentile", line=edge, showlegend=False,
                                 hovertemplate="75%: %{y:.2f}x<extra></extra>", **common))
        fig.add_trace(go.Scatter(y=bands[25].to_numpy(), name="25-75% of paths", line=edge, fill="tonexty",
                                 fillcolor=_rgba(color, 0.32), hovertemplate="25%: %{y:.2f}x<extra></extra>",
                                 **common))
        fig.add_trace(go.Scatter(y=bands[50].to_numpy(), name=f"{name}: median", line={"width": 2.4, "color": color},
                                 hovertemplate="median: %{y:.2f}x<extra></extra>", **common))
        counts.append(5)
        path = (realised or {}).get(name)
        if path is not None:
            path = thin(path)
            fig.add_trace(go.Scatter(x=iso_dates(path.index), y=path.to_numpy(), name=f"{name}: realised",
                                     mode="lines", visible=i == 0, line={"width": 2.2, "color": "#111827"},
                                     hovertemplate="realised: %{y:.2f}x<extra></extra>"))
            counts[-1] += 1
    title = f"Scenario {scenario}: range of outcomes"
    base_layout(fig, title=title if len(names) > 1 else f"{title} ({names[0]})", height=460, yformat=".2f")
    fig.add_hline(y=1.0, line={"color": "#9ca3af", "width": 1, "dash": "dot"})
    fig.update_yaxes(title={"text": "wealth / starting capital", "font": {"size": 12}})
    extra = _reference_traces(fig, reference, reference_name) if reference is not None else 0
    if len(names) > 1:
        add_dropdown(fig, names, counts)
        for button in fig.layout.updatemenus[0].buttons:  # the reference stays visible whatever is picked
            button.args[0]["visible"] = list(button.args[0]["visible"]) + [True] * extra
    return fig


def _reference_traces(fig: go.Figure, batch: Any, name: str) -> int:
    """The reference's median (dashed) and 25-75% band (dotted); returns the number of traces added."""
    bands = thin(pd.DataFrame(equity_bands(batch).T, index=pd.DatetimeIndex(batch.index), columns=BAND_PERCENTILES))
    for pct, style, label in ((50, "dash", f"{name}: median"), (25, "dot", f"{name}: 25-75%"), (75, "dot", "")):
        fig.add_trace(go.Scatter(
            x=iso_dates(bands.index), y=bands[pct].to_numpy(), mode="lines", name=label or f"{name}: 75th percentile",
            showlegend=bool(label), line={"width": 1.6 if pct == 50 else 1.0, "color": "#374151", "dash": style},
            hovertemplate=f"{name} {pct}%: %{{y:.2f}}x<extra></extra>"))
    return 3


def terminal_wealth_figure(scenario_results: Mapping[str, Mapping[str, Any]]) -> go.Figure:
    """Terminal wealth per strategy, one colour per scenario: box = 25-75%, line = median, whiskers = 5-95%."""
    fig = go.Figure()
    scenarios = list(scenario_results)
    palette = color_map(scenarios)
    largest, lowest, highest = 0.0, math.inf, 0.0
    for scenario in scenarios:
        batches = scenario_results[scenario]
        names = list(batches)
        quantiles = np.array(
            [np.nanpercentile(terminal_wealth(batches[n]), BAND_PERCENTILES) for n in names]
        ).reshape(len(names), len(BAND_PERCENTILES))
        if len(names):
            largest = max(largest, float(np.nanmax(quantiles[:, 2])))
            lowest = min(lowest, float(np.nanmin(quantiles[:, 0])))
            highest = max(highest, float(np.nanmax(quantiles[:, 4])))
        fig.add_trace(
            go.Box(
                x=names, name=scenario, marker_color=palette[scenario], line={"width": 1.4},
                lowerfence=quantiles[:, 0], q1=quantiles[:, 1], median=quantiles[:, 2],
                q3=quantiles[:, 3], upperfence=quantiles[:, 4],
            )
        )
    # Wealth as a multiple of the start (the engine's convention) gets decimals; currency gets separators.
    yformat = ",.0f" if largest >= 100 else ".2f"
    base_layout(fig, title="Terminal wealth by strategy and scenario (log scale)", height=520, yformat=yformat)
    fig.update_layout(boxmode="group", hovermode="closest")
    fig.update_yaxes(type="log", title={"text": "wealth / starting capital", "font": {"size": 12}})
    if lowest > 0 and largest < 100:
        ticks = [v for v in LOG_TICKS if lowest / 1.05 <= v <= highest * 1.05]
        if len(ticks) >= 3:
            fig.update_yaxes(tickvals=ticks, ticktext=[f"{v:g}x" for v in ticks])
    return fig
