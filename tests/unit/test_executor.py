"""Executors: a LocalCluster of two worker processes gives exactly the in-process results; killed workers retry."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from theses.studies.errors import StudyError
from theses.studies.executor import DaskExecutor, SerialExecutor, make_executor
from theses.studies.scenarios import simulate
from theses.studies.sweep import sweep

SIM = {"scenarios": "jetsons,damp_squib", "paths": 130, "years": 1, "seed": 9, "chunk_size": 64}
SWEEP = {"grid": "window=20,60", "on": "scenarios", "scenarios": "jetsons,take_off", "paths": 130, "years": 1,
         "seed": 9, "block_size": 64}


def square(task: int, context: int) -> int:
    return task * task + context


def die_once(task: int, context: str) -> int:
    """Kill the worker process the first time task 1 runs (a marker file remembers), then succeed."""
    marker = Path(context) / f"died-{task}"
    if task == 1 and not marker.exists():
        marker.write_text("x")
        os._exit(1)
    return task * 10


def test_serial_map_keeps_task_order():
    done = []
    assert SerialExecutor().map(square, [3, 1, 2], 1, on_done=lambda d, t: done.append((d, t))) == [10, 2, 5]
    assert done == [(1, 3), (2, 3), (3, 3)]


@pytest.fixture(scope="module")
def cluster():
    with make_executor(workers=2) as executor:
        assert isinstance(executor, DaskExecutor) and executor.workers == 2
        yield executor


def test_local_cluster_map_keeps_task_order(cluster):
    assert cluster.map(square, list(range(7)), 100) == [100 + i * i for i in range(7)]
    assert cluster.map(square, [], 1) == []


def test_simulate_on_two_workers_equals_in_process(cluster):
    local = simulate(["bubble_watch", "essay_book"], **SIM)
    distributed = simulate(["bubble_watch", "essay_book"], executor=cluster, **SIM)
    assert json.dumps(distributed.to_dict()) == json.dumps(local.to_dict())
    for scenario, books in local.results.items():
        for name, result in books.items():
            other = distributed.results[scenario][name]
            pd.testing.assert_frame_equal(local.per_path(scenario, name), distributed.per_path(scenario, name))
            assert (result.equity_bands == other.equity_bands).all()


def test_decide_on_two_workers_equals_in_process(cluster):
    from theses.studies.decide import decide

    options = {"scenarios": "jetsons,take_off", "paths": 96, "years": 1, "seed": 5, "chunk_size": 64}
    local = decide(["bubble_watch", "essay_book"], **options)
    distributed = decide(["bubble_watch", "essay_book"], executor=cluster, **options)
    assert json.dumps(distributed.to_dict()) == json.dumps(local.to_dict())


def test_sweep_on_two_workers_equals_in_process(cluster):
    local = sweep("bubble_watch", **SWEEP)
    distributed = sweep("bubble_watch", executor=cluster, **SWEEP)
    pd.testing.assert_frame_equal(distributed.table(), local.table())
    # Two grid points and the default (window=200, off the grid), two scenarios, three blocks of paths.
    assert distributed.tasks_run == local.tasks_run == 3 * 2 * 3
    assert distributed.executor == "on a local Dask cluster of 2 worker processes"


def test_a_killed_worker_is_replaced_and_its_task_redone(cluster, tmp_path):
    assert cluster.map(die_once, [0, 1, 2], str(tmp_path)) == [0, 10, 20]
    assert (tmp_path / "died-1").exists()


def test_a_task_error_reaches_the_caller_as_itself(cluster):
    with pytest.raises(StudyError, match="--grid point window=0"):
        sweep("bubble_watch", **{**SWEEP, "grid": "window=0"}, executor=cluster)


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"workers": 2, "cluster": "tcp://127.0.0.1:8786"}, "not both"),
    ({"workers": 0}, "at least 1 worker"),
    ({"cluster": "nonsense"}, "write the scheduler's address"),
])
def test_bad_executor_options_are_one_line(kwargs, expected):
    with pytest.raises(StudyError, match=expected):
        make_executor(**kwargs)


def test_an_unreachable_scheduler_is_one_line():
    with pytest.raises(StudyError, match=r"cannot reach a Dask scheduler there .*dask scheduler") as info:
        DaskExecutor(address="tcp://127.0.0.1:9", connect_timeout=2)
    assert "\n" not in str(info.value)


def test_no_options_run_in_process():
    assert isinstance(make_executor(), SerialExecutor)


def test_track_on_two_workers_equals_in_process(cluster, tmp_path):
    from tests.unit.test_track import books
    from tests.unit.track_factory import write_prices, write_scenarios
    from theses.studies.track import track

    prices = write_prices(tmp_path / "prices")
    options = {"scenarios": write_scenarios(tmp_path / "scenarios"), "paths": 20, "confusion_paths": 10,
               "years": 0.5, "data_dir": str(prices), "source": "csv", "decide": True}
    local = track(books(), **options)
    distributed = track(books(), executor=cluster, **options)
    assert json.dumps(distributed.to_dict(), default=str) == json.dumps(local.to_dict(), default=str)
