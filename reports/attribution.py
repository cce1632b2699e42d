"""Sleeve attribution in a report: each sleeve's contribution to return over time (stacked bars) and by year.

Reads the sleeves a run recorded (``BacktestResult.config["sleeves"]``) and the measures of
:mod:`theses.engine.attribution` (the linking method is stated there and in the section's text): the
contributions of the sleeves and of costs and cash add up to the total return at every date.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import pandas as pd
import plotly.graph_objects as go

from theses.engine.attribution import COSTS_AND_CASH, TOTAL, period_contributions, sleeve_contributions
from theses.engine.result import BacktestResult
from theses.reports.charts import TICKER_COLORS, add_dropdown, base_layout, iso_dates

LINKING = (
    "Each sleeve's contribution is its profit and loss (price moves less the cash paid for its trades) summed over "
    "the window and divided by the starting capital, so the sleeves and costs-and-cash add up exactly to the total "
    "return at every date (the geometric cumulative contribution: each day's contribution weighted by the growth "
    "of the book up to that day). A year's figure is the sleeve's profit in that year over the equity at its start."
)


def attributed(results: Sequence[BacktestResult]) -> list[tuple[BacktestResult, pd.DataFrame]]:
    """The results that name sleeves, each with its cumulative contributions (one row per bar)."""
    out = []
    for result in results:
        sleeves = result.config.get("sleeves")
        if isinstance(sleeves, dict) and sleeves:
            out.append((result, sleeve_contributions(result, sleeves)))
    return out


def month_ends(cumulative: pd.DataFrame) -> pd.DataFrame:
    """The last row of each month (and the last row), so a bar chart stays light."""
    return cumulative.groupby(cumulative.index.to_period("M")).tail(1)


def contribution_figure(items: Sequence[tuple[BacktestResult, pd.DataFrame]]) -> go.Figure:
    """Cumulative contribution of each sleeve at each month end (stacked: gains up, losses down) and the total."""
    fig = go.Figure()
    counts = []
    for i, (result, cumulative) in enumerate(items):
        monthly = month_ends(cumulative)
        x = iso_dates(monthly.index)
        for j, sleeve in enumerate(monthly.columns):
            color = "#9ca3af" if sleeve == COSTS_AND_CASH else TICKER_COLORS[j % len(TICKER_COLORS)]
            fig.add_trace(go.Bar(x=x, y=monthly[sleeve].to_numpy(), name=sleeve, marker_color=color,
                                 visible=i == 0, hovertemplate=f"{sleeve}: %{{y:.1%}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=x, y=monthly.sum(axis=1).to_numpy(), name=f"{result.name}: total return",
                                 mode="lines+markers", line={"color": "#111827", "width": 2}, visible=i == 0,
                                 hovertemplate="total: %{y:.1%}<extra></extra>"))
        counts.append(len(monthly.columns) + 1)
    title = "Contribution of each sleeve to the return since the start"
    base_layout(fig, title=title if len(items) > 1 else f"{title} ({items[0][0].name})", yformat=".0%")
    fig.update_layout(barmode="relative", hovermode="x unified")
    if len(items) > 1:
        add_dropdown(fig, [r.name for r, _ in items], counts)
    return fig


def contribution_table_html(result: BacktestResult, cumulative: pd.DataFrame) -> str:
    """Sleeves x calendar years (and the whole window): contribution to each period's return."""
    table = period_contributions(cumulative)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for sleeve, row in table.iterrows():
        cells = "".join(f'<td data-value="{float(v)!r}">{float(v):.1%}</td>' for v in row)
        cls = ' class="benchmark"' if sleeve in (TOTAL, COSTS_AND_CASH) else ""
        rows.append(f'<tr{cls}><td class="name">{html.escape(str(sleeve))}</td>{cells}</tr>')
    return (
        f'<h3>{html.escape(result.name)}</h3><div class="table-scroll">'
        f'<table class="metrics attribution" data-strategy="{html.escape(result.name, quote=True)}">'
        f"<thead><tr><th>Sleeve</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def attribution_section(results: Sequence[BacktestResult], embed: Callable[[go.Figure, str], str]) -> str:
    """The report section (empty when no result names sleeves); ``embed(fig, div_id)`` gives a chart's html."""
    items = attributed(results)
    if not items:
        return ""
    fig = contribution_figure(items)
    fig.update_layout(title={"text": ""})
    tables = "".join(contribution_table_html(result, cumulative) for result, cumulative in items)
    return (
        '<section id="attribution"><h2>Where the return came from</h2>'
        f'<p class="lede">{html.escape(LINKING)}</p>{embed(fig, "chart-attribution")}'
        f'<div class="card">{tables}</div></section>'
    )
