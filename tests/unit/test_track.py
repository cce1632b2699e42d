"""The tracking study end to end on synthetic prices and scenario files, its JSON, its report and its CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from tests.unit.track_factory import write_prices, write_scenarios
from theses.cli.main import main
from theses.strategies import ListedEqualWeight, StaticBook, Strategy, TrendFilter
from theses.studies.errors import StudyError
from theses.studies.track import track

JSON_KEYS = ["calibration_end", "start", "as_of", "prior", "posterior", "log_bayes_factors", "confusion",
             "realised_percentile", "event_study", "decision_before", "decision_after", "notes"]


def books() -> list[Strategy]:
    trend = TrendFilter(basket=("NVDA", "AVGO"), window=60, on=ListedEqualWeight(("NVDA", "AVGO")),
                        off=StaticBook({"SPY": 1.0}))
    return [Strategy(name="chips_trend", description="chips while trending", rebalance="monthly", benchmark="SPY",
                     params=None, rule=trend),
            Strategy(name="barbell", description="half chips, half index", rebalance="monthly", benchmark="SPY",
                     params=None, rule=StaticBook({"NVDA": 0.25, "AVGO": 0.25, "SPY": 0.5}),
                     sleeves={"chips": ("NVDA", "AVGO"), "index": ("SPY",)})]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("track")
    prices = write_prices(root / "prices")
    scenarios = write_scenarios(root / "scenarios")
    run = track(books(), scenarios=scenarios, paths=60, confusion_paths=40, years=1.0, seed=3, source="csv",
                data_dir=str(prices), decide=False)
    return {"prices": prices, "scenarios": scenarios, "run": run, "root": root}


def test_calibration_stops_before_the_essay_and_paths_start_on_its_date(setup):
    run = setup["run"]
    assert run.calibration.end == pd.Timestamp("2024-11-29")
    assert run.start == pd.Timestamp("2024-12-02") and run.fans.index[0] == run.start
    assert run.as_of == pd.Timestamp("2025-04-30")
    from theses.data.generators import trading_days

    assert run.fans.index.equals(trading_days("2024-12-02", "2025-12-01"))  # one calendar year of NYSE sessions


def test_the_odds_are_bayes_rule_on_the_drift_evidence(setup):
    run = setup["run"]
    prior = np.array(list(run.prior.values()))
    np.testing.assert_allclose(prior, 1 / 3)  # the files state no prior: equal shares
    drift = run.evidence.drift["total"]
    expected = prior * np.exp(drift - drift.max())
    np.testing.assert_allclose(list(run.posterior.values()), expected / expected.sum())
    factors = run.log_bayes_factors()
    assert factors["reference"] == "slow"  # equal priors: the first scenario is the reference
    assert set(factors["drift"]) == {"total", "compute", "index", "broad_market"}
    assert factors["drift"]["total"]["slow"] == 0.0
    assert factors["volatility"]["total"]["fast"] != 0.0  # fast has a 1.2 volatility factor


def test_realised_paths_and_percentiles(setup):
    run = setup["run"]
    realised = run.realised_paths()
    assert set(realised) == {"chips_trend", "barbell", "SPY", "RSP", "group:compute", "group:index",
                             "group:broad_market"}
    spy = pd.read_csv(setup["prices"] / "SPY.csv", index_col="Date", parse_dates=True)["Close"]
    # SPY bought at the close of 2024-12-03 (one bar after the first day) and held, 3 bps of costs once.
    growth = spy.loc["2025-04-30"] / spy.loc["2024-12-03"]
    assert realised["SPY"].iloc[-1] == pytest.approx(growth * (1 - 3e-4), rel=1e-4)
    for scenario, by_book in run.percentiles.items():
        assert set(by_book) == set(realised)
        assert all(0.0 <= p <= 100.0 for p in by_book.values()), scenario
    chips = run.realised.backtests[0]
    assert chips.name == "chips_trend" and chips.result.config["window_start"] == "2024-12-02"


def test_json_has_exactly_the_documented_keys(setup):
    document = json.loads(json.dumps(setup["run"].to_dict()))
    assert list(document) == JSON_KEYS
    assert document["calibration_end"] == "2024-11-29" and document["as_of"] == "2025-04-30"
    assert set(document["confusion"]["counts"]) == {"slow", "base", "fast"}
    assert sum(document["confusion"]["counts"]["fast"].values()) == 40
    assert document["event_study"]["day"] == "2025-01-27"
    assert set(document["event_study"]["series"]) == {"NVDA", "SPY"}  # the other series' tickers are not loaded
    assert document["decision_before"] is None


def stored_figures(page: str) -> dict:
    """The figures of a written page (the JSON its loader draws from)."""
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(data)["figures"]


def test_the_report_has_the_realised_line_in_every_fan(setup, tmp_path):
    from theses.reports.track import write_track_report

    folder = write_track_report(setup["run"], tmp_path / "report")
    page = (folder / "index.html").read_text(encoding="utf-8")
    fans = re.findall(r'<div id="(chart-fan-[^"]+)" class="plotly-graph-div" data-figure="([^"]+)"', page)
    assert sorted(div for div, _ in fans) == ["chart-fan-base", "chart-fan-fast", "chart-fan-slow"]
    figures = stored_figures(page)
    for _, key in fans:
        names = [trace.get("name", "") for trace in figures[key]["data"]]
        realised = [n for n in names if n.endswith(": realised")]
        assert len(realised) == 7, key  # every book and group basket
        assert "SPY: median" in names  # SPY's band stays drawn for reference
    assert 'id="chart-attribution"' in page and 'id="odds-table"' in page and 'id="event-table"' in page
    assert json.loads((folder / "track.json").read_text())["as_of"] == "2025-04-30"


def test_cli_prints_the_findings_and_writes_json_and_a_report(setup, capsys, tmp_path):
    book = tmp_path / "barbell.toml"
    book.write_text('name = "barbell"\nrebalance = "monthly"\n[weights]\nNVDA = 0.5\nSPY = 0.5\n')
    args = ["track", str(book), "--scenario", ",".join(setup["scenarios"]), "--source", "csv", "--data-dir",
            str(setup["prices"]), "--paths", "20", "--confusion-paths", "10", "--years", "0.5", "--no-decision"]
    assert main([*args, "--format", "json", "--out", str(tmp_path / "report")]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert list(document) == JSON_KEYS
    assert set(document["realised_percentile"]["fast"]) >= {"barbell", "SPY", "group:compute"}
    assert "report written to" in captured.err and (tmp_path / "report" / "index.html").is_file()
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "the drift and crash evidence moves the essay's odds to" in text
    assert "Log Bayes factors by group" in text and "How much 108 trading days can tell" in text
    assert main(["track", "--source", "csv", "--data-dir", str(setup["prices"]), "--no-decision"]) == 2
    assert capsys.readouterr().err.startswith("error: ")  # the shipped scenarios need tickers these prices lack


@pytest.mark.parametrize("as_of", ["1999-01-01", "2024-11-01", "2024-12-20", "2025-02-01"])
def test_an_as_of_too_early_is_one_clear_error_naming_the_option(setup, as_of):
    with pytest.raises(StudyError, match=rf"^--as-of {as_of}: tracking needs at least two months after the essay's "
                                         r"date 2024-12-02; give a date from 2025-02-02 on"):
        track(books(), scenarios=setup["scenarios"], as_of=as_of, paths=5, confusion_paths=5, source="csv",
              data_dir=str(setup["prices"]), decide=False)


def test_prices_ending_too_soon_after_the_essay_are_one_clear_error(setup):
    short = write_prices(setup["root"] / "short", end="2025-01-15")  # 33 bars from the essay's date
    with pytest.raises(StudyError, match="at least two months after it; the data runs 2022-01-03 to 2025-01-15"):
        track(books(), scenarios=setup["scenarios"], paths=5, confusion_paths=5, source="csv", data_dir=str(short),
              decide=False)


def test_the_decision_runs_forward_on_the_same_paths_with_priors_and_posterior(setup):
    run = track(books(), scenarios=setup["scenarios"], paths=40, confusion_paths=10, years=1.0, seed=3,
                source="csv", data_dir=str(setup["prices"]), decide=True)
    before, after = run.decision_before, run.decision_after
    assert before.run.index[0] == pd.Timestamp("2025-05-01")  # the business day after the as-of date
    assert before.probabilities == pytest.approx(run.prior) and after.probabilities == pytest.approx(run.posterior)
    for scenario, by_book in before.run.results.items():  # the same paths: only the belief differs
        for book, result in by_book.items():
            np.testing.assert_array_equal(result.terminal_wealth, after.run.results[scenario][book].terminal_wealth)
    assert before.verdict.startswith("Under the scenario priors")
    assert after.verdict.startswith("Under the given probabilities")
    change = run.decision_change()
    assert change.startswith("What changed:") and before.top in change and after.top in change
    lines = run.headline()
    assert lines[-1] == change and any(line.endswith(after.verdict) for line in lines)
    document = run.to_dict()
    assert document["decision_before"]["verdict"] == before.verdict
    assert document["decision_after"]["probabilities"] == pytest.approx(run.posterior)
    assert document["decision_after"]["what_changed"] == change


@pytest.mark.parametrize(("options", "message"), [
    ({"as_of": "soon"}, "--as-of 'soon' is not a date"),
    ({"paths": 0}, "--paths 0: simulate at least one path"),
    ({"confusion_paths": 0}, "--confusion-paths 0: simulate at least one path"),
    ({"probabilities": {"slow": 1.0}}, "give one for each scenario tracked: slow, base, fast"),
])
def test_bad_options_are_one_line_errors(setup, options, message):
    with pytest.raises(StudyError, match=re.escape(message)):
        track(books(), scenarios=setup["scenarios"], source="csv", data_dir=str(setup["prices"]), decide=False,
              **{"paths": 5, "confusion_paths": 5, **options})
