"""Chunks of simulated paths for the scenario studies, the next one generated while the caller evaluates this one.

Generation and evaluation each keep both cores busy through their numba kernels, but the books' target weights
in between are mostly single-threaded Python, which leaves a core idle for a tenth of every chunk. Generating
chunk ``j + 1`` in a background thread while the caller evaluates chunk ``j`` fills that time (measured 6-14%
off the 10,000-path scenario workload). The paths are the same either way: each block of paths comes from its
own seeded stream, whatever thread draws it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np


def kernels_run_concurrently() -> bool:
    """Whether two threads may run numba parallel kernels at once.

    The ``omp`` and ``tbb`` threading layers allow it; ``workqueue`` (numba's fallback when neither is
    installed) aborts the process. False too while numba is not loaded or no parallel kernel has run yet.
    """
    import sys

    numba = sys.modules.get("numba")
    if numba is None:
        return False
    try:
        return numba.threading_layer() in ("omp", "tbb")
    except ValueError:  # no parallel kernel has run in this process yet
        return False


def chunk_shape(task: Any, source: Any) -> tuple[int, int, int]:
    """``(paths, days, tickers)`` of a chunk task's prices."""
    return task.n_paths, len(source.index), len(task.spec.tickers)


def generate_chunk(task: Any, source: Any, out: np.ndarray | None = None) -> np.ndarray:
    """The float32 prices of one chunk task (``ChunkTask``) of a ``PathSource``, into ``out`` when given."""
    return source.generator(task.spec).generate(task.path_start, task.n_paths, out=out)


def prefetched_chunks(tasks: Sequence[Any], source: Any) -> Iterator[tuple[Any, np.ndarray]]:
    """Each task with its chunk's prices, in order, chunk ``j + 1`` generated in a background thread while the
    caller evaluates chunk ``j`` (when :func:`kernels_run_concurrently`; else in this thread, in turn).

    Two buffers alternate, so the prices handed out stay untouched until the caller asks for the next chunk:
    the caller must not keep them past that. Closing the iterator early waits for a chunk being generated.
    """
    slots: list[np.ndarray | None] = [None, None]

    def generate_into(j: int, slot: int) -> np.ndarray:
        shape = chunk_shape(tasks[j], source)
        buffer = slots[slot]
        if buffer is None or buffer.shape != shape:
            slots[slot] = None  # free the old one before allocating the new
            buffer = slots[slot] = np.empty(shape, dtype=np.float32)
        return generate_chunk(tasks[j], source, out=buffer)

    pool: ThreadPoolExecutor | None = None
    pending: Future | None = None
    current = 0  # the slot of the chunk handed out last
    try:
        for j, task in enumerate(tasks):
            if pending is not None:
                prices, current = pending.result(), 1 - current
            else:
                prices = generate_into(j, current)  # the caller is done with the chunk before
            pending = None
            if j + 1 < len(tasks) and kernels_run_concurrently():
                pool = pool or ThreadPoolExecutor(max_workers=1, thread_name_prefix="theses-paths")
                pending = pool.submit(generate_into, j + 1, 1 - current)
            yield task, prices
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
