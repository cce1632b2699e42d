"""Scenario workload at full size: 10,000 paths x 5 years x 40 assets x every book (one scenario).

Generation (``data.generators.ParametricGenerator``; the next chunk's in a background thread while this one is
evaluated, ``studies.chunk_paths``), each book's target weights (the strategies, through
``studies.scenarios.chunk_books``) and the evaluation of every book in one pass per chunk
(``engine.backtest_books_batch``), merged over chunks: the pipeline of ``theses simulate``. Prints
each stage's wall time (for the paths, the time spent waiting for them), user-CPU / wall (2.0 = both cores
busy), peak memory (ru_maxrss), and the memory floor: bytes moved (the float32 paths written once and read
once) / bandwidth measured in this process. Targets: <= 8 s total, peak memory <= 2 GB; then ``theses simulate
--scenario all`` on the same paths and years in a fresh process, <= 45 s for 10,000 x 5 years, and ``theses
decide --paths 2000``, <= 20 s. Smaller runs: ``--paths 2000 --years 2``.

The kernels are compiled into numba's cache by a first child process (the same workload on 8 paths), so the
peak is the workload's and not a compiler's (~0.6 GB more on a cold cache); the child's time and peak are
printed apart.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np


def _peak_mb() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 / 1024 / 1024 if sys.platform == "darwin" else 1 / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bandwidth_gb_s(megabytes: int = 512) -> float:
    """Best of three copies of a ``megabytes`` array (bytes read + written per second), in GB/s."""
    src = np.ones(megabytes * 2**20 // 8)
    dst = np.empty_like(src)
    best = min(_timed(lambda: np.copyto(dst, src)) for _ in range(3))
    return 2 * src.nbytes / best / 1e9


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def compile_in_child(years: float, scenario: str, seed: int) -> str:
    """Fill numba's cache in a child process (the workload on 8 paths); its wall time and peak, in words."""
    import subprocess

    argv = [sys.executable, __file__, "--paths", "8", "--chunk-size", "8", "--years", f"{years:g}", "--scenario",
            scenario, "--seed", str(seed), "--compile-only"]
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"compiling the kernels failed: {done.stderr.strip().splitlines()[-1:]}")
    return (f"numba cache: {wall:.1f} s and {float(done.stdout.split()[-1]):,.0f} MB peak in a child to compile or "
            "load every kernel (a compile's on a cold cache, a load's on a warm one)")


def run(paths: int, years: float, chunk: int, scenario: str, seed: int) -> dict:
    """The workload, stage by stage with the scenario study's pieces; returns stage times, CPU and a check."""
    from theses.engine import backtest_books_batch, concat_outcomes
    from theses.studies.chunk_paths import prefetched_chunks
    from theses.studies.scenarios import (
        BEAT_BENCHMARK,
        SAMPLE_EVERY,
        chunk_books,
        path_source,
        plan_chunks,
        prime_books,
        resolve_scenarios,
        run_books,
    )
    from theses.studies.settings import DEFAULT_SETTINGS

    specs = resolve_scenarios(scenario)
    source = path_source(specs, years=years, seed=seed)
    books, _ = prime_books(run_books(None), source)
    configs = {b.name: DEFAULT_SETTINGS.config_for(b) for b in books}
    generator = source.generator(specs[0])
    tickers = list(specs[0].tickers)

    def evaluate(prices: np.ndarray, chunk_of_books: list) -> list:
        return backtest_books_batch(prices, chunk_of_books, index=source.index, tickers=tickers,
                                    benchmark=BEAT_BENCHMARK, sample_every=SAMPLE_EVERY)

    warm = generator.generate(0, 8)  # compile or load every kernel outside the timings
    evaluate(warm, chunk_books(books, configs, warm, tickers, source.index))

    # Generation of chunk j+1 runs in a thread while chunk j is evaluated (studies.chunk_paths), as in `theses
    # simulate`: "paths" is the time the pipeline waited for them, the first chunk's whole generation included.
    stages = {"paths": 0.0, "weights": 0.0, "evaluation": 0.0}
    parts: dict[str, list] = {b.name: [] for b in books}
    cpu0, wall0 = _cpu(), time.perf_counter()
    t0 = wall0
    for _, prices in prefetched_chunks(plan_chunks(specs[:1], paths, chunk), source):
        t1 = time.perf_counter()
        chunk_of_books = chunk_books(books, configs, prices, tickers, source.index)
        t2 = time.perf_counter()
        for outcome in evaluate(prices, chunk_of_books):
            parts[outcome.name].append(outcome)
        t3 = time.perf_counter()
        stages["paths"] += t1 - t0
        stages["weights"] += t2 - t1
        stages["evaluation"] += t3 - t2
        del prices, chunk_of_books
        t0 = time.perf_counter()
    merged = {name: concat_outcomes(p) for name, p in parts.items()}
    wall = time.perf_counter() - wall0
    return {"wall": wall, "cpu": _cpu() - cpu0, "stages": stages, "books": len(books), "days": len(source.index),
            "assets": len(tickers), "median_cagr": float(np.median(merged["essay_book"].cagr)),
            "bytes": paths * len(source.index) * len(tickers) * 4}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--chunk-size", type=int, default=1024)
    parser.add_argument("--no-cli", action="store_true",
                        help="skip timing `theses simulate --scenario all --paths N --years Y` (target <= 45 s) "
                             "and `theses decide --paths 2000` (target <= 20 s)")
    parser.add_argument("--scenario", default="jetsons")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compile-only", action="store_true", help=argparse.SUPPRESS)  # the child's part
    args, _ = parser.parse_known_args()
    if args.compile_only:
        run(args.paths, args.years, args.chunk_size, args.scenario, args.seed)
        print(f"{_peak_mb():.0f}")
        return 0
    print(f"machine load (1/5/15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(compile_in_child(args.years, args.scenario, args.seed), flush=True)
    r = run(args.paths, args.years, args.chunk_size, args.scenario, args.seed)
    print(f"{args.paths} paths x {r['days']} days x {r['assets']} assets x {r['books']} books, scenario "
          f"{args.scenario}, chunks of {args.chunk_size}")
    for stage, seconds in r["stages"].items():
        print(f"  {stage:11s} {seconds:6.2f} s")
    print(f"  user-CPU / wall {r['cpu'] / r['wall']:.2f} (2.00 = both cores busy throughout)")
    bandwidth = bandwidth_gb_s()
    moved = 2 * r["bytes"]  # the float32 paths written by the generator and read once by the evaluation
    floor = moved / 1e9 / bandwidth
    print(f"  memory floor: {moved / 1e9:.1f} GB moved / {bandwidth:.1f} GB/s measured = {floor:.2f} s; "
          f"total is {r['wall'] / floor:.1f}x the floor")
    peak = _peak_mb()
    print(f"TARGET scenario workload: {r['wall']:.1f} s (target <= 8 s) {'met' if r['wall'] <= 8 else 'NOT met'}")
    print(f"TARGET peak memory: {peak:,.0f} MB (target <= 2,048 MB) {'met' if peak <= 2048 else 'NOT met'}")
    print(f"check: essay_book median CAGR {r['median_cagr']:.3%}")
    if not args.no_cli:
        print(cli_target(["simulate", "--scenario", "all", "--paths", str(args.paths), "--years", f"{args.years:g}",
                          "--format", "json"], 45.0), flush=True)
        print(cli_target(["decide", "--paths", "2000"], 20.0), flush=True)
    return 0


def cli_target(args: list[str], target_s: float) -> str:
    """Wall time of ``theses ARGS`` in a fresh process (kernels cached by the run above) against ``target_s``."""
    import subprocess
    from pathlib import Path

    argv = [str(Path(sys.executable).with_name("theses")), *args]  # printed results only, as the target says
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        return f"`theses {' '.join(args)}` failed: {done.stderr.strip().splitlines()[-1:]}"
    return (f"TARGET `theses {' '.join(args)}`: {wall:.1f} s (target <= {target_s:g} s, ratio "
            f"{wall / target_s:.2f}) {'met' if wall <= target_s else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
