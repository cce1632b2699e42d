"""The main job: every strategy on history (full and since the essay) and on the essay's scenarios.

History comes from the usual order (the price cache, a CSV folder, Yahoo Finance when online, else the
embedded sample of closes, with a note saying which and its last date); the scenarios always run, offline,
from the shipped calibration.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.studies.history import Comparison, compare
from theses.studies.scenarios import ProgressFn, SimulationRun, simulate
from theses.studies.settings import (
    DEFAULT_SETTINGS,
    DEMO_PATHS,
    DEMO_SEED,
    DEMO_YEARS,
    ESSAY_DATE,
    resolve_strategies,
)


@dataclass
class DemoRun:
    """The demo's three parts."""

    history: Comparison
    since_essay: Comparison
    simulation: SimulationRun

    @property
    def history_source(self) -> str:
        return self.history.context.source


def demo(
    *, data_dir: str | None = None, paths: int = DEMO_PATHS, years: float = DEMO_YEARS, seed: int = DEMO_SEED,
    progress: ProgressFn | None = None,
) -> DemoRun:
    """Compare every strategy with SPY and RSP on history and on simulated paths of every scenario."""
    chosen = resolve_strategies(None)
    history = compare(chosen, data_dir=data_dir)
    since = compare(chosen, start=ESSAY_DATE, data_dir=data_dir)
    simulation = simulate(chosen, scenarios="all", paths=paths, years=years, seed=seed, settings=DEFAULT_SETTINGS,
                          progress=progress)
    return DemoRun(history, since, simulation)
