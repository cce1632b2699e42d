"""The main job: every strategy on history (full and since the essay) and the decision across the essay's scenarios.

History comes from the usual order (the price cache, a CSV folder, Yahoo Finance when online, else the
embedded sample of closes, with a note saying which and its last date); the scenarios always run, offline,
from the shipped calibration, and the decision study answers which book to hold across them.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.studies.decide import Decision, decide
from theses.studies.history import Comparison, compare
from theses.studies.limits import check_simulation, widest
from theses.studies.scenarios import ProgressFn, SimulationRun, resolve_scenarios, run_books
from theses.studies.settings import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_SETTINGS,
    DEMO_PATHS,
    DEMO_SEED,
    DEMO_YEARS,
    ESSAY_DATE,
    check_data_dir,
    resolve_strategies,
)


@dataclass
class DemoRun:
    """The demo's three parts."""

    history: Comparison
    since_essay: Comparison
    decision: Decision

    @property
    def history_source(self) -> str:
        return self.history.context.source

    @property
    def simulation(self) -> SimulationRun:
        """The scenario simulation behind the decision."""
        return self.decision.run


def demo(
    *, data_dir: str | None = None, paths: int = DEMO_PATHS, years: float = DEMO_YEARS, seed: int = DEMO_SEED,
    progress: ProgressFn | None = None,
) -> DemoRun:
    """Compare every strategy with SPY and RSP on history, and decide between them across every scenario.

    The simulation's options and size are checked first, so a run that cannot finish is refused before
    the history comparisons are computed.
    """
    chosen = resolve_strategies(None)
    check_data_dir(data_dir)
    specs = resolve_scenarios("all")
    check_simulation(paths=paths, years=years, seed=seed, chunk_size=DEFAULT_CHUNK_SIZE, mean_block=20.0,
                     start=None, assets=widest(specs), books=len(run_books(chosen)), scenarios=len(specs))
    history = compare(chosen, data_dir=data_dir,
                      progress=None if progress is None else lambda d, i, n: progress(f"full history: {d}", i, n))
    since = compare(chosen, start=ESSAY_DATE, data_dir=data_dir,
                    progress=None if progress is None else lambda d, i, n: progress(f"since the essay: {d}", i, n))
    decision = decide(chosen, scenarios="all", paths=paths, years=years, seed=seed, settings=DEFAULT_SETTINGS,
                      progress=progress)
    return DemoRun(history, since, decision)
