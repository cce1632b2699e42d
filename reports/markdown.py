"""``summary.md``: the report in plain Markdown (header facts, metrics table, scenario table, notes)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from theses.engine.result import BacktestResult
from theses.reports.charts import batch_summary
from theses.reports.tables import KEY_METRICS, LABELS, format_metric, metrics_table

FACT_LABELS = {
    "data_source": "Data source", "window": "Window", "costs": "Costs", "execution": "Execution",
    "rebalance": "Rebalancing", "seed": "Seed", "method": "Method", "paths": "Paths", "years": "Years",
    "version": "Version", "generated": "Generated",
}


# Characters that start inline markup (emphasis, code, links, images, raw HTML, entities, strike-through,
# a heading's closing #, table cells). Text is placed inline only (never at the start of a line), so the
# line-start markers (- + 1. >) need no escape and dates and numbers stay readable. An underscore between
# two letters or digits cannot open or close emphasis (CommonMark), so names like essay_book stay as written.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|~#!&]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")


def md_text(value: Any) -> str:
    """Text shown as written in Markdown: inline markup characters backslash-escaped, line breaks as spaces.

    CommonMark lets any ASCII punctuation be escaped with a backslash, so the rendered text is exactly the
    value: a name with ``**``, ``<script>`` or a newline followed by ``# heading`` is shown, never obeyed.
    """
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(value).splitlines()))


def md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell (markup and pipes escaped, no line breaks)."""
    return md_text(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], align_first_left: bool = True) -> str:
    """A GitHub-flavoured Markdown table; numeric columns right-aligned."""
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join(":---" if i == 0 and align_first_left else "---:" for i in range(len(header))) + "|")
    lines.extend("| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def render_markdown(
    results: Sequence[BacktestResult],
    *,
    title: str,
    context: Mapping[str, Any],
    scenario_results: Mapping[str, Mapping[str, Any]] | None = None,
    simulation_meta: Mapping[str, Any] | None = None,
    sort_by: str | None = "sharpe",
    lead_markdown: Sequence[str] = (),
) -> str:
    """The text of ``summary.md`` (``context`` as completed by the HTML page's defaults); ``lead_markdown``
    lines (e.g. the decision) come right after the header facts."""
    from theses.reports.html import sort_rows

    out = [f"# {md_text(title)}", ""]
    for key, label in FACT_LABELS.items():
        if context.get(key) not in (None, ""):
            out.append(f"- **{label}:** {md_text(context[key])}")
    out.append("")
    out += list(lead_markdown)
    if results:
        frame = sort_rows(metrics_table(results), sort_by)
        keys = [k for k in KEY_METRICS if k in frame.columns]
        rows = []
        for name, row in frame.iterrows():
            label = f"{name} (benchmark)" if row.get("kind") == "benchmark" else str(name)
            rows.append([label, *(format_metric(k, row.get(k)) for k in keys)])
        out += ["## Metrics", "", markdown_table(["Strategy", *(LABELS.get(k, k) for k in keys)], rows), ""]
        out.append(
            "Annualised with 252 trading days. Turnover / yr is one-way (half of buys plus sells) over equity, "
            "per year, excluding the initial entry (`initial_entry` in `metrics.csv`); cost drag is fees + "
            "slippage + borrow in bps a year of average equity (`fee_drag_bps`, `slippage_drag_bps`, "
            "`borrow_drag_bps` each). Full precision in `metrics.csv` / `metrics.json`; equity curves in "
            "`equity.csv`."
        )
        out.append("")
    if scenario_results:
        out += _scenario_markdown(scenario_results, dict(simulation_meta or {}))
    notes = context.get("notes") or []
    if notes:
        out += ["## Notes", ""] + [f"- {md_text(note)}" for note in notes] + [""]
    out.append("Open `index.html` in a browser for the charts (it works offline).")
    return "\n".join(out) + "\n"


def _scenario_markdown(scenario_results: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Any]) -> list[str]:
    from theses.reports.decision import distinct_labels, relabel

    labels = distinct_labels(scenario_results)  # books identical on every path are listed once
    blend = meta.get("blend")
    meta = {**meta, "blend": relabel(blend, labels) if isinstance(blend, Mapping) else blend}
    scenario_results = {s: relabel(batches, labels) for s, batches in scenario_results.items()}
    scenarios = list(scenario_results)
    strategies: dict[str, None] = {}
    for batches in scenario_results.values():
        strategies.update(dict.fromkeys(batches))
    blend = meta.get("blend")
    blend_rows = blend if isinstance(blend, Mapping) and all(isinstance(v, Mapping) for v in blend.values()) else {}
    columns = scenarios + (["Blend"] if blend_rows else [])
    rows = []
    for name in strategies:
        row = [name]
        for column in columns:
            if column == "Blend":
                summary = dict(blend_rows.get(name, {}))
            else:
                batch = scenario_results[column].get(name)
                summary = batch_summary(batch) if batch is not None else {}
            median = format_metric("cagr", summary.get("cagr_p50"))
            loss = format_metric("prob_loss", summary.get("prob_loss"))
            row.append(f"{median} (P(loss) {loss})")
        rows.append(row)
    out = ["## Scenarios", ""]
    facts = [f"{k} {meta[k]}" for k in ("method", "paths", "years", "seed") if k in meta]
    probabilities = meta.get("probabilities")
    if isinstance(probabilities, Mapping) and probabilities:
        facts.append("probabilities " + ", ".join(f"{k} {float(v):.0%}" for k, v in probabilities.items()))
    if facts:
        out += ["Simulation: " + md_text("; ".join(facts)) + ".", ""]
    out += [markdown_table(["Strategy", *columns], rows), ""]
    out += ["Each cell: median CAGR across paths, and the probability of ending below the starting capital. "
            "Percentiles of every scenario and strategy are in `scenarios.csv`.", ""]
    return out
