"""Several books over the same simulated paths in one pass: per-book, per-path outcomes.

:func:`backtest_books_batch` runs every book on a chunk of paths with one parallel kernel
(:func:`engine.kernels.simulate_books_nb`): each path's prices are read from memory once and stay in cache
while all books run on them, and nothing of size ``(paths, days)`` is kept. Per path and book it records what
a scenario study needs -- terminal wealth, CAGR, maximum drawdown, the lowest wealth along the path (for
ruin), turnover, costs, the benchmark's wealth on the same path -- and equity sampled on a coarse set of bars
(float32, for fan charts), so percentile bands can be computed exactly at the end however the paths were
chunked (:func:`concat_outcomes`, :func:`sample_bands`).

The rules per bar are those of :func:`engine.backtest` (the same step kernel). The one difference from
:func:`engine.backtest_batch` is the window of the per-path metrics: here each path's window starts at the bar
before *its own* first trade (as a single :func:`engine.backtest` does), so a path's figures do not depend on
the other paths of the chunk; ``backtest_batch`` uses the window common to all its paths. The two agree
whenever every path first trades on the same bar, as books whose first target row is the same on every path do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from theses.engine.backtest import DELIST_AFTER, calendar_days, check_exposure, next_calendar_days, sim_params
from theses.engine.batch import (
    PickedRows,
    TargetRows,
    check_config,
    check_paths,
    execution_prices,
    in_force_rows,
    picked_rows,
    raise_first_breach,
    sorted_by_date,
    target_rows,
    window_cagr,
)
from theses.engine.config import BacktestConfig
from theses.engine.errors import EngineError
from theses.engine.kernel_types import OUTCOME_FIELDS, sim_params_row

_FIELD = {name: i for i, name in enumerate(OUTCOME_FIELDS)}


class Book(NamedTuple):
    """One book of :func:`backtest_books_batch`.

    Attributes
    ----------
    columns : the tickers (or positions in ``tickers``) the book holds, in the order of its weight columns.
    weights : ``(T, n)``, ``(1, T, n)``, ``(P, T, n)`` dense weights, :class:`engine.batch.TargetRows` or
        :class:`engine.batch.PickedRows` over ``columns``; meaning and one-bar lag as in :func:`engine.backtest`.
    config : its :class:`BacktestConfig` (defaults when None).
    name : a label for the outcome.
    """

    columns: Sequence[str] | Sequence[int]
    weights: Any
    config: BacktestConfig | None = None
    name: str = ""


@dataclass
class BookOutcome:
    """Per-path outcomes of one book (arrays of shape ``(P,)`` unless said otherwise).

    Wealth is equity as a multiple of the initial cash.

    Attributes
    ----------
    name : the book's label.
    terminal_wealth : wealth at the last bar.
    cagr : compound annual growth over the path's executed window (from the bar before its first trade).
    max_drawdown : largest peak-to-trough fall of wealth (negative fraction).
    min_wealth : lowest wealth at any bar (at or below 0: the book was wiped out on that path).
    turnover : mean per-bar turnover over the window x periods per year.
    costs : fees + slippage + borrow paid, / initial cash; ``fees``, ``slippage``, ``borrow``, ``interest``
        the parts (interest is income, credited from bar 0; the others start with the first trade).
    first_trade : bar of the first trade (-1: never traded).
    ruin_bar : first bar at which equity was at or below zero (the book was closed there), -1 when never.
    window_base : wealth at the window start (1.0 unless cash earned interest before the first trade).
    benchmark_terminal : the benchmark book's wealth over the same window on the same path (its wealth at
        the end / at this book's window start), or None without a benchmark.
    equity_samples : ``(P, S)`` float32 wealth at ``sample_index``.
    sample_index : the ``S`` sampled dates.
    config : the settings used.
    """

    name: str
    terminal_wealth: np.ndarray
    cagr: np.ndarray
    max_drawdown: np.ndarray
    min_wealth: np.ndarray
    turnover: np.ndarray
    costs: np.ndarray
    fees: np.ndarray
    slippage: np.ndarray
    borrow: np.ndarray
    interest: np.ndarray
    first_trade: np.ndarray
    ruin_bar: np.ndarray
    window_base: np.ndarray
    benchmark_terminal: np.ndarray | None
    equity_samples: np.ndarray
    sample_index: pd.DatetimeIndex
    config: dict[str, Any] = field(default_factory=dict)

    def per_path(self) -> dict[str, np.ndarray]:
        """The per-path arrays by name (the input of ``engine.metrics.summarize_paths`` and ``scenario_blend``)."""
        out = {k: getattr(self, k) for k in ("terminal_wealth", "cagr", "max_drawdown", "min_wealth", "turnover",
                                             "costs")}
        if self.benchmark_terminal is not None:
            out["benchmark_terminal"] = self.benchmark_terminal
        return out


#: Per-path array fields of :class:`BookOutcome`, concatenated by :func:`concat_outcomes`.
PATH_FIELDS = ("terminal_wealth", "cagr", "max_drawdown", "min_wealth", "turnover", "costs", "fees", "slippage",
               "borrow", "interest", "first_trade", "ruin_bar", "window_base", "benchmark_terminal", "equity_samples")


def sample_bars(n_bars: int, every: int) -> np.ndarray:
    """Bars ``0, every, 2 * every, ...`` and always the last bar."""
    if every < 1:
        raise EngineError(f"sample_every={every}: sample at least every bar (1) or every few bars (5 = weekly)")
    bars = np.arange(0, n_bars, int(every), dtype=np.int64)
    return bars if bars[-1] == n_bars - 1 else np.append(bars, n_bars - 1)


def _book_columns(book: Book, tickers: Sequence[str]) -> np.ndarray:
    """Positions of a book's columns in ``tickers``."""
    lookup = {str(t): i for i, t in enumerate(tickers)}
    positions = []
    for c in book.columns:
        if isinstance(c, int | np.integer) and not isinstance(c, bool):
            if not 0 <= int(c) < len(tickers):
                raise EngineError(f"book {book.name!r}: column {c} is outside 0..{len(tickers) - 1}")
            positions.append(int(c))
        elif str(c) in lookup:
            positions.append(lookup[str(c)])
        else:
            raise EngineError(f"book {book.name!r}: {c!r} is not one of the simulated tickers; add its prices")
    if not positions:
        raise EngineError(f"book {book.name!r} holds no columns; give it at least one ticker")
    if len(set(positions)) != len(positions):
        raise EngineError(f"book {book.name!r} names a column twice; list each ticker once")
    return np.asarray(positions, dtype=np.int64)


def backtest_books_batch(
    prices3d: np.ndarray,
    books: Sequence[Book | tuple],
    *,
    index: pd.DatetimeIndex,
    tickers: Sequence[str],
    benchmark: int | str | None = None,
    sample_every: int = 5,
    open_prices3d: np.ndarray | None = None,
    delist_after: int | None = DELIST_AFTER,
) -> list[BookOutcome]:
    """Run several books over the same ``P`` price paths in one pass; per-book, per-path outcomes.

    Parameters
    ----------
    prices3d : ``(P, T, M)`` closes of every ticker any book holds, float32 or float64 (read in place).
    books : :class:`Book` records or ``(columns, weights, config[, name])`` tuples.
    index : the ``T`` trading days.
    tickers : the ``M`` column names of ``prices3d``.
    benchmark : the book (position in ``books`` or name) whose wealth on the same path each outcome records
        as ``benchmark_terminal`` (e.g. SPY buy-and-hold, for "probability of beating the benchmark").
    sample_every : equity is sampled every this many bars (and at the last bar); 5 is about weekly.
    open_prices3d : opens of the same shape, needed when a book executes at the open.
    delist_after : the delisting rule of :func:`engine.backtest` (None: never close for want of prices).

    Returns
    -------
    list of BookOutcome
        One per book, in order.

    Raises
    ------
    EngineError
        Bad shapes, unknown columns, an exposure-limit breach of a target row or of a trade's realised exposure
        (naming the book, date and path), missing opens.
    """
    records = [b if isinstance(b, Book) else Book(*b) for b in books]
    if not records:
        raise EngineError("no book to run; pass at least one (columns, weights, config)")
    records = [r if r.name else r._replace(name=f"book {k}") for k, r in enumerate(records)]
    close, index = check_paths(prices3d, index, list(tickers))
    n_paths, n_bars, _ = close.shape
    configs = [check_config(r.config) for r in records]
    exec_price = close
    if any(c.execution == "open" for c in configs):
        exec_price = execution_prices(close, open_prices3d, replace(configs[0], execution="open"))
    if any(c.execution == "close" for c in configs) and exec_price is not close:
        raise EngineError('books mix execution="open" and "close"; run them in separate calls')

    cols_list, bars_list, rows_list, picks_list, params_rows = [], [], [], [], []
    calendars = np.zeros((len(records), n_bars), dtype=bool)
    next_calendars = np.empty((len(records), n_bars + 1), dtype=np.int64)
    for k, (record, config) in enumerate(zip(records, configs, strict=True)):
        cols = _book_columns(record, tickers)
        names = [str(tickers[c]) for c in cols]
        try:
            bars, rows, picks = _book_rows(record.weights, n_paths, index, names, config,
                                           what=f"book {record.name!r} weights")
        except EngineError as exc:
            raise EngineError(f"book {record.name!r}: {exc}") from None
        cols_list.append(cols)
        bars_list.append(bars)
        rows_list.append(rows)
        picks_list.append(picks)
        params_rows.append(sim_params_row(sim_params(config, delist_after)))
        calendars[k] = calendar_days(config, index)
        next_calendars[k] = next_calendar_days(calendars[k])

    bench = _benchmark_position(benchmark, records)
    order = np.arange(len(records), dtype=np.int64)
    if bench >= 0:
        order = np.r_[bench, order[order != bench]].astype(np.int64)
    samples_at = sample_bars(n_bars, sample_every)
    cols_flat, col_start = _flat(cols_list, np.int64)
    bars_flat, bar_start = _flat(bars_list, np.int64)
    # Rows flat too (one copy, about 15 ms for a (1024, 1256, 8) dense book): a numba typed list of them took
    # 0.7-1.0 s to set up in every new process, cache or not.
    rows_flat, row_start = _flat(rows_list, np.float64)
    row_paths = np.array([r.shape[0] for r in rows_list], dtype=np.int64)
    picks_flat, pick_start = _flat(picks_list, np.int64)
    # numba is imported on the first run, not with the package (theses.engine.backtest.kernels_for)
    from theses.engine.kernels import simulate_books_nb

    outcomes, samples = simulate_books_nb(close, exec_price, cols_flat, col_start, bars_flat, bar_start, rows_flat,
                                          row_start, row_paths, picks_flat, pick_start,
                                          calendars, next_calendars, np.array(params_rows), order, bench, samples_at,
                                          exec_price is close)
    sample_index = index[samples_at]
    for k, (record, config) in enumerate(zip(records, configs, strict=True)):
        try:
            raise_first_breach(outcomes[k][:, _FIELD["breach_bar"]].astype(np.int64), index, config)
        except EngineError as exc:
            raise EngineError(f"book {record.name!r}: {exc}") from None
    return [_outcome(records[k], configs[k], outcomes[k], samples[k], sample_index, n_bars, bench >= 0)
            for k in range(len(records))]


def _book_rows(weights: Any, n_paths: int, index: pd.DatetimeIndex, names: list[str], config: BacktestConfig,
               what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bars, rows, picks)`` of a book, checked: ``rows`` ``(1 | P, R, N)`` and no picks, or for
    :class:`PickedRows` the ``(Q, N)`` palette and ``(1 | P, R)`` picks (target rows over the limits raise)."""
    if not isinstance(weights, PickedRows):
        bars, rows = target_rows(weights, n_paths, index, names, what=what)
        check_exposure(rows, config, index[bars], names)
        bars, rows = in_force_rows(bars, rows, config, index)
        return bars, rows, np.empty(0, dtype=np.int64)
    bars, palette, picks = picked_rows(weights, n_paths, index, names, what=what)
    try:
        check_exposure(palette[None], config, index[:len(palette)], names)
    except EngineError:
        # A palette row over a limit: name the first path and date that picks it, as dense rows would.
        check_exposure(palette[picks], config, index[bars], names)
    return bars, palette, picks


def _flat(arrays: Sequence[np.ndarray], dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """The arrays one after the other, C order, and where each starts (``(K+1,)``, the last is the total)."""
    start = np.zeros(len(arrays) + 1, dtype=np.int64)
    start[1:] = np.cumsum([a.size for a in arrays])
    flat = np.empty(int(start[-1]), dtype=dtype)
    for a, lo, hi in zip(arrays, start[:-1], start[1:], strict=True):
        flat[lo:hi] = a.reshape(-1)
    return flat, start


def _benchmark_position(benchmark: int | str | None, records: Sequence[Book]) -> int:
    if benchmark is None:
        return -1
    if isinstance(benchmark, int | np.integer) and not isinstance(benchmark, bool):
        if not 0 <= int(benchmark) < len(records):
            raise EngineError(f"benchmark={benchmark} is not a book position (0..{len(records) - 1})")
        return int(benchmark)
    names = [r.name for r in records]
    if benchmark not in names:
        raise EngineError(f"benchmark {benchmark!r} is not one of the books ({', '.join(names)})")
    return names.index(benchmark)


def _outcome(record: Book, config: BacktestConfig, values: np.ndarray, samples: np.ndarray,
             sample_index: pd.DatetimeIndex, n_bars: int, has_bench: bool) -> BookOutcome:
    """A :class:`BookOutcome` from one book's rows of the kernel's outcome array."""
    initial = config.initial_cash
    first = values[:, _FIELD["first_trade"]].astype(np.int64)
    start = np.maximum(first - 1, 0)
    terminal = values[:, _FIELD["terminal"]]
    base = values[:, _FIELD["window_base"]]
    fees, slips, borrow = (values[:, _FIELD[k]] for k in ("fees", "slippage", "borrow"))
    bench = None
    if has_bench:
        bench = values[:, _FIELD["bench_terminal"]] / values[:, _FIELD["bench_base"]]
    return BookOutcome(
        name=record.name,
        terminal_wealth=terminal,
        cagr=window_cagr(terminal, base, n_bars - start, config.periods_per_year),
        max_drawdown=values[:, _FIELD["max_drawdown"]],
        min_wealth=values[:, _FIELD["min_wealth"]],
        turnover=values[:, _FIELD["turnover_sum"]] / np.maximum(n_bars - 1 - start, 1) * config.periods_per_year,
        costs=(fees + slips + borrow) / initial,
        fees=fees / initial,
        slippage=slips / initial,
        borrow=borrow / initial,
        interest=values[:, _FIELD["interest"]] / initial,
        first_trade=first,
        ruin_bar=values[:, _FIELD["ruin_bar"]].astype(np.int64),
        window_base=base,
        benchmark_terminal=bench,
        equity_samples=samples,
        sample_index=sample_index,
        config=config.to_dict(),
    )


def concat_outcomes(parts: Sequence[BookOutcome]) -> BookOutcome:
    """One :class:`BookOutcome` from the outcomes of the same book on successive chunks of paths."""
    if not parts:
        raise EngineError("no outcomes to concatenate")
    first = parts[0]
    if any(not p.sample_index.equals(first.sample_index) for p in parts):
        raise EngineError("outcomes sampled on different dates cannot be concatenated")
    merged = {}
    for name in PATH_FIELDS:
        values = [getattr(p, name) for p in parts]
        merged[name] = None if any(v is None for v in values) else np.concatenate(values, axis=0)
    return replace(first, **merged)


def sample_bands(outcome: BookOutcome, percentiles: Sequence[float] = (5, 25, 50, 75, 95)) -> pd.DataFrame:
    """Percentiles across paths of sampled wealth: one column per percentile, indexed by the sampled dates.

    Exactly ``numpy.percentile`` with its default (linear) method on the float64 samples, whatever the chunking
    of the paths (a test checks it bit for bit), computed as numpy does but faster: each date's
    contiguous float32 values, sorted (numpy's SIMD sort, in threads: :func:`~engine.batch.sorted_by_date`;
    numpy's percentile selects ranks along a strided axis of float64, measured 4-5x slower for 10,000 paths x
    252 dates), then numpy's interpolation in float64.
    """
    samples = outcome.equity_samples
    n = samples.shape[0]
    if n < 2 or np.isnan(samples).any():
        values = np.percentile(samples.astype(np.float64), list(percentiles), axis=0).T
    else:
        values = _linear_percentiles(sorted_by_date(samples), np.asarray(percentiles, dtype=np.float64))
    return pd.DataFrame(values, index=outcome.sample_index, columns=list(percentiles))


def _linear_percentiles(rows: np.ndarray, percentiles: np.ndarray) -> np.ndarray:
    """``np.percentile(rows.astype(float64), percentiles, axis=1).T`` for ``(S, n)`` sorted rows (ascending)
    without NaN, ``n >= 2``.

    numpy's steps for the linear method: virtual index ``(n - 1) q``, its floor and the next index (both the
    last one from the top), the order statistics there (exact values, however found), and ``_lerp``:
    ``a + (b - a) g``, or ``b - (b - a)(1 - g)`` where ``g >= 0.5``. The order statistics of the float32
    values are those of the float64 values.
    """
    n = rows.shape[1]
    virtual = (n - 1) * (percentiles / 100)
    previous = np.floor(virtual)
    following = previous + 1
    top = virtual >= n - 1
    previous[top] = following[top] = n - 1
    previous[virtual < 0] = following[virtual < 0] = 0
    gamma = virtual - previous
    previous, following = previous.astype(np.intp), following.astype(np.intp)
    a = rows[:, previous].astype(np.float64)
    b = rows[:, following].astype(np.float64)
    diff = b - a
    out = a + diff * gamma
    upper = gamma >= 0.5
    out[:, upper] = (b - diff * (1 - gamma))[:, upper]
    return out


__all__ = ["Book", "BookOutcome", "PATH_FIELDS", "PickedRows", "TargetRows", "backtest_books_batch", "concat_outcomes",
           "sample_bands", "sample_bars"]
