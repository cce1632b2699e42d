"""The sweep study: scores against independent runs, common random numbers, resumable storage."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.unit.sweep_factory import write_csvs, write_portfolio
from theses.strategies import bubble_watch
from theses.studies import history
from theses.studies.errors import StudyError
from theses.studies.sweep import sweep

SCENARIOS = {"grid": "window=20,60", "on": "scenarios", "scenarios": "jetsons,damp_squib", "paths": 130,
             "years": 1, "seed": 4, "block_size": 64}


class Interrupt(Exception):
    """Raised by a progress callback to stop a sweep after some tasks, as Ctrl-C would."""


def stop_after(k: int):
    def progress(description: str, done: int, total: int) -> None:
        if done >= k:
            raise Interrupt
    return progress


@pytest.fixture(scope="module")
def prices(tmp_path_factory) -> Path:
    return write_csvs(tmp_path_factory.mktemp("prices"), days=900)


@pytest.fixture(scope="module")
def uninterrupted():
    return sweep("bubble_watch", **SCENARIOS)


def test_history_points_equal_plain_backtests_of_the_same_parameters(prices):
    run = sweep("bubble_watch", grid="window=50,120", data_dir=str(prices), source="csv")
    for pid, window in enumerate((50, 120)):
        strategy = bubble_watch.make_strategy(dataclasses.replace(bubble_watch.BubbleWatchParams(), window=window))
        plain = history.backtest(strategy, data_dir=str(prices), source="csv")
        row = run.history.metrics.loc[pid]
        for key in ("cagr", "sharpe", "max_drawdown", "turnover", "costs"):
            assert row[key] == plain.result.metrics[key]
        assert row["objective"] == pytest.approx(plain.result.metrics["sharpe"], rel=1e-9)
        window_returns = plain.result.returns[plain.result.equity.index >= plain.result.config["window_start"]].iloc[1:]
        np.testing.assert_array_equal(run.history.returns[pid].dropna().to_numpy(), window_returns.to_numpy())
    assert run.default_id == -1 and -1 in run.history.metrics.index  # window=200, off the grid, runs too
    assert run.best("history")["point"] in ("p0000", "p0001")


def test_history_points_from_a_start_date_have_their_look_back(prices):
    # Each point's signal reads `window` days before --start, as `theses backtest --start` does.
    start = str(pd.read_csv(prices / "SPY.csv")["Date"].iloc[400])
    run = sweep("bubble_watch", grid="window=50,120", start=start, data_dir=str(prices), source="csv")
    for pid, window in enumerate((50, 120)):
        strategy = bubble_watch.make_strategy(dataclasses.replace(bubble_watch.BubbleWatchParams(), window=window))
        plain = history.backtest(strategy, start=start, data_dir=str(prices), source="csv")
        assert plain.result.metrics["start"] == start
        assert run.history.metrics.loc[pid, "cagr"] == plain.result.metrics["cagr"]


def test_every_point_sees_the_same_paths(uninterrupted):
    run = uninterrupted
    spy = run.scenarios.summary["prob_beat_benchmark"]
    assert spy.notna().all()
    # Grid points differ, SPY on the same paths does not: terminal wealth of SPY is identical in every task.
    assert run.tasks_total == 3 * 2 * 3 and run.tasks_run == run.tasks_total
    cagr = run.scenarios.summary.loc["jetsons", "cagr_p50"]
    assert cagr.nunique() == 3  # and the points themselves differ


def test_scenario_figures_equal_the_simulation_study(uninterrupted):
    from theses.studies.scenarios import simulate

    strategy = bubble_watch.make_strategy(dataclasses.replace(bubble_watch.BubbleWatchParams(), window=60))
    sim = simulate([strategy], scenarios="jetsons,damp_squib", paths=130, years=1, seed=4, chunk_size=64)
    for scenario in ("jetsons", "damp_squib"):
        mine = uninterrupted.scenarios.summary.loc[(scenario, 1)]
        theirs = sim.results[scenario]["bubble_watch"].summary
        for key in ("cagr_p50", "cvar_5", "prob_loss", "prob_beat_benchmark", "median_max_drawdown", "paths"):
            assert mine[key] == theirs[key]
    assert uninterrupted.scenarios.summary.loc[("blend", 1), "cagr_p50"] == sim.blend["bubble_watch"]["cagr_p50"]


def test_results_do_not_depend_on_the_block_size(uninterrupted):
    other = sweep("bubble_watch", **{**SCENARIOS, "block_size": 128})
    pd.testing.assert_frame_equal(other.scenarios.summary, uninterrupted.scenarios.summary)


def test_resume_runs_only_the_missing_tasks_and_ends_identical(tmp_path, uninterrupted):
    folder = tmp_path / "sweep"
    with pytest.raises(Interrupt):
        sweep("bubble_watch", **SCENARIOS, out=folder, progress=stop_after(7))
    assert len(list((folder / "tasks").glob("*.parquet"))) == 7
    resumed = sweep("bubble_watch", **SCENARIOS, out=folder, resume=True)
    assert resumed.tasks_run == uninterrupted.tasks_total - 7
    pd.testing.assert_frame_equal(resumed.table(), uninterrupted.table())
    doc, ref = resumed.to_dict(), uninterrupted.to_dict()
    assert doc.pop("tasks") != ref.pop("tasks")
    assert json.dumps(doc) == json.dumps(ref)
    again = sweep("bubble_watch", **SCENARIOS, out=folder, resume=True)
    assert again.tasks_run == 0
    pd.testing.assert_frame_equal(again.table(), uninterrupted.table())


def test_objective_and_probabilities_may_change_on_resume(tmp_path):
    folder = tmp_path / "sweep"
    sweep("bubble_watch", **SCENARIOS, out=folder)
    run = sweep("bubble_watch", **SCENARIOS, out=folder, resume=True, objective="ce",
                probabilities={"jetsons": 0.9, "damp_squib": 0.1})
    assert run.tasks_run == 0 and run.scenarios.probabilities == {"jetsons": 0.9, "damp_squib": 0.1}
    assert (run.values("jetsons", "objective") == run.values("jetsons", "ce")).all()


@pytest.mark.parametrize(("change", "expected"), [
    ({"seed": 5}, "other seed, horizon or calibration"),
    ({"paths": 128}, "other paths or block size"),
    ({"grid": "window=20,70"}, "other grid points"),
    ({"scenarios": "jetsons"}, "other scenarios"),
])
def test_resume_refuses_other_settings(tmp_path, change, expected):
    folder = tmp_path / "sweep"
    base = {**SCENARIOS, "paths": 64}
    sweep("bubble_watch", **base, out=folder)
    with pytest.raises(StudyError, match=expected) as info:
        sweep("bubble_watch", **{**base, **change}, out=folder, resume=True)
    assert "\n" not in str(info.value)


def test_folder_rules(tmp_path):
    folder = tmp_path / "sweep"
    with pytest.raises(StudyError, match="holds no sweep to resume"):
        sweep("bubble_watch", **SCENARIOS, out=folder, resume=True)
    sweep("bubble_watch", **{**SCENARIOS, "paths": 10}, out=folder)
    with pytest.raises(StudyError, match="holds a sweep already: add --resume"):
        sweep("bubble_watch", **{**SCENARIOS, "paths": 10}, out=folder)
    other = tmp_path / "other"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    with pytest.raises(StudyError, match="not an empty folder"):
        sweep("bubble_watch", **SCENARIOS, out=other)
    assert (other / "mine.txt").read_text() == "keep me" and len(list(other.iterdir())) == 1
    with pytest.raises(StudyError, match="needs the sweep's folder"):
        sweep("bubble_watch", **SCENARIOS, resume=True)


def _finished(tmp_path: Path) -> tuple[Path, list[Path]]:
    folder = tmp_path / "sweep"
    sweep("bubble_watch", **{**SCENARIOS, "paths": 64}, out=folder)
    return folder, sorted((folder / "tasks").glob("*.parquet"))


def test_a_damaged_task_file_is_refused_in_one_line(tmp_path):
    folder, files = _finished(tmp_path)
    files[0].write_bytes(files[0].read_bytes()[:100])
    with pytest.raises(StudyError, match=rf"{files[0].name} is damaged .*delete it and run with --resume") as info:
        sweep("bubble_watch", **{**SCENARIOS, "paths": 64}, out=folder, resume=True)
    assert "\n" not in str(info.value)


def test_a_file_under_another_tasks_name_is_refused(tmp_path):
    folder, files = _finished(tmp_path)
    files[0].write_bytes(files[1].read_bytes())
    with pytest.raises(StudyError, match="is damaged .it names task"):
        sweep("bubble_watch", **{**SCENARIOS, "paths": 64}, out=folder, resume=True)


def test_edited_values_are_refused(tmp_path):
    import pyarrow.parquet as pq

    folder, files = _finished(tmp_path)
    table = pq.read_table(files[0])
    frame = table.to_pandas()
    frame.iloc[0, 0] = np.nan
    import pyarrow as pa

    edited = pa.Table.from_pandas(frame, preserve_index=True).replace_schema_metadata(table.schema.metadata)
    pq.write_table(edited, files[0])
    with pytest.raises(StudyError, match="terminal_wealth holds values that are not finite"):
        sweep("bubble_watch", **{**SCENARIOS, "paths": 64}, out=folder, resume=True)


def test_a_damaged_manifest_is_refused(tmp_path):
    folder, _ = _finished(tmp_path)
    (folder / "sweep.json").write_text("{not json")
    with pytest.raises(StudyError, match="sweep.json is damaged"):
        sweep("bubble_watch", **{**SCENARIOS, "paths": 64}, out=folder, resume=True)


def test_temporary_files_of_a_killed_run_are_cleared(tmp_path):
    folder, files = _finished(tmp_path)
    # Temporary names carry the writer's pid (theses.util.temp_prefix): 999999999 is no running process.
    leftover = folder / "tasks" / f".{files[0].name}.tmp-999999999-abc123"
    leftover.write_bytes(b"half")
    busy = folder / "tasks" / f".{files[1].name}.tmp-{os.getpid()}-def456"  # a writer still at work
    busy.write_bytes(b"writing")
    files[0].unlink()
    run = sweep("bubble_watch", **{**SCENARIOS, "paths": 64}, out=folder, resume=True)
    assert run.tasks_run == 1 and not leftover.exists() and busy.exists()


def test_walk_forward_through_the_sweep_follows_the_regime(tmp_path):
    days = 1500
    drift = np.where(np.arange(days) < 800, 0.002, -0.002)
    prices = write_csvs(tmp_path / "prices", tickers=("AAA", "SPY", "RSP"), days=days, drifts={"AAA": drift},
                        vol=0.004)
    book = write_portfolio(tmp_path, 'name = "aaa"\nrebalance = "daily"\n[weights]\nAAA = 1.0\n')
    run = sweep(str(book), grid="weights.AAA=0,0.5,1", data_dir=str(prices), source="csv", walk_forward="1y/6m",
                objective="cagr")
    windows = run.history.walk_forward.windows
    full = [run.points[int(c)]["weights.AAA"] for c in windows["chosen"]]
    index = run.history.returns.index
    majority_up = [((index[index.get_indexer([s])[0]:index.get_indexer([e])[0] + 1]) < index[799]).mean() > 0.5
                   for s, e in zip(windows["is_start"], windows["is_end"], strict=True)]
    assert full == [1 if up else 0 for up in majority_up]
    assert 1 in full and 0 in full
    over = run.history.walk_forward.overfitting
    assert over is not None and 0 <= over.pbo <= 1
    assert run.default_id == 2  # the file's own weight is on the grid


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"on": "everywhere"}, "--on 'everywhere' is not valid"),
    ({"objective": "sortino"}, "--objective 'sortino' is not valid"),
    ({"on": "scenarios", "walk_forward": "3y/1y"}, "--walk-forward tests choices on real history"),
    ({"on": "scenarios", "paths": 0}, "--paths 0"),
    ({"gamma": -1.0}, "--risk-aversion"),
    ({"on": "scenarios", "scenarios": "nowhere"}, "nowhere"),
])
def test_bad_requests_are_one_line(kwargs, expected):
    with pytest.raises(ValueError, match=expected) as info:
        sweep("bubble_watch", grid="window=20", **kwargs)
    assert "\n" not in str(info.value)


def test_a_portfolio_object_without_its_file_is_refused():
    from theses.studies.settings import inline_strategy

    with pytest.raises(StudyError, match="pass its .toml path"):
        sweep(inline_strategy("SPY=1"), grid="band_abs=0.1")
