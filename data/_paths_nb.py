"""Numba kernels of the path generators (imported lazily by ``data.generators``).

Each kernel walks days in order for one path at a time, so a path's numbers never depend on how many paths
are processed together, and it uses plain IEEE arithmetic in a fixed order (no fast-math reassociation), so
the output does not depend on the machine's SIMD width or BLAS library. They release the GIL (``nogil``):
the generator runs path blocks on several threads.
"""

from __future__ import annotations

import functools
import math

from theses.util import kernel_api

# Before the decorators below: each @njit(cache=True) picks its cache directory when it is created (numba's, or
# plain-Python stand-ins when the module is loaded as an interpreted twin, theses.util.interpreted_twin).
njit, prange = kernel_api()

import numpy as np  # noqa: E402


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


# ------------------------------------------------------------------------------------------------------------
# Random streams and samplers for the parametric generator, inside numba so blocks of paths run in parallel.
#
# Each block of paths has its own SFC64 stream (Chris Doty-Humphrey's Small Fast Chaotic generator, 64-bit;
# numpy ships the same generator as ``numpy.random.SFC64``, and the state here is seeded exactly as numpy seeds
# it from a ``SeedSequence``, so the raw streams are numpy's). Normals come from the ziggurat of Marsaglia &
# Tsang (2000) with 256 layers on 32-bit draws, gamma variates from Marsaglia & Tsang's (2000) squeeze method,
# bounded integers from Lemire's (2019) multiply-shift with rejection, and prices through an IEEE-only ``exp``.
# Integer arithmetic is exact, floating point is IEEE in a fixed order, so a seed gives the same numbers on any
# machine (only ``log``/``exp`` on the rare slow paths of the samplers come from the platform's maths library).

ZIGGURAT_R = 3.6541528853610088  # start of the tail of the 256-layer ziggurat
ZIGGURAT_V = 0.00492867323399  # area of each layer


@functools.lru_cache(maxsize=1)
def ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(k, w, f)`` tables of the 256-layer ziggurat for 23-bit magnitudes (Marsaglia & Tsang's ``zigset``).

    ``k[i]`` is the acceptance threshold of layer ``i`` (uint32), ``w[i]`` the scale from a 23-bit integer to
    ``x`` (float32) and ``f[i] = exp(-x_i^2 / 2)`` (float32) at the layer edges.
    """
    m = float(2**23)
    k = np.zeros(256, dtype=np.uint32)
    w = np.zeros(256, dtype=np.float32)
    f = np.zeros(256, dtype=np.float32)
    dn = tn = ZIGGURAT_R
    q = ZIGGURAT_V / math.exp(-0.5 * dn * dn)
    k[0] = np.uint32(dn / q * m)
    w[0] = q / m
    w[255] = dn / m
    f[0] = 1.0
    f[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(ZIGGURAT_V / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = np.uint32(dn / tn * m)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / m
    return k, w, f


@njit(cache=True, inline="always")
def sfc64_next_nb(state):  # pragma: no cover - compiled
    """Next 64-bit output of an SFC64 ``state`` (uint64 array ``[a, b, c, counter]``), updated in place."""
    a = state[0]
    b = state[1]
    c = state[2]
    w = state[3]
    out = a + b + w
    state[3] = w + np.uint64(1)
    state[0] = b ^ (b >> np.uint64(11))
    state[1] = c + (c << np.uint64(3))
    state[2] = ((c << np.uint64(24)) | (c >> np.uint64(40))) + out
    return out


@njit(cache=True)
def sfc64_seeded_nb(words):  # pragma: no cover - compiled
    """An SFC64 state from three seed words, as ``numpy.random.SFC64`` seeds it (counter 1, 12 rounds)."""
    state = np.empty(4, dtype=np.uint64)
    state[0] = words[0]
    state[1] = words[1]
    state[2] = words[2]
    state[3] = np.uint64(1)
    for _ in range(12):
        sfc64_next_nb(state)
    return state


@njit(cache=True, inline="always")
def uniform_nb(state):  # pragma: no cover - compiled
    """A float64 uniform on [0, 1) from the top 53 bits of one draw."""
    return np.float64(sfc64_next_nb(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _normal_slow_nb(state, u, x, k_tab, f_tab):  # pragma: no cover - compiled
    """The ziggurat's rare paths for the 32-bit draw ``u`` and its candidate ``x``: ``(accepted, value)``."""
    idx = u & np.uint32(0xFF)
    if idx == 0:  # the tail beyond R, by Marsaglia's exponential method
        negative = (u >> np.uint32(8)) & np.uint32(1)
        while True:
            xx = -np.log1p(-uniform_nb(state)) / ZIGGURAT_R
            yy = -np.log1p(-uniform_nb(state))
            if yy + yy > xx * xx:
                v = np.float32(ZIGGURAT_R + xx)
                return True, -v if negative else v
    y = (f_tab[idx - 1] - f_tab[idx]) * np.float32(uniform_nb(state)) + f_tab[idx]
    return np.float64(y) < np.exp(-0.5 * np.float64(x) * np.float64(x)), x


@njit(cache=True, inline="always")
def fill_normals_nb(state, out, k_tab, w_tab, f_tab):  # pragma: no cover - compiled
    """Fill ``out`` (float32) with standard normals: one ziggurat attempt per 32-bit half of each draw.

    An attempt takes 8 bits for the layer, 1 for the sign and 23 for the magnitude; 99% are accepted on the
    inline fast path (written flat: a tuple-returning helper there measured 3x slower).
    """
    n = out.shape[0]
    i = 0
    while i < n:
        bits = sfc64_next_nb(state)
        for half in range(2):
            if i >= n:
                break
            u = np.uint32(bits & np.uint64(0xFFFFFFFF)) if half == 0 else np.uint32(bits >> np.uint64(32))
            idx = u & np.uint32(0xFF)
            magnitude = (u >> np.uint32(9)) & np.uint32(0x007FFFFF)
            # The sign by a multiplication (exact), not a branch: a random branch mispredicts half the time,
            # and this measured 6.5 -> 3.5-4 ns a normal.
            x = np.float32(magnitude) * w_tab[idx]
            x = x * (np.float32(1.0) - np.float32(2.0) * np.float32((u >> np.uint32(8)) & np.uint32(1)))
            if magnitude < k_tab[idx]:
                out[i] = x
                i += 1
            else:
                accepted, value = _normal_slow_nb(state, u, x, k_tab, f_tab)
                if accepted:
                    out[i] = value
                    i += 1


@njit(cache=True, inline="always")
def normal_nb(state, k_tab, w_tab, f_tab):  # pragma: no cover - compiled
    """One standard normal (float32), one attempt per 64-bit draw (its top 32 bits)."""
    while True:
        u = np.uint32(sfc64_next_nb(state) >> np.uint64(32))
        idx = u & np.uint32(0xFF)
        magnitude = (u >> np.uint32(9)) & np.uint32(0x007FFFFF)
        x = np.float32(magnitude) * w_tab[idx]
        x = x * (np.float32(1.0) - np.float32(2.0) * np.float32((u >> np.uint32(8)) & np.uint32(1)))  # sign, no branch
        if magnitude < k_tab[idx]:
            return x
        accepted, value = _normal_slow_nb(state, u, x, k_tab, f_tab)
        if accepted:
            return value


@njit(cache=True, inline="always")
def gamma_nb(state, shape, k_tab, w_tab, f_tab):  # pragma: no cover - compiled
    """A Gamma(``shape``, 1) variate for ``shape >= 1`` (Marsaglia & Tsang's squeeze method), float64."""
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        x = np.float64(normal_nb(state, k_tab, w_tab, f_tab))
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform_nb(state)
        if u < 1.0 - 0.0331 * (x * x) * (x * x):
            return d * v
        if np.log(u) < 0.5 * x * x + d * (1.0 - v + np.log(v)):
            return d * v


@njit(cache=True, inline="always")
def bounded_nb(state, n):  # pragma: no cover - compiled
    """A uniform integer in ``0 .. n-1`` (``1 <= n < 2**32``), Lemire's method on 32-bit draws."""
    span = np.uint64(n)
    while True:
        m = (sfc64_next_nb(state) >> np.uint64(32)) * span
        low = m & np.uint64(0xFFFFFFFF)
        if low >= span or low >= (np.uint64(0x100000000) - span) % span:
            return np.int64(m >> np.uint64(32))


_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 split in two (Cody & Waite) so k * _LN2_HI is exact for |k| < 2**20
_LN2_LO = 1.9082149292705877e-10
_ROUNDING = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer held in the low mantissa bits
_ROUNDING_BITS = int(np.float64(_ROUNDING).view(np.int64))


@njit(cache=True, inline="always")
def exp_into_nb(x, out):  # pragma: no cover - compiled
    """``out[i] = exp(x[i])`` (float64, ``|x| < 700``), relative error below 5e-16, in plain IEEE arithmetic.

    ``x = k ln 2 + r`` with ``|r| <= ln 2 / 2``; ``exp(r)`` by its Taylor series to degree 12 (truncation
    below 2e-16); ``2**k`` built from the exponent bits. Written as three flat loops over the array that the
    compiler vectorises: about twice as fast as calling the maths library per element, and the same numbers on
    every machine.
    """
    n = x.shape[0]
    for i in range(n):
        v = x[i]
        t = v * _LOG2E + _ROUNDING
        out[i] = t  # holds round(v / ln 2) in its low bits, read below through an integer view
        k = t - _ROUNDING
        r = (v - k * _LN2_HI) - k * _LN2_LO
        x[i] = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 + r * (
            1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (
                1.0 / 479001600))))))))))))
    bits = out.view(np.int64)
    for i in range(n):
        bits[i] = (bits[i] - _ROUNDING_BITS + 1023) << 52
    for i in range(n):
        out[i] *= x[i]


@njit(cache=True)
def exp_nb(x):  # pragma: no cover - compiled
    """:func:`exp_into_nb` of a copy of ``x`` (for tests)."""
    work = x.astype(np.float64)
    out = np.empty_like(work)
    exp_into_nb(work, out)
    return out


@njit(cache=True)
def sfc64_raw_nb(words, n):  # pragma: no cover - compiled
    """The first ``n`` raw outputs of the stream seeded with ``words`` (for tests against numpy's SFC64)."""
    state = sfc64_seeded_nb(words)
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = sfc64_next_nb(state)
    return out


@njit(cache=True)
def draw_nb(words, n, kind, shape, k_tab, w_tab, f_tab):  # pragma: no cover - compiled
    """``n`` draws of one stream (for tests): ``kind`` 1 normal, 2 gamma(``shape``), 3 integer below ``shape``."""
    state = sfc64_seeded_nb(words)
    out = np.empty(n, dtype=np.float64)
    normals = np.empty(n, dtype=np.float32)
    if kind == 1:
        fill_normals_nb(state, normals, k_tab, w_tab, f_tab)
        return normals.astype(np.float64)
    for i in range(n):
        if kind == 2:
            out[i] = gamma_nb(state, shape, k_tab, w_tab, f_tab)
        else:
            out[i] = bounded_nb(state, np.int64(shape))
    return out


@njit(cache=True, parallel=True)
def parametric_paths_nb(shock_words, crash_words, first_row, out, as_returns, chol_t, drift, vol, t_df,
                        crash_days, crash_counts, crash_jumps, log_start, k_tab, w_tab, f_tab):  # pragma: no cover
    """Correlated Student-t paths of whole blocks of 64, one block per thread at a time.

    Path ``j`` of block ``b`` (request row ``b * 64 + j - first_row``): for each day, a chi-square scale (when
    ``t_df`` is finite) and N normals from the block's shock stream, ``r = drift + vol * (s * (L @ z))`` in
    float32, the crash jumps of the path's crash days (one day per event per
    path, drawn up front from the block's crash stream, so a crash never moves the other draws), then prices
    ``exp(log_start + cumsum r)`` with a float64 running sum (``exp`` by :func:`exp_into_nb`), or the log
    returns themselves when ``as_returns``.

    A path's draws are made first (in the stream order above, day by day), kept asset by asset, and mixed by
    :func:`mix_shocks_nb` along the days: the same float32 sums in the same order as the day-by-day product,
    at about half the cost.

    Parameters
    ----------
    shock_words, crash_words : ``(B, 3)`` uint64 seed words of each block's two streams.
    first_row : the request's first row within block 0.
    out : ``(P, T, N)`` float32 output.
    as_returns : write log returns instead of prices.
    chol_t : ``(N, N)`` float32 transposed lower Cholesky factor; drift, vol ``(T, N)`` float32 daily.
    t_df : Student-t degrees of freedom (``inf``: normal shocks); ``>= 2.5``.
    crash_days : ``(E, W)`` int64 each event's candidate days (positions in the index, -1 outside), padded;
        crash_counts ``(E,)`` how many candidates; crash_jumps ``(E, N)`` float32 log jumps.
    log_start : ``(N,)`` float64 log start prices.
    k_tab, w_tab, f_tab : :func:`ziggurat_tables`.
    """
    n_blocks = shock_words.shape[0]
    n_paths, n_days, n = out.shape
    n_events = crash_counts.shape[0]
    fat_tails = np.isfinite(t_df)
    half_df = t_df / 2.0 if fat_tails else 1.0
    reach = lower_extent_nb(chol_t)
    for b in prange(n_blocks):
        state = sfc64_seeded_nb(shock_words[b])
        crash_state = sfc64_seeded_nb(crash_words[b])
        z = np.empty(n, dtype=np.float32)
        shocks = np.empty((n, n_days), dtype=np.float32)  # one path's draws, asset by asset (then L @ z)
        mixed = np.empty(n_days, dtype=np.float32)
        scale = np.ones(n_days, dtype=np.float32)
        level = np.empty(n, dtype=np.float64)
        work = np.empty(n, dtype=np.float64)
        price = np.empty(n, dtype=np.float64)
        day_of = np.empty(max(n_events, 1), dtype=np.int64)
        for j in range(64):
            row = b * 64 + j - first_row
            if row >= n_paths:
                break
            for e in range(n_events):
                day_of[e] = crash_days[e, bounded_nb(crash_state, crash_counts[e])]
            keep = row >= 0
            for t in range(n_days):
                if fat_tails:
                    scale[t] = np.float32(np.sqrt((t_df - 2.0) / (2.0 * gamma_nb(state, half_df, k_tab, w_tab,
                                                                                   f_tab))))
                fill_normals_nb(state, z, k_tab, w_tab, f_tab)
                if keep:
                    for k in range(n):
                        shocks[k, t] = z[k]
            if not keep:
                continue  # a path before the request: its draws advance the stream, nothing else
            mix_shocks_nb(shocks, chol_t, reach, mixed)
            for i in range(n):
                level[i] = log_start[i]
            for t in range(n_days):
                dest = out[row, t]
                s = scale[t]
                for i in range(n):
                    z[i] = drift[t, i] + vol[t, i] * (s * shocks[i, t])
                for e in range(n_events):
                    if day_of[e] == t:
                        for i in range(n):
                            z[i] += crash_jumps[e, i]
                if as_returns:
                    for i in range(n):
                        dest[i] = z[i]
                else:
                    for i in range(n):
                        level[i] += z[i]
                        work[i] = level[i]
                    exp_into_nb(work, price)
                    for i in range(n):
                        dest[i] = np.float32(price[i])


@njit(cache=True)
def lower_extent_nb(chol_t):  # pragma: no cover - compiled
    """``reach[i]``: one past the last ``k`` with ``L[i, k] != 0`` (``i + 1`` for a Cholesky factor)."""
    n = chol_t.shape[0]
    reach = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for k in range(n):
            if chol_t[k, i] != 0.0:
                reach[i] = k + 1
        if reach[i] > i + 1:
            raise ValueError("chol_t must be the transpose of a lower-triangular factor")
    return reach


@njit(cache=True, inline="always")
def mix_shocks_nb(shocks, chol_t, reach, row):  # pragma: no cover - compiled
    """In place, ``shocks[i, t] <- sum_k L[i, k] * shocks[k, t]`` (float32, ``k`` ascending) for every day.

    The same sums in the same order as a day-by-day ``L @ z`` (the terms skipped are exact zeros past
    ``reach[i]``), but each product runs along the days: a long contiguous loop the compiler vectorises, and
    half the work of the full square. Rows go from the last up, so row ``i`` can overwrite ``shocks[i]``:
    only rows ``k <= i`` are read for it and the rows after it are already done.
    """
    n, n_days = shocks.shape
    for i in range(n - 1, -1, -1):
        for t in range(n_days):
            row[t] = 0.0
        for k in range(reach[i]):
            weight = chol_t[k, i]
            source = shocks[k]
            for t in range(n_days):
                row[t] += weight * source[t]
        target = shocks[i]
        for t in range(n_days):
            target[t] = row[t]
