"""The report of ``theses track``: the updated odds, the evidence, what the data can tell, the realised path
inside every scenario's fan, the efficiency shock, the decision before and after, and where the return came from.

Reads the study's result (:class:`theses.studies.track.TrackRun`) only. The folder holds ``index.html``
(self-contained), ``summary.md`` and ``track.json`` (the JSON document of ``theses track --format json``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from theses.reports import charts
from theses.reports.attribution import attribution_section
from theses.reports.figure_store import FigureStore, no_default_template
from theses.reports.folder import atomic_folder, default_report_dir
from theses.reports.html import _untitled, document_html, esc, figure_div, metrics_table_html, slug
from theses.reports.markdown import markdown_table

EVENT_COLUMNS = (("drop", "Fall on the day", "pct"), ("drawdown", "Drawdown after", "pct"),
                 ("trough", "Trough", "text"), ("days_to_recover", "Trading days to recover", "int"),
                 ("recovered", "Recovered", "text"))


def _pct(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{float(value):.{digits}%}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], table_id: str) -> str:
    cells = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" if i else f'<td class="name">{esc(c)}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return (f'<div class="table-scroll"><table class="metrics" id="{esc(table_id)}"><thead><tr>{cells}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


# ------------------------------------------------------------------------------------------- figures
def odds_figure(run: Any) -> go.Figure:
    """Prior and posterior of each scenario, side by side."""
    scenarios = run.scenarios
    fig = go.Figure([
        go.Bar(x=scenarios, y=[run.prior[s] for s in scenarios], name="prior (scenario files)", marker_color="#9ca3af"),
        go.Bar(x=scenarios, y=[run.posterior[s] for s in scenarios], name="posterior (drift and crash evidence)",
               marker_color="#2563eb"),
    ])
    charts.base_layout(fig, title="The essay's odds, before and after the record", height=380, yformat=".0%")
    fig.update_layout(barmode="group", hovermode="x")
    return fig


def event_figure(levels: pd.DataFrame, day: str) -> go.Figure:
    """Each series around the event as a multiple of its close before it (the baskets and SPY drawn thicker)."""
    fig = go.Figure()
    x = charts.iso_dates(levels.index)
    colors = charts.color_map(list(levels.columns))
    for name in levels.columns:
        wide = name in ("compute basket", "NVDA", "hyperscalers", "SPY")
        fig.add_trace(go.Scatter(x=x, y=levels[name].to_numpy(), name=name, mode="lines",
                                 line={"width": 2.4 if wide else 1.2, "color": colors[name]},
                                 visible=True if wide else "legendonly"))
    charts.base_layout(fig, title=f"The efficiency shock of {day}", height=420, yformat=".2f")
    fig.add_vline(x=day, line={"color": "#b91c1c", "width": 1, "dash": "dot"})
    fig.add_hline(y=1.0, line={"color": "#9ca3af", "width": 1, "dash": "dot"})
    fig.update_yaxes(title={"text": "close / close before the shock", "font": {"size": 12}})
    return fig


# ------------------------------------------------------------------------------------------- sections
def _section(sid: str, title: str, lede: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{esc(title)}</h2><p class="lede">{esc(lede)}</p>{body}</section>'


def odds_section(run: Any, store: FigureStore) -> str:
    factors = run.log_bayes_factors()
    rows = [[s, _pct(run.prior[s], 0), _pct(run.posterior[s], 1), f"{factors['drift']['total'][s]:+.2f}",
             f"{factors['volatility']['total'][s]:+.1f}" if factors["volatility"] else "–"] for s in run.scenarios]
    table = _table(["Scenario", "Prior", "Posterior", f"log BF drift+crash vs {run.reference}",
                    f"log BF volatility vs {run.reference} (not counted)"], rows, "odds-table")
    findings = "".join(f"<li>{esc(line)}</li>" for line in run.headline())
    body = (f'<div class="card"><ul class="notes" id="track-headline">{findings}</ul></div>'
            f"{figure_div(store, 'odds', _untitled(odds_figure(run)), 'chart-odds')}<div class=\"card\">{table}</div>")
    return _section("odds", "What the record says about the scenarios",
                    "Bayes' rule from the scenarios' own models; the odds use the drift and crash evidence only.", body)


def evidence_section(run: Any) -> str:
    factors = run.log_bayes_factors()
    tables = []
    for kind, label in (("drift", "Drift and crash evidence"), ("volatility", "Volatility evidence (not counted)")):
        if not factors[kind]:
            continue
        rows = [[part, *(f"{value:+.2f}" for value in values.values())] for part, values in factors[kind].items()]
        tables.append(f"<h3>{esc(label)}</h3>" + _table(["Group", *run.scenarios], rows, f"bf-{kind}"))
    method = "".join(f"<li>{esc(line)}</li>" for line in factors["method"])
    body = f'<div class="card">{"".join(tables)}<h3>Method and assumptions</h3><ul class="notes">{method}</ul></div>'
    return _section("evidence", "Log Bayes factors by group",
                    f"Natural logs, against {run.reference} (the scenario with the highest prior); each group "
                    "alone, and all groups jointly (total).", body)


def confusion_section(run: Any) -> str:
    c = run.confusion
    rows = [[truth, *(str(c.counts[truth][top]) for top in run.scenarios), _pct(c.mean_posterior[truth], 0)]
            for truth in run.scenarios]
    table = _table(["True scenario", *(f"top: {s}" for s in run.scenarios), "mean posterior of the truth"], rows,
                   "confusion-table")
    return _section("confusion", "How much the data can tell",
                    f"The same method on {c.paths} paths per scenario of the same {c.days} trading days, simulated "
                    f"from the calibration: how often each scenario comes out on top. The top scenario is the true "
                    f"one {c.accuracy:.0%} of the time.", f'<div class="card">{table}</div>')


def fan_sections(run: Any, store: FigureStore) -> list[tuple[str, str, str]]:
    realised = run.realised_paths()
    out = []
    for scenario, batches in run.fans.results.items():
        fig = charts.fan_figure(scenario, batches, reference=batches.get("SPY"), realised=realised)
        sid = f"fan-{slug(scenario)}"
        out.append((sid, scenario, _section(
            sid, f"Scenario {scenario}: the paths from {run.start:%Y-%m-%d} and what happened",
            "Bands hold 50% and 90% of the simulated paths, the coloured line is the median, the black line the "
            "realised path (to the as-of date); SPY's median and 25-75% band stay drawn for reference. Pick a book "
            "or a ticker group in the menu.",
            figure_div(store, f"fan/{slug(scenario)}", _untitled(fig), f"chart-fan-{slug(scenario)}"))))
    return out


def percentile_section(run: Any) -> str:
    names = list(next(iter(run.percentiles.values()), {}))
    rows = [[name, *(f"{run.percentiles[s].get(name, float('nan')):.0f}" for s in run.scenarios)] for name in names]
    table = _table(["Book or group", *run.scenarios], rows, "percentile-table")
    return _section("percentiles", f"Where the realised value sits on {run.as_of:%Y-%m-%d}",
                    "Percentile of each book's and group's realised value among the scenario's paths on the same "
                    "date (50: the median path; near 0 or 100: outside what the scenario expected).",
                    f'<div class="card">{table}</div>')


def event_section(run: Any, store: FigureStore) -> str:
    study = run.event_study
    if not study.responses:
        return ""
    rows = []
    for name, response in study.responses.items():
        cells = []
        for key, _, kind in EVENT_COLUMNS:
            value = response.get(key)
            cells.append(_pct(value) if kind == "pct" else "not yet" if value is None else str(value))
        rows.append([name, *cells])
    table = _table(["Series", *(label for _, label, _ in EVENT_COLUMNS)], rows, "event-table")
    fig = event_figure(study.levels, study.day)
    return _section("event", f"The efficiency shock of {study.day}",
                    "The fall on the day (close to close), the lowest close before the series closed back at its "
                    "close before the shock, and the trading days that took. Baskets: equal weight, bought the day "
                    "before and held.",
                    f'<div class="card">{table}</div>{figure_div(store, "event", _untitled(fig), "chart-event")}')


def decision_section(run: Any) -> str:
    if run.decision_before is None and run.decision_after is None:
        return ""
    items = []
    for label, decision, probabilities in (("With the priors", run.decision_before, run.prior),
                                           ("With the posterior", run.decision_after, run.posterior)):
        if decision is None:
            continue
        odds = ", ".join(f"{s} {p:.0%}" for s, p in probabilities.items())
        items.append(f"<li><b>{esc(label)}</b> ({esc(odds)}): {esc(getattr(decision, 'verdict', decision))}</li>")
    if run.decision_before is not None and run.decision_after is not None:
        items.append(f"<li><b>{esc(run.decision_change())}</b></li>")
    return _section("decision", f"The decision from {run.as_of:%Y-%m-%d}, before and after",
                    "The decision study run forward from the as-of date on the same paths, once with the scenario "
                    "files' priors and once with the posterior.",
                    f'<div class="card"><ul class="notes" id="decision-verdicts">{"".join(items)}</ul></div>')


def track_page(run: Any, title: str) -> str:
    """The whole ``index.html`` (figures built without a template, stored once, drawn by the page's loader)."""
    with no_default_template():
        return _page(run, title)


def _page(run: Any, title: str) -> str:
    store = FigureStore()
    results = run.realised.results
    colors = charts.color_map([r.name for r in results])
    sections = [("odds", "Odds", odds_section(run, store)), ("evidence", "Evidence", evidence_section(run)),
                ("confusion", "What data can tell", confusion_section(run)), *fan_sections(run, store),
                ("percentiles", "Percentiles", percentile_section(run))]

    def embed(fig: go.Figure, div_id: str) -> str:
        return figure_div(store, "attribution", fig, div_id)

    for sid, label, html_ in (("event", "Efficiency shock", event_section(run, store)),
                              ("decision", "Decision", decision_section(run)),
                              ("attribution", "Attribution", attribution_section(results, embed))):
        if html_:
            sections.append((sid, label, html_))
    sections.append(("realised", "Realised", _section(
        "realised", f"The books since the essay ({run.start:%Y-%m-%d} to {run.as_of:%Y-%m-%d})",
        "Each book and group basket on the real prices, with its look-back; costs included.",
        f'<div class="card">{metrics_table_html(results, colors)}</div>')))
    context = {**_context(run), "generated": pd.Timestamp.now().strftime("%Y-%m-%d %H:%M")}
    subtitle = f"{len(run.scenarios)} scenarios · {run.start:%Y-%m-%d} to {run.as_of:%Y-%m-%d}"
    return document_html(title, subtitle, context, sections, store)


def _context(run: Any) -> dict[str, Any]:
    from theses.reports.html import default_context

    return {**default_context(run.realised.results), **{k: v for k, v in run.header().items() if v is not None}}


def track_markdown(run: Any, title: str) -> str:
    """``summary.md``: the findings, the odds and the percentiles."""
    factors = run.log_bayes_factors()
    from theses.reports.markdown import md_text

    out = [f"# {md_text(title)}", "", *(f"- {md_text(line)}" for line in run.headline()), "", "## Odds", ""]
    out.append(markdown_table(["Scenario", "Prior", "Posterior", f"log BF drift vs {run.reference}"],
                              [[s, _pct(run.prior[s], 0), _pct(run.posterior[s]), f"{factors['drift']['total'][s]:+.2f}"]
                               for s in run.scenarios]))
    out += ["", "## Realised percentile", ""]
    names = list(next(iter(run.percentiles.values()), {}))
    out.append(markdown_table(["Book or group", *run.scenarios],
                              [[n, *(f"{run.percentiles[s].get(n, float('nan')):.0f}" for s in run.scenarios)]
                               for n in names]))
    out += ["", "## Method", "", *(f"- {md_text(line)}" for line in factors["method"]), "", "## Notes", "",
            *(f"- {md_text(note)}" for note in run.header()["notes"]), ""]
    return "\n".join(out)


def write_track_report(run: Any, out_dir: str | os.PathLike[str] | None = None, *,
                       title: str = "Tracking the essay") -> Path:
    """Write the track report folder atomically and return its absolute path."""
    from theses.util import jsonable

    dest = Path(out_dir) if out_dir is not None else default_report_dir()
    page = track_page(run, title)
    summary = track_markdown(run, title)
    document = json.dumps(jsonable(run.to_dict()), indent=2, allow_nan=False)
    with atomic_folder(dest) as tmp:
        (tmp / "index.html").write_text(page, encoding="utf-8")
        (tmp / "summary.md").write_text(summary, encoding="utf-8")
        (tmp / "track.json").write_text(document + "\n", encoding="utf-8")
    return dest.expanduser().absolute()

