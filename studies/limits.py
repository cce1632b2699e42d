"""What a scenario study may be asked: option ranges, and whether the work can finish before it starts.

A simulation's memory and time grow with paths x days x assets x books. Before any path is drawn,
:func:`check_simulation` estimates both and refuses, in one line that says what would fit, a run that
would exceed the memory available now or the time limit:

* memory: one chunk of paths held at a time (``chunk x days x assets`` float32 prices, about
  :data:`CHUNK_COPIES` copies of it while the books run) plus the per-path outcomes every book keeps for
  every scenario (:data:`KEPT_BYTES_PER_PATH` per path, scenario and book), plus the interpreter and
  libraries (:data:`BASE_BYTES`); compared with ``MemAvailable`` of ``/proc/meminfo``.
* time, in process: :data:`SECONDS_PER_UNIT` per path-day-book (measured on a busy 2-core machine with
  ``bench/bench_scenarios.py``-like runs: 3e-7 to 8e-7 s) against :data:`MAX_HOURS` hours, which the
  ``THESES_MAX_HOURS`` environment variable may raise. A run handed to an executor (workers, a cluster)
  is not limited in time here.

The figures are estimates meant to refuse what cannot finish (``--paths 1e12``), not to predict run times.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from theses.studies.errors import StudyError

TRADING_DAYS_PER_YEAR = 252
MIN_YEARS = 0.01
MAX_YEARS = 50.0
MAX_SEED = 2**64 - 1
MIN_MEAN_BLOCK = 1.0
MAX_MEAN_BLOCK = 1_000.0

BASE_BYTES = 400 * 2**20
PRICE_BYTES = 4  # float32 paths
CHUNK_COPIES = 5  # prices, each book's sub-panel, its weights and equity at once (peak ~3.6x measured), plus
# the next chunk's prices, generated meanwhile (studies.chunk_paths)
KEPT_BYTES_PER_PATH = 6 * 8 * 3  # 5 per-path outcomes + SPY's wealth, float64, about 3 copies while merging
SECONDS_PER_UNIT = 5e-7
MAX_HOURS = 12.0


# ------------------------------------------------------------------------------------------ option values
def whole_number(option: str, value: Any, low: int, high: int, example: str) -> int:
    """``value`` as an int in ``[low, high]``, or a StudyError naming the option, the range and an example."""
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not (math.isfinite(value) and value.is_integer())):
        raise StudyError(f"{option} {value!r} is not a whole number; give e.g. {option} {example}")
    if not low <= value <= high:
        raise StudyError(f"{option} {value:g} is out of range; use {low:,} to {high:,} (e.g. {option} {example})")
    return int(value)


def finite_number(option: str, value: Any, low: float, high: float, example: str) -> float:
    """``value`` as a float in ``[low, high]``, or a StudyError naming the option, the range and an example."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StudyError(f"{option} {value!r} is not a finite number; give e.g. {option} {example}")
    if not low <= value <= high:
        raise StudyError(f"{option} {value:g} is out of range; use {low:g} to {high:g} (e.g. {option} {example})")
    return float(value)


def check_start(value: Any) -> None:
    """A first simulated day is a date (``YYYY-MM-DD``) between 1900 and 2200, or None."""
    if value is None:
        return
    import pandas as pd

    text = str(value).strip()
    try:
        stamp = pd.Timestamp(value) if text else pd.NaT
    except (ValueError, TypeError, OverflowError):
        stamp = pd.NaT
    if pd.isna(stamp) or not 1900 <= stamp.year <= 2200:
        raise StudyError(f"--start {value!r} is not a date between 1900 and 2200; write it as YYYY-MM-DD, "
                         "or leave it out to start after the data")


# ------------------------------------------------------------------------------------------ the workload
@dataclass(frozen=True)
class Workload:
    """The size of a simulation: paths per scenario, days, widest scenario, books, scenarios, chunk."""

    paths: int
    days: int
    assets: int
    books: int
    scenarios: int
    chunk: int

    def memory_bytes(self, paths: int | None = None) -> float:
        """Estimated peak memory with ``paths`` per scenario (default: the workload's)."""
        paths = self.paths if paths is None else paths
        chunk = min(self.chunk, paths)
        return (BASE_BYTES + CHUNK_COPIES * PRICE_BYTES * chunk * self.days * self.assets
                + KEPT_BYTES_PER_PATH * paths * self.scenarios * self.books)

    def seconds(self, paths: int | None = None) -> float:
        """Estimated in-process time with ``paths`` per scenario (default: the workload's)."""
        paths = self.paths if paths is None else paths
        return SECONDS_PER_UNIT * paths * self.days * self.books * self.scenarios

    def paths_within(self, memory: float | None, seconds: float | None) -> int:
        """The most paths per scenario whose estimates stay within ``memory`` bytes and ``seconds``."""
        best = self.paths
        if memory is not None:
            chunk_bytes = CHUNK_COPIES * PRICE_BYTES * self.chunk * self.days * self.assets
            best = min(best, int((memory - BASE_BYTES - chunk_bytes) / (KEPT_BYTES_PER_PATH * self.scenarios
                                                                        * self.books)))
        if seconds is not None:
            best = min(best, int(seconds / (SECONDS_PER_UNIT * self.days * self.books * self.scenarios)))
        return max(best, 0)


def available_memory() -> float | None:
    """Bytes of memory available to a new allocation now (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def max_hours() -> float:
    """The in-process time limit: ``THESES_MAX_HOURS`` when set to a positive number, else :data:`MAX_HOURS`."""
    text = os.environ.get("THESES_MAX_HOURS", "")
    try:
        hours = float(text)
    except ValueError:
        return MAX_HOURS
    return hours if math.isfinite(hours) and hours > 0 else MAX_HOURS


def _size(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GB"


def check_workload(work: Workload, *, in_process: bool = True, memory: float | None = None,
                   option: str = "--paths") -> None:
    """Refuse a workload that would not fit in memory, or (in process) take longer than :func:`max_hours`."""
    memory = available_memory() if memory is None else memory
    limit = max_hours() * 3600 if in_process else None
    chunk_only = Workload(1, work.days, work.assets, work.books, work.scenarios, min(work.chunk, work.paths))
    if memory is not None and chunk_only.memory_bytes(chunk_only.chunk) > memory:
        fit = int((memory - BASE_BYTES) / (CHUNK_COPIES * PRICE_BYTES * work.days * work.assets))
        raise StudyError(f"one chunk of {chunk_only.chunk:,} paths x {work.days:,} days x {work.assets} assets "
                         f"needs ~{_size(chunk_only.memory_bytes(chunk_only.chunk))} and {_size(memory)} is "
                         f"available: use --chunk-size <= {max(fit, 0):,} or fewer --years")
    # What fits both limits, so that following the advice does not hit the other one.
    fit = work.paths_within(memory, limit)
    size = f"{option} {work.paths:,} x {work.days:,} days x {work.scenarios} scenarios x {work.books} books"
    if memory is not None and work.memory_bytes() > memory:
        raise StudyError(f"{size} would need ~{_size(work.memory_bytes())} of memory and {_size(memory)} is "
                         f"available: use {option} <= {fit:,}, fewer scenarios or books, or a sweep on a cluster")
    if limit is not None and work.seconds() > limit:
        raise StudyError(f"{size} would take ~{work.seconds() / 3600:,.0f} hours here (limit {limit / 3600:g} h, "
                         f"THESES_MAX_HOURS): use {option} <= {fit:,} or run it as a sweep on a cluster")


def check_simulation(
    *, paths: Any, years: Any, seed: Any, chunk_size: Any, mean_block: Any, start: Any,
    assets: int, books: int, scenarios: int, in_process: bool = True, paths_option: str = "--paths",
) -> Workload:
    """Check a simulation's options and size before any path is drawn; return its workload.

    Raises StudyError (one line) for a non-integral or out-of-range ``paths``/``seed``/``chunk_size``, a
    non-finite or out-of-range ``years``/``mean_block``, a bad ``start``, or a workload that would not fit.
    """
    paths = whole_number(paths_option, paths, 1, 10**15, "2000")
    chunk = whole_number("--chunk-size", chunk_size, 1, 10**9, "1024")
    whole_number("--seed", seed, 0, MAX_SEED, "2024")
    years = finite_number("--years", years, MIN_YEARS, MAX_YEARS, "5")
    finite_number("--mean-block", mean_block, MIN_MEAN_BLOCK, MAX_MEAN_BLOCK, "20")
    check_start(start)
    work = Workload(paths, max(2, round(years * TRADING_DAYS_PER_YEAR)), max(assets, 1), max(books, 1),
                    max(scenarios, 1), chunk)
    check_workload(work, in_process=in_process, option=paths_option)
    return work


def widest(specs: Sequence[Any]) -> int:
    """The number of tickers of the widest scenario spec."""
    return max((len(spec.tickers) for spec in specs), default=1)
