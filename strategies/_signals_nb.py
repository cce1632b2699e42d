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
njit, _ = kernel_api()

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
