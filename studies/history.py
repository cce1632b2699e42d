"""Strategies on real history: prices -> target weights -> the engine's backtest -> metrics.

:func:`backtest` runs one strategy, :func:`compare` several over one window (prices loaded once), each against
SPY and RSP bought and held over the same executed window. Results carry the data context every report
states: where the prices came from, the window and the data notes.

Look-back: a strategy's signal may need history before the window (``Strategy.lookback`` trading days, e.g.
a 200-day average). :func:`load_window` loads that much before ``start``; :func:`window_targets` computes the
weights on the whole frame and cuts prices and weights to the window, so the engine trades and measures the
window only, with the signal as it stood on the window's first day. The engine's timing is unchanged: the
window's first day is the base (equity = the initial cash, nothing traded), its target -- decided from that
day's close with the full look-back -- is traded at the second day's close. When a target was set earlier
and held (a buy-and-hold row, a regime switch), the target in force is put on the window's first row, so
the book enters it. When the data does not reach back far enough, the notes say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from theses.studies.errors import StudyError
from theses.studies.settings import (
    BENCHMARKS,
    DEFAULT_SETTINGS,
    ESSAY_DATE,
    RunSettings,
    costs_text,
    execution_text,
    resolve_strategies,
    resolve_strategy,
    tickers_for,
)

ProgressFn = Callable[[str, int, int], Any]
"""``progress(description, done, total)``: how far a study has got (see ``cli.render.Progress``)."""


def _no_progress(description: str, done: int, total: int) -> None:
    return None


if TYPE_CHECKING:
    from theses.data import PriceData
    from theses.engine import BacktestConfig, BacktestResult
    from theses.strategies import Strategy


@dataclass(frozen=True)
class DataContext:
    """Where a run's prices came from: source, loaded window (ISO dates) and the data layer's notes."""

    source: str
    start: str
    end: str
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, price_data: PriceData, notes: Sequence[str] = ()) -> DataContext:
        """The window (from its first day, after any look-back rows) of ``price_data``, plus ``notes``."""
        index = price_data.close.index
        return cls(price_data.source, index[price_data.window_row].strftime("%Y-%m-%d"),
                   index[-1].strftime("%Y-%m-%d"), (*price_data.notes, *notes))

    def header(self, config: BacktestConfig | None = None) -> dict[str, Any]:
        """The facts a report header states (source, window, version, execution, costs, notes)."""
        from theses import __version__

        out: dict[str, Any] = {
            "data_source": self.source,
            "window": f"{self.start} to {self.end}",
            "version": __version__,
            "execution": execution_text(config),
            "notes": list(self.notes),
        }
        if config is not None:
            out["costs"] = costs_text(config)
        return out


@dataclass
class Backtest:
    """One strategy's backtest with its configuration and data context.

    ``result`` is the engine's :class:`~theses.engine.BacktestResult`; the properties give its pandas views.
    """

    strategy: Strategy
    result: BacktestResult
    config: BacktestConfig
    context: DataContext

    @property
    def name(self) -> str:
        return self.result.name

    @property
    def metrics(self) -> pd.Series:
        """The strategy's metrics over its executed window (see ``theses.engine.metrics``)."""
        return pd.Series(self.result.metrics, name=self.name, dtype=object)

    @property
    def benchmark_metrics(self) -> pd.DataFrame:
        """One row per benchmark (SPY, RSP) over the same window."""
        return pd.DataFrame.from_dict(self.result.benchmark_metrics, orient="index")

    @property
    def equity(self) -> pd.Series:
        return self.result.equity

    @property
    def returns(self) -> pd.Series:
        return self.result.returns

    @property
    def weights(self) -> pd.DataFrame:
        """Realised end-of-day weights (position value / equity)."""
        return self.result.weights

    @property
    def positions(self) -> pd.DataFrame:
        return self.result.positions

    @property
    def trades(self) -> pd.DataFrame:
        return self.result.trades

    def header(self) -> dict[str, Any]:
        """Report header facts of this run."""
        return self.context.header(self.config)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``theses backtest --format json``."""
        r = self.result
        return {
            "strategy": r.name,
            "start": r.metrics.get("start"),
            "end": r.metrics.get("end"),
            "metrics": r.metrics,
            "benchmarks": r.benchmark_metrics,
            "config": r.config,
            "data": {"source": self.context.source, "loaded_window": [self.context.start, self.context.end],
                     "notes": list(self.context.notes)},
        }

    def _repr_html_(self) -> str:  # a notebook shows the metrics table
        return self.metrics.to_frame().to_html()


@dataclass
class Comparison:
    """Several backtests over one window, loaded once, with the benchmarks' rows."""

    backtests: list[Backtest]
    context: DataContext
    since_essay: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def results(self) -> list[BacktestResult]:
        return [b.result for b in self.backtests]

    @property
    def configs(self) -> list[BacktestConfig]:
        return [b.config for b in self.backtests]

    @property
    def title(self) -> str:
        return "Strategy comparison since the essay" if self.since_essay else "Strategy comparison"

    def benchmark_rows(self) -> dict[str, dict[str, Any]]:
        """Each benchmark's metrics once (from the first run that has it); a strategy's name wins a clash."""
        names = {b.name for b in self.backtests}
        out: dict[str, dict[str, Any]] = {}
        for result in self.results:
            for ticker, metrics in (result.benchmark_metrics or {}).items():
                if ticker not in out and ticker not in names:
                    out[str(ticker)] = dict(metrics)
        return out

    def rows(self) -> dict[str, dict[str, Any]]:
        """Metrics by name: the strategies, then the benchmarks."""
        return {b.name: b.result.metrics for b in self.backtests} | self.benchmark_rows()

    @property
    def metrics(self) -> pd.DataFrame:
        """One row per strategy and benchmark, one column per metric."""
        return pd.DataFrame.from_dict(self.rows(), orient="index")

    @property
    def equity(self) -> pd.DataFrame:
        """Equity curves of every strategy (one column each)."""
        return pd.DataFrame({b.name: b.equity for b in self.backtests})

    def header(self) -> dict[str, Any]:
        """Report header facts: window and source, costs (per strategy where they differ), notes."""
        out = self.context.header(self.configs[0])
        notes = list(out.get("notes", [])) + list(self.notes)
        costs = {b.name: costs_text(b.config) for b in self.backtests}
        if len(set(costs.values())) > 1:
            out["costs"] = "differ by strategy (see notes)"
            notes += [f"costs of {name}: {text}" for name, text in costs.items()]
        notes += window_notes(self.backtests)
        out["notes"] = notes
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``theses compare --format json`` (without the report path)."""
        return {
            "window": [self.context.start, self.context.end],
            "source": self.context.source,
            "strategies": {b.name: b.result.metrics for b in self.backtests},
            "benchmarks": self.benchmark_rows(),
            "notes": self.header()["notes"],
        }


def window_notes(backtests: Sequence[Backtest]) -> list[str]:
    """Say which books' windows are shorter than the others', and which tickers were held as cash till listing.

    A book that could buy nothing until its tickers listed starts at the listing (engine ``invested_entry``);
    a book with some late tickers keeps its window, and their slice is cash until they list.
    """
    notes: list[str] = []
    starts = {b.name: b.result.config.get("window_start") for b in backtests}
    if len(set(starts.values())) > 1:
        common = min(s for s in starts.values() if s)
        later = {name: s for name, s in starts.items() if s and s > common}
        first = backtests[0].name
        notes.append(
            "shorter windows: " + ", ".join(f"{name} starts {start}" for name, start in later.items())
            + f" (when it could first buy its book; the others start {common}), so its CAGR and ratios cover "
            f"fewer years; benchmark rows cover the window of {first}"
        )
    for b in backtests:
        late = b.result.config.get("late_listings") or {}
        if late:
            listed = ", ".join(f"{t} {d}" for t, d in late.items())
            notes.append(f"{b.name}: no price yet for {listed} when its window starts; those weights were held "
                         "as cash until the listing")
    return notes


def load_window(
    tickers: Sequence[str], *, start: object = None, end: object = None, source: str = "auto",
    data_dir: str | None = None, lookback: int = 0,
) -> PriceData:
    """Aligned closes (and opens) of ``tickers`` over the window, with ``lookback`` trading days before ``start``.

    The rows before the window are history for the signals (``PriceData.window_start`` marks where the
    window begins); :func:`run_backtest` trades and measures the window only. Give ``lookback`` as
    :func:`lookback_of` the strategies to run.
    """
    from theses.data import load_prices

    return load_prices(list(tickers), start=start, end=end, source=source, data_dir=data_dir,
                       history_days=int(lookback))


def lookback_of(strategies: Iterable[Strategy]) -> int:
    """The most look-back (trading days) any of ``strategies`` needs."""
    return max((int(s.lookback) for s in strategies), default=0)


@dataclass(frozen=True)
class WindowTargets:
    """One strategy's closes and target weights over the trade window (see the module docstring).

    ``history_rows`` is how many rows before the window its signal read (at most its look-back).
    """

    close: pd.DataFrame
    weights: pd.DataFrame
    history_rows: int
    notes: tuple[str, ...]


def targets_in_force(weights: pd.DataFrame, row: int) -> pd.DataFrame:
    """``weights`` from ``row`` on; an all-NaN first row takes the last target set before it (held since)."""
    out = weights.iloc[row:].copy()
    if row > 0 and len(out) and out.iloc[0].isna().all():
        earlier = np.flatnonzero(weights.iloc[:row].notna().any(axis=1).to_numpy())
        if len(earlier):
            out.iloc[0] = weights.iloc[int(earlier[-1])]
    return out


def missing_history_note(strategy: Strategy, index: pd.DatetimeIndex, row: int) -> str | None:
    """A note when fewer than ``strategy.lookback`` rows precede ``index[row]``; None when the history suffices."""
    need = int(strategy.lookback)
    if row >= need:
        return None
    have = f"{row} (from {index[0]:%Y-%m-%d})" if row else "none"
    complete = (f"its signal is complete from {index[need]:%Y-%m-%d}" if len(index) > need
                else "its signal is never complete in this data")
    return (f"{strategy.name}: its signal needs {need} trading days of history before {index[row]:%Y-%m-%d}, but "
            f"the data has {have}: {complete}; start later or add earlier prices")


def lookback_notes(strategy: Strategy, index: pd.DatetimeIndex, first: int) -> tuple[str, ...]:
    """What a strategy's signal read before the window's first day ``index[first]``, or what it lacked."""
    need = int(strategy.lookback)
    if need <= 0:
        return ()
    missing = missing_history_note(strategy, index, first)
    if missing is not None:
        return (missing,)
    day = f"{index[first]:%Y-%m-%d}"
    return (f"{strategy.name}: its signal reads the {need} trading days before {day} (from "
            f"{index[first - need]:%Y-%m-%d}); trades and metrics start {day}",)


def window_targets(strategy: Strategy, price_data: PriceData) -> WindowTargets:
    """Target weights computed with the strategy's look-back, then cut with the closes to the window."""
    close = price_data.close
    first = price_data.window_row
    begin = max(first - int(strategy.lookback), 0)
    universe = list(strategy.universe)
    weights = strategy.target_weights(close.iloc[begin:][universe])
    return WindowTargets(close.iloc[first:][universe], targets_in_force(weights, first - begin), first - begin,
                         lookback_notes(strategy, close.index, first))


def run_backtest(
    strategy: Strategy, price_data: PriceData, config: BacktestConfig, benchmarks: Sequence[str] = BENCHMARKS
) -> BacktestResult:
    """Target weights from the strategy (with its look-back), executed by the engine over the window, measured
    against the benchmarks."""
    from theses.engine import backtest as engine_backtest

    targets = window_targets(strategy, price_data)
    first = price_data.window_row
    close = price_data.close.iloc[first:]
    opens = None
    if config.execution == "open":
        if price_data.open is None:
            raise StudyError("--execution open needs Open prices, and this data source has none: use --execution close")
        opens = price_data.open.iloc[first:][list(strategy.universe)]
    bench_cols = [b for b in dict.fromkeys([strategy.benchmark, *benchmarks]) if b in close.columns]
    result = engine_backtest(
        targets.close, targets.weights, config, open_prices=opens, benchmarks=close[bench_cols], name=strategy.name
    )
    result.config.update(
        {"strategy": strategy.name, "description": strategy.description, "rebalance": strategy.rebalance,
         "data_source": price_data.source}
    )
    if strategy.sleeves:
        result.config["sleeves"] = {name: list(members) for name, members in strategy.sleeve_map().items()}
    return result


def backtest(
    strategy: str | Strategy,
    *,
    start: object = None,
    end: object = None,
    source: str = "auto",
    data_dir: str | None = None,
    settings: RunSettings = DEFAULT_SETTINGS,
    progress: ProgressFn | None = None,
) -> Backtest:
    """Backtest one strategy (a registered name, a portfolio ``.toml`` path, or a :class:`Strategy`).

    Parameters
    ----------
    strategy : what to run.
    start, end : the window (``YYYY-MM-DD``; None = all history / latest data).
    source : ``auto`` (cache, then ``data_dir``/``THESES_DATA_DIR`` CSVs, then yfinance), ``csv``, ``cache``, ``yahoo``.
    data_dir : folder of ``TICKER.csv`` files.
    settings : costs, rates, capital and execution.
    progress : called as ``progress(description, done, total)`` as the work goes (the CLI draws it).
    """
    report = progress or _no_progress
    chosen = resolve_strategy(strategy)
    report("loading prices", 0, 2)
    price_data = load_window(tickers_for([chosen]), start=start, end=end, source=source, data_dir=data_dir,
                             lookback=chosen.lookback)
    config = settings.config_for(chosen)
    report(f"backtesting {chosen.name}", 1, 2)
    result = run_backtest(chosen, price_data, config)
    report(f"backtested {chosen.name}", 2, 2)
    notes = lookback_notes(chosen, price_data.close.index, price_data.window_row)
    return Backtest(chosen, result, config, DataContext.of(price_data, notes))


def compare(
    strategies: Iterable[str | Strategy] | None = None,
    *,
    since_essay: bool = False,
    start: object = None,
    end: object = None,
    source: str = "auto",
    data_dir: str | None = None,
    settings: RunSettings = DEFAULT_SETTINGS,
    progress: ProgressFn | None = None,
) -> Comparison:
    """Backtest several strategies (default: every registered one) over one window, prices loaded once.

    ``since_essay`` starts the window at the essay's date (2024-12-02), its out-of-sample period;
    ``progress(description, done, total)`` is called before each strategy. Each strategy's signal reads
    its own look-back before the window (see the module docstring).
    """
    if since_essay and start is not None:
        raise StudyError("give either --since-essay or --start, not both")
    report = progress or _no_progress
    chosen = resolve_strategies(strategies)
    report("loading prices", 0, len(chosen) + 1)
    price_data = load_window(tickers_for(chosen), start=ESSAY_DATE if since_essay else start, end=end,
                             source=source, data_dir=data_dir, lookback=lookback_of(chosen))
    return compare_on(chosen, price_data, settings, since_essay=since_essay, progress=report)


def compare_on(
    strategies: Sequence[Strategy], price_data: PriceData, settings: RunSettings = DEFAULT_SETTINGS,
    since_essay: bool = False, progress: Callable[[str, int, int], None] | None = None,
) -> Comparison:
    """Backtest ``strategies`` over the window of prices already loaded (with their look-back rows)."""
    report = progress or _no_progress
    context = DataContext.of(price_data)
    backtests, notes = [], []
    for i, strategy in enumerate(strategies, start=1):
        report(f"backtesting {strategy.name}", i, len(strategies) + 1)
        config = settings.config_for(strategy)
        backtests.append(Backtest(strategy, run_backtest(strategy, price_data, config), config, context))
        notes += lookback_notes(strategy, price_data.close.index, price_data.window_row)
    report("backtested", len(strategies) + 1, len(strategies) + 1)
    return Comparison(backtests, context, since_essay=since_essay, notes=tuple(notes))
