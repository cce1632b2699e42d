"""Cold start of the ``theses`` command: ``--help``, ``list`` and ``backtest essay_book`` (warm caches).

Each command runs several times in a fresh process; the best wall time is printed beside the interpreter's own
start-up (``python -c pass``) measured in the same run, and against the targets (``--help`` and ``list``
<= 0.5 s, ``backtest essay_book`` <= 1.5 s with the price cache and numba cache warm). Figures, not pass/fail.

Warm also means Python's bytecode cache: the commands run with it on, as in any normal install, even where the
environment sets ``PYTHONDONTWRITEBYTECODE`` (with no .pyc written, the project's ~60 modules are compiled from
source on every start: about 0.15-0.2 s more, measured here).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def best_of(argv: list[str], repeat: int, env: dict[str, str]) -> float:
    """Best wall time of ``repeat`` runs of ``argv`` (seconds); a failing run stops the bench."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, env=env)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.decode()[-400:]}")
        best = min(best, elapsed)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-dir", default=os.environ.get("THESES_DATA_DIR", str(ROOT.parent / "shared/data/prices")))
    args, _ = parser.parse_known_args()
    theses = str(Path(sys.executable).with_name("theses"))
    env = dict(os.environ, THESES_CACHE_DIR=tempfile.mkdtemp(prefix="bench-cache-"))
    no_bytecode = env.pop("PYTHONDONTWRITEBYTECODE", None) is not None  # the warm-up below writes the .pyc files
    backtest = [theses, "backtest", "essay_book", "--data-dir", args.data_dir, "--format", "json"]
    best_of(backtest, 1, env)  # fills the numba cache
    if Path(args.data_dir).is_dir():  # warm price cache: fetch nothing, read parquet
        env["THESES_DATA_DIR"] = args.data_dir
    python = best_of([sys.executable, "-c", "pass"], args.repeat, env)
    rows = [
        ("theses --help", [theses, "--help"], 0.5),
        ("theses list", [theses, "list"], 0.5),
        ("theses backtest essay_book", backtest, 1.5),
    ]
    print(f"{'command':32} {'best s':>8} {'target s':>9} {'ratio to target':>16} {'x python start':>15}")
    for label, argv, target in rows:
        seconds = best_of(argv, args.repeat, env)
        print(f"{label:32} {seconds:8.3f} {target:9.2f} {seconds / target:16.2f} {seconds / python:15.1f}")
    print(f"python -c pass: {python:.3f} s (best of {args.repeat})")
    if no_bytecode:
        print("PYTHONDONTWRITEBYTECODE is set here; the commands ran without it, so the project's .pyc files are "
              "written once and read after, as in a normal install")
    return 0


if __name__ == "__main__":
    sys.exit(main())
