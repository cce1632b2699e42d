"""The main job: every strategy on history (full and since the essay) and on the essay's scenarios.

History runs when every ticker can be read without the network (a CSV folder or the price cache); the
scenarios always run, offline, from the shipped calibration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from theses.studies.history import Comparison, compare
from theses.studies.scenarios import ProgressFn, SimulationRun, simulate
from theses.studies.settings import (
    DEFAULT_SETTINGS,
    DEMO_PATHS,
    DEMO_SEED,
    DEMO_YEARS,
    ESSAY_DATE,
    resolve_strategies,
    tickers_for,
)


@dataclass
class DemoRun:
    """The demo's three parts; ``history``/``since_essay`` are None when no offline prices were found."""

    history: Comparison | None
    since_essay: Comparison | None
    simulation: SimulationRun
    history_source: str | None


def offline_source(tickers: list[str], data_dir: str | None) -> str | None:
    """``csv`` or ``cache`` when every ticker can be read without the network, else None."""
    from theses.data import CsvProvider, PriceCache

    folder = data_dir or os.environ.get("THESES_DATA_DIR")
    if folder and Path(folder).is_dir() and all(CsvProvider(folder).has(t) for t in tickers):
        return "csv"
    if set(PriceCache().tickers()).issuperset(tickers):
        return "cache"
    return None


def demo(
    *, data_dir: str | None = None, paths: int = DEMO_PATHS, years: float = DEMO_YEARS, seed: int = DEMO_SEED,
    progress: ProgressFn | None = None,
) -> DemoRun:
    """Compare every strategy with SPY and RSP on history and on simulated paths of every scenario."""
    chosen = resolve_strategies(None)
    source = offline_source(tickers_for(chosen), data_dir)
    history = since = None
    if source is not None:
        history = compare(chosen, source=source, data_dir=data_dir)
        since = compare(chosen, start=ESSAY_DATE, source=source, data_dir=data_dir)
    simulation = simulate(chosen, scenarios="all", paths=paths, years=years, seed=seed, settings=DEFAULT_SETTINGS,
                          progress=progress)
    return DemoRun(history, since, simulation, source)
