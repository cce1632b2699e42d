"""The simulation size check: memory and time estimated from paths x days x assets x books, refused in one line."""

from __future__ import annotations

import pytest

from theses.studies.errors import StudyError
from theses.studies.limits import (
    BASE_BYTES,
    CHUNK_COPIES,
    KEPT_BYTES_PER_PATH,
    PRICE_BYTES,
    SECONDS_PER_UNIT,
    Workload,
    available_memory,
    check_simulation,
    check_workload,
    max_hours,
)


def test_memory_and_time_follow_the_stated_formulas():
    work = Workload(paths=5000, days=1260, assets=40, books=15, scenarios=5, chunk=1024)
    chunk = CHUNK_COPIES * PRICE_BYTES * 1024 * 1260 * 40
    kept = KEPT_BYTES_PER_PATH * 5000 * 5 * 15
    assert work.memory_bytes() == BASE_BYTES + chunk + kept
    assert work.seconds() == pytest.approx(SECONDS_PER_UNIT * 5000 * 1260 * 15 * 5)
    # fewer paths than a chunk: only those paths are held at once
    assert Workload(10, 1260, 40, 15, 5, 1024).memory_bytes() == (
        BASE_BYTES + CHUNK_COPIES * PRICE_BYTES * 10 * 1260 * 40 + KEPT_BYTES_PER_PATH * 10 * 5 * 15)


def test_the_suggested_paths_fit_both_limits():
    work = Workload(paths=10**9, days=1260, assets=40, books=15, scenarios=5, chunk=1024)
    memory, seconds = 8 * 2**30, 3600.0
    fit = work.paths_within(memory, seconds)
    assert Workload(fit, 1260, 40, 15, 5, 1024).memory_bytes() <= memory
    assert Workload(fit, 1260, 40, 15, 5, 1024).seconds() <= seconds
    assert Workload(fit + 1000, 1260, 40, 15, 5, 1024).seconds() > seconds or \
        Workload(fit + 1000, 1260, 40, 15, 5, 1024).memory_bytes() > memory


def test_refusals_say_what_would_fit(monkeypatch):
    monkeypatch.delenv("THESES_MAX_HOURS", raising=False)
    big = Workload(paths=10**12, days=1260, assets=40, books=15, scenarios=5, chunk=1024)
    with pytest.raises(StudyError, match=r"--paths 1,000,000,000,000 .* would need ~.* GB of memory and 16.0 GB is "
                                         r"available: use --paths <= [\d,]+, fewer scenarios or books"):
        check_workload(big, memory=16 * 2**30)
    slow = Workload(paths=10**6, days=1260, assets=40, books=15, scenarios=5, chunk=1024)
    with pytest.raises(StudyError, match=r"would take ~\d+ hours here \(limit 12 h, THESES_MAX_HOURS\)"):
        check_workload(slow, memory=10**15)
    check_workload(slow, memory=10**15, in_process=False)  # a cluster's time is not limited here
    wide = Workload(paths=10**4, days=12600, assets=400, books=2, scenarios=1, chunk=10**5)
    with pytest.raises(StudyError, match=r"one chunk of 10,000 paths .* use --chunk-size <= [\d,]+"):
        check_workload(wide, memory=16 * 2**30)


def test_the_default_run_passes():
    work = check_simulation(paths=2000, years=5, seed=2024, chunk_size=1024, mean_block=20, start=None,
                            assets=40, books=15, scenarios=5)
    assert work.days == 1260 and work.seconds() < 3600


def test_max_hours_reads_the_environment(monkeypatch):
    monkeypatch.setenv("THESES_MAX_HOURS", "0.5")
    assert max_hours() == 0.5
    for bad in ("x", "-1", "nan", "0"):
        monkeypatch.setenv("THESES_MAX_HOURS", bad)
        assert max_hours() == 12.0


def test_available_memory_is_a_positive_number_here():
    memory = available_memory()
    assert memory is None or memory > 2**20


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"paths": 2.5}, "--paths 2.5 is not a whole number"), ({"paths": float("nan")}, "--paths nan"),
    ({"paths": True}, "--paths True"), ({"seed": -1}, "--seed -1 is out of range"),
    ({"seed": 2**64}, "--seed 1.84467e+19 is out of range"), ({"years": float("inf")}, "--years inf"),
    ({"years": 0.001}, "--years 0.001 is out of range"), ({"chunk_size": 0}, "--chunk-size 0"),
    ({"mean_block": 0.5}, "--mean-block 0.5"), ({"start": ""}, "--start ''"), ({"start": "1850-01-01"}, "1900"),
    ({"start": "garbage"}, "--start 'garbage'"),
])
def test_each_option_is_checked(kwargs, message):
    options = {"paths": 10, "years": 1.0, "seed": 1, "chunk_size": 64, "mean_block": 20.0, "start": None,
               "assets": 3, "books": 2, "scenarios": 1, **kwargs}
    with pytest.raises(StudyError, match=message.replace("(", r"\(").replace("+", r"\+")):
        check_simulation(**options)
