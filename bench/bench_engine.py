"""Batch engine vs a plain numpy reference and vectorbt ``Portfolio.from_orders``; peak memory; CLI cold start.

Workload: 1,000 paths x 2,520 days x 30 assets (float64 prices, 605 MB), 20 longs at +5% and 10 shorts
at -5% of equity, monthly rebalancing, 10 bps fees. Each measurement runs in its own subprocess so peak
memory does not mix: *peak RSS* is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that subprocess
(everything: interpreter, libraries, the price array, the engine); *numpy peak* is tracemalloc's peak of
numpy allocations during the backtest call alone (numba's own output arrays are not traced, they are
P x T float64 = 20 MB). Times exclude numba/vectorbt compilation (a small warm-up call runs first), and so
does peak memory: a first child compiles the kernels into numba's cache before the measured children start
(on a cold cache the compiler peaks at ~0.8 GB, and compiling in the measured child added ~0.4 GB to its
peak; the compile's time and peak are printed apart).

Every time ratio is taken in one process, the two runs alternating, so a machine whose speed drifts slows
both alike. The numpy reference (``bench/numpy_reference.py``, the same rules vectorised over paths with BLAS
segments) alternates with the engine in the engine's process, best of five each; their outputs must agree to
1e-12. vectorbt alternates with the engine in its own process, in five rounds of one vectorbt run and the
engine's best of three; the speed-up is vectorbt's best over the engine's best (each round's own ratio is
printed too, to show the spread: this machine's speed drifts by up to 2x within minutes, and vectorbt's own
time varies by as much from run to run). The band-and-borrow book alternates with the plain one in its
process. Targets: engine no slower than the reference, >= 400x vectorbt, bands+borrow <= 3x plain.

Usage: ``python bench/bench_engine.py [--paths 1000] [--vbt-paths 100]``. vectorbt needs ~8 GB for the
full workload, so by default it runs on the first ``--vbt-paths`` paths and its time and memory above the
baseline are scaled linearly to the full count (said in the output).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

T_DAYS, N_ASSETS, SEED = 2520, 30, 42
VBT_ROUNDS = 5
"""Rounds of the vectorbt comparison (vectorbt once, then the engine best of three)."""
REPO = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_prices(n_paths: int) -> np.ndarray:
    """Geometric random walks, (paths, days, assets) float64, generated in chunks of 50 paths."""
    rng = np.random.default_rng(SEED)
    prices = np.empty((n_paths, T_DAYS, N_ASSETS))
    for lo in range(0, n_paths, 50):
        block = prices[lo : lo + 50]
        rng.standard_normal(block.shape, out=block)
        block *= 0.02
        block += 0.0002
        np.cumsum(block, axis=1, out=block)
        np.exp(block, out=block)
        block *= 100.0
    return prices


def make_weights() -> np.ndarray:
    """(1, T, N) static book: 20 longs at +5%, 10 shorts at -5% (gross 1.5, net 0.5), every row a target."""
    weights = np.empty((1, T_DAYS, N_ASSETS))
    weights[..., :20] = 0.05
    weights[..., 20:] = -0.05
    return weights


def _index():
    import pandas as pd

    return pd.bdate_range("2015-01-01", periods=T_DAYS)


def _config(bands_borrow: bool):
    from theses.engine import BacktestConfig, CostModel, RebalanceRule

    if bands_borrow:
        return BacktestConfig(costs=CostModel(fees_bps=10.0, borrow_bps=50.0),
                              rebalance=RebalanceRule("monthly", band_abs=0.01))
    return BacktestConfig(costs=CostModel(fees_bps=10.0), rebalance=RebalanceRule("monthly"))


def _trade_bars(index) -> np.ndarray:
    """Bars the static monthly book trades on: the entry (bar 1) and the first trading day of each month after."""
    from theses.engine.schedule import rebalance_mask

    calendar = rebalance_mask(index, "monthly", "first")
    return np.r_[1, np.flatnonzero(calendar[2:]) + 2]


def _agreement(result, reference: dict) -> float:
    """Largest difference between the engine's outputs and the numpy reference's, relative to max(|value|, 1).

    Relative for wealth and equity (around 1 and above), absolute for figures near zero (a CAGR of 0.1% has no
    meaningful 12th significant digit).
    """
    worst = 0.0
    for key in ("terminal_wealth", "cagr", "max_drawdown", "turnover", "costs", "equity_bands", "equity"):
        ours, theirs = np.asarray(getattr(result, key)), reference[key]
        worst = max(worst, float(np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1.0))))
    return worst


def _idle_cpu_after(run, idle: float = 0.05) -> float:
    """Median CPU time (ms) the process burns in the ``idle`` seconds after ``run()`` returns: OpenMP workers
    still spinning for the next parallel region (libgomp's default spins ~10 ms; the engine sets fewer spins)."""
    burnt = []
    for _ in range(7):
        run()
        start = time.process_time()
        time.sleep(idle)
        burnt.append(time.process_time() - start)
    return float(np.median(burnt)) * 1e3


def child_compile() -> dict:
    """Both books on two paths, so numba's cache holds the kernels before any memory is measured."""
    from theses import engine

    index, tickers, weights = _index(), [f"A{i}" for i in range(N_ASSETS)], make_weights()
    t0 = time.perf_counter()
    for bands_borrow in (False, True):
        engine.backtest_batch(make_prices(2), weights, _config(bands_borrow), index=index, tickers=tickers)
    return {"seconds": time.perf_counter() - t0, "peak_rss_mb": _rss_mb()}


def child_ours(n_paths: int, bands_borrow: bool) -> dict:
    from numpy_reference import static_book_reference

    from theses import engine

    base = _rss_mb()
    index, tickers = _index(), [f"A{i}" for i in range(N_ASSETS)]
    config, weights = _config(bands_borrow), make_weights()
    engine.backtest_batch(make_prices(2), weights, config, index=index, tickers=tickers)  # compile / load
    prices = make_prices(n_paths)
    plain = _config(False)
    times, ref_times = [], []
    for _ in range(5):  # alternate, so a busy machine slows both alike
        t0 = time.perf_counter()
        result = engine.backtest_batch(prices, weights, config, index=index, tickers=tickers)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        if bands_borrow:  # the plain book, for the ratio
            engine.backtest_batch(prices, weights, plain, index=index, tickers=tickers)
        else:
            reference = static_book_reference(prices, weights[0, 0], _trade_bars(index), 0.001, 10_000.0)
        ref_times.append(time.perf_counter() - t0)
    out = {"seconds": min(times), "median_terminal_wealth": float(np.median(result.terminal_wealth)),
           "prices_mb": prices.nbytes / 1e6}
    if bands_borrow:
        out["plain_seconds"] = min(ref_times)
    else:
        checked = engine.backtest_batch(prices, weights, config, index=index, tickers=tickers, keep_equity=True)
        out.update(reference_seconds=min(ref_times), agreement=_agreement(checked, reference))
        del checked, reference
        out["idle_cpu_ms"] = _idle_cpu_after(lambda: engine.backtest_batch(prices[:100], weights, config, index=index,
                                                                           tickers=tickers))
        out["spins"] = os.environ.get("GOMP_SPINCOUNT", "unset (OMP_WAIT_POLICY or libgomp's default)")
    tracemalloc.start()
    engine.backtest_batch(prices, weights, config, index=index, tickers=tickers)
    out["numpy_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    out.update(peak_rss_mb=_rss_mb(), base_rss_mb=base)
    return out


def child_vectorbt(n_paths: int, vbt_paths: int) -> dict:
    """vectorbt on the first ``vbt_paths`` paths, alternating with the engine on all ``n_paths``."""
    import pandas as pd
    import vectorbt as vbt

    from theses import engine
    from theses.engine.schedule import rebalance_mask

    index, tickers = _index(), [f"A{i}" for i in range(N_ASSETS)]
    trade_rows = rebalance_mask(index, "monthly", "first")
    trade_rows[0] = False
    trade_rows[1] = True  # initial entry on bar 1 (the engine's lag)

    def run(prices3d: np.ndarray):
        k = prices3d.shape[0]
        columns = pd.MultiIndex.from_product([range(k), tickers], names=["path", "ticker"])
        close = pd.DataFrame(prices3d.transpose(1, 0, 2).reshape(T_DAYS, k * N_ASSETS), index=index,
                             columns=columns)
        size = np.full((T_DAYS, k * N_ASSETS), np.nan)
        size[trade_rows] = np.tile(make_weights()[0, 0], k)
        pf = vbt.Portfolio.from_orders(close, size=size, size_type="targetpercent", direction="both",
                                       fees=0.001, init_cash=10_000.0, cash_sharing=True, group_by="path",
                                       call_seq="auto", freq="1D")
        return pf.value().to_numpy()

    def ours(prices3d: np.ndarray, keep: bool = False):
        return engine.backtest_batch(prices3d, make_weights(), _config(False), index=index, tickers=tickers,
                                     keep_equity=keep)

    run(make_prices(2))  # compile
    ours(make_prices(2))
    base = _rss_mb()
    prices = make_prices(n_paths)
    subset = prices[:vbt_paths]
    before = _rss_mb()
    vbt_times, our_times = [], []
    vbt_extra = 0.0
    for round_number in range(VBT_ROUNDS):  # alternate: vectorbt once, then ours best of three
        t0 = time.perf_counter()
        value = run(subset)
        vbt_times.append(time.perf_counter() - t0)
        if round_number == 0:
            # vectorbt's own memory at its first peak (later rounds' peaks add the garbage of the one before; a
            # gc.collect() between rounds would hand pages back that vectorbt then faults in again, ~20% slower)
            vbt_extra = _rss_mb() - before
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            ours(prices)
            best = min(best, time.perf_counter() - t0)
        our_times.append(best)
    checked = ours(subset, keep=True).equity
    max_rel_diff = float(np.max(np.abs(checked - value.T / 10_000.0) / checked))
    return {"vbt_seconds": vbt_times, "ours_seconds": our_times, "base_rss_mb": base,
            "vbt_rss_mb": vbt_extra + subset.nbytes / 2**20, "max_rel_diff": max_rel_diff}


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"bench child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_start() -> str:
    theses = shutil.which("theses") or str(Path(sys.executable).with_name("theses"))
    data_dir = os.environ.get("THESES_DATA_DIR") or str(REPO.parent / "shared" / "data" / "prices")
    probe = subprocess.run([theses, "backtest", "--help"], capture_output=True, text=True)
    if probe.returncode != 0 or "--weights" not in probe.stdout:
        return "cold start: skipped (`theses backtest --weights` is not available yet)"
    cmd = [theses, "backtest", "--weights", "SPY=1", "--data-dir", data_dir]
    walls = []
    for _ in range(2):  # the first run may compile and fill the numba cache; the second is warm
        t0 = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        if run.returncode != 0:
            return f"cold start: `theses backtest` failed: {run.stderr.strip().splitlines()[-1:]}"
    return (f"cold start `theses backtest --weights SPY=1` (fresh process): first {walls[0]:.2f} s, "
            f"warm numba cache {walls[1]:.2f} s (target <= 3 s)")


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # numpy_reference beside this file
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--vbt-paths", type=int, default=100)
    parser.add_argument("--child", choices=["compile", "ours", "ours-bands", "vectorbt"])
    args, _ = parser.parse_known_args()
    if args.child:
        if args.child == "compile":
            result = child_compile()
        elif args.child == "vectorbt":
            result = child_vectorbt(args.paths, args.vbt_paths)
        else:
            result = child_ours(args.paths, args.child == "ours-bands")
        print(json.dumps(result))
        return 0

    p, vp = args.paths, min(args.vbt_paths, args.paths)
    print(f"machine load (1/5/15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    prices_mb = p * T_DAYS * N_ASSETS * 8 / 1e6
    print(f"workload: {p} paths x {T_DAYS} days x {N_ASSETS} assets (float64 prices {prices_mb:.0f} MB), "
          "20 longs / 10 shorts, monthly, 10 bps; peak memory = ru_maxrss of one subprocess per measurement")
    compiled = _child(["--child", "compile"])
    print(f"{'numba cache':22s}: {compiled['seconds']:7.3f} s to compile or load both books' kernels, peak RSS "
          f"{compiled['peak_rss_mb']:.0f} MB (seconds and MB are a compile's on a cold cache, a load's on a warm one)")
    plain = _child(["--child", "ours", "--paths", str(p)])
    bands = _child(["--child", "ours-bands", "--paths", str(p)])
    vbt = _child(["--child", "vectorbt", "--paths", str(p), "--vbt-paths", str(vp)])
    scale = p / vp
    vbt_seconds = min(vbt["vbt_seconds"]) * scale
    # Each round's vectorbt time (scaled) over ours right after it, printed to show the spread.
    round_ratios = [v * scale / o for v, o in zip(vbt["vbt_seconds"], vbt["ours_seconds"], strict=True)]
    vbt_peak = vbt["base_rss_mb"] + vbt["vbt_rss_mb"] * scale
    for label, r in (("ours, plain", plain), ("ours, bands+borrow", bands)):
        print(f"{label:22s}: {r['seconds']:7.3f} s   peak RSS {r['peak_rss_mb']:6.0f} MB "
              f"({r['peak_rss_mb'] / prices_mb:.2f}x prices; {r['base_rss_mb']:.0f} MB of it is the interpreter "
              f"+ libraries before any data), numpy peak in the call {r['numpy_peak_mb']:.0f} MB")
    note = f" (measured on {vp} paths, scaled x{scale:g} linearly)" if vp != p else ""
    print(f"{'vectorbt from_orders':22s}: {vbt_seconds:7.3f} s   peak RSS {vbt_peak:6.0f} MB{note}; "
          f"max relative equity difference to ours {vbt['max_rel_diff']:.1e}")
    print(f"{'numpy reference':22s}: {plain['reference_seconds']:7.3f} s   (same process, alternating with ours; "
          f"outputs agree to {plain['agreement']:.1e}, target <= 1e-12)")
    print(f"{'idle CPU after a call':22s}: {plain['idle_cpu_ms']:7.2f} ms in the next 50 ms (OpenMP workers spinning; "
          f"GOMP_SPINCOUNT={plain['spins']}; libgomp's default burns ~10 ms)")
    ratio = plain["seconds"] / plain["reference_seconds"]
    print(f"TARGET engine / numpy reference time: {ratio:.2f} (target <= 1.00) {'met' if ratio <= 1 else 'NOT met'}")
    speedup = vbt_seconds / min(vbt["ours_seconds"])
    print(f"TARGET speed-up vs vectorbt: {speedup:.0f}x (target >= 400x) {'met' if speedup >= 400 else 'NOT met'} "
          f"(best of {len(round_ratios)} rounds each; same process: ours {min(vbt['ours_seconds']):.3f} s there; "
          f"round by round {' '.join(f'{r:.0f}' for r in round_ratios)}x)")
    band_ratio = bands["seconds"] / bands["plain_seconds"]
    print(f"TARGET bands+borrow / plain time: {band_ratio:.2f}x (target <= 3x) {'met' if band_ratio <= 3 else 'NOT met'}"
          f" (same process: plain {bands['plain_seconds']:.3f} s there)")
    peak = plain["peak_rss_mb"] / prices_mb
    print(f"TARGET peak memory: {peak:.2f}x prices (target <= 2.5x) {'met' if peak <= 2.5 else 'NOT met'}")
    print(cold_start())
    return 0


if __name__ == "__main__":
    sys.exit(main())
