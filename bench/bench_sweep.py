"""One parameter sweep on scenario paths in process and on local Dask clusters of 1 and 2 workers.

Prints the wall time of each, the ratio to the in-process run, the scaling efficiency of 2 workers against 1
(``T1 / (2 * T2)``), and the throughput in grid points x paths per second per worker, so a user can size a
cluster, also per CPU second the workers used (a figure that the machine's other load moves less); and
whether every run gave the in-process table exactly. Cluster start-up and the workers' first
numba load are timed apart (a warm-up sweep), not inside the sweep times. The machine's load average is
printed before and after: on a shared machine the figures move with it.

Default: ``bubble_watch``, ``window=100:300:50`` (5 points), 500 paths of 5 years of ``jetsons``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _worker_cpu_seconds() -> float:
    """CPU seconds this process has used (run on each worker through ``client.run``)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--strategy", default="bubble_watch")
    parser.add_argument("--grid", default="window=100:300:50")
    parser.add_argument("--scenario", default="jetsons")
    parser.add_argument("--paths", type=int, default=500)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--block-size", type=int, default=128)
    parser.add_argument("--workers", default="1,2", help="worker counts to time, comma-separated")
    args, _ = parser.parse_known_args()

    import pandas as pd

    from theses.studies.executor import make_executor
    from theses.studies.sweep import sweep

    options = {"grid": args.grid, "on": "scenarios", "scenarios": args.scenario, "paths": args.paths,
               "years": args.years, "seed": 1, "block_size": args.block_size}
    warm = {**options, "paths": 8, "years": 0.2, "block_size": 8}
    print(_load())
    sweep(args.strategy, **warm)  # numba cache load in this process
    t0, c0 = time.perf_counter(), time.process_time()
    reference = sweep(args.strategy, **options)
    serial, serial_cpu = time.perf_counter() - t0, time.process_time() - c0
    work = (len(reference.points) + (reference.default_id < 0)) * args.paths
    print(f"{args.strategy} {args.grid}: {len(reference.points)} points (+ default off the grid: "
          f"{reference.default_id < 0}), {args.paths} paths x {args.years:g} years of {args.scenario}, "
          f"{reference.tasks_total} tasks of {args.block_size} paths")
    print(f"in process:  {serial:7.1f} s   {work / serial:8.0f} point-paths/s   ({work / serial_cpu:.0f} per CPU second)")
    times: dict[int, float] = {}
    for workers in (int(w) for w in args.workers.split(",")):
        t0 = time.perf_counter()
        with make_executor(workers=workers) as executor:
            sweep(args.strategy, **warm, executor=executor)
            started = time.perf_counter() - t0
            before = sum(executor.client.run(_worker_cpu_seconds).values())
            t0 = time.perf_counter()
            run = sweep(args.strategy, **options, executor=executor)
            times[workers] = time.perf_counter() - t0
            cpu = sum(executor.client.run(_worker_cpu_seconds).values()) - before
        same = run.table().equals(reference.table())
        pd.testing.assert_frame_equal(run.table(), reference.table())
        print(f"{workers} worker{'s' if workers > 1 else ' '}:   {times[workers]:7.1f} s   "
              f"{work / times[workers] / workers:8.0f} point-paths/s per worker   x{times[workers] / serial:.2f} of in "
              f"process   ({work / cpu:.0f} per worker CPU second; start-up and warm-up {started:.1f} s; "
              f"identical to in process: {same})")
    if 1 in times and 2 in times:
        print(f"scaling efficiency, 2 workers vs 1: {times[1] / (2 * times[2]):.0%}")
    print(_load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
