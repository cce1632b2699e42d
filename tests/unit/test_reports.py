"""Report content: the numbers written equal the engine's, tables/Markdown/HTML say what they should."""

from __future__ import annotations

import base64
import gzip
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

CHART_IDS = ("chart-equity", "chart-drawdown", "chart-rolling", "chart-multiples", "chart-costs", "tear-cumulative",
             "tear-yearly", "tear-monthly", "tear-distribution", "tear-rolling-beta", "tear-rolling-risk",
             "tear-underwater", "tear-weights")


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


def page_data(page: str) -> dict:
    """The figure store embedded in a report page."""
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    return json.loads(match.group(1).replace("<\\/", "</"))


def test_html_is_self_contained_with_every_chart(report, results):
    page = (report / "index.html").read_text()
    packed = re.findall(r'<script type="application/octet-stream" id="plotly-gz">([^<]+)</script>', page)
    assert len(packed) == 1  # plotly.js inlined exactly once, compressed
    assert gzip.decompress(base64.b64decode(packed[0])).decode() == get_plotlyjs()
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=\"?https?:", page)
    for chart_id in CHART_IDS:
        assert f'id="{chart_id}"' in page
    metrics_rows = re.search(r'id="metrics-table">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r'<tr class="(strategy|benchmark)" data-name="([^"]+)"', metrics_rows)
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
    np.testing.assert_allclose(band_rows["p95"].to_numpy(), scenarios["damp_squib"]["alpha"].equity_bands[4], rtol=1e-5)
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


def test_page_stores_each_series_once_and_every_chart_it_draws(report, results):
    page = (report / "index.html").read_text()
    data = page_data(page)
    keys = re.findall(r'data-figure="([^"]+)"', page)
    for key in keys:
        if "{}" in key:  # a tearsheet chart: one figure per strategy
            assert all(key.replace("{}", str(i)) in data["figures"] for i in range(len(results)))
        else:
            assert key in data["figures"]
    texts = [json.dumps(a) for a in data["arrays"]]
    assert len(texts) == len(set(texts))  # no array twice
    # The equity chart and the small multiples share the strategies' curves (a reference, not a copy).
    refs = lambda key: {t.get("legendgroup"): t["y"]["$r"] for t in data["figures"][key]["data"]}  # noqa: E731
    equity, multiples = refs("equity"), refs("multiples")
    assert all(equity[name] == multiples[name] for name in ("alpha", "gamma"))
    assert data["template"]["layout"]["plot_bgcolor"] == "white"  # plotly_white, once for the page


def test_page_curves_round_to_the_precision_shown(report, results):
    data = page_data((report / "index.html").read_text())
    trace = next(t for t in data["figures"]["equity"]["data"] if t["name"] == "gamma")
    values = data["arrays"][trace["y"]["$r"]]
    assert all(isinstance(v, int) for v in values)  # currency shown as ",.0f": whole numbers
    assert values[-1] == round(results[2].equity.iloc[-1])
    days = data["arrays"][trace["x"]["$r"]]["d"]
    first = pd.Timestamp("1970-01-01") + pd.Timedelta(days=days[0])
    assert first == results[2].equity.index[0] and len(days) == len(results[2].equity)  # short: daily


def test_costs_table_and_footnotes(report, results):
    page = (report / "index.html").read_text()
    table = re.search(r'<table class="metrics sortable" id="costs-table-rows">(.*?)</table>', page, re.S).group(1)
    assert "Initial entry" in table and "Turnover / yr" in table and "Cost drag bps/yr" in table
    assert re.findall(r'<tr class="(\w+)" data-name="([^"]+)"', table) == [
        ("strategy", "alpha"), ("strategy", "long_short"), ("strategy", "gamma")]  # no benchmark rows
    gamma = re.search(r'data-name="gamma">(.*?)</tr>', table, re.S).group(1)
    assert f"{results[2].metrics['cost_drag_bps']:,.1f}" in gamma
    assert "excluding the initial entry" in page and "bps a year of average equity" in page


def test_long_curves_are_weekly_and_drawdowns_keep_their_trough():
    from theses.reports.charts import drawdown_figure

    result = synthetic_result("long", 9, n=1500)
    fig = drawdown_figure([result])
    trace = fig.data[0]
    assert len(trace.y) < 1500 / 4.5  # about one point a week
    deepest = drawdown_series(result.equity).min()
    assert min(trace.y) == pytest.approx(deepest, abs=5e-5)  # the week's lowest point is kept


def test_tearsheet_figures_are_valid_plotly_and_follow_the_metrics():
    import plotly.graph_objects as go

    from theses.engine import metrics
    from theses.reports import tearsheet

    result = synthetic_result("alpha", 1, n=600, short="CCC")
    figures, worst = tearsheet.figures(result, {"AAA": "#111111"})
    assert [key for key, _, _ in tearsheet.CHARTS] == list(figures)
    for figure in figures.values():
        go.Figure(figure)  # plotly validates the plain JSON
    returns = metrics.returns_from_equity(result.equity)
    years = figures["yearly"]["data"][0]
    np.testing.assert_allclose(years["y"], metrics.annual_returns(returns).round(4).to_numpy())
    heat = figures["monthly"]["data"][0]
    assert heat["x"][-1] == "Year"
    np.testing.assert_allclose(np.asarray(heat["z"])[:, -1], metrics.annual_returns(returns).round(4).to_numpy())
    beta = figures["rolling_beta"]["data"][0]
    bench = metrics.returns_from_equity(result.benchmark_equity["SPY"])
    expected = metrics.rolling_beta(returns, bench, 126).dropna()
    assert beta["x"][0] == expected.index[0].strftime("%Y-%m-%d")  # blank, not 0, before the window is full
    assert beta["y"][-1] == pytest.approx(round(expected.iloc[-1], 2))
    pd.testing.assert_frame_equal(worst, metrics.drawdown_periods(result.equity, top=5))
    assert len(figures["underwater"]["layout"]["shapes"]) == len(worst)


def test_figure_store_encodes_dates_as_steps_and_dedups_arrays():
    import plotly.graph_objects as go

    from theses.reports.figure_store import FigureStore

    dates = ["2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11", "2024-01-12", "2024-01-15"]
    store = FigureStore()
    line = go.Scatter(x=dates, y=np.array([1.23456789, 2, np.nan, 4, 5, 6, 7.0]))
    store.add("a", go.Figure(line))
    store.add("b", {"data": [{"type": "scatter", "x": dates, "y": [9, 9, 9, 9, 9, 9, 9]}], "layout": {}})
    doc = json.loads(store.payload())
    assert doc["arrays"][0] == {"d": [19727, 3, 1, 1, 1, 1, 3]}  # 2024-01-05 is day 19727; weekends skipped
    assert doc["arrays"][1] == [1.23457, 2, None, 4, 5, 6, 7]
    assert doc["figures"]["b"]["data"][0]["x"] == {"$r": 0}  # the dates once
    hostile = FigureStore()
    hostile.add("c", go.Figure(go.Scatter(x=[1, 2], y=[1, 2], name="</script><script>alert(1)")))
    assert "</script>" not in hostile.payload()
