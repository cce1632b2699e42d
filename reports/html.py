"""The report page: one self-contained ``index.html`` (plotly.js inlined once, no network needed).

Layout: a header stating what was run (data source, window, costs, execution convention, version, seed),
highlight cards, a sortable metrics table and a costs-and-turnover table (each with footnotes defining the
figures), the comparison charts of :mod:`reports.charts` (a "focus" menu highlights one book against the
benchmarks, legend entries toggle lines, small multiples show each book alone), then a tearsheet per strategy
(:mod:`reports.tearsheet`, a menu picks the strategy); scenario runs add a strategy x scenario table, fan
charts and terminal-wealth distributions. Charts are stored as data and drawn by the loader of
:mod:`reports.figure_store` (text and tables paint first).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import plotly.graph_objects as go

from theses.engine.result import BacktestResult
from theses.reports import charts, tearsheet
from theses.reports.assets import CSS, FOCUS_JS, SELECT_JS, SORT_JS
from theses.reports.figure_store import LOADER_JS, FigureStore, no_default_template, plotly_bundle
from theses.reports.tables import (
    HIGHER_IS_BETTER,
    KEY_METRICS,
    LABELS,
    format_metric,
    is_missing,
    metrics_table,
)

PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
LOWER_IS_BETTER = frozenset({"volatility", "turnover", "costs", "fees", "slippage", "borrow", "tracking_error",
                             "turnover_ex_entry", "initial_entry", "cost_drag_bps", "fee_drag_bps",
                             "slippage_drag_bps", "borrow_drag_bps"})
CONTEXT_LABELS = {
    "data_source": "Data",
    "window": "Window",
    "costs": "Costs",
    "execution": "Execution",
    "rebalance": "Rebalancing",
    "seed": "Seed",
    "version": "Version",
    "generated": "Generated",
}
DEFAULT_EXECUTION = "weights decided at a close trade at the next bar's close"

def esc(value: Any) -> str:
    """HTML-escape any value as text."""
    return html.escape(str(value), quote=True)


def slug(text: str) -> str:
    """A safe element id fragment from a name."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def figure_div(store: FigureStore, key: str, fig: go.Figure | None, div_id: str, *, select: str | None = None,
               focus: bool = False, height: int | None = None) -> str:
    """A chart card: an empty plotly div that the loader fills from ``store[key]`` (``fig`` is stored first).

    With ``select``, ``key`` holds ``{}``, replaced by the value of the ``<select id=select>`` when drawn (a
    tearsheet chart of the chosen strategy); ``focus`` makes the focus menu restyle the chart's lines.
    """
    if fig is not None:
        store.add(key, fig)
        height = height or int(fig.layout.height or 460)
    attrs = [f'id="{esc(div_id)}"', 'class="plotly-graph-div"', f'data-figure="{esc(key)}"',
             f"data-config='{esc(json.dumps(PLOTLY_CONFIG))}'", f'style="height:{height or 460}px"']
    if select:
        attrs.append(f'data-select="{esc(select)}"')
    if focus:
        attrs.append("data-focus")
    return f'<div class="card chart" data-chart="{esc(div_id)}"><div {" ".join(attrs)}></div></div>'


def figure_html(fig: go.Figure, div_id: str) -> str:
    """A chart card whose figure travels with it, for sections built before a page's store exists (a report's
    lead). The figure's JSON sits in a script element beside the div; the loader draws it like the others."""
    spec = json.loads(fig.to_json())
    spec.get("layout", {}).pop("template", None)
    data_id = f"{div_id}-figure"
    height = int(fig.layout.height or 460)
    payload = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
    attrs = (f'id="{esc(div_id)}" class="plotly-graph-div" data-figure="#{esc(data_id)}" '
             f"data-config='{esc(json.dumps(PLOTLY_CONFIG))}' style=\"height:{height}px\"")
    return (f'<div class="card chart" data-chart="{esc(div_id)}"><div {attrs}></div>'
            f'<script type="application/json" id="{esc(data_id)}">{payload}</script></div>')


# ------------------------------------------------------------------------------------------------ header
def default_context(results: Sequence[BacktestResult]) -> dict[str, Any]:
    """What the header says when the caller did not: taken from the runs' metrics and configs."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, Any] = {}
    if results:
        starts = [str(r.metrics.get("start")) for r in results if r.metrics.get("start")]
        ends = [str(r.metrics.get("end")) for r in results if r.metrics.get("end")]
        if starts and ends:
            out["window"] = f"{min(starts)} to {max(ends)}"
        config = results[0].config or {}
        if config.get("data_source"):
            out["data_source"] = config["data_source"]
        costs = config.get("costs")
        if isinstance(costs, Mapping):
            out["costs"] = (
                f"fees {costs.get('fees_bps', 0):g} bps, slippage {costs.get('slippage_bps', 0):g} bps per side; "
                f"borrow {costs.get('borrow_bps', 0):g} bps/yr"
            )
        if config.get("execution") == "open":
            out["execution"] = "weights decided at a close trade at the next bar's open"
    out.setdefault("execution", DEFAULT_EXECUTION)
    try:
        out["version"] = version("ai-theses")
    except PackageNotFoundError:
        out["version"] = "unknown"
    out["generated"] = datetime.now().strftime("%Y-%m-%d %H:%M")
    return out


def header_html(title: str, subtitle: str, context: Mapping[str, Any]) -> str:
    """The hero band: title, one-line summary and a grid of facts about the run."""
    facts = []
    keys = [k for k in CONTEXT_LABELS if k in context] + [
        k for k in context if k not in CONTEXT_LABELS and k != "notes"
    ]
    for key in keys:
        value = context[key]
        if is_missing(value) or value == "" or isinstance(value, Mapping | list | tuple):
            continue
        label = CONTEXT_LABELS.get(key, key.replace("_", " ").capitalize())
        facts.append(f"<div><dt>{esc(label)}</dt><dd>{esc(value)}</dd></div>")
    return (
        '<header class="hero"><div class="wrap">'
        '<div class="eyebrow">ai-theses report</div>'
        f"<h1>{esc(title)}</h1><p class=\"subtitle\">{esc(subtitle)}</p>"
        f'<dl class="facts">{"".join(facts)}</dl></div></header>'
    )


# ------------------------------------------------------------------------------------------------ tables
def _best_values(frame: Any, keys: Sequence[str]) -> dict[str, float]:
    best: dict[str, float] = {}
    for key in keys:
        if key not in frame:
            continue
        column = frame[key].apply(lambda v: v if isinstance(v, int | float) and not is_missing(v) else math.nan)
        column = column.astype(float).dropna()
        if len(column) < 2:
            continue
        if key in HIGHER_IS_BETTER or key == "max_drawdown":
            best[key] = float(column.max())
        elif key in LOWER_IS_BETTER:
            best[key] = float(column.min())
    return best


def sort_rows(frame: Any, sort_by: str | None) -> Any:
    """Rows ordered by ``sort_by`` (descending; lower-is-better metrics ascending), missing values last."""
    if not sort_by or sort_by not in frame:
        return frame
    values = frame[sort_by].apply(lambda v: v if isinstance(v, int | float) and not is_missing(v) else math.nan)
    ascending = sort_by in LOWER_IS_BETTER
    order = values.astype(float).sort_values(ascending=ascending, na_position="last", kind="stable").index
    return frame.loc[order]


def metrics_table_html(
    results: Sequence[BacktestResult], colors: Mapping[str, str], sort_by: str | None = "sharpe",
    keys: Sequence[str] = KEY_METRICS, table_id: str = "metrics-table", benchmarks: bool = True,
) -> str:
    """A sortable table of ``keys``: strategies and benchmarks, best value per column marked.

    A ``start`` column is added when the strategies' windows start on different dates.
    """
    frame = sort_rows(metrics_table(results, include_benchmarks=benchmarks), sort_by)
    keys = [k for k in keys if k in frame.columns]
    if "start" in frame.columns and frame["start"].nunique(dropna=True) > 1 and "start" not in keys:
        keys = ["start", *keys]
    best = _best_values(frame, keys)
    head = "".join(f"<th>{esc(LABELS.get(k, k))}</th>" for k in keys)
    rows = []
    for name, row in frame.iterrows():
        kind = row.get("kind", "strategy")
        badge = '<span class="badge">benchmark</span>' if kind == "benchmark" else ""
        swatch = f'<span class="swatch" style="background:{esc(colors.get(name, "#999"))}"></span>'
        cells = [f'<td class="name" data-value="{esc(name)}">{swatch}{esc(name)}{badge}</td>']
        for key in keys:
            value = row.get(key)
            classes = []
            if isinstance(value, int | float) and not is_missing(value):
                if key in HIGHER_IS_BETTER or key == "max_drawdown":
                    classes.append("pos" if value > 0 else "neg" if value < 0 else "")
                if key in best and value == best[key]:
                    classes.append("best")
                data_value = repr(float(value))
            else:
                data_value = ""
            cls = " ".join(c for c in classes if c)
            cls_attr = f' class="{cls}"' if cls else ""
            cells.append(f'<td{cls_attr} data-value="{esc(data_value)}">{esc(format_metric(key, value))}</td>')
        rows.append(f'<tr class="{esc(kind)}" data-name="{esc(name)}">{"".join(cells)}</tr>')
    return (
        f'<div class="table-scroll"><table class="metrics sortable" id="{esc(table_id)}">'
        f"<thead><tr><th>Strategy</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def strategy_list_html(results: Sequence[BacktestResult]) -> str:
    """One line per strategy: its description and rebalancing rule (when the run recorded them)."""
    items = []
    for result in results:
        description = result.config.get("description")
        rebalance = result.config.get("rebalance")
        if isinstance(rebalance, Mapping):
            rebalance = rebalance.get("calendar")
        if not description and not rebalance:
            continue
        extra = f" <span>(rebalance: {esc(rebalance)})</span>" if rebalance else ""
        items.append(f"<li><b>{esc(result.name)}</b>: {esc(description or '')}{extra}</li>")
    return f'<ul class="strategies">{"".join(items)}</ul>' if items else ""


def kpi_cards_html(results: Sequence[BacktestResult]) -> str:
    """Four highlight cards: the leader (or the single strategy) on CAGR, Sharpe, drawdown and volatility."""
    from theses.reports.tables import benchmark_metrics

    if not results:
        return ""
    bench = benchmark_metrics(results)
    ref_name = next(iter(bench), None)
    cards = []
    specs = (("cagr", "CAGR", max), ("sharpe", "Sharpe ratio", max), ("max_drawdown", "Max drawdown", max),
             ("volatility", "Volatility", min))
    for key, label, pick in specs:
        scored = [(r.metrics.get(key), r.name) for r in results]
        scored = [(v, n) for v, n in scored if isinstance(v, int | float) and not is_missing(v)]
        if not scored:
            continue
        value, name = pick(scored, key=lambda item: item[0])
        who = name if len(results) == 1 else f"best: {name}"
        ref = ""
        if ref_name is not None:
            ref = f"{esc(ref_name)}: {esc(format_metric(key, bench[ref_name].get(key)))}"
        cards.append(
            f'<div class="card kpi"><div class="label">{esc(label)}</div>'
            f'<div class="value">{esc(format_metric(key, value))}</div>'
            f'<div class="who">{esc(who)}</div><div class="ref">{ref}</div></div>'
        )
    return f'<div class="kpis">{"".join(cards)}</div>'


def scenario_table_html(
    scenario_results: Mapping[str, Mapping[str, Any]], blend: Mapping[str, Any] | None = None
) -> str:
    """Strategy x scenario: median CAGR (large), the 5-95% CAGR range and the probability of a loss."""
    scenarios = list(scenario_results)
    strategies: dict[str, None] = {}
    for batches in scenario_results.values():
        strategies.update(dict.fromkeys(batches))
    blend_rows = blend if isinstance(blend, Mapping) and all(isinstance(v, Mapping) for v in blend.values()) else {}
    columns = scenarios + (["Blend"] if blend_rows else [])
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    rows = []
    for name in strategies:
        cells = [f"<td>{esc(name)}</td>"]
        for column in columns:
            if column == "Blend" and blend_rows:
                summary = dict(blend_rows.get(name, {}))
            else:
                batch = scenario_results[column].get(name)
                summary = charts.batch_summary(batch) if batch is not None else {}
            cells.append(_scenario_cell(summary))
        rows.append(f'<tr data-name="{esc(name)}">{"".join(cells)}</tr>')
    return (
        '<div class="table-scroll"><table class="scen" id="scenario-table">'
        f"<thead><tr><th>Strategy</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _scenario_cell(summary: Mapping[str, Any]) -> str:
    """Median CAGR (large), then every figure the console shows: CAGR and wealth ranges, P(loss), P(beat SPY),
    CVaR 5% and the median maximum drawdown."""
    median = summary.get("cagr_p50")
    if is_missing(median):
        return "<td>–</td>"
    tint = "rgba(22,163,74,{a})" if median >= 0 else "rgba(220,38,38,{a})"
    alpha = min(abs(float(median)) / 0.3, 1.0) * 0.28 + 0.04

    def f(key: str, metric: str | None = None) -> str:
        return esc(format_metric(metric or key, summary.get(key)))

    def wealth(key: str) -> str:
        value = summary.get(key)
        return "–" if is_missing(value) else esc(f"{float(value):.2f}x")

    return (
        f'<td style="background:{tint.format(a=round(alpha, 3))}">'
        f'<span class="big">{f("cagr_p50", "cagr")}</span>'
        f'<span class="small">CAGR 5–95%: {f("cagr_p5", "cagr")} … {f("cagr_p95", "cagr")}</span>'
        f'<span class="small">wealth {wealth("terminal_wealth_p50")} ({wealth("terminal_wealth_p5")} … '
        f'{wealth("terminal_wealth_p95")})</span>'
        f'<span class="small">P(loss) {f("prob_loss")} · P(&gt;SPY) {f("prob_beat_benchmark")}</span>'
        f'<span class="small">CVaR 5% {f("cvar_5")} · median max DD {f("median_max_drawdown")}</span></td>'
    )


# ------------------------------------------------------------------------------------------------ page
METRICS_FOOTNOTE = (
    "Annualised with 252 trading days; CAGR over the number of trading days in each row's window. Sharpe and "
    "Sortino use the stated risk-free rate; beta, alpha and the information ratio are against the first "
    "benchmark (SPY), over the same window. Turnover / yr is one-way (half of buys plus sells) over equity, per "
    "year, without the initial entry; cost drag is fees + slippage + borrow in bps a year of average equity "
    "(see the costs table). A strategy whose tickers all list later starts at the listing (the Start column)."
)
COSTS_FOOTNOTE = (
    "Initial entry: the first trade, as a fraction of equity (100% for a fully invested long book). Turnover / "
    "yr: one-way traded notional (half of buys plus sells) over equity, per year of the window, excluding the "
    "initial entry, so a buy-and-hold book shows 0%. Fee, slippage and borrow drag: each cost summed over the "
    "window, divided by the average equity and by the years of the window, in basis points a year (the return "
    "each cost took away); total drag is their sum. metrics.json also keeps the earlier figures: turnover "
    "(both sides, the entry included) and costs, fees, slippage, borrow as totals over the starting capital."
)
COST_KEYS = ("initial_entry", "turnover_ex_entry", "fee_drag_bps", "slippage_drag_bps", "borrow_drag_bps",
             "cost_drag_bps")


def _section(sid: str, heading: str, lede: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{esc(heading)}</h2><p class="lede">{esc(lede)}</p>{body}</section>'


def _chart_section(store: FigureStore, key: str, fig: go.Figure, lede: str, *, focus: bool = False) -> str:
    heading = fig.layout.title.text or key
    return _section(key, heading, lede, figure_div(store, key, _untitled(fig), f"chart-{key}", focus=focus))


def focus_controls_html(results: Sequence[BacktestResult], benchmarks: Sequence[str]) -> str:
    """The focus menu: one book in bold against the benchmarks, the others faded."""
    options = "".join(f'<option value="{esc(r.name)}">{esc(r.name)}</option>' for r in results)
    against = " and ".join(benchmarks) or "the benchmarks"
    return (
        '<div class="controls sticky-controls"><label for="focus">Focus</label>'
        f'<select id="focus"><option value="">all books</option>{options}</select>'
        f'<span class="hint">highlights one book against {esc(against)} in the charts below; click a legend '
        "entry to hide a line, double-click it to show that line alone</span></div>"
    )


def comparison_sections(store: FigureStore, results: Sequence[BacktestResult], bench_names: Sequence[str]) -> list:
    """The charts comparing the books: growth, drawdowns, rolling risk, small multiples, costs."""
    focus = focus_controls_html(results, bench_names)
    specs = [
        ("equity", charts.equity_figure(results), "Growth of the starting capital after costs; use Linear/Log to "
         "switch the scale. Each book starts at its own window.", True),
        ("drawdown", charts.drawdown_figure(results), "How far below its previous peak each curve was.", True),
        ("rolling", charts.rolling_figure(results), "Six-month (126 trading days) rolling Sharpe ratio and "
         "annualised volatility; blank until a book has six months of returns.", True),
        ("multiples", charts.small_multiples_figure(results), "Each book alone against its benchmark (dashed), "
         "on its own log scale.", False),
        ("costs", charts.costs_turnover_figure(results), "Cost drag by kind and one-way turnover per year, the "
         "initial entry excluded (definitions under the costs table).", False),
    ]
    out = []
    for i, (key, fig, lede, focusable) in enumerate(specs):
        section = _chart_section(store, key, fig, lede, focus=focusable)
        if i == 0:
            section = section.replace("<h2>", focus + "<h2>", 1)
        out.append((key, {"equity": "Equity", "drawdown": "Drawdowns", "rolling": "Rolling",
                          "multiples": "Each book", "costs": "Costs"}[key], section))
    return out


def tearsheet_section(store: FigureStore, results: Sequence[BacktestResult], step: Any = None) -> str:
    """Per-strategy tearsheet charts (a menu picks the strategy) and each one's table of deepest drawdowns.

    ``step(i, name)`` is called as each strategy's charts are built.
    """
    colors = charts.ticker_colors(results)
    tables, grid = [], []
    for i, result in enumerate(results):
        if step is not None:
            step(i, result.name)
        figures, worst = tearsheet.figures(result, colors)
        for key, fig in figures.items():
            store.add(f"tear/{i}/{key}", _untitled(fig))
        hidden = ' class="shown"' if i == 0 else ""
        tables.append(f'<div data-show="tear:{i}"{hidden}>'
                      f'{tearsheet.drawdown_table_html(worst, f"drawdowns-{slug(result.name)}")}</div>')
        if i == 0:
            heights = {key: int(fig["layout"].get("height") or 400) for key, fig in figures.items()}
    for key, heading, lede in tearsheet.CHARTS:
        wide = "wide" if key in ("cumulative", "monthly", "rolling_risk", "underwater", "weights") else ""
        chart = figure_div(store, "tear/{}/" + key, None, "tear-" + key.replace("_", "-"), select="tear",
                           height=heights[key])
        grid.append(f'<div class="{wide}"><h3>{esc(heading)}</h3><p class="lede">{esc(lede)}</p>{chart}</div>')
        if key == "underwater":
            grid.append('<div class="wide"><h3>Five deepest drawdowns</h3><p class="lede">Start is the last date '
                        "at the previous high, recovery the first date back at it; days are calendar days "
                        "(quantstats dates the first and last day under water instead).</p>"
                        f'<div class="card">{"".join(tables)}</div></div>')
    options = "".join(f'<option value="{i}">{esc(r.name)}</option>' for i, r in enumerate(results))
    controls = ('<div class="controls sticky-controls"><label for="tear">Strategy</label>'
                f'<select id="tear" data-group="tear">{options}</select><span class="hint">'
                "every chart of this section shows the chosen strategy against its benchmark</span></div>")
    lede = ("quantstats' tearsheet for one strategy at a time, computed with this project's metrics over the "
            "strategy's window: cumulative and volatility-matched returns, yearly and monthly returns, "
            "distributions, rolling beta, volatility, Sharpe and Sortino, drawdowns.")
    return (f'<section id="tearsheet"><h2>Tearsheet</h2><p class="lede">{esc(lede)}</p>{controls}'
            f'<div class="tear-grid">{"".join(grid)}</div></section>')


def render_page(*args: Any, **kwargs: Any) -> str:
    """The whole ``index.html`` as a string (see :func:`page`); figures are built without a template each."""
    with no_default_template():
        return page(*args, **kwargs)


def page(
    results: Sequence[BacktestResult],
    *,
    title: str,
    context: Mapping[str, Any] | None = None,
    scenario_results: Mapping[str, Mapping[str, Any]] | None = None,
    simulation_meta: Mapping[str, Any] | None = None,
    sort_by: str | None = "sharpe",
    lead_sections: Sequence[tuple[str, str, str]] = (),
    progress: Any = None,
) -> str:
    """The whole ``index.html`` as a string.

    Parameters
    ----------
    results : backtests to compare (may be empty for a scenario-only report).
    title : page title.
    context : header facts (``data_source``, ``window``, ``costs``, ``execution``, ``version``, ``seed``,
        ``notes`` ...); missing ones are filled from the results.
    scenario_results : ``{scenario: {strategy: BatchResult}}`` for the scenario section.
    simulation_meta : ``seed``, ``method``, ``paths``, ``years``, ``probabilities``, ``blend`` of the simulation.
    sort_by : metric the metrics table is ordered by (descending, or ascending for costs/volatility).
    lead_sections : ``(id, nav label, html)`` sections shown first (the decision of a scenario report).
    progress : ``progress(description, done, total)``, called as the charts are built.
    """
    results = list(results)
    report = progress or (lambda description, done, total: None)
    steps = 2 + len(results) + (1 if scenario_results else 0)
    report("writing the report: comparison charts", 0, steps)
    meta = dict(simulation_meta or {})
    ctx = {**default_context(results), **{k: v for k, v in (context or {}).items() if v is not None}}
    for key in ("seed", "method", "paths", "years"):
        if key in meta and key not in ctx:
            ctx[key] = meta[key]
    store = FigureStore()
    sections = list(lead_sections)  # (id, nav label, html)
    if results:
        sections += backtest_sections(store, results, sort_by, report, steps)
    if scenario_results:
        report("writing the report: scenario charts", steps - 1, steps)
        sections.append(("scenarios", "Scenarios", _scenario_section(store, scenario_results, meta)))
    report("writing the report", steps, steps)
    subtitle = _subtitle(results, scenario_results, ctx)
    return document_html(title, subtitle, ctx, sections, store)


def backtest_sections(
    store: FigureStore, results: Sequence[BacktestResult], sort_by: str | None, report: Any, steps: int
) -> list[tuple[str, str, str]]:
    """``(id, nav label, html)`` of the backtest sections: summary, tables, comparison charts, tearsheet."""
    bench_names = list(charts.benchmark_curves(results).columns)
    colors = charts.color_map([r.name for r in results], bench_names)
    costs_table = metrics_table_html(results, colors, "cost_drag_bps", COST_KEYS, "costs-table-rows", False)
    sections = [
        ("summary", "Summary", _section(
            "summary", "At a glance",
            f"{len(results)} strateg{'y' if len(results) == 1 else 'ies'}"
            f"{' against ' + ', '.join(bench_names) if bench_names else ''}. "
            "Costs are included; benchmarks are bought and held without costs.", kpi_cards_html(results))),
        ("metrics", "Metrics", _section(
            "metrics", "Metrics", "Click a column to sort; the best value of each column is highlighted.",
            f'<div class="card">{metrics_table_html(results, colors, sort_by)}'
            f'<p class="foot">{esc(METRICS_FOOTNOTE)}</p>{strategy_list_html(results)}</div>')),
        ("costs-table", "Costs table", _section(
            "costs-table", "Costs and turnover", "Figures that compare across books of any length and size.",
            f'<div class="card">{costs_table}<p class="foot">{esc(COSTS_FOOTNOTE)}</p></div>')),
    ]
    sections += comparison_sections(store, results, bench_names)
    from theses.reports.attribution import attribution_section

    attribution = attribution_section(results, lambda fig, div_id: figure_div(store, "attribution", fig, div_id))
    if attribution:
        sections.append(("attribution", "Attribution", attribution))
    report("writing the report: tearsheets", 1, steps)
    sections.append(("tearsheet", "Tearsheet", tearsheet_section(
        store, results, lambda i, name: report(f"writing the report: tearsheet of {name}", 1 + i, steps))))
    return sections


def notes_html(notes: Sequence[str]) -> str:
    """The notes section (warnings highlighted); empty without notes."""
    if not notes:
        return ""
    items = "".join(
        f'<li class="warning">{esc(n)}</li>' if str(n).startswith("warning: ") else f"<li>{esc(n)}</li>"
        for n in notes
    )
    return f'<section id="notes"><h2>Notes</h2><ul class="notes card">{items}</ul></section>'


def document_html(title: str, subtitle: str, ctx: Mapping[str, Any], sections: Sequence[tuple[str, str, str]],
                  store: FigureStore) -> str:
    """The page around the sections: head, header, navigation, notes, footer, data and scripts."""
    nav = "".join(f'<a href="#{sid}">{esc(label)}</a>' for sid, label, _ in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"{header_html(title, subtitle, ctx)}"
        f"<nav class=\"toc\"><div class=\"wrap\">{nav}</div></nav>"
        f"<main class=\"wrap\">{notes_html(ctx.get('notes') or [])}{''.join(h for _, _, h in sections)}</main>"
        f"<footer class=\"wrap\">Generated by theses {esc(ctx.get('version', ''))} on {esc(ctx.get('generated', ''))}. "
        "Past and simulated performance are not forecasts; nothing here is investment advice.</footer>"
        f"<script>{SORT_JS}{SELECT_JS}</script>"
        f"<script type=\"application/json\" id=\"report-data\">{store.payload()}</script>"
        f"<script type=\"application/octet-stream\" id=\"plotly-gz\">{plotly_bundle()}</script>"
        f"<script>{LOADER_JS}</script><script>{FOCUS_JS}</script></body></html>\n"
    )


def _untitled(fig: go.Figure | dict[str, Any]) -> go.Figure | dict[str, Any]:
    """The figure without its own title (the section heading says it) and with less top margin."""
    if isinstance(fig, dict):
        layout = fig["layout"]
        layout["title"] = {**layout.get("title", {}), "text": ""}
        layout["margin"] = {**layout.get("margin", {}), "t": max(40, layout.get("margin", {}).get("t", 84) - 36)}
        return fig
    fig.update_layout(title={"text": ""}, margin={"t": max(40, (fig.layout.margin.t or 84) - 36)})
    return fig


def _subtitle(results: Sequence[BacktestResult], scenario_results: Any, ctx: Mapping[str, Any]) -> str:
    parts = []
    if results:
        parts.append(f"{len(results)} strateg{'y' if len(results) == 1 else 'ies'}")
    if ctx.get("window"):
        parts.append(str(ctx["window"]))
    if scenario_results:
        parts.append(f"{len(scenario_results)} scenario{'s' if len(scenario_results) != 1 else ''}")
    return " · ".join(parts)


def _scenario_section(
    store: FigureStore, scenario_results: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any]
) -> str:
    """Scenario matrix, fan charts (SPY's median band over each) and terminal wealth; one row per distinct book."""
    from theses.reports.decision import BENCHMARK, distinct_labels, relabel

    labels = distinct_labels(scenario_results)
    references = {s: batches.get(BENCHMARK) for s, batches in scenario_results.items()}
    blend = meta.get("blend")
    meta = {**meta, "blend": relabel(blend, labels) if isinstance(blend, Mapping) else blend}
    scenario_results = {s: relabel(batches, labels) for s, batches in scenario_results.items()}
    facts = []
    for key in ("method", "paths", "years", "seed"):
        if key in meta and not is_missing(meta[key]):
            facts.append(f"{key} {meta[key]}")
    probabilities = meta.get("probabilities")
    if isinstance(probabilities, Mapping) and probabilities:
        facts.append("probabilities " + ", ".join(f"{k} {float(v):.0%}" for k, v in probabilities.items()))
    lede = (
        "Simulated price paths per scenario. Each cell: median CAGR; the 5–95% range of CAGR and of terminal "
        "wealth across paths; the probability of ending below the starting capital and of beating SPY on the "
        "same path; the mean of the worst 5% of terminal returns (CVaR) and the median maximum drawdown. "
        "Books identical on every path are listed once."
        + (f" ({'; '.join(facts)})" if facts else "")
    )
    parts = [
        "<section id=\"scenarios\"><h2>Scenarios</h2>",
        f"<p class=\"lede\">{esc(lede)}</p>",
        f"<div class=\"card\">{scenario_table_html(scenario_results, meta.get('blend'))}</div></section>",
    ]
    for scenario, batches in scenario_results.items():
        if not batches:
            continue
        fig = charts.fan_figure(scenario, batches, reference=references.get(scenario), reference_name=BENCHMARK)
        parts.append(
            f"<section id=\"fan-{slug(scenario)}\"><h2>{esc(fig.layout.title.text)}</h2>"
            "<p class=\"lede\">Bands hold 50% and 90% of the simulated paths; the line is the median path-wise "
            "percentile; SPY's median (dashed) and 25–75% band (dotted) are drawn over it. Pick a strategy in the "
            "menu.</p>"
            f"{figure_div(store, f'fan/{slug(scenario)}', _untitled(fig), f'chart-fan-{slug(scenario)}')}</section>"
        )
    fig = charts.terminal_wealth_figure(scenario_results)
    parts.append(
        f"<section id=\"terminal\"><h2>{esc(fig.layout.title.text)}</h2>"
        "<p class=\"lede\">Box: 25–75% of paths, line: median, whiskers: 5–95%.</p>"
        f"{figure_div(store, 'terminal', _untitled(fig), 'chart-terminal')}</section>"
    )
    return "".join(parts)
