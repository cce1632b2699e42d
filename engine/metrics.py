"""Performance metrics: small pure functions on simple returns, plus the per-run and per-batch tables.

Modelled on empyrical-reloaded's ``stats.py``: a flat module of small, NaN-aware functions, one helper that
resolves the annualisation factor, and definitions that match empyrical-reloaded's wherever it has the
metric (each function says which). Conventions, stated once:

- Inputs are **simple** per-period returns (``r_t = V_t / V_{t-1} - 1``) as a ``pd.Series`` or array;
  NaN returns are skipped by means and deviations and count as a zero return when compounding (as in
  empyrical). Functions of two series use only the periods where both are present.
- **One series or many paths**: the single-series metrics (total return, CAGR, volatility, Sharpe,
  downside risk, Sortino, maximum drawdown, Calmar, the drawdown series and the rolling statistics) take a
  1-D series or a 2-D array ``(paths, periods)`` with time on the **last** axis, as empyrical does. A 1-D
  input gives a float (a Series for the series-valued ones), a 2-D input one value per path, and row ``p``
  of a 2-D result equals the 1-D result of row ``p`` (up to summation order when a row holds NaN).
- **Annualisation**: ``periods_per_year`` (default 252 trading days). Volatilities scale by
  ``sqrt(periods_per_year)``, arithmetic means by ``periods_per_year``; CAGR uses
  ``years = number of return periods / periods_per_year`` (not calendar days — quantstats uses calendar days,
  empyrical uses periods; we follow empyrical).
- **Risk-free rate**: given as an *annual* rate and turned into a per-period rate by simple division,
  ``rf / periods_per_year`` — the same way the engine credits cash interest (``cash_rate / 252`` a bar), so a
  portfolio holding only cash at the risk-free rate has zero excess return. empyrical takes a *per-period*
  risk-free rate; ours equals empyrical's with ``risk_free=rf / periods_per_year``.
- A ratio whose denominator is zero (returns that do not vary, no losing period) is NaN, not infinity.

The scenario-batch part works on equity arrays ``(paths, days)``: :func:`path_metrics` (the terminal
wealth, CAGR and drawdown functions above, applied to chunks of paths), :func:`scenario_summary`
(percentiles and probabilities over one scenario's paths) and :func:`scenario_blend` (the
probability-weighted mixture of several scenarios).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from theses.engine.errors import EngineError

DAILY = 252
"""Trading days per year; the default annualisation factor."""

PERIODS_PER_YEAR: dict[str, int] = {"daily": 252, "weekly": 52, "monthly": 12, "quarterly": 4, "yearly": 1}
"""Annualisation factors by period name (empyrical's ``ANNUALIZATION_FACTORS`` plus quarterly)."""

SCENARIO_PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 95)
"""Percentiles of terminal wealth and CAGR reported for a batch of paths."""

_ZERO_DISPERSION = 1e-14
"""Per-period deviations at or below this are float noise around a constant: the ratio is undefined."""

_PATH_CHUNK_BYTES = 8 * 2**20
"""Float64 working memory per chunk of paths in :func:`path_metrics`."""

ReturnsLike = pd.Series | np.ndarray
Value = float | np.ndarray
"""A float for a 1-D series, an array of one value per path for a 2-D ``(paths, periods)`` input."""


# ----------------------------------------------------------------------------------------------------------
# helpers


def annualization_factor(periods_per_year: float | str = DAILY) -> float:
    """Resolve the number of return periods in a year.

    Parameters
    ----------
    periods_per_year : float or str, default 252
        A positive number of periods per year, or a period name: ``"daily"`` (252), ``"weekly"`` (52),
        ``"monthly"`` (12), ``"quarterly"`` (4), ``"yearly"`` (1).

    Returns
    -------
    float
        The annualisation factor.

    Raises
    ------
    EngineError
        For an unknown period name or a factor that is not a positive finite number.
    """
    if isinstance(periods_per_year, str):
        try:
            return float(PERIODS_PER_YEAR[periods_per_year.lower()])
        except KeyError:
            names = ", ".join(PERIODS_PER_YEAR)
            raise EngineError(
                f"periods_per_year: unknown period {periods_per_year!r}; use a positive number or one of {names}"
            ) from None
    factor = float(periods_per_year)
    if not np.isfinite(factor) or factor <= 0:
        raise EngineError(
            f"periods_per_year: {periods_per_year!r} is not a positive number; use e.g. 252 for daily"
        )
    return factor


def _values(returns: ReturnsLike) -> np.ndarray:
    """One series as a 1-D float64 array (a view when possible)."""
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"expected 1-D returns, got shape {values.shape}")
    return values


def _returns(returns: ReturnsLike) -> np.ndarray:
    """One series (1-D) or many paths (2-D, time on the last axis) as a float64 array."""
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim not in (1, 2):
        raise ValueError(f"expected 1-D returns or 2-D (paths, periods), got shape {values.shape}")
    return values


def _result(value: np.ndarray, ndim: int) -> Value:
    """A float for a 1-D input, the per-path array for a 2-D one."""
    return float(value) if ndim == 1 else np.asarray(value, dtype=np.float64)


def _paired(returns: ReturnsLike, benchmark_returns: ReturnsLike) -> tuple[np.ndarray, np.ndarray]:
    """Two return series restricted to the periods where both are present.

    Two Series are aligned on their index (dates only one of them has are dropped); arrays must have the
    same length and are paired by position.
    """
    if isinstance(returns, pd.Series) and isinstance(benchmark_returns, pd.Series):
        both = pd.concat([returns, benchmark_returns], axis=1, join="inner")
        r, b = both.iloc[:, 0].to_numpy(np.float64), both.iloc[:, 1].to_numpy(np.float64)
    else:
        r, b = _values(returns), _values(benchmark_returns)
        if r.shape != b.shape:
            raise ValueError(f"returns and benchmark returns differ in length: {r.shape[0]} vs {b.shape[0]}")
    present = np.isfinite(r) & np.isfinite(b)
    return r[present], b[present]


def _ratio(numerator: Value, denominator: Value) -> np.ndarray:
    """``numerator / denominator``, NaN where the denominator is zero-dispersion noise or undefined."""
    numerator, denominator = np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        defined = np.isfinite(denominator) & (denominator > _ZERO_DISPERSION)
        return np.where(defined, numerator / np.where(defined, denominator, 1.0), np.nan)


def _skip_nan(values: np.ndarray) -> np.ndarray:
    """A 1-D series without its NaNs (summed exactly as a series that never had them); 2-D unchanged."""
    return values[~np.isnan(values)] if values.ndim == 1 else values


def _mean(values: np.ndarray) -> np.ndarray:
    """Mean of the non-NaN values along the last axis; NaN where there are none."""
    values = _skip_nan(values)
    present = ~np.isnan(values)
    count = present.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(present, values, 0.0).sum(axis=-1) / count, np.nan)


def _std(values: np.ndarray) -> np.ndarray:
    """Sample standard deviation (ddof=1) of the non-NaN values along the last axis; NaN with fewer than two."""
    values = _skip_nan(values)
    present = ~np.isnan(values)
    count = present.sum(axis=-1)
    deviation = np.where(present, values - _mean(values)[..., None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count >= 2, np.sqrt((deviation * deviation).sum(axis=-1) / (count - 1)), np.nan)


def returns_from_equity(equity: pd.Series) -> pd.Series:
    """Simple returns of an equity curve, one per period after the first.

    Parameters
    ----------
    equity : pd.Series
        Portfolio value by date.

    Returns
    -------
    pd.Series
        ``equity[t] / equity[t-1] - 1`` for t >= 1 (length ``len(equity) - 1``).
    """
    return equity.pct_change(fill_method=None).iloc[1:]


# ----------------------------------------------------------------------------------------------------------
# one series or many paths


def total_return(returns: ReturnsLike) -> Value:
    """Compounded return over the whole series, ``prod(1 + r) - 1``.

    Matches empyrical's ``cum_returns_final``. NaN returns compound as zero; no periods give NaN.
    """
    values = _returns(returns)
    if values.shape[-1] == 0:
        return _result(np.full(values.shape[:-1], np.nan), values.ndim)
    return _result(np.nanprod(1.0 + values, axis=-1) - 1.0, values.ndim)


def cagr_from_growth(growth: Value, periods: int, periods_per_year: float | str = DAILY) -> Value:
    """Compound annual growth rate of a growth multiple reached over ``periods`` return periods.

    ``growth ** (1 / years) - 1`` with ``years = periods / periods_per_year``; -1 where the value is wiped
    out (``growth <= 0``, possible with shorts or leverage; empyrical gives NaN for a negative value); NaN
    where ``growth`` is NaN or there are no periods. The one CAGR formula: :func:`cagr` applies it to
    ``prod(1 + r)`` and :func:`path_metrics` to each path's terminal wealth.

    Parameters
    ----------
    growth : float or np.ndarray
        End value over start value (1.1 is +10%), one number or one per path.
    periods : int
        Return periods between start and end (days - 1 for an equity curve).
    periods_per_year : float or str, default 252
        See :func:`annualization_factor`.

    Returns
    -------
    float or np.ndarray
        The same shape as ``growth``.
    """
    factor = annualization_factor(periods_per_year)
    if np.ndim(growth) == 0:
        value = float(growth)
        if periods <= 0 or np.isnan(value):
            return float("nan")
        return -1.0 if value <= 0 else value ** (1.0 / (periods / factor)) - 1.0
    growth = np.asarray(growth, dtype=np.float64)
    if periods <= 0:
        return np.full(growth.shape, np.nan)
    with np.errstate(invalid="ignore"):
        out = np.where(growth > 0, np.abs(growth) ** (1.0 / (periods / factor)) - 1.0, -1.0)
    out[np.isnan(growth)] = np.nan
    return out


def cagr(returns: ReturnsLike, periods_per_year: float | str = DAILY) -> Value:
    """Compound annual growth rate, ``(1 + total_return) ** (1 / years) - 1``.

    ``years = len(returns) / periods_per_year`` — the number of return periods, NaN periods included, not
    calendar days (see :func:`cagr_from_growth`). Matches empyrical's ``annual_return``/``cagr``. When the
    value is wiped out (``1 + total_return <= 0``) the CAGR is -1 (empyrical gives NaN for a negative value).

    Parameters
    ----------
    returns : pd.Series or np.ndarray
        Simple per-period returns, 1-D or ``(paths, periods)``.
    periods_per_year : float or str, default 252
        See :func:`annualization_factor`.

    Returns
    -------
    float or np.ndarray
        Annual growth rate as a fraction (0.07 is 7%/yr), one per path for 2-D input; NaN without periods.
    """
    values = _returns(returns)
    growth = np.nanprod(1.0 + values, axis=-1)
    return cagr_from_growth(growth if values.ndim == 2 else growth.item(), values.shape[-1], periods_per_year)


def annual_volatility(returns: ReturnsLike, periods_per_year: float | str = DAILY) -> Value:
    """Annualised volatility, ``std(r, ddof=1) * sqrt(periods_per_year)``.

    Matches empyrical's ``annual_volatility`` (with its default ``alpha=2``). NaN with fewer than two returns.
    """
    values = _returns(returns)
    return _result(_std(values) * float(np.sqrt(annualization_factor(periods_per_year))), values.ndim)


def sharpe_ratio(
    returns: ReturnsLike, risk_free: float = 0.0, periods_per_year: float | str = DAILY
) -> Value:
    """Annualised Sharpe ratio, ``mean(r - rf_p) / std(r - rf_p, ddof=1) * sqrt(periods_per_year)``.

    Parameters
    ----------
    returns : pd.Series or np.ndarray
        Simple per-period returns, 1-D or ``(paths, periods)``.
    risk_free : float, default 0.0
        **Annual** risk-free rate; the per-period rate is ``rf_p = risk_free / periods_per_year``.
    periods_per_year : float or str, default 252
        See :func:`annualization_factor`.

    Returns
    -------
    float or np.ndarray
        Matches empyrical's ``sharpe_ratio(returns, risk_free=rf_p)`` (empyrical takes the per-period rate).
        NaN with fewer than two returns or when the excess returns do not vary.
    """
    factor = annualization_factor(periods_per_year)
    excess = _returns(returns) - risk_free / factor
    return _result(_ratio(_mean(excess), _std(excess)) * float(np.sqrt(factor)), excess.ndim)


def downside_risk(
    returns: ReturnsLike, risk_free: float = 0.0, periods_per_year: float | str = DAILY
) -> Value:
    """Annualised downside deviation below the per-period risk-free rate.

    ``sqrt(mean(min(r - rf_p, 0) ** 2)) * sqrt(periods_per_year)``, the mean taken over *all* periods (not
    only the losing ones) — empyrical's ``downside_risk(returns, required_return=rf_p)``.
    """
    factor = annualization_factor(periods_per_year)
    shortfall = np.minimum(_returns(returns) - risk_free / factor, 0.0)
    return _result(np.sqrt(_mean(shortfall**2) * factor), shortfall.ndim)


def sortino_ratio(
    returns: ReturnsLike, risk_free: float = 0.0, periods_per_year: float | str = DAILY
) -> Value:
    """Annualised Sortino ratio, ``mean(r - rf_p) * periods_per_year / downside_risk``.

    ``rf_p = risk_free / periods_per_year`` with ``risk_free`` annual. Matches empyrical's
    ``sortino_ratio(returns, required_return=rf_p)``. NaN with fewer than two returns or no period below
    the risk-free rate.
    """
    values = _returns(returns)
    factor = annualization_factor(periods_per_year)
    mean_excess = _mean(values - risk_free / factor) * factor
    ratio = _ratio(mean_excess, downside_risk(values, risk_free, factor))
    enough = np.count_nonzero(~np.isnan(values), axis=-1) >= 2
    return _result(np.where(enough, ratio, np.nan), values.ndim)


def _peak(equity: np.ndarray) -> np.ndarray:
    """Running maximum along the last axis, skipping NaN (NaN only before the first value)."""
    return np.fmax.accumulate(equity, axis=-1)


def _worst_drawdown(equity: np.ndarray) -> np.ndarray:
    """The lowest ``equity / running peak - 1`` along the last axis (NaN values skipped; NaN if all are)."""
    relative = _peak(equity)
    np.divide(equity, relative, out=relative)  # in place: one array of working memory besides the input
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN path stays NaN
        return np.nanmin(relative, axis=-1) - 1.0


def max_drawdown(returns: ReturnsLike) -> Value:
    """Largest peak-to-trough fall of the compounded returns, as a negative fraction (0 if none).

    The wealth path starts at 1 before the first return, so a fall on the first period counts. Matches
    empyrical's ``max_drawdown``; NaN returns compound as zero. One value per path for 2-D input.
    """
    values = _returns(returns)
    if values.shape[-1] == 0:
        return _result(np.full(values.shape[:-1], np.nan), values.ndim)
    growth = np.cumprod(1.0 + np.nan_to_num(values, nan=0.0), axis=-1)
    wealth = np.concatenate((np.ones(values.shape[:-1] + (1,)), growth), axis=-1)
    return _result(_worst_drawdown(wealth), values.ndim)


class Drawdown(NamedTuple):
    """The worst drawdown of an equity curve and its dates."""

    max_drawdown: float
    """Negative fraction (``-0.25`` is a 25% fall); 0 when the curve never falls."""
    peak: pd.Timestamp | None
    """Last date at the running high before the trough (None when there is no drawdown)."""
    trough: pd.Timestamp | None
    """Date of the lowest point relative to that high."""
    recovery: pd.Timestamp | None
    """First date after the trough back at or above the peak value; None if not recovered."""


def drawdown_series(equity: pd.Series | np.ndarray) -> pd.Series | np.ndarray:
    """Drawdown at each date, ``equity / running max of equity - 1`` (zero or negative).

    A Series gives a Series on its index; an array ``(T,)`` or ``(paths, T)`` an array of the same shape.
    NaN values stay NaN and do not reset the running maximum.
    """
    if isinstance(equity, pd.Series):
        return pd.Series(drawdown_series(equity.to_numpy(np.float64)), index=equity.index, name=equity.name)
    values = np.asarray(equity, dtype=np.float64)
    return values / _peak(values) - 1.0


def drawdown_details(equity: pd.Series) -> Drawdown:
    """The maximum drawdown of an equity curve with its peak, trough and recovery dates.

    Parameters
    ----------
    equity : pd.Series
        Portfolio value by date, without NaN.

    Returns
    -------
    Drawdown
        ``max_drawdown`` equals :func:`max_drawdown` of the curve's returns. Ties go to the first trough and
        the last peak before it.
    """
    if equity.empty:
        return Drawdown(float("nan"), None, None, None)
    values = equity.to_numpy(np.float64)
    drawdowns = drawdown_series(values)
    trough = int(np.argmin(drawdowns))
    worst = float(drawdowns[trough])
    if worst >= 0:
        return Drawdown(0.0, None, None, None)
    peak_value = values[: trough + 1].max()
    peak = int(np.flatnonzero(values[: trough + 1] == peak_value)[-1])
    recovered = np.flatnonzero(values[trough + 1 :] >= peak_value)
    recovery = equity.index[trough + 1 + int(recovered[0])] if recovered.size else None
    return Drawdown(worst, equity.index[peak], equity.index[trough], recovery)


def calmar_ratio(returns: ReturnsLike, periods_per_year: float | str = DAILY) -> Value:
    """Calmar ratio, ``cagr / |max_drawdown|``; NaN when there is no drawdown.

    Uses the whole series (not a trailing 36 months). Matches empyrical's ``calmar_ratio``.
    """
    values = _returns(returns)
    worst = np.asarray(max_drawdown(values))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(worst < 0, np.asarray(cagr(values, periods_per_year)) / np.abs(worst), np.nan)
    return _result(ratio, values.ndim)


def cvar(returns: ReturnsLike, cutoff: float = 0.05, weights: np.ndarray | None = None) -> float:
    """Conditional value at risk (expected shortfall): the mean of the worst ``cutoff`` share of outcomes.

    The expected shortfall of the empirical distribution: the lowest outcomes are averaged until they hold
    ``cutoff`` of the total weight, the last one counted with the fraction that fits. With equal weights and
    ``n * cutoff`` a whole number this is the mean of the ``n * cutoff`` lowest values, which is also what
    empyrical's ``conditional_value_at_risk`` gives then (it rounds the tail to ``floor((n-1)*cutoff)+1``
    values otherwise). NaN values are dropped.

    Parameters
    ----------
    returns : pd.Series or np.ndarray
        Outcomes (daily returns, or terminal returns of simulated paths).
    cutoff : float, default 0.05
        Tail probability, in (0, 1].
    weights : np.ndarray, optional
        Non-negative weight of each outcome (e.g. a scenario's probability over its path count).

    Returns
    -------
    float
        The tail mean (negative for losses); NaN when no outcome is present.
    """
    if not 0 < cutoff <= 1:
        raise EngineError(f"cvar cutoff: {cutoff!r} is outside (0, 1]; use e.g. 0.05 for the worst 5%")
    values = _values(returns)
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    present = ~np.isnan(values) & (w > 0)
    values, w = values[present], w[present]
    if values.size == 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    values, w = values[order], w[order] / w.sum()
    before = np.concatenate(([0.0], np.cumsum(w)[:-1]))
    # Weight of each outcome inside the tail: all of it, the part that fits, or none.
    in_tail = np.clip(cutoff - before, 0.0, w)
    return float(np.dot(values, in_tail) / in_tail.sum())


def _along_time(returns: ReturnsLike, window: int, statistic: Any) -> pd.Series | np.ndarray:
    """``statistic(frame)`` of a pandas object with time down the rows: a Series stays a Series, arrays stay arrays.

    ``statistic`` works column by column (pandas ``rolling``), so each path of a 2-D input gets exactly
    what its row would get alone.
    """
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise EngineError(f"rolling window: {window!r} is not a whole number of periods >= 1; use e.g. 126")
    if isinstance(returns, pd.Series):
        return statistic(returns.astype(np.float64))
    values = _returns(returns)
    result = statistic(pd.DataFrame(np.atleast_2d(values).T)).to_numpy().T
    return result[0] if values.ndim == 1 else result


def rolling_volatility(
    returns: ReturnsLike, window: int, periods_per_year: float | str = DAILY
) -> pd.Series | np.ndarray:
    """Annualised volatility of each trailing ``window`` periods, ``std(r, ddof=1) * sqrt(periods_per_year)``.

    Row t uses periods ``t - window + 1 .. t``; NaN until the window is full and wherever it holds a NaN
    (pandas ``rolling(window).std()``). A Series gives a Series; an array ``(T,)`` or ``(paths, T)`` an array
    of the same shape. The last value equals :func:`annual_volatility` of the last ``window`` returns.
    """
    scale = float(np.sqrt(annualization_factor(periods_per_year)))
    return _along_time(returns, window, lambda frame: frame.rolling(window).std(ddof=1) * scale)


def rolling_sharpe(
    returns: ReturnsLike, window: int, risk_free: float = 0.0, periods_per_year: float | str = DAILY
) -> pd.Series | np.ndarray:
    """Annualised Sharpe ratio of each trailing ``window`` periods (see :func:`sharpe_ratio`).

    ``mean(r - rf_p) / std(r, ddof=1) * sqrt(periods_per_year)`` over periods ``t - window + 1 .. t`` (the
    standard deviation of ``r`` is that of ``r - rf_p``); NaN until the window is full, wherever it holds a
    NaN and where the returns do not vary. Shapes as :func:`rolling_volatility`.
    """
    factor = annualization_factor(periods_per_year)

    def sharpe(frame: Any) -> Any:
        mean = (frame - risk_free / factor).rolling(window).mean()
        std = frame.rolling(window).std(ddof=1)
        return mean / std.where(std > _ZERO_DISPERSION) * float(np.sqrt(factor))

    return _along_time(returns, window, sharpe)


def rolling_sortino(
    returns: ReturnsLike, window: int, risk_free: float = 0.0, periods_per_year: float | str = DAILY
) -> pd.Series | np.ndarray:
    """Annualised Sortino ratio of each trailing ``window`` periods (see :func:`sortino_ratio`).

    ``mean(r - rf_p) / sqrt(mean(min(r - rf_p, 0) ** 2)) * sqrt(periods_per_year)`` over periods
    ``t - window + 1 .. t``: the downside deviation averages over *all* periods of the window, as quantstats'
    ``rolling_sortino`` does (its ``sum(negatives ** 2) / window``). The last value equals
    :func:`sortino_ratio` of the last ``window`` returns. NaN until the window is full, wherever it holds a NaN
    and where no period of the window is below the risk-free rate. Shapes as :func:`rolling_volatility`.
    """
    factor = annualization_factor(periods_per_year)

    def sortino(frame: Any) -> Any:
        excess = frame - risk_free / factor
        downside = np.sqrt((np.minimum(excess, 0.0) ** 2).rolling(window).mean())
        return excess.rolling(window).mean() / downside.where(downside > _ZERO_DISPERSION) * float(np.sqrt(factor))

    return _along_time(returns, window, sortino)


def rolling_beta(returns: ReturnsLike, benchmark_returns: ReturnsLike, window: int) -> pd.Series | np.ndarray:
    """Beta to the benchmark over each trailing ``window`` periods, ``cov(r, b) / var(b)`` (see :func:`beta`).

    quantstats' ``rolling_greeks(...)["beta"]`` (its ``corr * std(r) / std(b)`` is the same slope). Two Series
    are aligned on their index first (the result is on ``returns``' index); arrays pair by position, and a 2-D
    ``returns`` ``(paths, periods)`` takes a benchmark of one row ``(periods,)`` or one per path. NaN until the
    window is full, wherever it holds a NaN in either series, and where the benchmark does not vary.
    """
    if isinstance(returns, pd.Series):
        bench = (benchmark_returns.reindex(returns.index) if isinstance(benchmark_returns, pd.Series)
                 else pd.Series(_values(benchmark_returns), index=returns.index))
        frame = returns.astype(np.float64)
        both = frame.notna() & bench.notna()
        r, b = frame.where(both), bench.astype(np.float64).where(both)
        cov = (r * b).rolling(window).mean() - r.rolling(window).mean() * b.rolling(window).mean()
        var = (b * b).rolling(window).mean() - b.rolling(window).mean() ** 2
        return cov / var.where(var > 1e-30)
    values = _returns(returns)
    bench = np.broadcast_to(np.asarray(benchmark_returns, dtype=np.float64), values.shape)
    rows = [rolling_beta(pd.Series(row), pd.Series(brow), window).to_numpy()
            for row, brow in zip(np.atleast_2d(values), np.atleast_2d(bench), strict=True)]
    return rows[0] if values.ndim == 1 else np.vstack(rows)


def volatility_matched(returns: pd.Series, benchmark_returns: pd.Series) -> pd.Series:
    """Returns scaled to the benchmark's volatility, ``r / std(r) * std(b)``, for a like-for-like chart.

    quantstats' ``match_volatility`` of its returns plot (standard deviations over the common dates, ddof=1);
    the mean scales with the same factor, so the Sharpe ratio is unchanged. All NaN when ``r`` does not vary.
    """
    bench = benchmark_returns.reindex(returns.index)
    both = returns.notna() & bench.notna()
    own, target = float(returns[both].std()), float(bench[both].std())
    if not np.isfinite(own) or own <= _ZERO_DISPERSION:
        return returns * np.nan
    return returns * (target / own)


# ----------------------------------------------------------------------------------------------------------
# versus a benchmark


def beta(returns: ReturnsLike, benchmark_returns: ReturnsLike) -> float:
    """Beta to the benchmark, ``cov(r, b) / var(b)``: the OLS slope of ``r`` on ``b``.

    Matches empyrical's ``beta`` and ``scipy.stats.linregress(b, r).slope``. A constant risk-free rate does
    not change it. NaN with fewer than two paired periods or a benchmark that does not vary.
    """
    r, b = _paired(returns, benchmark_returns)
    if r.size < 2:
        return float("nan")
    b_centred = b - b.mean()
    variance = float(np.mean(b_centred**2))
    if variance < 1e-30:  # empyrical's threshold for a constant benchmark
        return float("nan")
    return float(np.mean(b_centred * (r - r.mean())) / variance)


def alpha(
    returns: ReturnsLike,
    benchmark_returns: ReturnsLike,
    risk_free: float = 0.0,
    periods_per_year: float | str = DAILY,
) -> float:
    """Annualised Jensen's alpha, ``(1 + mean((r - rf_p) - beta * (b - rf_p))) ** periods_per_year - 1``.

    ``rf_p = risk_free / periods_per_year`` with ``risk_free`` annual. Compounded like empyrical's ``alpha``
    (which takes the per-period rate); quantstats instead multiplies the daily mean by 252.
    """
    r, b = _paired(returns, benchmark_returns)
    if r.size < 2:
        return float("nan")
    factor = annualization_factor(periods_per_year)
    slope = beta(r, b)
    rf_p = risk_free / factor
    return float((1.0 + np.mean((r - rf_p) - slope * (b - rf_p))) ** factor - 1.0)


def tracking_error(
    returns: ReturnsLike, benchmark_returns: ReturnsLike, periods_per_year: float | str = DAILY
) -> float:
    """Annualised tracking error, ``std(r - b, ddof=1) * sqrt(periods_per_year)``."""
    r, b = _paired(returns, benchmark_returns)
    return annual_volatility(r - b, periods_per_year)


def information_ratio(
    returns: ReturnsLike, benchmark_returns: ReturnsLike, periods_per_year: float | str = DAILY
) -> float:
    """Information ratio, ``mean(r - b) * periods_per_year / tracking_error``.

    Equals empyrical's ``excess_sharpe(returns, benchmark) * sqrt(periods_per_year)`` (empyrical's is not
    annualised). NaN when the active returns do not vary.
    """
    r, b = _paired(returns, benchmark_returns)
    active = r - b
    factor = annualization_factor(periods_per_year)
    return _ratio(_mean(active), _std(active)) * float(np.sqrt(factor))


# ----------------------------------------------------------------------------------------------------------
# calendar months


def monthly_returns(returns: pd.Series) -> pd.Series:
    """Returns compounded by calendar month, ``prod(1 + r) - 1`` over each month's periods.

    Indexed by ``pd.Period`` months. A partial first or last month counts as a month. Matches empyrical's
    ``aggregate_returns(returns, "monthly")``; a month whose returns are all NaN is NaN.
    """
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise TypeError("monthly_returns needs returns indexed by a DatetimeIndex")
    growth = (1.0 + returns.astype(np.float64)).groupby(returns.index.to_period("M")).prod(min_count=1)
    return growth - 1.0


def monthly_hit_rate(returns: pd.Series) -> float:
    """Share of calendar months with a positive compounded return (months with no return are skipped)."""
    months = monthly_returns(returns).dropna()
    return float((months > 0).mean()) if len(months) else float("nan")


def best_month(returns: pd.Series) -> float:
    """Highest compounded calendar-month return; NaN when there is none."""
    months = monthly_returns(returns).dropna()
    return float(months.max()) if len(months) else float("nan")


def worst_month(returns: pd.Series) -> float:
    """Lowest compounded calendar-month return; NaN when there is none."""
    months = monthly_returns(returns).dropna()
    return float(months.min()) if len(months) else float("nan")


def annual_returns(returns: pd.Series) -> pd.Series:
    """Returns compounded by calendar year, ``prod(1 + r) - 1`` over each year's periods, indexed by year (int).

    quantstats' end-of-year returns (its ``EOY`` column and yearly-returns bars); a partial first or last year
    counts as a year; a year whose returns are all NaN is NaN.
    """
    if not isinstance(returns.index, pd.DatetimeIndex):
        raise TypeError("annual_returns needs returns indexed by a DatetimeIndex")
    growth = (1.0 + returns.astype(np.float64)).groupby(returns.index.year).prod(min_count=1)
    return growth - 1.0


DRAWDOWN_COLUMNS: tuple[str, ...] = ("start", "trough", "recovery", "depth", "days")


def drawdown_periods(equity: pd.Series, top: int | None = 5) -> pd.DataFrame:
    """Every drawdown of an equity curve (or the ``top`` deepest), deepest first.

    A drawdown runs from a running high (``start``: the last date at that high) through its lowest point
    (``trough``) to the first date back at or above the high (``recovery``; NaT when not recovered by the last
    date). ``depth`` is ``trough value / high - 1`` (negative) and ``days`` the calendar days from ``start`` to
    ``recovery`` (to the last date when not recovered). The deepest one is :func:`drawdown_details`' maximum
    drawdown. quantstats' ``drawdown_details`` finds the same periods but dates each by its first and last day
    *below* the high (one trading day after our ``start``, one before our ``recovery``); its ``valley`` is our
    ``trough`` and its ``max drawdown`` our ``depth`` x 100.

    Parameters
    ----------
    equity : pd.Series
        Portfolio value by date; NaN values are dropped.
    top : int or None, default 5
        How many periods to keep (None: all).

    Returns
    -------
    pd.DataFrame
        Columns ``start, trough, recovery`` (Timestamps), ``depth`` (float), ``days`` (int); empty when the
        curve never falls.
    """
    values = equity.astype(np.float64).dropna()
    drawdown = drawdown_series(values.to_numpy())
    under = drawdown < 0
    if not under.any():
        return pd.DataFrame(columns=list(DRAWDOWN_COLUMNS))
    edges = np.diff(np.concatenate(([0], under.astype(np.int8), [0])))
    first_under, back = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # back: first bar at the high again
    index = values.index
    rows = []
    for lo, hi in zip(first_under, back, strict=True):
        trough = lo + int(np.argmin(drawdown[lo:hi]))
        start = max(lo - 1, 0)  # the last bar at the high (the first bar when the curve opens below it)
        recovered = hi < len(values)
        end = index[hi] if recovered else index[-1]
        rows.append((index[start], index[trough], index[hi] if recovered else pd.NaT, float(drawdown[trough]),
                     int((end - index[start]).days)))
    table = pd.DataFrame(rows, columns=list(DRAWDOWN_COLUMNS))
    table = table.sort_values("depth", kind="stable").reset_index(drop=True)
    return table if top is None else table.head(top)


# ----------------------------------------------------------------------------------------------------------
# costs and turnover of one run


def cost_drag_bps(
    costs: pd.DataFrame, equity: pd.Series, periods_per_year: float | str = DAILY
) -> dict[str, float]:
    """Annualised return lost to each kind of cost, in basis points a year of average equity.

    ``sum(cost of the kind) / mean(equity) / years * 1e4`` with ``years = (len(equity) - 1) /
    periods_per_year`` (the CAGR's years). When costs scale with equity (fees and slippage on trades sized as
    fractions of equity, borrow on short value) this is the drag on the annual return; unlike a total over the
    *starting* capital it does not grow with the length of the window or with the book's growth.

    Parameters
    ----------
    costs : pd.DataFrame
        Per-bar costs in currency, columns ``fees``, ``slippage``, ``borrow`` (others ignored), on the dates of
        ``equity`` or a superset of them.
    equity : pd.Series
        Portfolio value over the window measured.
    periods_per_year : float or str, default 252
        See :func:`annualization_factor`.

    Returns
    -------
    dict
        ``fees``, ``slippage``, ``borrow`` and ``total`` in bps/yr (NaN with fewer than two dates or no
        positive average equity).
    """
    kinds = ("fees", "slippage", "borrow")
    equity = equity.astype(np.float64).dropna()
    years = (len(equity) - 1) / annualization_factor(periods_per_year)
    average = float(equity.mean()) if len(equity) else float("nan")
    if years <= 0 or not average > 0:
        return dict.fromkeys((*kinds, "total"), float("nan"))
    window = costs.reindex(equity.index).fillna(0.0)
    out = {kind: float(window[kind].sum()) / average / years * 1e4 for kind in kinds}
    out["total"] = out["fees"] + out["slippage"] + out["borrow"]
    return out


def turnover_figures(
    turnover: ReturnsLike, entry: int = 0, periods_per_year: float | str = DAILY
) -> dict[str, float]:
    """One-way turnover per year excluding the initial entry, and the initial entry on its own.

    ``turnover[t]`` is the traded notional at bar t over the portfolio value (buys and sells both counted, the
    engine's per-bar figure). The initial entry is bar ``entry`` (the first trade: cash into the book).
    ``turnover_ex_entry = sum(turnover[entry + 1:]) / 2 / years``, ``years = (len(turnover) - 1) /
    periods_per_year``: one-way (half of buys + sells, so selling 10% of the book to buy another 10% is 10%),
    per year, over the bars after the entry; a buy-and-hold book is 0. ``initial_entry = turnover[entry]``
    (1.0 when all cash is invested in a long book; more with shorts).

    Parameters
    ----------
    turnover : pd.Series or np.ndarray
        Per-bar turnover over the measured window (1-D), bar 0 being the window's first bar.
    entry : int, default 0
        Position of the initial entry in ``turnover`` (-1 when nothing traded).
    periods_per_year : float or str, default 252
        See :func:`annualization_factor`.

    Returns
    -------
    dict
        ``turnover_ex_entry`` (fraction of equity per year), ``initial_entry`` (fraction of equity).
    """
    values = np.nan_to_num(_values(turnover), nan=0.0)
    years = (len(values) - 1) / annualization_factor(periods_per_year)
    if entry < 0 or entry >= len(values):
        return {"turnover_ex_entry": 0.0 if years > 0 else float("nan"), "initial_entry": 0.0}
    after = float(values[entry + 1 :].sum())
    return {"turnover_ex_entry": after / 2.0 / years if years > 0 else float("nan"),
            "initial_entry": float(values[entry])}


# ----------------------------------------------------------------------------------------------------------
# one run


def _iso(date: pd.Timestamp | None) -> str | None:
    return None if date is None else pd.Timestamp(date).strftime("%Y-%m-%d")


def performance_metrics(
    equity: pd.Series,
    *,
    benchmark_equity: pd.Series | None = None,
    risk_free: float = 0.0,
    periods_per_year: int = DAILY,
) -> dict[str, Any]:
    """The metrics table of one equity curve.

    Returns are the simple returns of ``equity`` after its first date (``len(equity) - 1`` periods), so
    ``total_return = equity[-1] / equity[0] - 1`` and the CAGR's years are ``(len(equity) - 1) / 252``.
    NaN equity values (e.g. before a benchmark lists) are dropped first.

    Parameters
    ----------
    equity : pd.Series
        Portfolio value by date (DatetimeIndex).
    benchmark_equity : pd.Series, optional
        Benchmark value by date; aligned to ``equity``'s dates, and only dates where both have a return
        enter beta, alpha, tracking error and information ratio (NaN without a benchmark).
    risk_free : float, default 0.0
        Annual risk-free rate (see the module docstring), used by Sharpe, Sortino and alpha.
    periods_per_year : int, default 252
        Annualisation factor.

    Returns
    -------
    dict
        ``total_return, cagr, volatility, sharpe, sortino, max_drawdown`` (negative fraction),
        ``max_drawdown_start, max_drawdown_trough, max_drawdown_end`` (ISO dates; None without a drawdown,
        end None when not recovered), ``calmar, beta, alpha, tracking_error, information_ratio,
        monthly_hit_rate, best_month, worst_month, start, end`` (ISO), ``risk_free, periods_per_year``.
        Numbers are plain Python floats (NaN where undefined).
    """
    if not isinstance(equity.index, pd.DatetimeIndex):
        raise TypeError("performance_metrics needs equity indexed by a DatetimeIndex")
    factor = annualization_factor(periods_per_year)
    equity = equity.astype(np.float64).dropna()
    returns = returns_from_equity(equity)
    drawdown = drawdown_details(equity)
    nan = float("nan")
    relative = {"beta": nan, "alpha": nan, "tracking_error": nan, "information_ratio": nan}
    if benchmark_equity is not None:
        bench = benchmark_equity.astype(np.float64).reindex(equity.index)
        bench_returns = bench.pct_change(fill_method=None).iloc[1:]
        relative = {
            "beta": beta(returns, bench_returns),
            "alpha": alpha(returns, bench_returns, risk_free, factor),
            "tracking_error": tracking_error(returns, bench_returns, factor),
            "information_ratio": information_ratio(returns, bench_returns, factor),
        }
    return {
        "total_return": total_return(returns),
        "cagr": cagr(returns, factor),
        "volatility": annual_volatility(returns, factor),
        "sharpe": sharpe_ratio(returns, risk_free, factor),
        "sortino": sortino_ratio(returns, risk_free, factor),
        "max_drawdown": drawdown.max_drawdown,
        "max_drawdown_start": _iso(drawdown.peak),
        "max_drawdown_trough": _iso(drawdown.trough),
        "max_drawdown_end": _iso(drawdown.recovery),
        "calmar": calmar_ratio(returns, factor),
        **{key: float(value) for key, value in relative.items()},
        "monthly_hit_rate": monthly_hit_rate(returns),
        "best_month": best_month(returns),
        "worst_month": worst_month(returns),
        "start": _iso(equity.index[0]) if len(equity) else None,
        "end": _iso(equity.index[-1]) if len(equity) else None,
        "risk_free": float(risk_free),
        "periods_per_year": int(periods_per_year) if float(periods_per_year).is_integer() else factor,
    }


# ----------------------------------------------------------------------------------------------------------
# batches of simulated paths


def path_metrics(equity: np.ndarray, periods_per_year: float | str = DAILY) -> dict[str, np.ndarray]:
    """Terminal wealth, CAGR and maximum drawdown of every path, vectorised over paths.

    Parameters
    ----------
    equity : np.ndarray, shape (P, T)
        Equity of P paths over T dates (float32 or float64). Worked on in float64 chunks of paths, so
        memory stays bounded whatever P is.
    periods_per_year : float or str, default 252
        See :func:`annualization_factor`.

    Returns
    -------
    dict of np.ndarray, each shape (P,)
        ``terminal_wealth = equity[:, -1] / equity[:, 0]``; ``cagr`` of that growth over ``T - 1`` periods
        (:func:`cagr_from_growth`, -1 when wealth is wiped out); ``max_drawdown`` (negative fraction, as
        :func:`max_drawdown`; NaN dates are skipped).
    """
    equity = np.asarray(equity)
    if equity.ndim != 2 or equity.shape[1] == 0:
        raise ValueError(f"path_metrics expects equity of shape (paths, days >= 1), got {equity.shape}")
    n_paths, n_days = equity.shape
    terminal = np.empty(n_paths)
    drawdown = np.empty(n_paths)
    chunk = max(1, _PATH_CHUNK_BYTES // (8 * n_days))
    for lo in range(0, n_paths, chunk):  # a loop over chunks of paths, not over paths
        block = equity[lo : lo + chunk].astype(np.float64)
        terminal[lo : lo + chunk] = block[:, -1] / block[:, 0]
        drawdown[lo : lo + chunk] = _worst_drawdown(block)
    growth = cagr_from_growth(terminal, n_days - 1, periods_per_year)
    return {"terminal_wealth": terminal, "cagr": growth, "max_drawdown": drawdown}


def weighted_quantile(
    values: np.ndarray, q: float | np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Quantiles of a weighted sample by the inverted empirical CDF (no interpolation).

    The q-quantile is the smallest value whose cumulative weight share reaches ``q`` — numpy's and scipy's
    ``method="inverted_cdf"`` (Hyndman & Fan type 1). With whole-number weights it equals the quantile of
    the sample with each value repeated that many times, which is what blending scenarios by weighting their
    paths needs. NaN values and zero weights are dropped.

    Parameters
    ----------
    values : np.ndarray
        Sample, 1-D.
    q : float or np.ndarray
        Probabilities in [0, 1].
    weights : np.ndarray, optional
        Non-negative weights (equal when omitted).

    Returns
    -------
    np.ndarray
        One quantile per ``q`` (0-d for a scalar ``q``); NaN when no value is present.
    """
    values = _values(values)
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    present = ~np.isnan(values) & (w > 0)
    values, w = values[present], w[present]
    q = np.asarray(q, dtype=np.float64)
    if values.size == 0:
        return np.full(q.shape, np.nan)
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(w[order])
    # The relative tolerance keeps q * total == cumulative[k] exact cases (e.g. 5% of 2,000 paths weighted
    # 1/2,000) on the k-th value despite rounding in the sums; numpy has none, so for a q within 1e-12 of a
    # cumulative share (not a case that arises from decimal percentiles) the two can differ by one value.
    targets = q * cumulative[-1] * (1.0 - 1e-12)
    index = np.minimum(np.searchsorted(cumulative, targets, side="left"), values.size - 1)
    return values[order][index]


def _summarize(
    paths: Mapping[str, np.ndarray], weights: np.ndarray | None, n_paths: int
) -> dict[str, float | int]:
    """Scenario summary of per-path arrays, each path weighted by ``weights`` (equal when None)."""
    terminal = np.asarray(paths["terminal_wealth"], dtype=np.float64)
    growth = np.asarray(paths["cagr"], dtype=np.float64)
    drawdown = np.asarray(paths["max_drawdown"], dtype=np.float64)
    w = np.ones_like(terminal) if weights is None else np.asarray(weights, dtype=np.float64)
    probs = np.asarray(SCENARIO_PERCENTILES, dtype=np.float64) / 100.0
    summary: dict[str, float | int] = {}
    for name, sample in (("terminal_wealth", terminal), ("cagr", growth)):
        for pct, value in zip(SCENARIO_PERCENTILES, weighted_quantile(sample, probs, w), strict=True):
            summary[f"{name}_p{pct}"] = float(value)
    present = ~np.isnan(terminal) & (w > 0)
    total = w[present].sum()
    summary["prob_loss"] = float(w[present & (terminal < 1.0)].sum() / total) if total > 0 else float("nan")
    bench = paths.get("benchmark_terminal")
    if bench is None or total <= 0:
        summary["prob_beat_benchmark"] = float("nan")
    else:
        bench = np.asarray(bench, dtype=np.float64)
        both = present & ~np.isnan(bench)
        beats = w[both & (terminal > bench)].sum()
        summary["prob_beat_benchmark"] = float(beats / w[both].sum()) if w[both].sum() > 0 else float("nan")
    summary["cvar_5"] = cvar(terminal - 1.0, 0.05, w)
    summary["median_max_drawdown"] = float(weighted_quantile(drawdown, 0.5, w))
    summary["paths"] = int(n_paths)
    return summary


def summarize_paths(paths: Mapping[str, np.ndarray]) -> dict[str, float | int]:
    """:func:`scenario_summary` from per-path figures already computed, so they are not computed twice.

    Parameters
    ----------
    paths : mapping of str to np.ndarray
        ``terminal_wealth``, ``cagr``, ``max_drawdown`` (as from :func:`path_metrics`) and optionally
        ``benchmark_terminal`` (the benchmark's terminal wealth on the same paths).

    Returns
    -------
    dict
        The keys of :func:`scenario_summary`.
    """
    return _summarize(paths, None, len(paths["terminal_wealth"]))


def scenario_summary(
    equity: np.ndarray,
    benchmark_equity: np.ndarray | None = None,
    periods_per_year: float | str = DAILY,
) -> dict[str, float | int]:
    """Distribution of outcomes over one scenario's simulated paths.

    Parameters
    ----------
    equity : np.ndarray, shape (P, T)
        Strategy equity on each path.
    benchmark_equity : np.ndarray, shape (P, T), optional
        Benchmark equity on the *same* paths (same shocks), for ``prob_beat_benchmark``.
    periods_per_year : float or str, default 252
        See :func:`annualization_factor`.

    Returns
    -------
    dict
        ``terminal_wealth_p5 .. _p95`` and ``cagr_p5 .. _p95`` (percentiles 5/25/50/75/95 by the inverted
        empirical CDF, see :func:`weighted_quantile`); ``prob_loss`` (share of paths with terminal wealth
        < 1); ``prob_beat_benchmark`` (share with terminal wealth above the benchmark's on the same path, NaN
        without one); ``cvar_5`` (mean of the worst 5% terminal returns, as a return, see :func:`cvar`);
        ``median_max_drawdown``; ``paths``.
    """
    paths = path_metrics(equity, periods_per_year)
    if benchmark_equity is not None:
        benchmark_equity = np.asarray(benchmark_equity)
        if benchmark_equity.shape != np.shape(equity):
            raise ValueError(
                f"benchmark equity shape {benchmark_equity.shape} != equity shape {np.shape(equity)}"
            )
        paths["benchmark_terminal"] = path_metrics(benchmark_equity, periods_per_year)["terminal_wealth"]
    return summarize_paths(paths)


def check_probabilities(scenarios: list[str], probabilities: Mapping[str, float]) -> None:
    """Raise EngineError unless ``probabilities`` gives each of ``scenarios`` a probability, summing to 1.

    The checks of :func:`scenario_blend`, callable before a simulation runs so a mistake fails at once.
    """
    missing = [name for name in scenarios if name not in probabilities]
    unknown = [name for name in probabilities if name not in scenarios]
    if missing:
        raise EngineError(
            f"probabilities: no probability for scenario {missing[0]!r}; give one for every scenario"
        )
    if unknown:
        known = ", ".join(scenarios)
        raise EngineError(f"probabilities: unknown scenario {unknown[0]!r}; the scenarios run are {known}")
    for name, prob in probabilities.items():
        if not np.isfinite(prob) or prob < 0:
            raise EngineError(f"probabilities: {name}={prob!r} is not a probability; use a number in [0, 1]")
    total = float(sum(probabilities.values()))
    if abs(total - 1.0) > 1e-6:
        raise EngineError(f"probabilities: they sum to {total:g}; make them sum to 1")


def scenario_blend(
    path_results: Mapping[str, Mapping[str, np.ndarray]],
    probabilities: Mapping[str, float],
) -> dict[str, float | int]:
    """The probability-weighted blend of several scenarios: the summary of their mixture distribution.

    Each path of scenario ``s`` (``n_s`` paths) gets weight ``probabilities[s] / n_s``, so each scenario
    carries its probability whatever its path count; the percentiles, probabilities, CVaR and median
    drawdown are then taken over all paths together with those weights (see :func:`weighted_quantile`).
    Percentiles of a mixture are not the weighted average of the scenarios' percentiles, which is why the
    paths themselves are weighted. A blend of one scenario with probability 1 equals its
    :func:`scenario_summary`.

    Parameters
    ----------
    path_results : mapping of scenario name to per-path arrays
        For each scenario, ``terminal_wealth``, ``cagr``, ``max_drawdown`` (as from :func:`path_metrics`) and
        optionally ``benchmark_terminal`` (the benchmark's terminal wealth on the same paths).
    probabilities : mapping of scenario name to probability
        One non-negative probability per scenario in ``path_results``, summing to 1.

    Returns
    -------
    dict
        The keys of :func:`scenario_summary` (``paths`` is the total); ``prob_beat_benchmark`` is NaN unless
        every scenario with a positive probability has ``benchmark_terminal``.

    Raises
    ------
    EngineError
        When a scenario has no probability, a probability names no scenario, one is negative, or they do
        not sum to 1.
    """
    check_probabilities(list(path_results), probabilities)
    keys = ("terminal_wealth", "cagr", "max_drawdown")
    pooled: dict[str, list[np.ndarray]] = {key: [] for key in (*keys, "benchmark_terminal")}
    weights: list[np.ndarray] = []
    has_benchmark = True
    for name, paths in path_results.items():
        n = len(paths["terminal_wealth"])
        prob = float(probabilities[name])
        if n == 0 or prob == 0:
            continue
        for key in keys:
            pooled[key].append(np.asarray(paths[key], dtype=np.float64))
        bench = paths.get("benchmark_terminal")
        has_benchmark &= bench is not None
        pooled["benchmark_terminal"].append(
            np.full(n, np.nan) if bench is None else np.asarray(bench, dtype=np.float64)
        )
        weights.append(np.full(n, prob / n))
    n_paths = sum(len(paths["terminal_wealth"]) for paths in path_results.values())
    if not weights:
        raise EngineError(
            "probabilities: every scenario with a probability above 0 has no paths; run more paths"
        )
    merged = {key: np.concatenate(arrays) for key, arrays in pooled.items()}
    if not has_benchmark:
        del merged["benchmark_terminal"]
    return _summarize(merged, np.concatenate(weights), n_paths)
