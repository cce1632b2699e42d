"""The scenario report that leads with the decision (reports.decision) and the scenario-section fixes."""

from __future__ import annotations

import json
import re

import pytest

from tests.unit.report_factory import synthetic_run
from theses.cli.main import main
from theses.reports import write_decision_report, write_simulation_report
from theses.reports.markdown import md_text
from theses.studies.decide import analyse

DECISION_CHARTS = ("chart-scoreboard", "chart-certainty", "chart-regret", "chart-tornado", "chart-mix")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    decision = analyse(synthetic_run(ruin_paths=3))
    folder = write_decision_report(decision, tmp_path_factory.mktemp("decision") / "report")
    return decision, folder, (folder / "index.html").read_text(encoding="utf-8")


def test_the_report_leads_with_the_decision(report):
    decision, folder, page = report
    for chart in DECISION_CHARTS:
        assert f'id="{chart}"' in page, chart
    nav = re.search(r'<nav class="toc">(.*?)</nav>', page).group(1)
    labels = re.findall(r'href="#([^"]+)"', nav)
    assert labels[:5] == ["decision", "certainty", "regret", "beliefs", "mix"] and labels[5] == "scenarios"
    assert page.index('id="verdict"') < page.index('id="scenario-table"')
    assert decision.verdict.replace("'", "&#x27;") in page
    summary = (folder / "summary.md").read_text()
    assert summary.index("## Decision") < summary.index("## Scenarios")
    assert md_text(decision.verdict) in summary  # shown as written: Markdown characters escaped
    assert json.loads((folder / "decision.json").read_text()) == json.loads(json.dumps(decision.to_dict()))
    assert "certainty_equivalent" in (folder / "scoreboard.csv").read_text().splitlines()[0]


def test_identical_books_are_listed_once_beside_spy(report):
    _, _, page = report
    table = page[page.index('id="scenario-table"'):]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<tr data-name="([^"]+)"', table)
    assert rows == ["alpha", "beta", "index_beta (= SPY)", "RSP"]


def test_the_matrix_shows_every_console_metric(report):
    _, _, page = report
    table = page[page.index('id="scenario-table"'):]
    cell = table[table.index("<td style"): table.index("</td>", table.index("<td style"))]
    for text in ("CAGR 5–95%", "wealth ", "P(loss)", "P(&gt;SPY)", "CVaR 5%", "median max DD"):
        assert text in cell, text


def test_fan_charts_overlay_spys_median_band(report):
    _, _, page = report
    assert 'data-figure="fan/jetsons"' in page  # the page's loader draws it from the figure store
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S).group(1)
    fan = json.loads(data.replace("<\\/", "</"))["figures"]["fan/jetsons"]
    names = [trace.get("name") for trace in fan["data"]]
    assert "SPY: median" in names and "SPY: 25-75%" in names
    # the overlay stays visible whichever strategy the menu shows
    buttons = fan["layout"]["updatemenus"][0]["buttons"]
    assert buttons and all(b["args"][0]["visible"][-3:] == [True, True, True] for b in buttons)


def test_scenarios_follow_the_runs_order(report):
    decision, _, page = report
    fans = re.findall(r'id="chart-fan-([a-z-]+)"', page)
    assert fans == [s.replace("_", "-") for s in decision.run.results]


def test_a_plain_scenario_report_also_lists_identical_books_once(tmp_path):
    run = synthetic_run()
    folder = write_simulation_report(run.results, run.report_meta(), tmp_path / "plain", context=run.header())
    page = (folder / "index.html").read_text()
    assert 'data-name="index_beta (= SPY)"' in page and 'data-name="SPY"' not in page
    assert "## Decision" not in (folder / "summary.md").read_text()


def test_simulate_out_and_demo_lead_with_the_decision_without_a_history_copy(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    argv = ["--scenario", "jetsons,damp_squib", "--paths", "32", "--years", "0.5"]
    assert main(["simulate", "essay_book", "bubble_watch", *argv, "--out", str(tmp_path / "sim")]) == 0
    page = (tmp_path / "sim" / "index.html").read_text()
    assert 'id="verdict"' in page and 'data-name="index_beta (= SPY)"' not in page  # index_beta not run here
    assert main(["demo", "--paths", "24", "--years", "0.5", "--out", str(tmp_path / "demo")]) == 0
    capsys.readouterr()
    scenarios = (tmp_path / "demo" / "scenarios" / "index.html").read_text()
    assert 'id="verdict"' in scenarios and 'id="metrics-table"' not in scenarios  # no history report inside
    order = re.findall(r'id="chart-fan-([a-z0-9-]+)"', scenarios)
    assert order == ["damp-squib", "typical-cycle", "jetsons", "take-off", "bubble-2027"]
    assert scenarios.count('data-name="index_beta (= SPY)"') == 1 and 'data-name="SPY"' not in scenarios
