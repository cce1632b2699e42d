"""Scenario workload at full size: 10,000 paths x 1,260 days x 40 assets x 13 books (one scenario).

Generation (``data.generators.ParametricGenerator``), each book's target weights (the strategies) and the
evaluation of every book in one pass per chunk (``engine.backtest_books_batch``), merged over chunks. Prints
each stage's wall time, user-CPU / wall (2.0 = both cores busy), peak memory (ru_maxrss), and the memory
floor: bytes moved (the float32 paths written once and read once) / bandwidth measured in this process.
Targets: <= 8 s total, peak memory <= 2 GB. Smaller runs: ``--paths 2000 --years 2``.
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


def weights_on_paths(strategy, prices: np.ndarray, columns: list[int], index, slice_paths: int = 128) -> np.ndarray:
    """A strategy's target weights on a chunk of paths, cheaply.

    First on one path: a ``(T, N)`` answer means the weights do not depend on the path (static books; the
    simulated paths share their listing pattern), so that one panel serves every path. Otherwise on slices of
    ``slice_paths`` paths in two threads (numpy releases the GIL; small slices keep the temporaries in cache:
    measured 2.2x faster than the whole chunk at once for the trend filter).
    """
    from concurrent.futures import ThreadPoolExecutor

    universe = list(strategy.universe)
    probe = strategy.target_weights_array(prices[:1, :, columns], index, universe)
    if probe.ndim == 2:
        return probe
    out = np.empty(prices.shape[:2] + (len(columns),))

    def fill(lo: int) -> None:
        hi = min(lo + slice_paths, len(prices))
        out[lo:hi] = strategy.target_weights_array(prices[lo:hi, :, columns], index, universe)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(fill, range(0, len(prices), slice_paths)))
    return out


def run(paths: int, years: float, chunk: int, scenario: str, seed: int) -> dict:
    """The workload; returns stage times, CPU and a check figure."""
    from theses.cli.common import benchmark_strategies
    from theses.data.calibration import read_calibration
    from theses.data.generators import ParametricGenerator, next_business_day, simulation_index
    from theses.data.scenario_spec import load_scenario
    from theses.engine import BacktestConfig, Book, RebalanceRule, backtest_books_batch, concat_outcomes
    from theses.strategies import list_strategies

    spec = load_scenario(scenario)
    calibration = read_calibration()
    index = simulation_index(next_business_day(calibration.end), years)
    strategies = list(list_strategies()) + list(benchmark_strategies(("SPY", "RSP")))
    tickers = list(spec.tickers)
    columns = {s.name: [tickers.index(t) for t in s.universe] for s in strategies}
    configs = {s.name: BacktestConfig(rebalance=RebalanceRule(s.rebalance, band_abs=s.band_abs, band_rel=s.band_rel),
                                      missing_policy=s.missing_policy) for s in strategies}
    generator = ParametricGenerator(spec, calibration, index, seed)

    def books_of(prices: np.ndarray) -> list:
        return [Book(list(s.universe), weights_on_paths(s, prices, columns[s.name], index), configs[s.name], s.name)
                for s in strategies]

    # Warm-up: compile or load every kernel on a tiny run, outside the timings.
    warm = generator.generate(0, 8)
    backtest_books_batch(warm, books_of(warm), index=index, tickers=tickers, benchmark="SPY")

    stages = {"generation": 0.0, "weights": 0.0, "evaluation": 0.0}
    parts: dict[str, list] = {s.name: [] for s in strategies}
    cpu0, wall0 = _cpu(), time.perf_counter()
    for start in range(0, paths, chunk):
        t0 = time.perf_counter()
        prices = generator.generate(start, min(chunk, paths - start))
        t1 = time.perf_counter()
        books = books_of(prices)
        t2 = time.perf_counter()
        for outcome in backtest_books_batch(prices, books, index=index, tickers=tickers, benchmark="SPY"):
            parts[outcome.name].append(outcome)
        t3 = time.perf_counter()
        stages["generation"] += t1 - t0
        stages["weights"] += t2 - t1
        stages["evaluation"] += t3 - t2
        del prices, books
    merged = {name: concat_outcomes(p) for name, p in parts.items()}
    wall = time.perf_counter() - wall0
    return {"wall": wall, "cpu": _cpu() - cpu0, "stages": stages, "books": len(strategies), "days": len(index),
            "assets": len(tickers), "median_cagr": float(np.median(merged["essay_book"].cagr)),
            "bytes": paths * len(index) * len(tickers) * 4}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--chunk-size", type=int, default=1024)
    parser.add_argument("--scenario", default="jetsons")
    parser.add_argument("--seed", type=int, default=1)
    args, _ = parser.parse_known_args()
    print(f"machine load (1/5/15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
