"""The public Python API (``import theses``) on synthetic CSVs: the same figures as the CLI, pandas views."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import theses
from tests.unit.test_cli_compare import write_csvs, write_portfolio
from theses.cli.main import main
from theses.studies.errors import StudyError


@pytest.fixture
def prices(tmp_path: Path) -> Path:
    write_csvs(tmp_path / "prices")
    return tmp_path / "prices"


def test_import_is_lazy_and_names_the_api():
    code = "import sys, theses; print('pandas' in sys.modules, 'numba' in sys.modules); print(sorted(dir(theses)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    first, names = out.splitlines()
    assert first == "False False"  # `import theses` loads neither pandas nor numba
    for name in ("backtest", "compare", "simulate", "decide", "rebalance", "track", "sweep", "report"):
        assert name in names


def test_backtest_equals_the_cli_and_holds_pandas_views(prices, tmp_path, capsys):
    book = write_portfolio(tmp_path, "tilt", {"AAA": 0.7, "BBB": 0.3})
    run = theses.backtest(str(book), source="csv", data_dir=str(prices), fees_bps=3)
    assert main(["backtest", str(book), "--source", "csv", "--data-dir", str(prices), "--fees-bps", "3",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert run.metrics["cagr"] == doc["metrics"]["cagr"]
    assert run.metrics["total_return"] == pytest.approx(run.equity.iloc[-1] / run.equity.iloc[0] - 1, rel=1e-12)
    assert isinstance(run.equity, pd.Series) and isinstance(run.weights, pd.DataFrame)
    assert list(run.trades.columns)[:3] == ["date", "ticker", "shares"]
    assert set(run.benchmark_metrics.index) == {"SPY", "RSP"}
    # fees are 3 bps of the notional of every fill
    assert run.trades["fee"].to_numpy() == pytest.approx(np.abs(run.trades["notional"].to_numpy()) * 3e-4)


def test_compare_and_report(prices, tmp_path):
    books = [write_portfolio(tmp_path, n, w) for n, w in (("a", {"AAA": 1.0}), ("b", {"BBB": 1.0}))]
    table = theses.compare([str(b) for b in books], source="csv", data_dir=str(prices))
    assert list(table.metrics.index) == ["a", "b", "SPY", "RSP"]
    close = pd.read_csv(prices / "BBB.csv", index_col="Date", parse_dates=True)["Close"]
    # monthly-rebalanced 100% BBB: the price ratio over the executed window, less costs (3 bps a side at entry)
    entry = table.backtests[1].result.config["first_trade"]
    ratio = close.iloc[-1] / close.loc[entry]
    assert table.metrics.loc["b", "total_return"] == pytest.approx(ratio * (1 - 3e-4) - 1, abs=2e-5)
    path = theses.report(table, tmp_path / "report")
    assert (path / "index.html").is_file() and json.loads((path / "metrics.json").read_text())["strategies"]["a"]


def test_simulate_is_reproducible_and_has_a_summary_table():
    a = theses.simulate(["essay_book"], scenarios="jetsons", paths=64, years=0.5, seed=3)
    b = theses.simulate(["essay_book"], scenarios=["jetsons"], paths=64, years=0.5, seed=3, chunk_size=20)
    assert a.to_dict() == b.to_dict()
    frame = a.summary
    assert ("jetsons", "essay_book") in frame.index and ("blend", "SPY") in frame.index
    per_path = a.per_path("jetsons", "essay_book")
    assert len(per_path) == 64
    assert frame.loc[("jetsons", "essay_book"), "cagr_p50"] == pytest.approx(np.quantile(
        per_path["cagr"], 0.5, method="inverted_cdf"))


def test_decide_equals_the_cli_and_reports(tmp_path, capsys):
    options = {"scenarios": "jetsons,damp_squib", "paths": 48, "years": 0.5, "seed": 3}
    decision = theses.decide(["essay_book", "platform_winners"], risk_aversion=1, **options)
    assert main(["decide", "essay_book", "platform_winners", "--scenario", "jetsons,damp_squib", "--paths", "48",
                 "--years", "0.5", "--seed", "3", "--risk-aversion", "1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(decision.to_dict()))
    assert isinstance(decision.scoreboard, pd.DataFrame) and decision.gamma == 1.0
    assert set(decision.scoreboard.loc["blend"].index) == {"essay_book", "platform_winners", "SPY", "RSP"}
    path = theses.report(decision, tmp_path / "decision")
    assert json.loads((path / "decision.json").read_text())["verdict"] == decision.verdict


def test_rebalance_api(prices, tmp_path):
    holdings = tmp_path / "holdings.csv"
    holdings.write_text("ticker,shares\nAAA,10\n")
    book = write_portfolio(tmp_path, "half", {"SPY": 0.5, "BBB": 0.5})
    done = theses.rebalance(str(book), holdings=holdings, cash=1000, fees_bps=0, source="csv", data_dir=str(prices))
    frame = done.trades.to_frame()
    assert frame.loc["AAA", "action"] == "sell" and frame.loc["AAA", "shares_after"] == 0
    assert frame.loc["SPY", "weight_after"] == pytest.approx(0.5, abs=1e-12)


def test_study_errors_are_one_line(prices):
    with pytest.raises(StudyError, match="named twice"):
        theses.compare(["index_beta", "index_beta"], source="csv", data_dir=str(prices))
    with pytest.raises(StudyError, match="not found"):
        theses.backtest("missing/book.toml")
    from theses.reports import ReportError

    with pytest.raises(ReportError, match="cannot report a object"):
        theses.report(object(), "x")


@pytest.mark.integration
def test_the_readme_python_example_runs(real_data_dir: Path, tmp_path, monkeypatch):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## From Python"):]
    code = section[section.index("```python") + len("```python"):section.index("```", section.index("```python") + 9)]
    root = Path(__file__).resolve().parents[2]
    code = code.replace("../shared/data/prices", str(real_data_dir)).replace(
        "examples/holdings.csv", str(root / "examples" / "holdings.csv"))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own example
    assert namespace["run"].metrics["start"] >= "2024-12-02"
    assert list(namespace["table"].metrics.index)[-2:] == ["SPY", "RSP"]
    assert (tmp_path / "my-report" / "index.html").is_file()


def test_listing_strategies_does_not_import_pandas():
    # `theses list` starts fast because the registry builds without pandas (and never loads numba).
    code = ("import sys; from theses.studies.catalog import strategy_catalog; n = len(strategy_catalog()); "
            "print(n, 'pandas' in sys.modules, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) >= 11 and out[1:] == ["False", "False"]


def test_track_is_the_study_and_reports_like_the_cli(tmp_path):
    from tests.unit.test_track import books
    from tests.unit.track_factory import write_prices, write_scenarios

    prices = write_prices(tmp_path / "prices")
    run = theses.track(books(), scenarios=write_scenarios(tmp_path / "scenarios"), paths=10, confusion_paths=10,
                       years=0.5, data_dir=str(prices), source="csv", decide=False)
    assert abs(sum(run.posterior.values()) - 1.0) < 1e-12
    assert run.headline()[0].startswith("From 2024-12-02 to 2025-04-30")
    folder = theses.report(run, tmp_path / "report")
    assert json.loads((folder / "track.json").read_text())["posterior"] == pytest.approx(run.posterior)


def test_sweep_equals_the_cli_and_reports(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    options = {"grid": "window=30,90", "on": "scenarios", "scenarios": "jetsons", "paths": 64, "years": 1, "seed": 3}
    run = theses.sweep("bubble_watch", **options, fees_bps=2)
    assert main(["sweep", "bubble_watch", "--grid", "window=30,90", "--on", "scenarios", "--scenario", "jetsons",
                 "--paths", "64", "--years", "1", "--seed", "3", "--fees-bps", "2", "--format", "json",
                 "--out", str(tmp_path / "cli")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert run.to_dict()["points"] == doc["points"]
    assert list(run.table()["window"]) == [30, 90, 200] and run.best("jetsons")["point"] in ("p0000", "p0001")
    path = theses.report(run, tmp_path / "report")
    assert (path / "index.html").is_file() and (path / "points.csv").is_file()


def test_version_is_read_on_first_use_and_printed_by_the_cli(capsys):
    import subprocess
    import sys
    from importlib.metadata import version

    import theses
    from theses.cli.main import main

    assert theses.__version__ == version("ai-theses")
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"theses {version('ai-theses')}\n"
    fresh = subprocess.run([sys.executable, "-c", "import sys, theses.cli.main; print('importlib.metadata' in sys.modules)"],
                           capture_output=True, text=True, timeout=120)
    assert fresh.stdout.strip() == "False"  # nothing reads the version at start-up
