"""Where a study's tasks run: in this process, or on Dask workers (a local cluster or a user's scheduler).

A long study (a sweep, a scenario simulation) is split into small pure tasks and one shared, read-only
*context* (strategies, settings, how paths are drawn): ``fn(task, context)`` is a module-level function, so
it pickles by name; it regenerates any price paths from the seeds in its task, so what travels is small.
An executor runs ``fn`` over the tasks and yields ``(position, result)`` as each one finishes;
:meth:`Executor.map` collects them in task order, which is what makes a distributed run's merged result
equal the in-process one.

- :class:`SerialExecutor`: in this process, in order. The default.
- :class:`DaskExecutor`: ``dask.distributed``. ``workers=N`` starts a ``LocalCluster`` of N single-threaded
  worker processes (closed again with the executor); ``address="tcp://host:8786"`` connects to a running
  scheduler (``dask scheduler`` / ``dask worker``, dask-jobqueue, dask-kubernetes). The context is sent
  once per worker rather than with every task. Tasks that raise are retried ``retries`` times; a task
  whose worker dies is rescheduled by Dask itself (``distributed.scheduler.allowed-failures``).

:func:`make_executor` builds one from the ``--workers N | --cluster ADDRESS`` options.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from theses.studies.errors import StudyError

T = TypeVar("T")
TaskFn = Callable[[Any, Any], Any]
"""``fn(task, context) -> result``: a module-level (picklable) function of one task and the shared context."""
DoneFn = Callable[[int, int], None]
"""``on_done(done, total)``: called after each finished task."""

DEFAULT_RETRIES = 2
MALLOC_TRIM_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
CONNECT_TIMEOUT_S = 20


class Executor(Protocol):
    """What a study needs from an executor (see the module docstring)."""

    description: str
    workers: int

    def run(self, fn: TaskFn, tasks: Sequence[Any], context: Any = None) -> Iterator[tuple[int, Any]]:
        """``(position, fn(task, context))`` for every task, in the order they finish."""
        ...

    def map(self, fn: TaskFn, tasks: Sequence[Any], context: Any = None,
            on_done: DoneFn | None = None) -> list[Any]:
        """``[fn(task, context) for task in tasks]``, in task order."""
        ...

    def close(self) -> None:
        """Release workers and connections (a no-op in process)."""
        ...


def collect(executor: Executor, fn: TaskFn, tasks: Sequence[Any], context: Any = None,
            on_done: DoneFn | None = None) -> list[Any]:
    """Run every task through ``executor.run`` and return the results in task order."""
    results: list[Any] = [None] * len(tasks)
    for done, (position, result) in enumerate(executor.run(fn, tasks, context), 1):
        results[position] = result
        if on_done is not None:
            on_done(done, len(tasks))
    return results


class SerialExecutor:
    """Every task in this process, one after the other, in task order."""

    description = "in process"
    workers = 1

    def run(self, fn: TaskFn, tasks: Sequence[Any], context: Any = None) -> Iterator[tuple[int, Any]]:
        for position, task in enumerate(tasks):
            yield position, fn(task, context)

    def map(self, fn: TaskFn, tasks: Sequence[Any], context: Any = None,
            on_done: DoneFn | None = None) -> list[Any]:
        return collect(self, fn, tasks, context, on_done)

    def close(self) -> None:
        return None

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _identity(value: T) -> T:
    """The context as a task result, so Dask can recompute it on another worker if its holder dies."""
    return value


class DaskExecutor:
    """Tasks on a Dask cluster: a ``LocalCluster`` of ``workers`` processes, or the scheduler at ``address``.

    Parameters
    ----------
    workers : number of local worker processes (one thread each); ignored with ``address``.
    address : a running scheduler, e.g. ``tcp://10.0.0.5:8786``.
    retries : how many times a task that raised is run again before its error is reported.
    connect_timeout : seconds to wait for the scheduler at ``address``.
    """

    def __init__(self, workers: int | None = None, address: str | None = None,
                 retries: int = DEFAULT_RETRIES, connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        from distributed import Client

        self.retries = int(retries)
        self._cluster = None
        if address:
            try:
                self.client = Client(address, timeout=connect_timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                raise StudyError(
                    f"--cluster {address}: cannot reach a Dask scheduler there ({_short(exc)}); start one "
                    "with `dask scheduler` and workers with `dask worker ADDRESS`, or use --workers N"
                ) from None
            self.workers = max(len(self.client.scheduler_info().get("workers", {})), 1)
            self.description = f"on the Dask scheduler at {address} ({self.workers} workers when connected)"
        else:
            self.workers = int(workers or 1)
            self._cluster = _local_cluster(self.workers)
            self.client = Client(self._cluster)
            self.description = f"on a local Dask cluster of {self.workers} worker process{'es' * (self.workers > 1)}"

    def run(self, fn: TaskFn, tasks: Sequence[Any], context: Any = None) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        if not tasks:
            return
        run_id = uuid.uuid4().hex[:12]
        shared = self.client.submit(_identity, context, key=f"context-{run_id}", pure=False)
        futures = [
            self.client.submit(fn, task, shared, key=f"{getattr(fn, '__name__', 'task')}-{run_id}-{i}",
                               retries=self.retries, pure=False)
            for i, task in enumerate(tasks)
        ]
        position = {future.key: i for i, future in enumerate(futures)}
        try:
            for future in as_completed(futures):
                yield position[future.key], future.result()
                future.release()
        finally:
            self.client.cancel([*futures, shared])

    def map(self, fn: TaskFn, tasks: Sequence[Any], context: Any = None,
            on_done: DoneFn | None = None) -> list[Any]:
        return collect(self, fn, tasks, context, on_done)

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _local_cluster(workers: int) -> Any:
    """A ``LocalCluster`` of single-threaded worker processes, no dashboard, and quiet logs (a task's error
    reaches the caller as an exception; Dask's own connection chatter at shutdown is not the user's concern).

    Each worker runs numba kernels on one thread too: the parallelism is the workers', and a worker's
    kernel threads on top of them would only compete for the same cores. Dask's default
    ``MALLOC_TRIM_THRESHOLD_`` for worker processes is left unset: it fixes glibc's mmap threshold, so every
    large array of a task is fresh memory to fault in, which made tasks about 1.7x slower in CPU time.
    """
    import logging

    import dask
    from distributed import LocalCluster

    with dask.config.set({MALLOC_TRIM_KEY: None}):
        # The scheduler's HTTP routes on a free port (":0"), not 8787, which another cluster may hold.
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
            scheduler_kwargs={"dashboard": False}, silence_logs=logging.CRITICAL, env={"NUMBA_NUM_THREADS": "1"},
        )


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__


def make_executor(workers: int | None = None, cluster: str | None = None,
                  retries: int = DEFAULT_RETRIES) -> SerialExecutor | DaskExecutor:
    """The executor of ``--workers N | --cluster ADDRESS``: in process when neither is given.

    Raises
    ------
    StudyError
        Both given, a worker count below 1, or an address that is not ``tcp://HOST:PORT``-like.
    """
    if workers is not None and cluster:
        raise StudyError("give either --workers N or --cluster ADDRESS, not both")
    if cluster:
        if "://" not in cluster and ":" not in cluster:
            raise StudyError(f"--cluster {cluster!r}: write the scheduler's address, e.g. tcp://127.0.0.1:8786")
        return DaskExecutor(address=cluster, retries=retries)
    if workers is None:
        return SerialExecutor()
    if workers < 1:
        raise StudyError(f"--workers {workers}: use at least 1 worker process (or leave it out to run in process)")
    return DaskExecutor(workers=workers, retries=retries)
