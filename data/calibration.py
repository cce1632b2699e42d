"""Calibration: daily volatilities, mean log returns and a shrunk correlation matrix from real prices.

The correlation is the Ledoit-Wolf (2004, "Honey, I shrunk the sample covariance matrix") estimator with the
*constant-correlation* target: the sample covariance is pulled toward a matrix with the sample variances and
the average pairwise correlation, with the intensity that minimises the expected Frobenius loss (closed form).
A stable correlation matters because its Cholesky factor drives the simulated shocks.

Windows: each ticker's volatility and mean use all of its own daily log returns in the range; the correlation
uses the days on which every calibrated ticker has a return (late listings shorten that window, so tickers
with fewer than ``min_obs`` returns are left out and reported). Only summary figures are stored — never price
or return series.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from theses.data.errors import DataError
from theses.util import atomic_write_text

CALIBRATION_DIR = Path(__file__).resolve().parent / "calibration"
DEFAULT_CALIBRATION = CALIBRATION_DIR / "default.json"
FORMAT = "ai-theses-calibration/1"
METHOD = "ledoit-wolf-constant-correlation"


@dataclass(frozen=True)
class Calibration:
    """Summary statistics of daily log returns.

    Attributes
    ----------
    tickers : calibrated tickers, in the order of the arrays.
    daily_vol : (N,) standard deviation of daily log returns.
    daily_mean : (N,) mean daily log return.
    correlation : (N, N) shrunk correlation matrix (symmetric, unit diagonal, positive definite).
    shrinkage : Ledoit-Wolf intensity in [0, 1] (0 = sample correlation, 1 = constant correlation).
    start, end : first and last price date used.
    n_obs : number of daily returns per ticker.
    correlation_obs : number of common days behind the correlation.
    dropped : tickers left out (too little history), with the reason.
    """

    tickers: tuple[str, ...]
    daily_vol: np.ndarray
    daily_mean: np.ndarray
    correlation: np.ndarray
    shrinkage: float
    start: pd.Timestamp
    end: pd.Timestamp
    n_obs: dict[str, int] = field(default_factory=dict)
    correlation_obs: int = 0
    dropped: dict[str, str] = field(default_factory=dict)
    method: str = METHOD

    def subset(self, tickers: tuple[str, ...] | list[str], source: str = "calibration") -> Calibration:
        """The calibration restricted to ``tickers`` (in that order).

        Raises
        ------
        DataError
            If a ticker was not calibrated.
        """
        missing = [t for t in tickers if t not in self.tickers]
        if missing:
            raise DataError(
                f"{source}: ticker(s) {', '.join(missing)} not calibrated; run `theses calibrate --data-dir DIR` "
                "with prices for them, or remove them from the scenario's groups"
            )
        pos = np.array([self.tickers.index(t) for t in tickers], dtype=int)
        return Calibration(
            tickers=tuple(tickers), daily_vol=self.daily_vol[pos], daily_mean=self.daily_mean[pos],
            correlation=self.correlation[np.ix_(pos, pos)], shrinkage=self.shrinkage, start=self.start,
            end=self.end, n_obs={t: self.n_obs.get(t, 0) for t in tickers},
            correlation_obs=self.correlation_obs, dropped=dict(self.dropped), method=self.method,
        )


def log_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Daily log returns ``log(p_t / p_{t-1})``; NaN where either price is missing (never filled)."""
    values = prices.to_numpy(dtype=float)
    if np.any(values[np.isfinite(values)] <= 0):
        bad = prices.columns[(prices <= 0).any()].tolist()
        raise DataError(f"prices: non-positive prices in {', '.join(map(str, bad))}; fix or drop those rows")
    out = np.full_like(values, np.nan)
    out[1:] = np.log(values[1:] / values[:-1])
    return pd.DataFrame(out, index=prices.index, columns=prices.columns).iloc[1:]


def ledoit_wolf_constant_correlation(returns: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit-Wolf shrinkage of the covariance toward the constant-correlation target.

    Parameters
    ----------
    returns : (T, N) array of returns without NaN.

    Returns
    -------
    covariance : (N, N) shrunk covariance.
    shrinkage : the intensity delta in [0, 1].

    Notes
    -----
    Ledoit & Wolf (2004), "Honey, I shrunk the sample covariance matrix", J. Portfolio Management 30(4),
    appendix formulas for pi-hat, rho-hat and gamma-hat, with the sample covariance divided by T.
    """
    x = np.asarray(returns, dtype=float)
    t, n = x.shape
    x = x - x.mean(axis=0)
    sample = x.T @ x / t
    var = np.diag(sample).copy()
    std = np.sqrt(var)
    corr = sample / np.outer(std, std)
    off = ~np.eye(n, dtype=bool)
    rbar = corr[off].mean() if n > 1 else 0.0
    target = rbar * np.outer(std, std)
    np.fill_diagonal(target, var)
    # pi: sum of asymptotic variances of sqrt(T) * s_ij.
    y = x**2
    pi_mat = y.T @ y / t - sample**2
    pi_hat = pi_mat.sum()
    # rho: sum of asymptotic covariances between target and sample entries.
    theta = ((x**3).T @ x) / t - var[:, None] * sample  # theta[i, j] = AsyCov(s_ii, s_ij)
    ratio = np.outer(1.0 / std, std)  # ratio[i, j] = sqrt(s_jj / s_ii)
    rho_off = rbar / 2.0 * (ratio * theta + ratio.T * theta.T)
    rho_hat = np.trace(pi_mat) + rho_off[off].sum()
    gamma_hat = ((target - sample) ** 2).sum()
    if gamma_hat <= 0:
        return sample, 1.0
    kappa = (pi_hat - rho_hat) / gamma_hat
    shrinkage = float(np.clip(kappa / t, 0.0, 1.0))
    return shrinkage * target + (1.0 - shrinkage) * sample, shrinkage


def calibrate(prices: pd.DataFrame, min_obs: int = 500) -> Calibration:
    """Estimate daily vols, mean log returns and the shrunk correlation from a price frame.

    Parameters
    ----------
    prices : close prices, DatetimeIndex ascending, one column per ticker (NaN before a listing).
    min_obs : tickers with fewer daily returns are left out (listed in ``dropped``).

    Returns
    -------
    Calibration

    Raises
    ------
    DataError
        If fewer than two tickers have enough history, or the common window is too short.
    """
    if prices.empty:
        raise DataError("prices: no rows to calibrate from; widen --start/--end or check --data-dir")
    rets = log_returns(prices.sort_index())
    counts = rets.notna().sum()
    dropped = {str(t): f"only {int(c)} daily returns (< {min_obs})" for t, c in counts.items() if c < min_obs}
    keep = [t for t in rets.columns if t not in dropped]
    if len(keep) < 2:
        raise DataError(f"prices: fewer than two tickers have {min_obs} daily returns; widen --start/--end")
    rets = rets[keep]
    common = rets.dropna()
    if len(common) < max(60, 2 * len(keep)):
        raise DataError(f"prices: only {len(common)} days on which all of {len(keep)} tickers trade; "
                        "drop late-listed tickers or widen the range")
    cov, shrinkage = ledoit_wolf_constant_correlation(common.to_numpy())
    std = np.sqrt(np.diag(cov))
    correlation = cov / np.outer(std, std)
    np.fill_diagonal(correlation, 1.0)
    valid = prices[keep].dropna(how="all")
    return Calibration(
        tickers=tuple(str(t) for t in keep),
        daily_vol=rets.std(ddof=1).to_numpy(dtype=float),
        daily_mean=rets.mean().to_numpy(dtype=float),
        correlation=correlation, shrinkage=shrinkage,
        start=pd.Timestamp(valid.index[0]), end=pd.Timestamp(valid.index[-1]),
        n_obs={str(t): int(counts[t]) for t in keep}, correlation_obs=len(common), dropped=dropped,
    )


def _round(values: np.ndarray, digits: int) -> list:
    return np.round(np.asarray(values, dtype=float), digits).tolist()


def calibration_to_dict(cal: Calibration) -> dict:
    """JSON-ready dict of a calibration (summary figures only)."""
    return {
        "format": FORMAT,
        "method": cal.method,
        "start": cal.start.strftime("%Y-%m-%d"),
        "end": cal.end.strftime("%Y-%m-%d"),
        "shrinkage": round(cal.shrinkage, 6),
        "correlation_obs": cal.correlation_obs,
        "tickers": list(cal.tickers),
        "n_obs": {t: cal.n_obs.get(t, 0) for t in cal.tickers},
        "daily_vol": dict(zip(cal.tickers, _round(cal.daily_vol, 8), strict=True)),
        "daily_mean": dict(zip(cal.tickers, _round(cal.daily_mean, 8), strict=True)),
        "correlation": _round(cal.correlation, 6),
        "dropped": cal.dropped,
    }


def write_calibration(cal: Calibration, path: str | Path) -> Path:
    """Write ``cal`` as JSON atomically (a temporary file in the same directory, then ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, json.dumps(calibration_to_dict(cal), indent=1) + "\n")


#: A calibration of a few hundred tickers is well under a megabyte of JSON.
MAX_CALIBRATION_BYTES = 16 << 20


def read_calibration(path: str | Path = DEFAULT_CALIBRATION) -> Calibration:
    """Read a calibration JSON written by :func:`write_calibration`, checked like user input.

    Raises
    ------
    DataError
        One line naming the file: missing, unreadable, not JSON, a missing or malformed field, or figures no
        calibration has (non-finite or negative volatilities, a correlation matrix that is not symmetric with
        a unit diagonal and positive definite, a shrinkage outside [0, 1], dates out of order).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"calibration file {path} not found; run `theses calibrate --data-dir DIR` to create it")
    try:
        if path.stat().st_size > MAX_CALIBRATION_BYTES:
            raise DataError(f"calibration file {path} is {path.stat().st_size:,} bytes, more than a calibration "
                            f"({MAX_CALIBRATION_BYTES:,}): check the path")
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg}); re-run `theses calibrate`") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise DataError(f"calibration file {path} cannot be read ({reason}); re-run `theses calibrate`") from None
    if not isinstance(raw, dict):
        raise DataError(f"{path}: a JSON {type(raw).__name__}, not a calibration object; re-run `theses calibrate`")
    try:
        if raw.get("format") != FORMAT:
            raise DataError(f"{path}: format {raw.get('format')!r} is not {FORMAT!r}; re-run `theses calibrate`")
        tickers = tuple(raw["tickers"])
        correlation = np.array(raw["correlation"], dtype=float)
        if correlation.shape != (len(tickers), len(tickers)):
            raise DataError(f"{path}: correlation is {correlation.shape}, expected {len(tickers)}x{len(tickers)}; "
                            "re-run `theses calibrate`")
        calibration = Calibration(
            tickers=tickers,
            daily_vol=np.array([raw["daily_vol"][t] for t in tickers], dtype=float),
            daily_mean=np.array([raw["daily_mean"][t] for t in tickers], dtype=float),
            correlation=correlation, shrinkage=float(raw["shrinkage"]),
            start=pd.Timestamp(raw["start"]), end=pd.Timestamp(raw["end"]),
            n_obs={t: int(v) for t, v in raw.get("n_obs", {}).items()},
            correlation_obs=int(raw.get("correlation_obs", 0)), dropped=dict(raw.get("dropped", {})),
            method=str(raw.get("method", METHOD)),
        )
    except KeyError as exc:
        raise DataError(f"{path}: missing field {exc.args[0]!r}; re-run `theses calibrate`") from None
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise DataError(f"{path}: a field is malformed ({type(exc).__name__}: {' '.join(str(exc).split())[:80]}); "
                        "re-run `theses calibrate`") from None
    problem = calibration_problem(calibration)
    if problem is not None:
        raise DataError(f"{path}: {problem}; re-run `theses calibrate`")
    return calibration


def calibration_problem(cal: Calibration) -> str | None:
    """What makes ``cal`` unusable for simulation (the figures no estimate gives), or None."""
    if not cal.tickers or len(set(cal.tickers)) != len(cal.tickers) or not all(isinstance(t, str) for t in cal.tickers):
        return "tickers must be distinct names"
    for name, values, low, high in (("daily_vol", cal.daily_vol, 0.0, 1.0), ("daily_mean", cal.daily_mean, -0.1, 0.1)):
        bad = ~(np.isfinite(values) & (values >= low) & (values <= high)) | ((values == 0) & (name == "daily_vol"))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            return f"{name} of {cal.tickers[i]} is {float(values[i])!r}; a daily figure is within ({low:g}, {high:g}]"
    corr = cal.correlation
    if not np.isfinite(corr).all() or not np.allclose(corr, corr.T, atol=1e-9) or not np.allclose(np.diag(corr), 1.0):
        return "correlation is not a symmetric matrix of finite numbers with a unit diagonal"
    try:
        np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:
        return "correlation is not positive definite"
    if not 0.0 <= cal.shrinkage <= 1.0:
        return f"shrinkage {cal.shrinkage!r} is outside [0, 1]"
    if pd.isna(cal.start) or pd.isna(cal.end) or cal.start > cal.end:
        return f"window {cal.start} to {cal.end} is not in order"
    return None
