"""The report page: one self-contained ``index.html`` (plotly.js inlined once, no network needed).

Layout: a header stating what was run (data source, window, costs, execution convention, version, seed),
highlight cards, a sortable metrics table, then the charts of :mod:`reports.charts`; scenario runs add a
strategy x scenario table, fan charts and terminal-wealth distributions.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from theses.engine.result import BacktestResult
from theses.reports import charts
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
LOWER_IS_BETTER = frozenset({"volatility", "turnover", "costs", "fees", "slippage", "borrow", "tracking_error"})
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

CSS = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f3f4f6; --card:#ffffff; --accent:#2563eb;
  --good:#15803d; --bad:#b91c1c; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin:0; background:var(--bg); color:var(--ink); line-height:1.5; -webkit-font-smoothing:antialiased;
  font-family: Inter, "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif; }
header.hero { background: linear-gradient(135deg, #0f172a 0%, #1e3a8a 60%, #2563eb 100%); color:#fff;
  padding: 40px 0 28px; }
.wrap { max-width: 1320px; margin: 0 auto; padding: 0 28px; }
.eyebrow { text-transform: uppercase; letter-spacing: .14em; font-size: 12px; color:#bfdbfe; font-weight:600; }
h1 { font-size: 34px; line-height:1.15; margin: 6px 0 6px; font-weight: 750; letter-spacing:-.02em; }
.subtitle { color:#dbeafe; font-size: 16px; margin: 0 0 22px; }
dl.facts { display:grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 10px; margin:0; }
dl.facts div { background: rgba(255,255,255,.09); border:1px solid rgba(255,255,255,.16); border-radius: 10px;
  padding: 9px 13px; }
dl.facts dt { font-size: 11px; text-transform: uppercase; letter-spacing:.08em; color:#bfdbfe; }
dl.facts dd { margin: 2px 0 0; font-size: 13.5px; color:#fff; overflow-wrap:anywhere; }
nav.toc { position: sticky; top:0; z-index: 10; background: rgba(255,255,255,.92); backdrop-filter: blur(6px);
  border-bottom:1px solid var(--line); }
nav.toc .wrap { display:flex; gap: 6px; flex-wrap: wrap; padding-top:9px; padding-bottom:9px; }
nav.toc a { color:#374151; text-decoration:none; font-size:13px; padding:4px 11px; border-radius: 999px; }
nav.toc a:hover { background:#eef2ff; color: var(--accent); }
main { padding: 26px 0 40px; }
section { margin: 0 0 26px; }
h2 { font-size: 21px; margin: 0 0 4px; letter-spacing:-.01em; }
p.lede { color: var(--muted); margin: 0 0 14px; font-size: 14px; }
.card { background: var(--card); border:1px solid var(--line); border-radius: 14px; padding: 18px 20px;
  box-shadow: 0 1px 2px rgba(16,24,40,.04), 0 4px 12px rgba(16,24,40,.04); }
.chart { padding: 8px 8px 4px; margin-bottom: 18px; }
.kpis { display:grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 14px; }
.kpi .label { font-size: 12px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); }
.kpi .value { font-size: 30px; font-weight: 720; letter-spacing:-.02em; margin: 2px 0; font-variant-numeric: tabular-nums; }
.kpi .who { font-size: 14px; color: #374151; font-weight: 600; }
.kpi .ref { font-size: 12.5px; color: var(--muted); }
.table-scroll { overflow-x: auto; }
table.metrics { border-collapse: separate; border-spacing: 0; width: 100%; font-size: 13.5px;
  font-variant-numeric: tabular-nums; }
table.metrics th { text-align: right; font-weight: 600; color: #4b5563; font-size: 12px; text-transform: uppercase;
  letter-spacing: .05em; padding: 10px 10px; border-bottom: 2px solid var(--line); white-space: nowrap;
  cursor: pointer; user-select: none; position: sticky; top: 0; background: #fff; }
table.metrics th:first-child, table.metrics td:first-child { text-align: left; }
table.metrics th::after { content: " \\2195"; color: #d1d5db; font-size: 11px; }
table.metrics th[data-dir="asc"]::after { content: " \\2191"; color: var(--accent); }
table.metrics th[data-dir="desc"]::after { content: " \\2193"; color: var(--accent); }
table.metrics td { text-align: right; padding: 9px 10px; border-bottom: 1px solid #f1f5f9; white-space: nowrap; }
table.metrics tbody tr:hover td { background: #f8fafc; }
table.metrics td.name { font-weight: 600; color: var(--ink); }
.swatch { display:inline-block; width:10px; height:10px; border-radius: 3px; margin-right: 8px; vertical-align: 0; }
tr.benchmark td { color: #4b5563; background: #fafafa; }
tr.benchmark td.name { font-weight: 500; font-style: italic; }
.badge { display:inline-block; font-size: 10.5px; font-style: normal; text-transform: uppercase; letter-spacing:.06em;
  color:#6b7280; border:1px solid #d1d5db; border-radius: 999px; padding: 0 7px; margin-left: 8px; }
td.pos { color: var(--good); } td.neg { color: var(--bad); }
td.best { font-weight: 700; background: #eff6ff !important; }
ul.strategies { list-style:none; padding:0; margin: 14px 0 0; display:grid; grid-template-columns: repeat(auto-fill, minmax(340px,1fr)); gap: 6px 22px; }
ul.strategies li { font-size: 13px; color:#4b5563; }
ul.strategies b { color: var(--ink); }
table.scen { border-collapse: separate; border-spacing: 0; width:100%; font-size: 13px; font-variant-numeric: tabular-nums; }
table.scen th { text-align:center; padding: 9px 10px; font-size: 12px; color:#4b5563; text-transform: uppercase;
  letter-spacing:.05em; border-bottom: 2px solid var(--line); }
table.scen th:first-child { text-align:left; }
table.scen td { text-align:center; padding: 8px 10px; border-bottom: 1px solid #f1f5f9; }
table.scen td:first-child { text-align:left; font-weight:600; }
table.scen .big { font-size: 16px; font-weight: 700; display:block; }
table.scen .small { font-size: 11.5px; color:#6b7280; display:block; }
.notes { font-size: 13px; color: var(--muted); padding-left: 38px; }
.notes li { margin: 2px 0; }
footer { color: var(--muted); font-size: 12.5px; padding: 0 0 40px; }
@media print { nav.toc { display:none; } .card { box-shadow:none; } }
"""

SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    th.addEventListener("click", function () {
      var dir = th.dataset.dir === "desc" ? "asc" : "desc";
      heads.forEach(function (h) { delete h.dataset.dir; });
      th.dataset.dir = dir;
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var sign = dir === "asc" ? 1 : -1;
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
        var nx = parseFloat(x), ny = parseFloat(y);
        if (isNaN(nx) || isNaN(ny)) {
          if (!isNaN(nx)) return -1;
          if (!isNaN(ny)) return 1;
          return sign * String(x).localeCompare(String(y));
        }
        return sign * (nx - ny);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def esc(value: Any) -> str:
    """HTML-escape any value as text."""
    return html.escape(str(value), quote=True)


def slug(text: str) -> str:
    """A safe element id fragment from a name."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def figure_html(fig: go.Figure, div_id: str) -> str:
    """One chart as a card holding a plotly div (plotly.js itself is included once in the page head)."""
    height = fig.layout.height or 460
    body = pio.to_html(
        fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG,
        default_height=f"{height}px", default_width="100%",
    )
    return f'<div class="card chart" data-chart="{esc(div_id)}">{body}</div>'


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
    results: Sequence[BacktestResult], colors: Mapping[str, str], sort_by: str | None = "sharpe"
) -> str:
    """The sortable metrics table: strategies and benchmarks, key metrics, best value per column marked."""
    frame = sort_rows(metrics_table(results), sort_by)
    keys = [k for k in KEY_METRICS if k in frame.columns]
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
        '<div class="table-scroll"><table class="metrics sortable" id="metrics-table">'
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
def render_page(
    results: Sequence[BacktestResult],
    *,
    title: str,
    context: Mapping[str, Any] | None = None,
    scenario_results: Mapping[str, Mapping[str, Any]] | None = None,
    simulation_meta: Mapping[str, Any] | None = None,
    sort_by: str | None = "sharpe",
    lead_sections: Sequence[tuple[str, str, str]] = (),
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
    """
    results = list(results)
    meta = dict(simulation_meta or {})
    ctx = {**default_context(results), **{k: v for k, v in (context or {}).items() if v is not None}}
    for key in ("seed", "method", "paths", "years"):
        if key in meta and key not in ctx:
            ctx[key] = meta[key]
    names = [r.name for r in results]
    bench_names = list(charts.benchmark_curves(results).columns) if results else []
    colors = charts.color_map(names, bench_names)

    sections: list[tuple[str, str, str]] = list(lead_sections)  # (id, nav label, html)
    if results:
        sections.append(("summary", "Summary", (
            "<section id=\"summary\"><h2>At a glance</h2>"
            f"<p class=\"lede\">{len(results)} strateg{'y' if len(results) == 1 else 'ies'}"
            f"{' against ' + ', '.join(bench_names) if bench_names else ''}. "
            "Costs are included; benchmarks are bought and held without costs.</p>"
            f"{kpi_cards_html(results)}</section>"
        )))
        sections.append(("metrics", "Metrics", (
            "<section id=\"metrics\"><h2>Metrics</h2>"
            "<p class=\"lede\">Annualised with 252 trading days. Click a column to sort; the best value of each "
            "column is highlighted. Costs and turnover are fractions of the starting capital and equity.</p>"
            f"<div class=\"card\">{metrics_table_html(results, colors, sort_by)}{strategy_list_html(results)}</div>"
            "</section>"
        )))
        chart_specs = [
            ("equity", "Equity", charts.equity_figure(results),
             "Growth of the starting capital after costs; use Linear/Log to switch the scale. Click a legend entry "
             "to hide a curve, double-click it to show that curve alone."),
            ("drawdown", "Drawdowns", charts.drawdown_figure(results), "How far below its previous peak each curve was. Double-click a legend entry to see it alone."),
            ("rolling", "Rolling", charts.rolling_figure(results),
             "Six-month (126 trading days) rolling Sharpe ratio and annualised volatility."),
            ("weights", "Weights", charts.weights_figure(results),
             "Realised end-of-day weights; pick a strategy in the menu. Cash is what is left over."),
            ("monthly", "Monthly", charts.monthly_heatmap_figure(results),
             "Compounded return of each calendar month; pick a strategy or benchmark in the menu."),
            ("costs", "Costs", charts.costs_turnover_figure(results),
             "Total costs as a fraction of the starting capital, and average turnover per year."),
        ]
        for key, label, fig, lede in chart_specs:
            sections.append((key, label, (
                f"<section id=\"{key}\"><h2>{esc(fig.layout.title.text or label)}</h2>"
                f"<p class=\"lede\">{esc(lede)}</p>{figure_html(_untitled(fig), f'chart-{key}')}</section>"
            )))
    if scenario_results:
        sections.append(("scenarios", "Scenarios", _scenario_section(scenario_results, meta)))

    nav = "".join(f'<a href="#{sid}">{esc(label)}</a>' for sid, label, _ in sections)
    notes = ctx.get("notes") or []
    notes_html = ""
    if notes:
        items = "".join(f"<li>{esc(n)}</li>" for n in notes)
        notes_html = f'<section id="notes"><h2>Notes</h2><ul class="notes card">{items}</ul></section>'
    subtitle = _subtitle(results, scenario_results, ctx)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(title)}</title><style>{CSS}</style>"
        f"<script type=\"text/javascript\">{get_plotlyjs()}</script></head><body>"
        f"{header_html(title, subtitle, ctx)}"
        f"<nav class=\"toc\"><div class=\"wrap\">{nav}</div></nav>"
        f"<main class=\"wrap\">{''.join(html_ for _, _, html_ in sections)}{notes_html}</main>"
        f"<footer class=\"wrap\">Generated by theses {esc(ctx.get('version', ''))} on {esc(ctx.get('generated', ''))}. "
        "Past and simulated performance are not forecasts; nothing here is investment advice.</footer>"
        f"<script>{SORT_JS}</script></body></html>\n"
    )


def _untitled(fig: go.Figure) -> go.Figure:
    """The figure without its own title (the section heading says it) and with less top margin."""
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


def _scenario_section(scenario_results: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any]) -> str:
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
            f"{figure_html(_untitled(fig), f'chart-fan-{slug(scenario)}')}</section>"
        )
    fig = charts.terminal_wealth_figure(scenario_results)
    parts.append(
        f"<section id=\"terminal\"><h2>{esc(fig.layout.title.text)}</h2>"
        "<p class=\"lede\">Box: 25–75% of paths, line: median, whiskers: 5–95%.</p>"
        f"{figure_html(_untitled(fig), 'chart-terminal')}</section>"
    )
    return "".join(parts)
