"""Numba kernels of the path generators (imported lazily by ``data.generators``).

Each kernel walks days in order for one path at a time, so a path's numbers never depend on how many paths
are processed together, and it uses plain IEEE arithmetic in a fixed order (no fast-math reassociation), so
the output does not depend on the machine's SIMD width or BLAS library. They release the GIL (``nogil``):
the generator runs path blocks on several threads.
"""

from __future__ import annotations

from theses.util import configure_numba_cache

# Before the decorators below: each @njit(cache=True) picks its cache directory when it is created.
configure_numba_cache()

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402


@njit(cache=True, nogil=True)
def correlated_returns_nb(z, scale, chol_t, drift, vol):  # pragma: no cover - compiled
    """In place: ``z[p, t] <- drift[t] + vol[t] * scale[p, t] * (L @ z[p, t])``.

    Parameters
    ----------
    z : (P, T, N) float32 standard normal draws, overwritten with daily log returns.
    scale : (P, T) float32 multivariate-t scale per path-day (ones for normal shocks).
    chol_t : (N, N) float32 transposed lower Cholesky factor (``chol_t[k, i] = L[i, k]``).
    drift, vol : (T, N) float32 daily drift and daily volatility.
    """
    n_paths, n_days, n = z.shape
    for p in range(n_paths):
        acc = np.empty(n, dtype=np.float32)
        for t in range(n_days):
            acc[:] = 0.0
            # Column by column of L (upper zeros included: a full-length inner loop vectorises, which is
            # faster than skipping them); no reduction, so the summation order is fixed.
            for k in range(n):
                zk = z[p, t, k]
                row = chol_t[k]
                for i in range(n):
                    acc[i] += row[i] * zk
            s = scale[p, t]
            for i in range(n):
                z[p, t, i] = drift[t, i] + vol[t, i] * (s * acc[i])


@njit(cache=True, nogil=True)
def prices_from_returns_nb(returns, log_start, out):  # pragma: no cover - compiled
    """``out[p, t, i] = exp(log_start[i] + sum(returns[p, :t+1, i]))`` with a float64 running sum."""
    n_paths, n_days, n = returns.shape
    for p in range(n_paths):
        level = np.empty(n, dtype=np.float64)
        for i in range(n):
            level[i] = log_start[i]
        for t in range(n_days):
            for i in range(n):
                level[i] += returns[p, t, i]
                out[p, t, i] = np.float32(np.exp(level[i]))
