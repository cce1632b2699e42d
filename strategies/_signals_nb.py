"""Numba kernels of the basket signals (imported lazily by :mod:`strategies.signals`, never by ``theses list``).

One pass over the basket's columns of a price array, where numpy needs a copy of the columns and five
temporaries the size of it. The arithmetic is numpy's, in numpy's order: a return is ``close / previous - 1``
and a row's returns are summed pairwise exactly as ``ndarray.sum(axis=-1)`` sums a contiguous row (eight
partial sums from 8 names on, as numpy's ``pairwise_sum``), so the results are bit for bit those of the numpy
formula (a test checks it) and a signal never depends on which of the two computed it.
"""

from __future__ import annotations

from theses.util import kernel_api

# Before the decorators below: each @njit(cache=True) picks its cache directory when it is created (numba's, or
# plain-Python stand-ins when the module is loaded as an interpreted twin, theses.util.interpreted_twin).
njit, prange = kernel_api()

import numpy as np  # noqa: E402


@njit(cache=True, nogil=True, inline="always")
def _pairwise_sum_nb(values, n):  # pragma: no cover - compiled
    """``values[:n].sum()`` in numpy's pairwise order for ``n <= 128`` (one block)."""
    if n < 8:
        total = 0.0
        for i in range(n):
            total += values[i]
        return total
    r0 = values[0]
    r1 = values[1]
    r2 = values[2]
    r3 = values[3]
    r4 = values[4]
    r5 = values[5]
    r6 = values[6]
    r7 = values[7]
    i = 8
    while i < n - (n % 8):
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += values[i]
        i += 1
    return total


@njit(cache=True, nogil=True)
def last_gap_nb(prices, positions):  # pragma: no cover - compiled
    """The last row at which any path lacks a close of a basket name (``-1`` when none does).

    ``prices`` is ``(P, T, M)`` float64; ``positions`` the basket's columns.
    """
    n_paths, n_rows, _ = prices.shape
    last = -1
    for p in range(n_paths):
        for t in range(n_rows - 1, last, -1):
            gap = False
            for j in positions:
                x = prices[p, t, j]
                if not np.isfinite(x):
                    gap = True
                    break
            if gap:
                last = t
                break
    return last


@njit(cache=True, nogil=True)
def mean_returns_nb(prices, positions, start, out):  # pragma: no cover - compiled
    """``out[p, t - start] = mean of close / previous - 1`` over the basket, for rows ``t >= start >= 1``.

    Every basket name must have a close on rows ``start - 1 ..`` (the caller checks it with
    :func:`last_gap_nb`). ``prices`` ``(P, T, M)`` float64; ``out`` ``(P, T - start)`` float64.
    """
    n_paths, n_rows, _ = prices.shape
    n = positions.shape[0]
    returns = np.empty(n)
    for p in range(n_paths):
        for t in range(start, n_rows):
            for k in range(n):
                j = positions[k]
                returns[k] = prices[p, t, j] / prices[p, t - 1, j] - 1.0
            out[p, t - start] = _pairwise_sum_nb(returns, n) / n


@njit(cache=True, nogil=True, parallel=True)
def trend_on_nb(level, window, out):  # pragma: no cover - compiled
    """``out[p, t] = level[p, t] > trailing window-day mean`` (False while the mean is undefined or NaN).

    The mean is numpy's ``rolling_mean``: running sums of the finite values (``np.cumsum``'s sequential order,
    from 0) differenced over the window and divided by ``window``, NaN where the window holds a NaN.
    ``level`` ``(P, T)`` float64; ``out`` ``(P, T)`` bool. Paths run in parallel.
    """
    n_paths, n = level.shape
    for p in prange(n_paths):  # paths in parallel, each in its own buffers
        sums = np.empty(n + 1)
        gaps = np.empty(n + 1, dtype=np.int64)
        total = 0.0
        missing = 0
        sums[0] = 0.0
        gaps[0] = 0
        for t in range(n):
            v = level[p, t]
            finite = np.isfinite(v)
            total = total + (v if finite else 0.0)
            missing += 0 if finite else 1
            sums[t + 1] = total
            gaps[t + 1] = missing
            on = False
            if t >= window - 1 and gaps[t + 1] - gaps[t + 1 - window] == 0:
                average = (sums[t + 1] - sums[t + 1 - window]) / window
                on = np.isfinite(average) and v > average
            out[p, t] = on


@njit(cache=True, nogil=True, parallel=True)
def drawdown_switch_nb(level, window, enter, leave, out):  # pragma: no cover - compiled
    """The drawdown switch: on from a day ``level / trailing window-day high - 1 <= -enter``, off from a day it
    is ``>= -leave`` (enter wins), kept in between, off at first.

    The high is numpy's ``rolling_max`` (NaN until ``window`` values, and where the window holds a NaN); a
    NaN drawdown neither enters nor leaves. The high comes from a monotonic queue of positions (O(T)).
    ``level`` ``(P, T)`` float64; ``out`` ``(P, T)`` bool. Paths run in parallel.
    """
    n_paths, n = level.shape
    for p in prange(n_paths):  # paths in parallel, each in its own buffers
        queue = np.empty(n, dtype=np.int64)  # positions of decreasing values: the window's high first
        values = np.empty(n)  # the level with NaN as -inf, as numpy's rolling_max filters it
        head = 0
        tail = 0
        last_nan = -1
        state = False
        for t in range(n):
            v = level[p, t]
            if v != v:
                last_nan = t
                values[t] = -np.inf
            else:
                values[t] = v
            while tail > head and values[queue[tail - 1]] <= values[t]:
                tail -= 1
            queue[tail] = t
            tail += 1
            if queue[head] <= t - window:
                head += 1
            if t >= window - 1 and last_nan <= t - window:
                high = values[queue[head]]
                drawdown = v / high - 1.0
                if drawdown <= -enter:
                    state = True
                elif drawdown >= -leave:
                    state = False
            out[p, t] = state


@njit(cache=True, nogil=True, parallel=True)
def level_after_nb(prices, positions, checked, last_close, start, out, first):  # pragma: no cover - compiled
    """Continue an equal-weight index along each path: ``out[p, first + t]`` for the rows ``t`` of ``prices``.

    The row before ``prices[:, 0]`` has the basket's closes ``last_close`` (``(n,)`` float64, finite) and the
    index level ``start``; each row then multiplies the level by ``1 + mean(close / previous - 1)`` (summed as
    :func:`mean_returns_nb`, multiplied in ``np.cumprod``'s order), as :func:`equal_weight_index` does on the
    joined rows. Paths run in parallel. Returns False, with ``out`` partly written, when a close of the basket
    or of the ``checked`` columns is not finite (the joined index then needs the masked rule, and the paths
    may list names differently). ``prices`` ``(P, T, M)`` float32 or float64, read in place at the basket's
    ``positions``; ``out`` ``(P, first + T)``.
    """
    n_paths, n_rows, _ = prices.shape
    n = positions.shape[0]
    if out.shape[0] != n_paths or out.shape[1] < first + n_rows or last_close.shape[0] != n:
        raise ValueError("level_after_nb: out must be (paths, first + days) and last_close one close per name")
    gaps = np.zeros(n_paths, dtype=np.int64)
    for p in prange(n_paths):
        returns = np.empty(n)
        previous = last_close.copy()
        level = start
        for t in range(n_rows):
            for k in range(n):
                close = np.float64(prices[p, t, positions[k]])
                if not np.isfinite(close):
                    gaps[p] = 1
                returns[k] = close / previous[k] - 1.0
                previous[k] = close
            for j in checked:
                if not np.isfinite(prices[p, t, j]):
                    gaps[p] = 1
            level = level * (1.0 + _pairwise_sum_nb(returns, n) / n)
            out[p, first + t] = level
    return gaps.sum() == 0
