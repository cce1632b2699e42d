"""Chunks of paths generated one ahead in a background thread (theses.studies.chunk_paths)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from theses.studies import chunk_paths
from theses.studies.chunk_paths import generate_chunk, kernels_run_concurrently, prefetched_chunks
from theses.studies.scenarios import path_source, plan_chunks, resolve_scenarios


@dataclass(frozen=True)
class _Spec:
    name: str
    tickers: tuple[str, ...]


class _SlowGenerator:
    """Prices that say which path and day they are, drawn slowly, recording the thread that drew them."""

    def __init__(self, threads: list[str], fail_at: int | None = None) -> None:
        self.threads, self.fail_at = threads, fail_at

    def generate(self, path_start: int, n_paths: int, out: np.ndarray) -> np.ndarray:
        if path_start == self.fail_at:
            raise RuntimeError(f"no paths from {path_start}")
        self.threads.append(threading.current_thread().name)
        time.sleep(0.02)
        out[...] = path_start + np.arange(n_paths, dtype=np.float32)[:, None, None] + np.arange(out.shape[1])[:, None]
        return out


class _Source:
    def __init__(self, generator: _SlowGenerator, days: int = 6) -> None:
        self.index = pd.bdate_range("2030-01-01", periods=days)
        self.gen = generator

    def generator(self, spec: _Spec) -> _SlowGenerator:
        return self.gen


def _expected(task, days: int) -> np.ndarray:
    paths = task.path_start + np.arange(task.n_paths, dtype=np.float32)[:, None, None]
    return np.broadcast_to(paths + np.arange(days)[:, None], (task.n_paths, days, len(task.spec.tickers)))


@pytest.mark.parametrize("concurrent", [True, False])
def test_each_chunk_is_handed_out_in_order_and_untouched_while_the_caller_holds_it(monkeypatch, concurrent):
    monkeypatch.setattr(chunk_paths, "kernels_run_concurrently", lambda: concurrent)
    threads: list[str] = []
    source = _Source(_SlowGenerator(threads))
    tasks = plan_chunks([_Spec("a", ("X", "Y")), _Spec("b", ("X", "Y", "Z"))], paths=25, chunk_size=10)
    seen = []
    for task, prices in prefetched_chunks(tasks, source):
        time.sleep(0.05)  # the next chunk is drawn meanwhile, into the other buffer
        np.testing.assert_array_equal(prices, _expected(task, 6))
        seen.append((task.spec.name, task.path_start, prices.shape))
    assert seen == [("a", 0, (10, 6, 2)), ("a", 10, (10, 6, 2)), ("a", 20, (5, 6, 2)),
                    ("b", 0, (10, 6, 3)), ("b", 10, (10, 6, 3)), ("b", 20, (5, 6, 3))]
    background = [name for name in threads if name.startswith("theses-paths")]
    assert len(background) == (5 if concurrent else 0)  # every chunk after the first, when allowed
    assert not any(t.name.startswith("theses-paths") for t in threading.enumerate())


def test_closing_early_waits_for_the_chunk_being_drawn_and_errors_reach_the_caller(monkeypatch):
    monkeypatch.setattr(chunk_paths, "kernels_run_concurrently", lambda: True)
    threads: list[str] = []
    source = _Source(_SlowGenerator(threads, fail_at=20))
    tasks = plan_chunks([_Spec("a", ("X",))], paths=40, chunk_size=10)
    chunks = prefetched_chunks(tasks, source)
    next(chunks)
    chunks.close()
    assert len(threads) == 2 and not any(t.name.startswith("theses-paths") for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="no paths from 20"):
        list(prefetched_chunks(tasks, source))


def test_prefetched_paths_equal_the_ones_drawn_in_turn():
    specs = resolve_scenarios("take_off")
    source = path_source(specs, years=0.5, seed=11)
    tasks = plan_chunks(specs, paths=150, chunk_size=64)
    drawn = [(task, prices.copy()) for task, prices in prefetched_chunks(tasks, source)]
    for task, prices in drawn:
        np.testing.assert_array_equal(prices, generate_chunk(task, source))
    np.testing.assert_array_equal(np.concatenate([p for _, p in drawn]),
                                  source.generator(specs[0]).generate(0, 150))


def test_no_background_generation_without_a_thread_safe_numba_layer(monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "numba", raising=False)
    assert not kernels_run_concurrently()


def test_a_simulation_with_paths_drawn_ahead_equals_one_drawn_in_turn(monkeypatch):
    from theses.studies.scenarios import simulate

    def run():
        return simulate(["essay_book", "bubble_watch"], scenarios="jetsons,damp_squib", paths=300, years=1.0,
                        chunk_size=100)

    ahead = run()
    monkeypatch.setattr(chunk_paths, "kernels_run_concurrently", lambda: False)
    in_turn = run()
    assert ahead.to_dict() == in_turn.to_dict()
    for scenario, books in ahead.results.items():
        for name, result in books.items():
            other = in_turn.results[scenario][name]
            for key in ("terminal_wealth", "cagr", "max_drawdown", "turnover", "costs", "equity_bands"):
                np.testing.assert_array_equal(getattr(result, key), getattr(other, key), f"{scenario} {name} {key}")
    assert len(ahead.results["jetsons"]["essay_book"].terminal_wealth) == 300
