"""Scenario simulation at full size: 10,000 paths x 1,260 days x 40 assets x the twelve strategies.

Prints the generation time (paths only), the full pipeline time (generation + weights + batch backtests of the
twelve strategies and the SPY/RSP benchmarks) and the process's peak memory (ru_maxrss). Target: <= 60 s in
total on a 2-core machine and <= 3 GB. Smaller runs: ``--paths 2000 --years 2``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _peak_mb() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 / 1024 / 1024 if sys.platform == "darwin" else 1 / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--scenario", default="jetsons")
    parser.add_argument("--seed", type=int, default=1)
    args, _ = parser.parse_known_args()

    from theses import engine  # noqa: F401  (sets the numba cache directory first)
    from theses.cli.simulation import DEFAULT_CHUNK_SIZE, run_simulation
    from theses.data.calibration import read_calibration
    from theses.data.generators import ParametricGenerator, next_business_day, simulation_index
    from theses.data.scenario_spec import load_scenario
    from theses.strategies import list_strategies

    chunk = args.chunk_size or DEFAULT_CHUNK_SIZE
    spec = load_scenario(args.scenario)
    calibration = read_calibration()
    index = simulation_index(next_business_day(calibration.end), args.years)
    strategies = list(list_strategies())
    print(f"{args.paths} paths x {len(index)} days x {len(spec.tickers)} assets, {len(strategies)} strategies "
          f"+ SPY/RSP, scenario {spec.name}, chunk {chunk}")

    # Warm-up on a tiny run so numba compilation / cache loading is not in the timings.
    t0 = time.perf_counter()
    run_simulation(strategies, [spec], paths=8, years=0.1, seed=0, progress=False)
    print(f"warm-up (numba cache load/compile): {time.perf_counter() - t0:6.1f} s")

    generator = ParametricGenerator(spec, calibration, index, args.seed)
    t0 = time.perf_counter()
    checksum = 0.0
    for _, prices in generator.chunks(args.paths, chunk):
        checksum += float(prices[:, -1, 0].sum())
    generation = time.perf_counter() - t0
    print(f"generation only:        {generation:6.1f} s  (peak RSS so far {_peak_mb():,.0f} MB)")

    t0 = time.perf_counter()
    run = run_simulation(strategies, [spec], paths=args.paths, years=args.years, seed=args.seed, progress=False,
                         chunk_size=chunk)
    total = time.perf_counter() - t0
    print(f"full pipeline:          {total:6.1f} s  (generation {generation:.1f} s + evaluation "
          f"{total - generation:.1f} s)")
    print(f"peak memory (ru_maxrss): {_peak_mb():,.0f} MB")
    median = run.results[spec.name]["essay_book"].summary["cagr_p50"]
    print(f"check: essay_book median CAGR {median:.3%}; checksum {checksum:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
