"""Report content: the numbers written equal the engine's, tables/Markdown/HTML say what they should."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from tests.unit.report_factory import synthetic_result, synthetic_simulation
from theses.engine.metrics import drawdown_series
from theses.reports import ReportError, metrics_table, write_report, write_simulation_report
from theses.reports.charts import monthly_table, rolling_stats, thin
from theses.reports.tables import format_metric

CHART_IDS = ("chart-equity", "chart-drawdown", "chart-rolling", "chart-weights", "chart-monthly", "chart-costs")


def same(a, b) -> bool:
    """Equal values, treating NaN and None (JSON null) as the same missing value."""
    missing = lambda v: v is None or (isinstance(v, float) and math.isnan(v))  # noqa: E731
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    return a == b


@pytest.fixture
def results():
    return [
        synthetic_result("alpha", 1),
        synthetic_result("long_short", 2, short="CCC"),
        synthetic_result("gamma", 3, tickers=("AAA", "DDD", "EEE")),
    ]


@pytest.fixture
def report(tmp_path, results):
    context = {"data_source": "csv:/prices", "window": "2021-01-04 to 2022-07-15", "notes": ["SPY ends early"]}
    return write_report(results, tmp_path / "rep", title="Test comparison", context=context)


def test_metrics_json_equals_engine_metrics_exactly(report, results):
    doc = json.loads((report / "metrics.json").read_text())
    assert set(doc["strategies"]) == {r.name for r in results}
    for result in results:
        written = doc["strategies"][result.name]
        assert set(written) == set(result.metrics)
        for key, value in result.metrics.items():
            assert same(written[key], value), (result.name, key)
    assert set(doc["benchmarks"]) == {"SPY", "RSP"}
    for key, value in results[0].benchmark_metrics["SPY"].items():
        assert same(doc["benchmarks"]["SPY"][key], value)
    assert doc["context"]["data_source"] == "csv:/prices"
    assert doc["config"]["alpha"]["costs"]["fees_bps"] == 1.0


def test_metrics_json_from_a_real_engine_run(tmp_path):
    from theses.engine import BacktestConfig, CostModel, backtest

    rng = np.random.default_rng(7)
    index = pd.bdate_range("2022-01-03", periods=300, name="date")
    prices = pd.DataFrame(100 * np.cumprod(1 + rng.normal(0.0003, 0.01, (300, 3)), axis=0),
                          index=index, columns=["AAA", "BBB", "SPY"])
    weights = pd.DataFrame({"AAA": 0.6, "BBB": 0.4}, index=index)
    config = BacktestConfig(costs=CostModel(fees_bps=5, slippage_bps=5))
    result = backtest(prices[["AAA", "BBB"]], weights, config, benchmarks=prices[["SPY"]], name="engine_run")
    folder = write_report([result], tmp_path / "r", title="engine")
    doc = json.loads((folder / "metrics.json").read_text())
    for key, value in result.metrics.items():
        assert same(doc["strategies"]["engine_run"][key], value), key
    csv = pd.read_csv(folder / "metrics.csv", index_col="name")
    assert csv.loc["engine_run", "sharpe"] == pytest.approx(result.metrics["sharpe"], abs=1e-12)
    equity = pd.read_csv(folder / "equity.csv", index_col="date", parse_dates=True)
    np.testing.assert_allclose(equity["engine_run"].to_numpy(), result.equity.to_numpy(), rtol=1e-15)


def test_metrics_csv_rows_kinds_and_values(report, results):
    csv = pd.read_csv(report / "metrics.csv", index_col="name")
    assert list(csv.index) == ["alpha", "long_short", "gamma", "SPY", "RSP"]
    assert list(csv["kind"]) == ["strategy"] * 3 + ["benchmark"] * 2
    for result in results:
        for key in ("cagr", "sharpe", "max_drawdown", "costs", "turnover", "alpha"):
            assert csv.loc[result.name, key] == pytest.approx(result.metrics[key], abs=1e-12, rel=1e-15)
    assert np.isnan(csv.loc["alpha", "information_ratio"])
    assert csv.loc["gamma", "start"] == "2021-01-04"


def test_equity_csv_holds_strategies_and_benchmarks(report, results):
    equity = pd.read_csv(report / "equity.csv", index_col="date", parse_dates=True)
    assert list(equity.columns) == ["alpha", "long_short", "gamma", "SPY", "RSP"]
    pd.testing.assert_series_equal(equity["gamma"], results[2].equity, check_names=False, check_freq=False,
                                   rtol=1e-15, atol=0)
    assert equity["SPY"].iloc[0] == results[0].benchmark_equity["SPY"].iloc[0]


def test_summary_markdown(report, results):
    text = (report / "summary.md").read_text()
    assert text.startswith("# Test comparison\n")
    assert "- **Data source:** csv:/prices" in text
    assert "weights decided at a close trade at the next bar's close" in text
    assert "- SPY ends early" in text
    table_rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table_rows) == 1 + 5  # header + 3 strategies + 2 benchmarks
    gamma_row = next(line for line in table_rows if line.startswith("| gamma |"))
    assert f"{results[2].metrics['cagr']:.1%}" in gamma_row
    assert "| SPY (benchmark) |" in text
    # rows sorted by Sharpe, descending (SPY 0.7 and RSP 0.5 in the synthetic benchmarks)
    names = [line.split("|")[1].strip() for line in table_rows[1:]]
    sharpes = {r.name: r.metrics["sharpe"] for r in results} | {"SPY (benchmark)": 0.7, "RSP (benchmark)": 0.5}
    assert names == sorted(names, key=lambda n: -sharpes[n])


def test_html_is_self_contained_with_every_chart(report, results):
    page = (report / "index.html").read_text()
    assert page.count(get_plotlyjs()[:300]) == 1  # plotly.js inlined exactly once
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=\"?https?:", page)
    for chart_id in CHART_IDS:
        assert f'id="{chart_id}"' in page
    rows = re.findall(r'<tr class="(strategy|benchmark)" data-name="([^"]+)"', page)
    assert sorted(name for _, name in rows) == sorted(["alpha", "long_short", "gamma", "SPY", "RSP"])
    assert "csv:/prices" in page and ">Version<" in page
    assert "weights decided at a close trade at the next bar&#x27;s close" in page


def test_html_escapes_names(tmp_path):
    hostile = synthetic_result("<b>x</b> & co", 5)
    folder = write_report([hostile], tmp_path / "r", title="<script>alert(1)</script>")
    page = (folder / "index.html").read_text()
    assert "<b>x</b>" not in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;b&gt;x&lt;/b&gt; &amp; co" in page


def test_metrics_table_frame(results):
    frame = metrics_table(results)
    assert frame.index.name == "name"
    assert list(frame.columns[:3]) == ["kind", "total_return", "cagr"]
    assert frame.loc["long_short", "sharpe"] == results[1].metrics["sharpe"]
    assert list(metrics_table(results, include_benchmarks=False).index) == ["alpha", "long_short", "gamma"]


def test_strategy_named_like_a_benchmark_replaces_its_row():
    frame = metrics_table([synthetic_result("SPY", 1)])
    assert list(frame.index) == ["SPY", "RSP"]
    assert frame.loc["SPY", "kind"] == "strategy"


def test_duplicate_names_are_a_report_error(tmp_path):
    with pytest.raises(ReportError, match='two strategies are both named "alpha"'):
        write_report([synthetic_result("alpha", 1), synthetic_result("alpha", 2)], tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_nothing_to_report(tmp_path):
    with pytest.raises(ReportError, match="nothing to report"):
        write_report([], tmp_path / "r")


def test_monthly_table_compounds_within_month():
    index = pd.DatetimeIndex(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"])
    table = monthly_table(pd.Series([0.10, -0.05, 0.02, 0.03], index=index))
    assert table.loc["2024", "Jan"] == pytest.approx(1.10 * 0.95 - 1)
    assert table.loc["2024", "Feb"] == pytest.approx(1.02 * 1.03 - 1)
    assert np.isnan(table.loc["2024", "Mar"])


def test_drawdown_series_hand_values():
    equity = pd.Series([100.0, 120.0, 90.0, 130.0, 65.0], index=pd.bdate_range("2024-01-01", periods=5))
    np.testing.assert_allclose(drawdown_series(equity).to_numpy(), [0, 0, -0.25, 0, -0.5])


def test_rolling_stats_match_a_direct_calculation():
    rng = np.random.default_rng(3)
    returns = pd.Series(rng.normal(0.001, 0.01, 30), index=pd.bdate_range("2024-01-01", periods=30))
    stats = rolling_stats(returns, window=10, risk_free=0.0252)
    last = returns.iloc[-10:].to_numpy()
    sd = last.std(ddof=1)
    assert stats["volatility"].iloc[-1] == pytest.approx(sd * math.sqrt(252))
    assert stats["sharpe"].iloc[-1] == pytest.approx((last.mean() - 0.0001) / sd * math.sqrt(252))
    assert stats["sharpe"].iloc[:9].isna().all()


def test_thin_keeps_last_day_of_each_week_for_long_series():
    index = pd.bdate_range("2020-01-06", periods=1000)  # starts on a Monday
    thinned = thin(pd.Series(np.arange(1000.0), index=index))
    assert len(thinned) == 200
    assert (thinned.index.dayofweek == 4).all()
    short = pd.Series(np.arange(10.0), index=index[:10])
    assert thin(short) is short


def test_format_metric():
    assert format_metric("cagr", 0.1234) == "12.3%"
    assert format_metric("sharpe", 1.234) == "1.23"
    assert format_metric("sharpe", float("nan")) == "–"
    assert format_metric("start", "2024-01-02") == "2024-01-02"


def test_simulation_report(tmp_path, results):
    scenarios, meta = synthetic_simulation()
    folder = write_simulation_report(scenarios, meta, tmp_path / "sim", results=results[:1])
    doc = json.loads((folder / "metrics.json").read_text())
    assert doc["simulation"]["seed"] == 1234
    assert doc["context"]["seed"] == 1234
    for scenario, batches in scenarios.items():
        for name, batch in batches.items():
            for key, value in batch.summary.items():
                assert same(doc["scenarios"][scenario][name][key], value)
    table = pd.read_csv(folder / "scenarios.csv")
    assert len(table) == 4
    row = table[(table.scenario == "jetsons") & (table.strategy == "beta")].iloc[0]
    assert row["cagr_p50"] == pytest.approx(scenarios["jetsons"]["beta"].summary["cagr_p50"], abs=1e-15)
    bands = pd.read_csv(folder / "scenario_bands.csv")
    band_rows = bands[(bands.scenario == "damp_squib") & (bands.strategy == "alpha")]
    np.testing.assert_allclose(band_rows["p95"].to_numpy(), scenarios["damp_squib"]["alpha"].equity_bands[4], rtol=1e-9)
    page = (folder / "index.html").read_text()
    for chart_id in (*CHART_IDS, "chart-fan-jetsons", "chart-fan-damp-squib", "chart-terminal"):
        assert f'id="{chart_id}"' in page
    assert 'id="scenario-table"' in page and "Blend" in page
    text = (folder / "summary.md").read_text()
    assert "## Scenarios" in text and "seed 1234" in text
    median = scenarios["jetsons"]["alpha"].summary["cagr_p50"]
    assert f"{median:.1%}" in text


def test_simulation_only_report_has_no_backtest_files(tmp_path):
    scenarios, meta = synthetic_simulation()
    folder = write_simulation_report(scenarios, meta, tmp_path / "sim")
    assert not (folder / "equity.csv").exists()
    assert (folder / "scenarios.csv").exists()
    assert 'id="chart-equity"' not in (folder / "index.html").read_text()
