"""The decision section of a scenario report: verdict, scoreboard heatmap, certainty equivalents, regret,
tornado of break-even beliefs, the best mix; plus what every scenario report shares (one row per distinct book).

Reads a :class:`theses.studies.decide.Decision` (results only) and returns plotly figures and HTML/Markdown
fragments; :func:`write_decision_report` writes the whole report folder.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from theses.reports import charts
from theses.reports.tables import format_metric

BENCHMARK = "SPY"
HEATMAP_METRICS: tuple[tuple[str, str, bool], ...] = (
    # (scoreboard column, label, higher is better)
    ("cagr_p50", "Median CAGR", True), ("certainty_equivalent", "Certainty equivalent", True),
    ("prob_loss", "P(loss)", False), ("prob_beat_benchmark", "P(beat SPY on the same path)", True),
    ("cvar_5", "CVaR 5% of terminal return", True), ("median_max_drawdown", "Median max drawdown", True),
    ("ruin_probability", "P(ruin)", False), ("rank", "Rank by certainty equivalent", False),
)
GREEN_HIGH = [[0.0, "#b91c1c"], [0.5, "#f9fafb"], [1.0, "#15803d"]]
GREEN_LOW = [[0.0, "#15803d"], [0.5, "#f9fafb"], [1.0, "#b91c1c"]]


# ------------------------------------------------------------------------------------ distinct books
def distinct_labels(scenario_results: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``{book: label}`` for books that differ somewhere; an identical later book is folded into the first,
    whose label names it: ``{"index_beta": "index_beta (= SPY)"}`` and no ``SPY`` entry."""
    from theses.engine.decision import identical_rows

    names = list(dict.fromkeys(n for batches in scenario_results.values() for n in batches))
    if not names:
        return {}
    scenarios = [s for s, batches in scenario_results.items() if all(n in batches for n in names)]
    rows = [np.concatenate([np.concatenate([np.asarray(scenario_results[s][n].terminal_wealth, dtype=float),
                                            np.asarray(getattr(scenario_results[s][n], "max_drawdown", []), dtype=float)])
                            for s in scenarios]) for n in names]
    sizes = {r.size for r in rows}
    first = identical_rows(np.array(rows)) if len(sizes) == 1 and scenarios else np.arange(len(names))
    labels = {}
    for i, name in enumerate(names):
        if first[i] == i:
            same = [names[j] for j in range(len(names)) if first[j] == i and j != i]
            labels[name] = f"{name} (= {', '.join(same)})" if same else name
    return labels


def relabel(by_book: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """The entries of the distinct books, keyed by their labels."""
    return {labels[n]: value for n, value in by_book.items() if n in labels}


# ------------------------------------------------------------------------------------------ figures
def _order(decision: Any) -> list[str]:
    return decision.ranking


def _cell_text(key: str, value: float) -> str:
    if key == "rank":
        return f"{value:.0f}"
    if key == "ruin_probability":
        return f"{value:.2%}"
    return format_metric("cagr" if key == "certainty_equivalent" else key, value)


def scoreboard_heatmap(decision: Any) -> go.Figure:
    """Books x (scenarios + blend) heatmap; a menu picks the metric (green is good for each metric)."""
    board = decision.scoreboard
    columns = [*decision.run.results, "blend"]
    books = _order(decision)
    fig = go.Figure()
    for i, (key, label, higher) in enumerate(HEATMAP_METRICS):
        z = np.array([[float(board.loc[(c, b), key]) for c in columns] for b in books])
        text = [[_cell_text(key, v) for v in row] for row in z]
        finite = z[np.isfinite(z)]
        mid = float(np.median(finite)) if key in ("rank", "ruin_probability", "prob_loss", "prob_beat_benchmark") \
            and finite.size else 0.0
        fig.add_trace(go.Heatmap(
            z=np.clip(z, -1.0, None) if key != "rank" else z, x=columns, y=[decision.label(b) for b in books],
            text=text, texttemplate="%{text}", colorscale=GREEN_HIGH if higher else GREEN_LOW, zmid=mid,
            showscale=False, visible=i == 0, name=label, hovertemplate=f"%{{y}}, %{{x}}<br>{label}: %{{text}}<extra></extra>",
        ))
    charts.base_layout(fig, title="Scoreboard", height=max(380, 34 * len(books) + 140))
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(autorange="reversed")
    charts.add_dropdown(fig, [label for _, label, _ in HEATMAP_METRICS], [1] * len(HEATMAP_METRICS))
    return fig


def certainty_figure(decision: Any) -> go.Figure:
    """Blended certainty equivalents per book for each risk aversion; ruined books (-100%) are labelled."""
    table = decision.certainty
    books = _order(decision)
    labels = [decision.label(b) for b in books]
    keys = [c for c in table.columns if c.startswith("gamma_")]
    fig = go.Figure()
    for key, color in zip(keys, ("#2563eb", "#f59e0b", "#7c3aed", "#059669"), strict=False):
        fig.add_trace(go.Bar(x=labels, y=table.loc[books, key].to_numpy(dtype=float), name=f"γ = {key[6:]}",
                             marker_color=color, hovertemplate="%{x}<br>CE %{y:.1%}/yr<extra>" + f"γ = {key[6:]}</extra>"))
    charts.base_layout(fig, title="Certainty equivalent by risk aversion", height=480, yformat=".0%")
    values = table.loc[books, keys].to_numpy(dtype=float)
    alive = values[values > -1.0]
    low, high = (float(alive.min()), float(alive.max())) if alive.size else (-1.0, 0.1)
    pad = 0.1 * (high - low or 0.1)
    fig.update_yaxes(range=[low - pad, high + pad])
    for label, book in zip(labels, books, strict=True):  # -100% bars run off the axis: say why
        ruin = float(table.loc[book, "ruin_probability"])
        if ruin > 0:
            fig.add_annotation(x=label, y=low - pad, yanchor="bottom", showarrow=False, font={"size": 11},
                               text=f"-100% for γ ≥ 1<br>wealth 0 on {ruin:.2%} of paths", bgcolor="#fef2f2")
    fig.update_layout(barmode="group", hovermode="closest")
    fig.update_xaxes(tickangle=-30)
    return fig


def regret_figure(decision: Any) -> go.Figure:
    """Blended expected regret per book (bars) and the worst scenario's (markers), smallest first."""
    table = decision.regret.sort_values("worst")
    labels = [decision.label(b) for b in table.index]
    fig = go.Figure([
        go.Bar(x=labels, y=table["blend"], name="expected regret, blend", marker_color="#60a5fa",
               hovertemplate="%{x}<br>%{y:.1%}/yr<extra>blend</extra>"),
        go.Scatter(x=labels, y=table["worst"], mode="markers", name="worst scenario", text=table["worst_scenario"],
                   marker={"color": "#b91c1c", "size": 10, "symbol": "diamond"},
                   hovertemplate="%{x}<br>%{y:.1%}/yr in %{text}<extra>worst scenario</extra>"),
    ])
    charts.base_layout(fig, title="Regret against the best book on the same path", height=440, yformat=".0%")
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(tickangle=-30)
    return fig


def tornado_figure(decision: Any) -> go.Figure:
    """For each scenario, the CE gap of the top book over its rival as that scenario's probability goes from 0
    to 1 (the others rescaled in proportion); bars cross zero where the ranking flips (the break-even belief)."""
    frame = decision.break_even.copy()
    frame["width"] = (frame["gap_at_one"] - frame["gap_at_zero"]).abs()
    frame = frame.sort_values("width")
    base = frame["gap_at_prior"].to_numpy(dtype=float)
    fig = go.Figure()
    for key, label, color in (("gap_at_zero", "probability 0", "#93c5fd"), ("gap_at_one", "probability 1", "#1d4ed8")):
        fig.add_trace(go.Bar(
            y=list(frame.index), x=frame[key].to_numpy(dtype=float) - base, base=base, orientation="h", name=label,
            marker_color=color, customdata=np.stack([frame["prior"], frame["break_even"]], axis=1),
            hovertemplate="%{y}<br>CE gap %{x:.2%} (from the prior's)<br>prior %{customdata[0]:.2f}, "
                          "break-even %{customdata[1]:.2f}<extra>" + label + "</extra>",
        ))
    for scenario, row in frame.iterrows():
        text = "never in [0, 1]" if math.isnan(row["break_even"]) else f"flips at {row['break_even']:.2f}"
        fig.add_annotation(y=scenario, x=max(row["gap_at_zero"], row["gap_at_one"]), text=text, showarrow=False,
                           xanchor="left", xshift=6, font={"size": 11, "color": "#374151"})
    fig.add_vline(x=0.0, line={"color": "#b91c1c", "width": 1, "dash": "dot"})
    charts.base_layout(fig, title=f"Break-even beliefs: {decision.top} minus {decision.rival}", height=120 + 60 * len(frame))
    fig.update_layout(barmode="overlay", hovermode="closest")
    fig.update_xaxes(tickformat=".2%", title={"text": "certainty-equivalent gap, per year", "font": {"size": 12}})
    return fig


def mix_figure(decision: Any) -> go.Figure:
    """The best mix's weights."""
    weights = decision.mix.weights
    fig = go.Figure(go.Bar(x=list(weights.values()), y=[decision.label(b) for b in weights], orientation="h",
                           marker_color="#059669", text=[f"{w:.1%}" for w in weights.values()], textposition="auto",
                           hovertemplate="%{y}: %{x:.1%}<extra></extra>"))
    charts.base_layout(fig, title="Best mix of books (separate sleeves)", height=140 + 40 * len(weights), yformat=None)
    fig.update_layout(hovermode="closest", showlegend=False)
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(autorange="reversed")
    return fig


# ----------------------------------------------------------------------------------------- fragments
def _table_html(header: Sequence[str], rows: Sequence[Sequence[str]], table_id: str) -> str:
    from theses.reports.html import esc

    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<div class="table-scroll"><table class="metrics" id="{esc(table_id)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _pct(value: Any) -> str:
    return format_metric("cagr", value)


def _belief(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


def mix_rows(decision: Any) -> list[list[str]]:
    """Rows of the mix-against-best-book table: CE, median CAGR, CVaR 5%, P(loss), P(ruin) per sample."""
    mix = decision.mix
    rows = []
    for sample in ("in_sample", "out_of_sample"):
        figures = getattr(mix, sample)
        if figures is None:
            continue
        seed = mix.seeds[sample]
        for who, name in (("mix", "mix"), ("best_book", mix.best_book)):
            f = figures[who]
            rows.append([f"{name}, {sample.replace('_', ' ')} (seed {seed})", _pct(f["certainty_equivalent"]),
                         _pct(f["cagr_p50"]), _pct(f["cvar_5"]), _pct(f["prob_loss"]), f"{f['ruin_probability']:.2%}"])
    return rows


MIX_HEADER = ("", "CE /yr", "median CAGR", "CVaR 5%", "P(loss)", "P(ruin)")
BREAK_EVEN_HEADER = ("scenario", "prior", "break-even", "what changes", "top book first for P in")


def break_even_rows(decision: Any) -> list[list[str]]:
    return [[s, _belief(r["prior"]), _belief(r["break_even"]), str(r["direction"]),
             f"{_belief(r['top_holds_from'])}–{_belief(r['top_holds_to'])}"] for s, r in decision.break_even.iterrows()]


def _section(sid: str, heading: str, lede: str, body: str) -> str:
    from theses.reports.html import esc

    return f'<section id="{sid}"><h2>{esc(heading)}</h2><p class="lede">{esc(lede)}</p>{body}</section>'


def decision_sections(decision: Any) -> list[tuple[str, str, str]]:
    """``(id, nav label, html)`` of the decision's sections, in reading order."""
    from theses.reports.html import _untitled, esc, figure_html

    d = decision
    tops = "; ".join(f"γ = {k[6:]}: {b}" for k, b in d.tops.items())
    switches = "; ".join(f"{s['from']} → {s['to']} at γ = {s['gamma']:.2f}" for s in d.switches) or "none for γ in [0, 10]"
    mix = d.mix
    return [
        ("decision", "Decision", _section(
            "decision", "Which book to hold",
            f"Every book on the same simulated paths; certainty equivalents under CRRA risk aversion γ = {d.gamma:g}. "
            "Pick a metric in the menu; green is better.",
            f'<div class="card verdict" id="verdict" style="border-left:5px solid #15803d;font-size:15.5px;'
            f'margin-bottom:18px"><p style="margin:0">{esc(d.verdict)}</p></div>'
            + figure_html(_untitled(scoreboard_heatmap(d)), "chart-scoreboard"))),
        ("certainty", "Certainty equivalents", _section(
            "certainty", "Certainty equivalent by risk aversion",
            f"The constant annual return worth as much as the book's blended outcomes. Top book: {tops}. "
            f"Changes: {switches}. A book whose wealth reaches zero on any path is at -100% for γ ≥ 1 "
            "(the utility of zero wealth is -infinity); its ruin probability is written beside the bars.",
            figure_html(_untitled(certainty_figure(d)), "chart-certainty"))),
        ("regret", "Regret", _section(
            "regret", "Regret",
            f"On each path, the best book's CAGR minus the book's. Minimax regret: {d.label(d.minimax_regret)}; "
            f"never bad (best worst-scenario median CAGR): {d.label(d.never_bad)}.",
            figure_html(_untitled(regret_figure(d)), "chart-regret"))),
        ("beliefs", "Break-even", _section(
            "beliefs", "Break-even beliefs",
            f"How {d.top}'s lead over {d.rival} changes as one scenario's probability moves from 0 to 1, the others "
            "rescaled in proportion. Where a bar crosses the dotted line the ranking flips.",
            figure_html(_untitled(tornado_figure(d)), "chart-tornado")
            + f'<div class="card">{_table_html(BREAK_EVEN_HEADER, break_even_rows(d), "break-even-table")}</div>')),
        ("mix", "Best mix", _section(
            "mix", "The best mix of books",
            f"Weights that maximise the blended certainty equivalent (γ = {d.gamma:g}, each at most "
            f"{mix.max_weight:g}), optimised on seed {mix.seeds['in_sample']}"
            + (f" and reported again on the fresh seed {mix.seeds['out_of_sample']}" if mix.out_of_sample else
               " (in sample only: this run cannot be repeated on a fresh seed)")
            + ". Each book is a separate sleeve from the start, so the mix's terminal wealth on a path is the "
            "weighted sum of the books'.",
            figure_html(_untitled(mix_figure(d)), "chart-mix")
            + f'<div class="card">{_table_html(MIX_HEADER, mix_rows(d), "mix-table")}</div>')),
    ]


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    from theses.reports.markdown import markdown_table

    return [markdown_table(list(header), [list(r) for r in rows]), ""]


def decision_markdown(decision: Any) -> list[str]:
    """The decision as Markdown lines: verdict, blended scoreboard, break-even beliefs, the mix."""
    d = decision
    blend = d.scoreboard.loc["blend"]
    keys = ("certainty_equivalent", "cagr_p50", "prob_loss", "prob_beat_benchmark", "cvar_5", "median_max_drawdown",
            "ruin_probability")
    rows = [[str(int(blend.loc[b, "rank"])), d.label(b), *(_pct(blend.loc[b, k]) for k in keys[:-1]),
             f"{blend.loc[b, 'ruin_probability']:.2%}"] for b in d.ranking]
    header = ["rank", "book", f"CE γ={d.gamma:g}", "median CAGR", "P(loss)", "P(>SPY)", "CVaR 5%", "median max DD",
              "P(ruin)"]
    from theses.reports.markdown import md_text

    out = ["## Decision", "", md_text(d.verdict), "", "### Scoreboard (blend)", ""] + _md_table(header, rows)
    out += ["### Break-even beliefs", ""] + _md_table(BREAK_EVEN_HEADER, break_even_rows(d))
    weights = ", ".join(f"{b} {w:.1%}" for b, w in d.mix.weights.items())
    out += ["### Best mix", "", f"Weights (separate sleeves): {md_text(weights)}.", ""] + _md_table(MIX_HEADER, mix_rows(d))
    out += ["The full decision is in `decision.json`; the scoreboard in `scoreboard.csv`.", ""]
    return out


def write_decision_report(
    decision: Any, out_dir: str | os.PathLike[str] | None = None, *, title: str = "Which book to hold",
    context: Mapping[str, Any] | None = None, progress: Any = None,
) -> Path:
    """A scenario report that leads with the decision; adds ``decision.json`` and ``scoreboard.csv``."""
    from theses.reports import Lead, write_report
    from theses.util import csv_safe, jsonable

    run = decision.run
    files = {
        "decision.json": json.dumps(jsonable(decision.to_dict()), indent=2, allow_nan=False) + "\n",
        "scoreboard.csv": csv_safe(decision.scoreboard).to_csv(float_format="%.17g"),
    }
    lead = Lead(decision_sections(decision), decision_markdown(decision), files)
    return write_report([], out_dir, title=title, context=context if context is not None else run.header(),
                        simulation=run.results, simulation_meta=run.report_meta(), lead=lead, progress=progress)
