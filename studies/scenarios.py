"""Strategies on simulated scenario paths: generate paths in chunks, run every book on them, merge, blend.

For each scenario the paths are generated ``chunk_size`` at a time (memory stays bounded); on each chunk every
book computes its target weights from its own universe's columns and the engine evaluates all books in one
pass over the chunk (``engine.backtest_books_batch``: each path is read once while every book runs on it).
Per path we keep terminal wealth, CAGR, maximum drawdown, turnover and costs, plus SPY's terminal wealth on
the same path (for "probability of beating SPY"), and equity sampled every week; the fan-chart bands are exact
percentiles of those samples over all paths, whatever the chunking.

Every scenario uses the same seed (common random numbers): scenarios differ by their drifts, volatilities and
crashes, not by luck of the draw; and every book sees the same paths of a scenario, so books compare path by
path.

The work is split into :class:`ChunkTask` s (scenario, first path, number of paths) that are pure functions of
small inputs, evaluated by :func:`run_chunk` and merged in path order, so an executor
(:mod:`theses.studies.executor`: Dask workers, local or on a cluster) gives the same result as the in-process
run. A task carries the scenario and its seed block; the worker regenerates the paths.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from theses.studies.chunk_paths import chunk_shape, generate_chunk, prefetched_chunks
from theses.studies.errors import StudyError
from theses.studies.history import DataContext
from theses.studies.limits import check_simulation, widest
from theses.studies.settings import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_PATHS,
    DEFAULT_SEED,
    DEFAULT_SETTINGS,
    DEFAULT_YEARS,
    SCENARIO_METHODS,
    RunSettings,
    benchmark_strategies,
    resolve_strategies,
)

if TYPE_CHECKING:
    from theses.data.calibration import Calibration
    from theses.data.scenario_spec import ScenarioSpec
    from theses.engine import BacktestConfig, BatchResult, BookOutcome
    from theses.strategies import Strategy
    from theses.studies.executor import Executor

BENCHMARK_TICKERS: tuple[str, ...] = ("SPY", "RSP")
BEAT_BENCHMARK = "SPY"
METHODS = SCENARIO_METHODS
PER_PATH_KEYS = ("terminal_wealth", "cagr", "max_drawdown", "turnover", "costs")
SAMPLE_EVERY = 5  # equity kept every 5th trading day (about weekly) for the fan charts
ProgressFn = Callable[[str, int, int], None]
"""``progress(description, done, total)``: called as chunks and books finish."""


@dataclass(frozen=True)
class SimulationRequest:
    """What a simulation was asked to run, resolved: enough to run it again with another seed or fewer books.

    ``simulate(list(request.books), include_benchmarks=False, **request.options(seed=...))`` repeats it.
    """

    books: tuple[Strategy, ...]
    specs: tuple[ScenarioSpec, ...]
    paths: int
    years: float
    seed: int
    method: str
    probabilities: Mapping[str, float] | None
    settings: RunSettings
    data_dir: str | None
    calibration: Calibration | None
    start: object
    chunk_size: int
    mean_block: float

    def options(self, **changes: Any) -> dict[str, Any]:
        """Keyword arguments of :func:`simulate` (without the strategies), with ``changes`` applied."""
        names = ("paths", "years", "seed", "method", "probabilities", "settings", "data_dir", "calibration",
                 "start", "chunk_size", "mean_block")
        return {"scenarios": list(self.specs), **{n: getattr(self, n) for n in names}, **changes}


@dataclass
class SimulationRun:
    """Everything a simulation produced.

    Attributes
    ----------
    results : ``{scenario: {strategy: BatchResult}}`` (per-path arrays over all paths; equity bands on the
        sampled dates, which are the results' ``index``).
    probabilities : scenario probabilities used for the blend.
    blend : ``{strategy: summary}`` of the probability-weighted mixture of scenarios
        (see ``theses.engine.metrics.scenario_blend``).
    seed, method, paths, years : the run's settings.
    index : simulated dates.
    benchmark_terminal : ``{scenario: (P,) SPY terminal wealth per path}`` (buy and hold, same costs).
    notes : human-readable notes (start prices, calibration, ...).
    config : the engine configuration of the first book (costs shown in reports).
    request : the resolved request (books, specs, settings) that produced the run.
    """

    results: dict[str, dict[str, BatchResult]]
    probabilities: dict[str, float]
    blend: dict[str, dict[str, Any]]
    seed: int
    method: str
    paths: int
    years: float
    index: pd.DatetimeIndex
    benchmark_terminal: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    config: BacktestConfig | None = None
    request: SimulationRequest | None = None

    @property
    def summary(self) -> pd.DataFrame:
        """One row per (scenario, strategy) and the blend, one column per summary figure."""
        rows = {(scenario, name): r.summary for scenario, by in self.results.items() for name, r in by.items()}
        rows |= {("blend", name): summary for name, summary in self.blend.items()}
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index = pd.MultiIndex.from_tuples(frame.index, names=["scenario", "strategy"])
        return frame

    def per_path(self, scenario: str, strategy: str) -> pd.DataFrame:
        """Per-path outcomes of one strategy in one scenario (terminal wealth, CAGR, drawdown, ...)."""
        result = self.results[scenario][strategy]
        return pd.DataFrame({key: getattr(result, key) for key in PER_PATH_KEYS})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-path arrays)."""
        from theses.util import jsonable

        return {
            "seed": self.seed,
            "method": self.method,
            "paths": self.paths,
            "years": self.years,
            "start": self.index[0].strftime("%Y-%m-%d"),
            "end": self.index[-1].strftime("%Y-%m-%d"),
            "probabilities": self.probabilities,
            "scenarios": {
                scenario: {name: jsonable(result.summary) for name, result in by_strategy.items()}
                for scenario, by_strategy in self.results.items()
            },
            "blend": {name: jsonable(summary) for name, summary in self.blend.items()},
            "notes": list(self.notes),
        }

    def header(self, extra_notes: Sequence[str] = ()) -> dict[str, Any]:
        """Report header facts of the run (source, window, costs, notes)."""
        context = DataContext(
            source=f"simulated paths ({self.method}), {self.paths} per scenario",
            start=str(self.index[0].date()), end=str(self.index[-1].date()), notes=(*self.notes, *extra_notes),
        )
        return context.header(self.config)

    def report_meta(self) -> dict[str, Any]:
        """The simulation facts a report shows beside the scenario results."""
        return {"seed": self.seed, "method": self.method, "paths": self.paths, "years": self.years,
                "probabilities": self.probabilities, "blend": self.blend}


# ------------------------------------------------------------------------------------------- inputs
def resolve_probabilities(
    specs: Sequence[ScenarioSpec], given: Mapping[str, float] | None
) -> tuple[dict[str, float], tuple[str, ...]]:
    """The blend's probabilities, and a note when they are not the files' priors.

    ``given`` (``--probabilities``) is used as it is: it must name every scenario run and sum to 1 (checked by
    ``scenario_blend``). Otherwise each scenario's ``prior`` from its file, renormalised over the scenarios
    run: ``p_s = prior_s / sum of the priors of the scenarios run``, so they sum to 1 whichever scenarios run.
    When a scenario run states no prior (a user's file without ``prior = ...``), every scenario run gets an
    equal share and the note says so: a scenario silently weighted 0 would vanish from the blend.
    """
    if given is not None:
        return {name: float(p) for name, p in given.items()}, ()
    missing = [spec for spec in specs if spec.prior is None]
    if missing:
        names = ", ".join(f"{spec.name} ({spec.source})" for spec in missing)
        note = (f"no prior in {names}: every scenario run gets an equal share 1/{len(specs)}; write prior = P "
                "in the file or pass --probabilities to choose")
        return {spec.name: 1.0 / len(specs) for spec in specs}, (note,)
    # fsum: the correctly rounded sum, whatever the order the scenarios run in (priors summing to 1 stay as written)
    total = math.fsum(float(spec.prior) for spec in specs)  # type: ignore[arg-type]
    if total <= 0:
        raise StudyError("the priors of the scenarios run sum to 0; give one of them a prior above 0 "
                         "or pass --probabilities")
    return {spec.name: float(spec.prior) / total for spec in specs}, ()  # type: ignore[arg-type]


def resolve_scenarios(scenarios: str | Iterable[str | ScenarioSpec]) -> list[ScenarioSpec]:
    """Scenario specs from ``"all"``, shipped names, ``.toml`` paths (comma-separated text or a list) or specs."""
    from theses.data.scenario_spec import ScenarioSpec, list_scenarios, load_scenario

    items = [p.strip() for p in scenarios.split(",")] if isinstance(scenarios, str) else list(scenarios)
    specs: dict[str, ScenarioSpec] = {}
    for item in items:
        if isinstance(item, ScenarioSpec):
            specs.setdefault(item.name, item)
        elif item == "all":
            for name in list_scenarios():
                specs.setdefault(name, load_scenario(name))
        elif item:
            spec = load_scenario(item)
            specs.setdefault(spec.name if not str(item).endswith(".toml") else str(item), spec)
    return list(specs.values())


def run_books(strategies: Iterable[str | Strategy] | None, include_benchmarks: bool = True) -> list[Strategy]:
    """The books a study runs: the strategies (every registered one for None) plus SPY and RSP buy-and-hold."""
    books = resolve_strategies(strategies)
    if include_benchmarks:
        taken = {s.name for s in books}
        books += [b for b in benchmark_strategies(BENCHMARK_TICKERS) if b.name not in taken]
    if not books:
        raise StudyError("no strategy to run; name one (see `theses list`) or keep the benchmarks")
    return books


def check_universe(books: Sequence[Strategy], spec: ScenarioSpec) -> None:
    simulated = set(spec.tickers)
    for strategy in books:
        missing = [t for t in strategy.universe if t not in simulated]
        if missing:
            raise StudyError(
                f"strategy {strategy.name} needs {', '.join(missing)}, which scenario {spec.name} ({spec.source}) "
                "does not simulate; add them to one of its [groups]"
            )


@dataclass(frozen=True)
class PathSource:
    """How paths are drawn: calibration, method, dates, the real history paths start from (if any)."""

    calibration: Calibration
    method: str
    index: pd.DatetimeIndex
    seed: int
    mean_block: float = 20.0
    history: pd.DataFrame | None = None
    notes: tuple[str, ...] = ()

    def start_prices(self, tickers: Sequence[str]) -> np.ndarray:
        """The price each ticker's paths start from: its last real close, else 100."""
        from theses.data.generators import DEFAULT_START_PRICE

        if self.history is None:
            return np.full(len(tickers), DEFAULT_START_PRICE)
        last = self.history[list(tickers)].ffill().iloc[-1].to_numpy(dtype=float)
        return np.where(np.isfinite(last) & (last > 0), last, DEFAULT_START_PRICE)

    def generator(self, spec: ScenarioSpec) -> Any:
        """The seeded generator of one scenario's paths."""
        from theses.data.generators import BootstrapGenerator, ParametricGenerator, historical_log_returns

        tickers = spec.tickers
        start_prices = self.start_prices(tickers) if self.history is not None else None
        if self.method == "t":
            return ParametricGenerator(spec, self.calibration, self.index, self.seed, start_prices=start_prices)
        assert self.history is not None
        history = historical_log_returns(self.history, tickers)
        return BootstrapGenerator(spec, history, self.index, self.seed, mean_block=self.mean_block,
                                  start_prices=start_prices)


def primed(strategy: Strategy, close: pd.DataFrame, anchor: float | np.ndarray) -> Strategy:
    """``strategy`` reading the last ``lookback`` real closes before the paths' first day on every path.

    ``close`` holds real closes up to the day before the paths start; ``anchor`` is the price the paths start
    from (one number, or one per ticker of the strategy's universe). A strategy without a look-back is returned
    as it is.
    """
    from theses.strategies.combinators import Primed

    if strategy.lookback <= 0:
        return strategy
    history = close[list(strategy.universe)].iloc[-strategy.lookback:]
    anchors = np.broadcast_to(np.asarray(anchor, dtype=float), (len(strategy.universe),)).copy()
    return dataclasses.replace(strategy, rule=Primed(strategy.rule, history.to_numpy(), history.index.to_numpy(),
                                                     anchors))


def prime_books(books: Sequence[Strategy], source: PathSource) -> tuple[list[Strategy], tuple[str, ...]]:
    """Books whose signals have a look-back, primed with the real closes before the paths' first day.

    The closes are the ones the paths start from (``data_dir``), else the embedded sample's; a signal whose
    tickers or days the history lacks starts cold (it holds its fallback until the look-back fills), and the
    notes say which books were primed and from where.
    """
    from theses.data import DataError, load_prices

    needing = [b for b in books if b.lookback > 0]
    if not needing:
        return list(books), ()
    first = source.index[0]
    history, where = source.history, "the real closes the paths start from"
    if history is None:
        tickers = sorted({t for b in needing for t in b.universe})
        try:
            history, where = load_prices(tickers, end=first - pd.Timedelta(days=1), source="sample").close, \
                "the embedded sample's real closes"
        except DataError:
            history = None
    out, warm, cold = [], [], []
    for book in books:
        before = history.loc[history.index < first] if history is not None else None
        usable = (book.lookback > 0 and before is not None and set(book.universe) <= set(before.columns)
                  and len(before) >= book.lookback)
        if usable:
            out.append(primed(book, before, source.start_prices(book.universe)))
            warm.append(book.name)
        else:
            out.append(book)
            cold += [book.name] if book.lookback > 0 else []
    notes = []
    if warm:
        notes.append(f"the signals of {', '.join(warm)} read {where} before {first.date()}, so they start with "
                     "their look-back on every path")
    if cold:
        notes.append(f"the signals of {', '.join(cold)} start cold on the paths (no real history of their tickers "
                     f"before {first.date()}): they hold their fallback until their look-back fills")
    return out, tuple(notes)


def path_source(
    scenarios: Sequence[ScenarioSpec], *, years: float, seed: int, method: str = "t",
    data_dir: str | None = None, calibration: Calibration | None = None, start: object = None,
    mean_block: float = 20.0,
) -> PathSource:
    """Calibration, dates and start prices of a simulation.

    With ``data_dir`` the paths start from the last real closes, the day after the data ends; without it
    they start at 100 the day after the calibration window. ``bootstrap`` needs ``data_dir``.
    """
    from theses.data.calibration import read_calibration
    from theses.data.generators import next_business_day, simulation_index

    calibration = calibration if calibration is not None else read_calibration()
    notes: list[str] = []
    history = None
    if data_dir is not None:
        from theses.data.load import load_prices

        all_tickers = sorted({t for spec in scenarios for t in spec.tickers})
        loaded = load_prices(all_tickers, source="csv", data_dir=data_dir)
        history = loaded.close
        notes.append(f"paths start from the last real closes ({history.index[-1].date()})")
        notes.extend(loaded.warnings)  # stale tickers move the start of every path earlier
    elif method == "bootstrap":
        raise StudyError("--method bootstrap resamples real history: pass --data-dir DIR (or set THESES_DATA_DIR)")
    else:
        notes.append("paths start at 100 for every ticker")
    anchor = history.index[-1] if history is not None else calibration.end
    first_day = pd.Timestamp(start) if start is not None else next_business_day(anchor)
    index = simulation_index(first_day, years)
    notes.append(f"calibration {calibration.start.date()} to {calibration.end.date()}, "
                 f"shrinkage {calibration.shrinkage:.3f}; method {method}; seed {seed}")
    notes += timeline_notes(scenarios, index)
    return PathSource(calibration, method, index, int(seed), mean_block, history, tuple(notes))


def _outside(what: str, start: pd.Timestamp, end: pd.Timestamp | None, index: pd.DatetimeIndex) -> str | None:
    """How the dates ``start .. end`` (None: open) fall outside the simulated ``index``, or None when inside."""
    first, last = index[0], index[-1]
    span = f"{what} ({start.date()} to {end.date() if end is not None else 'open end'})"
    window = f"the simulated window ({first.date()} to {last.date()})"
    if end is not None and end < first:
        return f"{span} lies before {window}: it shapes no path"
    if start > last:
        return f"{span} lies after {window}: it shapes no path"
    from theses.data.generators import trading_days

    days = trading_days(start, end if end is not None else max(last, start))
    inside = int(((days >= first) & (days <= last)).sum())
    if start < first:
        return f"{span} starts before {window}: only {inside} of its {len(days)} trading days are simulated"
    if end is not None and end > last:
        return f"{span} runs past {window}: only {inside} of its {len(days)} trading days are simulated"
    return None


def timeline_notes(specs: Sequence[ScenarioSpec], index: pd.DatetimeIndex) -> tuple[str, ...]:
    """One note per scenario phase (and crash window) that lies wholly or partly outside the simulated dates.

    A phase edited there changes the paths little or not at all, so the note names it and its dates. A
    crash window partly outside strikes only the paths whose drawn day is simulated.
    """
    notes = []
    for spec in specs:
        for phase in spec.phases:
            note = _outside(f"phase '{phase.name}'", phase.start, phase.end, index)
            if note is not None:
                notes.append(f"scenario {spec.name}: {note}")
        for event in spec.crashes:
            note = _outside(f"crash '{event.name}'", event.start, event.end, index)
            if note is not None:
                notes.append(f"scenario {spec.name}: {note} (it strikes only the paths whose drawn day is simulated)")
    return tuple(notes)


# ----------------------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class ChunkTask:
    """One unit of work: paths ``path_start .. path_start + n_paths - 1`` of one scenario, for every book."""

    spec: ScenarioSpec
    path_start: int
    n_paths: int


def plan_chunks(specs: Sequence[ScenarioSpec], paths: int, chunk_size: int) -> list[ChunkTask]:
    """Every scenario's paths split into chunks of ``chunk_size`` (the last one shorter)."""
    return [ChunkTask(spec, start, min(chunk_size, paths - start))
            for spec in specs for start in range(0, paths, chunk_size)]


def run_book(
    strategy: Strategy, prices: np.ndarray, tickers: Sequence[str], index: pd.DatetimeIndex,
    config: BacktestConfig, keep_equity: bool = False,
) -> BatchResult:
    """One book on a block of paths ``(P, T, N)`` of ``tickers``: its universe's columns, weights, batch backtest."""
    from theses.engine import backtest_batch

    tickers = list(tickers)
    n_assets = len(tickers)
    columns = [tickers.index(t) for t in strategy.universe]
    # np.take on the 2-D view is ~4x faster than fancy indexing the last axis of a 3-D array.
    sub = np.take(prices.reshape(-1, n_assets), columns, axis=1).reshape(len(prices), len(index), -1)
    weights = strategy.target_weights_array(sub, index, list(strategy.universe))
    return backtest_batch(sub, weights, config, index=index, tickers=list(strategy.universe),
                          keep_equity=keep_equity, name=strategy.name)


def benchmark_terminal(benchmark_equity: np.ndarray, result: BatchResult) -> np.ndarray:
    """The benchmark's terminal wealth on the same paths, measured from the book's window start."""
    first = window_start_bar(result)
    return benchmark_equity[:, -1] / benchmark_equity[:, first]


def book_weights(strategy: Strategy, prices: np.ndarray, tickers: Sequence[str], index: pd.DatetimeIndex,
                 config: BacktestConfig | None = None, slice_paths: int = 32) -> Any:
    """A book's target weights, in its universe's columns, on a chunk of paths ``(P, T, M)`` of ``tickers``,
    computed cheaply, traded as the direct call.

    First on one path: a ``(T, n)`` answer means the weights do not depend on the path (static books, glides;
    simulated paths share their listing pattern, having no missing prices), so that one panel serves every
    path. Otherwise on slices of ``slice_paths`` paths in two threads (numpy releases the GIL; small slices keep
    the temporaries in cache: about twice as fast as the whole chunk at once for a trend filter, and 32 paths
    measured 30% faster than 128 for the trend and drawdown switches of 5-year paths).
    A switch book that needs every row (a band) is given as picks from a few shared rows
    (:func:`picked_weights`). When ``config`` trades on a calendar without bands, only the rows of its decision
    bars are kept
    (:func:`theses.engine.decision_bars`, a :class:`~theses.engine.TargetRows` of about one row in 20 for a
    monthly book): the engine trades them exactly as the dense array, reading a twentieth of it. A rule that
    can (``Strategy.target_rows_array``: the trend and drawdown switches) computes those rows alone. A slice
    with an all-NaN row (a hold) keeps every row. A rule whose kernels read the chunk in place and in parallel
    (``whole_chunk``: a primed basket switch) is given the whole chunk at once, and its weights are picks
    (:func:`whole_chunk_weights`).
    """
    from concurrent.futures import ThreadPoolExecutor

    from theses.engine import TargetRows, decision_bars

    universe = list(strategy.universe)
    tickers = list(tickers)
    columns = [tickers.index(t) for t in universe]
    probe = strategy.target_weights_array(prices[:1, :, columns], index, universe)
    if probe.ndim == 2:
        return probe
    bars = decision_bars(config, index) if config is not None else None
    whole = whole_chunk_weights(strategy, prices, tickers, index, bars)
    if whole is not None:
        return whole
    if bars is None:
        picked = picked_weights(strategy, prices, tickers, index, slice_paths)
        if picked is not None:
            return picked
    out = np.empty((len(prices), len(index) if bars is None else len(bars), len(columns)))
    holds = []

    def fill(lo: int) -> None:
        hi = min(lo + slice_paths, len(prices))
        part = prices[lo:hi, :, columns]
        if bars is not None:
            rows = strategy.target_rows_array(part, index, universe, bars)
            if rows is not None:  # the rule computed the decision rows alone (and has no hold row)
                out[lo:hi] = rows
                return
        dense = strategy.target_weights_array(part, index, universe)
        if bars is None:
            out[lo:hi] = dense
            return
        if np.isnan(dense).all(axis=-1).any():
            holds.append(lo)  # a hold row: a row between decision bars may then be the one in force
        out[lo:hi] = dense[:, bars]

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(fill, range(0, len(prices), slice_paths)))
    if bars is None:
        return out
    if holds:
        return book_weights(strategy, prices, tickers, index, None, slice_paths)
    return TargetRows(bars=bars, rows=out)


def whole_chunk_weights(strategy: Strategy, prices: np.ndarray, tickers: Sequence[str], index: pd.DatetimeIndex,
                        bars: np.ndarray | None) -> Any:
    """A ``whole_chunk`` rule's weights in one call on every path and column of the chunk (no copy of its
    columns, no slices), as :class:`~theses.engine.PickedRows`: a few shared rows and one pick per path on
    every bar, or on the decision ``bars`` alone when there are any (``palette[picks]`` is then the dense
    weights on those bars, as :class:`~theses.engine.TargetRows` would hold them, without their
    ``(P, R, N)`` float64 array). None for another rule, when it declines, or when a shared row is a hold
    (an all-NaN row: a row between decision bars could then be the one in force).
    """
    from theses.engine import PickedRows

    if not getattr(strategy.rule, "whole_chunk", False):
        return None
    found = strategy.target_picks(prices, index, tickers)
    if found is None:
        return None
    palette, picks = found
    tickers = list(tickers)
    palette = np.ascontiguousarray(palette[:, [tickers.index(t) for t in strategy.universe]])
    if bars is None:
        return PickedRows(bars=np.arange(len(index), dtype=np.int64), palette=palette,
                          picks=np.ascontiguousarray(picks, dtype=np.int64))
    if np.isnan(palette).all(axis=1).any():
        return None
    return PickedRows(bars=np.asarray(bars, dtype=np.int64), palette=palette,
                      picks=np.ascontiguousarray(picks[:, bars], dtype=np.int64))


def picked_weights(strategy: Strategy, prices: np.ndarray, tickers: Sequence[str], index: pd.DatetimeIndex,
                   slice_paths: int = 32) -> Any:
    """Every row of a switch book as :class:`~theses.engine.PickedRows` (a few shared rows and one pick per
    path and day), or None when the rule cannot give them (``Strategy.target_picks``) or its slices disagree
    on the shared rows. For a book that needs every row (a band, or ``calendar = "none"``): the dense
    ``(P, T, N)`` float64 weights of a drawdown switch on 1,024 five-year paths are 82 MB, its picks 10 MB.
    """
    from concurrent.futures import ThreadPoolExecutor

    from theses.engine import PickedRows

    universe = list(strategy.universe)
    tickers = list(tickers)
    columns = [tickers.index(t) for t in universe]
    picks = np.empty((len(prices), len(index)), dtype=np.int64)
    palettes: list[np.ndarray | None] = []

    def fill(lo: int) -> None:
        hi = min(lo + slice_paths, len(prices))
        found = strategy.target_picks(prices[lo:hi, :, columns], index, universe)
        palettes.append(None if found is None else found[0])
        if found is not None:
            picks[lo:hi] = found[1]

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(fill, range(0, len(prices), slice_paths)))
    first = palettes[0]
    if first is None or any(p is None or not np.array_equal(p, first, equal_nan=True) for p in palettes):
        return None
    return PickedRows(bars=np.arange(len(index), dtype=np.int64), palette=first, picks=picks)


def chunk_books(books: Sequence[Strategy], configs: Mapping[str, BacktestConfig], prices: np.ndarray,
                tickers: Sequence[str], index: pd.DatetimeIndex) -> list[Any]:
    """The engine's :class:`~theses.engine.Book` of every strategy on one chunk of paths (SPY first)."""
    from theses.engine import Book

    tickers = list(tickers)
    ordered = sorted(books, key=lambda s: s.name != BEAT_BENCHMARK)
    return [Book(list(s.universe), book_weights(s, prices, tickers, index, configs[s.name]), configs[s.name], s.name)
            for s in ordered]


def run_chunk(
    task: ChunkTask, books: Sequence[Strategy], configs: Mapping[str, BacktestConfig], source: PathSource,
    on_book: Callable[[str], None] | None = None,
) -> dict[str, BookOutcome]:
    """Generate one chunk of paths and run every book on it in one pass (:func:`evaluate_prices`).

    Returns ``{book: per-path outcomes}``; each outcome carries SPY's wealth on the same paths over the book's
    window (``benchmark_terminal``) when SPY is one of the books.
    """
    prices = generate_chunk(task, source, out=price_buffer(chunk_shape(task, source)))
    return evaluate_prices(task, prices, books, configs, source, on_book)


def evaluate_prices(
    task: ChunkTask, prices: np.ndarray, books: Sequence[Strategy], configs: Mapping[str, BacktestConfig],
    source: PathSource, on_book: Callable[[str], None] | None = None,
) -> dict[str, BookOutcome]:
    """Every book on one chunk's generated ``prices`` in one pass: :func:`run_chunk` after the generation."""
    from theses.engine import backtest_books_batch

    spec = task.spec
    if on_book is not None:
        on_book(f"{spec.name}: weights")
    chunk = chunk_books(books, configs, prices, spec.tickers, source.index)
    if on_book is not None:
        on_book(f"{spec.name}: {len(chunk)} books")
    bench = BEAT_BENCHMARK if any(b.name == BEAT_BENCHMARK for b in chunk) else None
    outcomes = backtest_books_batch(prices, chunk, index=source.index, tickers=list(spec.tickers), benchmark=bench,
                                    sample_every=SAMPLE_EVERY)
    return {outcome.name: outcome for outcome in outcomes}


_BUFFERS = threading.local()


def price_buffer(shape: tuple[int, int, int]) -> np.ndarray:
    """This thread's float32 array of ``shape`` for a chunk's prices, reused by the next chunk of that shape.

    A chunk of 1,024 five-year paths of 40 tickers is 205 MB: allocated afresh, every page of it is faulted
    in again, which measured 10-20% of the generation. Nothing of a chunk's outcomes refers to its prices,
    so the next chunk can overwrite them; one buffer per thread keeps threaded executors apart.
    :func:`release_price_buffers` frees the calling thread's buffer when a study ends.
    """
    buffer = getattr(_BUFFERS, "prices", None)
    if buffer is None or buffer.shape != shape:
        _BUFFERS.prices = None  # free the old one before allocating the new
        buffer = _BUFFERS.prices = np.empty(shape, dtype=np.float32)
    return buffer


def release_price_buffers() -> None:
    """Drop the calling thread's price buffer (:func:`price_buffer`)."""
    _BUFFERS.prices = None


@dataclass(frozen=True)
class ChunkContext:
    """What every chunk task of one simulation shares (sent once to each worker)."""

    books: tuple[Strategy, ...]
    configs: Mapping[str, BacktestConfig]
    source: PathSource


def evaluate_chunk(task: ChunkTask, context: ChunkContext) -> dict[str, BookOutcome]:
    """:func:`run_chunk` as an executor task (its outcomes are small: per-path figures, weekly equity)."""
    return run_chunk(task, context.books, context.configs, context.source)


def window_start_bar(result: BatchResult) -> int:
    """Position in the index of the first bar of a batch result's executed window."""
    start = result.config.get("window_start")
    return int(result.index.get_loc(pd.Timestamp(start))) if start else 0


class _Accumulator:
    """The per-path outcomes of one book in one scenario, merged over chunks in path order."""

    def __init__(self) -> None:
        self.parts: list[BookOutcome] = []

    def add(self, outcome: BookOutcome) -> None:
        self.parts.append(outcome)

    def merged(self) -> BookOutcome:
        from theses.engine import concat_outcomes

        return concat_outcomes(self.parts)

    def per_path(self) -> dict[str, np.ndarray]:
        outcome = self.merged()
        out = {k: np.asarray(getattr(outcome, k), dtype=np.float64) for k in PER_PATH_KEYS}
        if outcome.benchmark_terminal is not None:
            out["benchmark_terminal"] = outcome.benchmark_terminal
        # Wealth to 12 decimals: a strategy that *is* SPY must not "beat" SPY by float rounding (1e-16).
        for key in ("terminal_wealth", "benchmark_terminal"):
            if key in out:
                out[key] = np.round(out[key], 12)
        return out

    def result(self, scenario: str, index: pd.DatetimeIndex) -> BatchResult:
        """The book's :class:`BatchResult` over all paths; its bands and ``index`` are on the sampled dates."""
        from theses.engine import BatchResult, sample_bands
        from theses.engine.metrics import scenario_blend

        outcome = self.merged()
        paths = self.per_path()
        summary = dict(scenario_blend({scenario: paths}, {scenario: 1.0}))
        traded = outcome.first_trade[outcome.first_trade >= 0]
        config = dict(outcome.config)
        config["window_start"] = index[max(int(traded.min()) - 1, 0) if len(traded) else 0].strftime("%Y-%m-%d")
        return BatchResult(
            name=outcome.name, index=outcome.sample_index, terminal_wealth=paths["terminal_wealth"],
            cagr=paths["cagr"], max_drawdown=paths["max_drawdown"], turnover=paths["turnover"],
            costs=paths["costs"], equity_bands=sample_bands(outcome).to_numpy().T, summary=summary, config=config,
            ruin_bar=outcome.ruin_bar,
        )


def _check_request(method: str, paths: int, chunk_size: int, specs: Sequence[ScenarioSpec]) -> None:
    if method not in METHODS:
        raise StudyError(f"--method {method!r}: use one of {', '.join(METHODS)}")
    if paths < 1:
        raise StudyError(f"--paths {paths}: simulate at least one path")
    if chunk_size < 1:
        raise StudyError(f"--chunk-size {chunk_size}: use a positive number of paths")
    if not specs:
        raise StudyError("no scenario to run; pass --scenario NAME, all, or a .toml file")
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise StudyError(f"scenario names repeat ({', '.join(names)}); give each spec a distinct name")


def simulate(
    strategies: Iterable[str | Strategy] | None = None,
    *,
    scenarios: str | Iterable[str | ScenarioSpec] = "all",
    paths: int = DEFAULT_PATHS,
    years: float = DEFAULT_YEARS,
    seed: int = DEFAULT_SEED,
    method: str = "t",
    probabilities: Mapping[str, float] | None = None,
    settings: RunSettings = DEFAULT_SETTINGS,
    data_dir: str | None = None,
    calibration: Calibration | None = None,
    start: object = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    mean_block: float = 20.0,
    include_benchmarks: bool = True,
    progress: ProgressFn | None = None,
    executor: Executor | None = None,
) -> SimulationRun:
    """Run strategies (default: every registered one, plus SPY and RSP) on every scenario's simulated paths.

    Parameters
    ----------
    strategies : names, ``.toml`` paths or :class:`Strategy` objects.
    scenarios : ``"all"``, shipped names, scenario ``.toml`` paths (comma-separated or a list), or specs.
    paths, years, seed : paths per scenario, horizon (252 trading days a year), random seed.
    method : ``"t"`` (correlated Student-t) or ``"bootstrap"`` (stationary bootstrap of history).
    probabilities : scenario probabilities for the blend (default: the files' priors renormalised over the
        scenarios run; see :func:`resolve_probabilities`).
    settings : costs and rates (each strategy keeps its own rebalance rule and missing-price policy).
    data_dir : CSV directory: paths then start from the last real closes; needed for ``bootstrap``.
    calibration : a :class:`~theses.data.calibration.Calibration` (default: the shipped one).
    start : first simulated date (default: next business day after the data / calibration end).
    chunk_size : paths generated and evaluated at a time (bounds memory; results do not depend on it).
    mean_block : mean block length of the bootstrap, days.
    include_benchmarks : add SPY and RSP buy-and-hold (SPY is also the "beat" benchmark).
    progress : ``progress(description, done, total)`` callback (no printing here).
    executor : a :class:`~theses.studies.executor.Executor` (``make_executor(workers=N)`` or
        ``make_executor(cluster="tcp://...")``) that runs the chunk tasks, e.g. on Dask workers; the result
        equals the in-process one (default: in process, with per-book progress).
    """
    from theses.engine.metrics import scenario_blend

    specs = resolve_scenarios(scenarios)
    _check_request(method, paths, chunk_size, specs)
    if settings.execution == "open":
        raise StudyError("--execution open: simulated paths have closes only; use --execution close")
    probs, prob_notes = resolve_probabilities(specs, probabilities)
    from theses.engine.metrics import check_probabilities

    check_probabilities([s.name for s in specs], probs)  # before the paths: a mistake fails at once
    books = run_books(strategies, include_benchmarks)
    check_simulation(paths=paths, years=years, seed=seed, chunk_size=chunk_size, mean_block=mean_block,
                     start=start, assets=widest(specs), books=len(books), scenarios=len(specs),
                     in_process=executor is None)
    for spec in specs:
        check_universe(books, spec)
    source = path_source(specs, years=years, seed=seed, method=method, data_dir=data_dir,
                         calibration=calibration, start=start, mean_block=mean_block)
    books, prime_notes = prime_books(books, source)
    source = dataclasses.replace(source, notes=(*source.notes, *prime_notes))
    configs = {s.name: settings.config_for(s) for s in books}
    request = SimulationRequest(tuple(books), tuple(specs), int(paths), float(years), int(seed), method,
                                probabilities, settings, data_dir, calibration, start, chunk_size, mean_block)
    tasks = plan_chunks(specs, paths, chunk_size)
    total = len(tasks) * 2  # two steps per chunk: the weights, then every book in one pass
    done = [0]

    def on_book(description: str) -> None:
        if progress is not None:
            progress(description, done[0], total)
        done[0] += 1

    chunks = prefetched_chunks(tasks, source) if executor is None else None
    if chunks is not None:
        # The next chunk's paths are generated while this one is evaluated (same paths, less idle time).
        outcomes: Iterable[Any] = (evaluate_prices(task, prices, books, configs, source, on_book)
                                   for task, prices in chunks)
    else:
        def on_chunk(finished: int, count: int) -> None:
            if progress is not None:
                progress(f"{finished} of {count} chunks", finished * 2, total)

        context = ChunkContext(tuple(books), configs, source)
        outcomes = executor.map(evaluate_chunk, tasks, context, on_done=on_chunk)
    accumulators = {(s.name, b.name): _Accumulator() for s in specs for b in books}
    try:
        for task, outcome in zip(tasks, outcomes, strict=True):
            for name, book_outcome in outcome.items():
                accumulators[(task.spec.name, name)].add(book_outcome)
    finally:
        if chunks is not None:
            chunks.close()  # a chunk still being generated is waited for, not left running
        release_price_buffers()
    if progress is not None:
        progress("done", total, total)
    results = {s.name: {b.name: accumulators[(s.name, b.name)].result(s.name, source.index) for b in books}
               for s in specs}
    per_path = {s.name: {b.name: accumulators[(s.name, b.name)].per_path() for b in books} for s in specs}
    bench_terminal = {s: r[BEAT_BENCHMARK].terminal_wealth for s, r in results.items() if BEAT_BENCHMARK in r}
    keys = ("terminal_wealth", "cagr", "max_drawdown", "benchmark_terminal")
    blend = {
        book.name: dict(scenario_blend(
            {s.name: {k: v for k, v in per_path[s.name][book.name].items() if k in keys} for s in specs}, probs))
        for book in books
    }
    return SimulationRun(results=results, probabilities=probs, blend=blend, seed=int(seed), method=method,
                         paths=int(paths), years=float(years), index=source.index, benchmark_terminal=bench_terminal,
                         notes=(*prob_notes, *source.notes), config=configs[books[0].name], request=request)
