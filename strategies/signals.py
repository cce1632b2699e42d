"""Small array helpers the combinators (:mod:`strategies.combinators`) are built from.

Every helper works on ``(T, N)`` and ``(P, T, N)`` arrays (paths first, time on axis -2) without a Python
loop over paths or days, and every time-series value at row t is computed from rows ``<= t`` only, so no
signal can see the future.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from theses.strategies.errors import StrategyError

if TYPE_CHECKING:  # pandas is imported where it is used, so listing strategies stays fast
    pass

#: Held while a parallel signal kernel runs. Numba's ``workqueue`` threading layer (where neither TBB nor
#: OpenMP is installed) aborts the process when two threads launch parallel kernels at once, and the scenario
#: study computes path-dependent books in two threads; the kernels use every core anyway.
PARALLEL_KERNELS = threading.Lock()


def check_inputs(prices: np.ndarray, dates: Any, tickers: Sequence[str]) -> np.ndarray:
    """Validate the shapes of a weights-function call and return ``dates`` as ``datetime64[ns]``.

    Parameters
    ----------
    prices : ndarray
        ``(T, N)`` or ``(P, T, N)``.
    dates : array-like of datetime
        T dates.
    tickers : sequence of str
        N tickers.

    Returns
    -------
    ndarray of datetime64[ns], shape (T,)
    """
    if prices.ndim not in (2, 3):
        raise StrategyError(
            f"prices must be (days, tickers) or (paths, days, tickers); got shape {prices.shape}"
        )
    if prices.shape[-1] != len(tickers):
        raise StrategyError(f"prices have {prices.shape[-1]} columns but {len(tickers)} tickers were given")
    import pandas as pd

    stamps = pd.DatetimeIndex(dates).to_numpy(dtype="datetime64[ns]")
    if stamps.shape[0] != prices.shape[-2]:
        raise StrategyError(f"prices have {prices.shape[-2]} days but {stamps.shape[0]} dates were given")
    return stamps


def column_positions(tickers: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """Positions of ``names`` in ``tickers``; a missing name raises StrategyError naming it."""
    lookup = {t: i for i, t in enumerate(tickers)}
    missing = [n for n in names if n not in lookup]
    if missing:
        raise StrategyError(f"no prices for {', '.join(missing)}; add them to the price data")
    return np.array([lookup[n] for n in names], dtype=np.intp)


def static_weights(n_days: int, tickers: Sequence[str], weights: Mapping[str, float]) -> np.ndarray:
    """The same target on every row: ``(T, N)`` with ``weights[ticker]`` in its column, 0 elsewhere."""
    row = np.zeros(len(tickers))
    positions = column_positions(tickers, list(weights))
    row[positions] = np.fromiter(weights.values(), dtype=float, count=len(weights))
    return np.tile(row, (n_days, 1))


def equal_weights(names: Sequence[str], total: float = 1.0) -> dict[str, float]:
    """``total`` split equally over ``names`` (an empty list gives an empty dict)."""
    if not names:
        return {}
    share = total / len(names)
    return {n: share for n in names}


def listed_mask(prices: np.ndarray) -> np.ndarray:
    """True where a price exists; ``(T, N)`` when every path has the same listing pattern, else ``(P, T, N)``.

    Simulated paths normally share the listing dates of the history they were built from, so a mask that
    is identical across paths is reduced to one ``(T, N)`` array and the weights stay path-independent.
    """
    mask = np.isfinite(prices)
    if mask.ndim == 3 and (mask == mask[:1]).all():
        return mask[0]
    return mask


def first_row_only(
    weights_row: np.ndarray, prices: np.ndarray, positions: np.ndarray, n_days: int
) -> np.ndarray:
    """Buy-and-hold target: ``weights_row`` on the first row where every held ticker has a price, NaN after.

    With the engine's ``calendar="none"`` a target is traded once when it first arrives and never again,
    so the position drifts with the market (buy and hold). The first row with prices for every held ticker
    (in every path) is used rather than row 0, so a frame that starts before a listing still enters fully.
    """
    have_all = np.isfinite(prices[..., positions]).all(axis=-1)
    if have_all.ndim == 2:
        have_all = have_all.all(axis=0)
    if not have_all.any():
        raise StrategyError("no date on which every held ticker has a price; widen the date range")
    weights = np.full((n_days, weights_row.shape[0]), np.nan)
    weights[int(np.argmax(have_all))] = weights_row
    return weights


def rolling_mean(values: np.ndarray, window: int, axis: int = -2) -> np.ndarray:
    """Trailing simple moving average along ``axis`` using rows ``t-window+1 .. t``.

    NaN until ``window`` observations exist and wherever the window contains a NaN. Works on any shape;
    the default axis is the time axis of ``(T, N)`` and ``(P, T, N)`` arrays.
    """
    if window < 1:
        raise StrategyError(f"moving-average window must be at least 1 day; got {window}")
    values = np.moveaxis(np.asarray(values, dtype=float), axis, 0)
    n = values.shape[0]
    finite = np.isfinite(values)
    zero_pad = np.zeros((1,) + values.shape[1:])
    csum = np.concatenate([zero_pad, np.cumsum(np.where(finite, values, 0.0), axis=0)])
    cnan = np.concatenate([zero_pad, np.cumsum(~finite, axis=0)])
    out = np.full(values.shape, np.nan)
    if n >= window:
        sums = csum[window:] - csum[:-window]
        nans = cnan[window:] - cnan[:-window]
        out[window - 1 :] = np.where(nans == 0, sums / window, np.nan)
    return np.moveaxis(out, 0, axis)


def take_columns(prices: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``prices[..., positions]`` as a contiguous array: a copied slice for a run of adjacent columns (a basket
    listed first in a universe), measured 4x faster than fancy indexing on the last axis, else ``np.take``."""
    positions = np.asarray(positions, dtype=np.intp)
    if len(positions) and np.array_equal(positions, np.arange(positions[0], positions[0] + len(positions))):
        return np.ascontiguousarray(prices[..., positions[0] : positions[0] + len(positions)])
    return np.take(prices, positions, axis=-1)


def equal_weight_index(prices: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Level of a NaN-aware, equal-weight, daily-rebalanced index of the columns at ``positions``.

    The index return on day t is the mean of the daily returns of the names that have a close on both
    t-1 and t (names join the day after their first close); a day where none has a return is flat. The
    level is NaN before the first close of any name and starts at 1.0 there.

    Returns
    -------
    ndarray
        ``(T,)`` for ``(T, N)`` prices, ``(P, T)`` for ``(P, T, N)``.
    """
    positions = np.asarray(positions, dtype=np.int64)
    paths = np.ascontiguousarray(prices, dtype=np.float64)
    paths = paths if paths.ndim == 3 else paths[None]
    n_rows = paths.shape[1]
    if len(positions) == 0 or len(positions) > 128:  # the kernel sums one pairwise block (numpy's 128)
        return _equal_weight_index_numpy(prices, positions)
    kernels = _signal_kernels(paths.size)
    last_gap_nb, mean_returns_nb = kernels.last_gap_nb, kernels.mean_returns_nb

    # From the first row after which every name has a close on every row, each day's return is the plain mean
    # of all N returns: one kernel pass there, without masks (the bulk of a simulated path); the rows before
    # take the masked rule.
    head = min(int(last_gap_nb(paths, positions)) + 2, n_rows)
    mean_return = np.empty(paths.shape[:2])
    started = np.ones(paths.shape[:2], dtype=bool)
    mean_return[:, :head], started[:, :head] = _masked_mean_returns(take_columns(paths[:, :head], positions))
    if head < n_rows:
        tail = np.empty((paths.shape[0], n_rows - head))
        mean_returns_nb(paths, positions, head, tail)
        mean_return[:, head:] = tail
    level = np.where(started, np.cumprod(1.0 + np.where(started, mean_return, 0.0), axis=-1), np.nan)
    return level if np.ndim(prices) == 3 else level[0]


def equal_weight_index_after(lead: np.ndarray, prices: np.ndarray, positions: np.ndarray,
                             checked: np.ndarray | None = None) -> np.ndarray | None:
    """:func:`equal_weight_index` of ``lead`` rows shared by every path followed by each path's ``prices``,
    ``(P, L + T)``, without building the joined ``(P, L + T, N)`` array: bit for bit the same numbers.

    ``lead`` is ``(L, n)``: the basket's closes on the rows before the paths (a primed history), in the
    order of ``positions``, the basket's columns of the ``(P, T, M)`` ``prices``. The lead's index is computed
    once and each path continues it (:func:`strategies._signals_nb.level_after_nb`). None (use the joined
    array) where the joined index would take its masked rule on a path row: a close missing on the lead's
    last row or on a path, or a basket over 128 names; also where a path lacks a close in the ``checked``
    columns (read in the same pass).
    """
    positions = np.asarray(positions, dtype=np.int64)
    lead = np.asarray(lead, dtype=np.float64)
    n_lead = lead.shape[0]
    if prices.ndim != 3 or not 0 < len(positions) <= 128 or n_lead == 0 or not np.isfinite(lead[-1]).all():
        return None
    lead_level = equal_weight_index(lead, np.arange(len(positions)))
    out = np.empty((prices.shape[0], n_lead + prices.shape[1]))
    out[:, :n_lead] = lead_level
    kernels = _signal_kernels(prices.shape[0] * prices.shape[1] * len(positions))
    checked = np.zeros(0, dtype=np.int64) if checked is None else np.asarray(checked, dtype=np.int64)
    with PARALLEL_KERNELS:  # paths in parallel, the columns read in place
        done = kernels.level_after_nb(prices, positions, checked, np.ascontiguousarray(lead[-1]),
                                      float(lead_level[-1]), out, n_lead)
    return out if done else None


def _signal_kernels(work: int) -> Any:
    """``strategies._signals_nb``, compiled, or its interpreted twin for a small job in a process without numba
    yet (as the engine's ``kernels_for``: a single history's index is faster as plain Python than numba's
    first dispatch)."""
    from theses.util import interpreted_twin, prefer_interpreted

    if prefer_interpreted(work):
        return interpreted_twin("theses.strategies._signals_nb")
    import theses.strategies._signals_nb as kernels

    return kernels


def _equal_weight_index_numpy(prices: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """:func:`equal_weight_index` in numpy alone (the reference of its kernel, and baskets over 128 names)."""
    basket = take_columns(prices, positions)
    finite = np.isfinite(basket).all(axis=-1)
    if finite.ndim == 2:
        finite = finite.all(axis=0)
    gaps = np.flatnonzero(~finite)
    full_from = int(gaps[-1]) + 1 if len(gaps) else 0
    head = min(full_from + 1, basket.shape[-2])
    mean_return = np.empty(basket.shape[:-1])
    started = np.ones(basket.shape[:-1], dtype=bool)
    mean_return[..., :head], started[..., :head] = _masked_mean_returns(basket[..., :head, :])
    if head < basket.shape[-2]:
        tail = np.divide(basket[..., head:, :], basket[..., head - 1 : -1, :])
        tail -= 1.0
        mean_return[..., head:] = tail.sum(axis=-1) / basket.shape[-1]
    level = np.cumprod(1.0 + np.where(started, mean_return, 0.0), axis=-1)
    return np.where(started, level, np.nan)


def _masked_mean_returns(basket: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the mean return of the names with a close on the row and the one before (0 when none has),
    and whether any name has closed by then."""
    returns = np.full(basket.shape, np.nan)
    returns[..., 1:, :] = basket[..., 1:, :] / basket[..., :-1, :] - 1.0
    has_return = np.isfinite(returns)
    count = has_return.sum(axis=-1)
    mean_return = np.divide(
        np.where(has_return, returns, 0.0).sum(axis=-1), count, out=np.zeros(count.shape), where=count > 0
    )
    started = np.maximum.accumulate(np.isfinite(basket).any(axis=-1), axis=-1)
    return mean_return, started


def trend_on(level: np.ndarray, window: int) -> np.ndarray:
    """True on rows where ``level`` is strictly above its trailing ``window``-day mean (both from rows <= t).

    False while the mean is undefined (fewer than ``window`` observations), so a trend filter starts "off".
    ``level`` is ``(T,)`` or ``(P, T)``; time is the last axis.
    """
    if window < 1:
        raise StrategyError(f"moving-average window must be at least 1 day; got {window}")
    rows = np.ascontiguousarray(level, dtype=np.float64)
    paths = rows if rows.ndim == 2 else rows[None]
    out = np.empty(paths.shape, dtype=bool)
    with PARALLEL_KERNELS:  # one pass, paths in parallel: :func:`_trend_on_numpy`'s numbers
        _signal_kernels(paths.size).trend_on_nb(paths, int(window), out)
    return out if rows.ndim == 2 else out[0]


def _trend_on_numpy(level: np.ndarray, window: int) -> np.ndarray:
    """:func:`trend_on` in numpy (its kernel's reference in the tests)."""
    average = rolling_mean(level, window, axis=-1)
    with np.errstate(invalid="ignore"):
        return np.isfinite(average) & (level > average)


def drawdown_switch(level: np.ndarray, window: int, enter: float, leave: float) -> np.ndarray:
    """On from a row whose drawdown from the trailing ``window``-day high (:func:`drawdown_from_high`) is
    ``enter`` or deeper, off from a row back within ``leave`` (:func:`hysteresis`; enter wins; off at first).

    One compiled pass with a monotonic queue for the high; equal to :func:`_drawdown_switch_numpy` (tested).
    ``level`` is ``(T,)`` or ``(P, T)``.
    """
    if window < 1:
        raise StrategyError(f"rolling-high window must be at least 1 day; got {window}")
    rows = np.ascontiguousarray(level, dtype=np.float64)
    paths = rows if rows.ndim == 2 else rows[None]
    out = np.empty(paths.shape, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):  # the interpreted twin's inf / inf, as numpy's
        with PARALLEL_KERNELS:
            _signal_kernels(paths.size).drawdown_switch_nb(paths, int(window), float(enter), float(leave), out)
    return out if rows.ndim == 2 else out[0]


def _drawdown_switch_numpy(level: np.ndarray, window: int, enter: float, leave: float) -> np.ndarray:
    """:func:`drawdown_switch` in numpy (its kernel's reference in the tests)."""
    drawdown = drawdown_from_high(level, window)
    with np.errstate(invalid="ignore"):
        return hysteresis(drawdown <= -enter, drawdown >= -leave)


def rolling_max(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing maximum along the last axis over rows ``t-window+1 .. t``.

    NaN until ``window`` observations exist and wherever the window contains a NaN (as :func:`rolling_mean`).
    ``values`` is ``(T,)`` or ``(P, T)``.
    """
    if window < 1:
        raise StrategyError(f"rolling-high window must be at least 1 day; got {window}")
    from scipy.ndimage import maximum_filter1d  # van Herk / Gil-Werman: O(T) whatever the window

    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, np.nan)
    if values.shape[-1] < window:
        return out
    missing = np.isnan(values)
    # origin (window - 1) // 2 puts the filter's window at rows t - window + 1 .. t (trailing, no look-ahead).
    highs = maximum_filter1d(np.where(missing, -np.inf, values), window, axis=-1, origin=(window - 1) // 2)
    gaps = np.cumsum(missing, axis=-1)
    gaps_in_window = gaps[..., window - 1 :].copy()
    gaps_in_window[..., 1:] -= gaps[..., :-window]
    out[..., window - 1 :] = np.where(gaps_in_window > 0, np.nan, highs[..., window - 1 :])
    return out


def drawdown_from_high(level: np.ndarray, window: int) -> np.ndarray:
    """``level / trailing window-day high - 1`` (<= 0), NaN until the high is defined; rows <= t only."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return level / rolling_max(level, window) - 1.0


def hysteresis(enter: np.ndarray, leave: np.ndarray) -> np.ndarray:
    """A switch that turns on on a row where ``enter`` holds and off on a row where ``leave`` holds.

    Between such rows it keeps its last state; it starts off. ``enter`` wins on a row where both hold. Both
    are boolean ``(T,)`` or ``(P, T)`` (time last); the state on row t depends on rows <= t only.
    """
    enter = np.asarray(enter, dtype=bool)
    leave = np.asarray(leave, dtype=bool) & ~enter
    steps = np.arange(enter.shape[-1])
    last_enter = np.maximum.accumulate(np.where(enter, steps, -1), axis=-1)
    last_leave = np.maximum.accumulate(np.where(leave, steps, -1), axis=-1)
    return last_enter > last_leave


def glide_fraction(dates: Any, start: str, end: str) -> np.ndarray:
    """How far along a glide each date is: 0 at and before ``start``, 1 at and after ``end``, linear in calendar time.

    Returns
    -------
    ndarray, shape (T,)
    """
    import pandas as pd

    stamps = pd.DatetimeIndex(dates).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    t0, t1 = glide_bounds(start, end)
    return np.clip((stamps - t0) / (t1 - t0), 0.0, 1.0)


def _nanoseconds(day: object) -> np.int64:
    """A date as nanoseconds since the epoch: numpy parses ISO text (no pandas import at start-up)."""
    try:
        return np.datetime64(str(day), "ns").astype(np.int64)
    except ValueError:
        import pandas as pd

        try:
            return pd.Timestamp(day).to_datetime64().astype("datetime64[ns]").astype(np.int64)
        except (ValueError, TypeError):
            raise StrategyError(f"glide date {day!r} is not a date; write it as YYYY-MM-DD") from None


def glide_bounds(start: str, end: str) -> tuple[np.int64, np.int64]:
    """``start`` and ``end`` as nanosecond stamps; StrategyError unless ``end`` is after ``start``."""
    t0, t1 = _nanoseconds(start), _nanoseconds(end)
    if t1 <= t0:
        raise StrategyError(f"glide path end {end} must be after its start {start}")
    return t0, t1


def linear_glide(dates: Any, start: str, end: str, start_value: float, end_value: float) -> np.ndarray:
    """A value moving linearly in calendar time from ``start_value`` at ``start`` to ``end_value`` at ``end``.

    Constant ``start_value`` before ``start`` and ``end_value`` after ``end`` (see :func:`glide_fraction`).

    Returns
    -------
    ndarray, shape (T,)
    """
    return start_value + (end_value - start_value) * glide_fraction(dates, start, end)
