"""Seeded, vectorised price-path generators for scenario specs.

Two methods share one plan (per-day, per-ticker drift and volatility from the scenario's phases, plus crash
events):

* :class:`ParametricGenerator` — correlated Student-t shocks. A multivariate t draw ``L z sqrt((df-2)/W)``
  (``z`` standard normal, ``L`` the Cholesky factor of the calibrated shrunk correlation, ``W ~ chi2(df)`` per
  path-day, so fat tails hit all tickers on the same day) has unit variance and the calibrated correlation;
  it is scaled by each ticker's calibrated daily vol x the phase's market vol factor x the group's multiplier.
* :class:`BootstrapGenerator` — the stationary bootstrap of Politis & Romano (1994): blocks of historical days
  (all tickers together, so the cross-section is kept) with geometric lengths of mean ``mean_block``, wrapping
  around the end of the history. Each ticker's returns are demeaned, scaled by the phase's vol factors and
  shifted to the phase's drift.

Daily log return = drift/252 + shock (drifts are annual log drifts, see ``data.scenario_spec``), then the crash
jumps; prices = start price x exp(cumsum of log returns), so day 0 is one return after the start price.

Reproducibility: paths are drawn in fixed blocks of ``PATH_BLOCK`` paths, each block with its own random
streams seeded from ``SeedSequence(seed, spawn_key=(b,))`` for block ``b``; path ``p`` therefore gets the same
numbers whatever chunk size the caller asks for, and the same seed gives bit-identical paths on any machine
(integer streams, IEEE float in a fixed order; only ``exp``/``log`` come from the platform's maths library).

* Parametric: the whole block -- draws and arithmetic -- runs inside one numba kernel, blocks in parallel on
  every core (``data._paths_nb.parametric_paths_nb``): shocks from an SFC64 stream seeded by the block's
  ``SeedSequence`` exactly as ``numpy.random.SFC64`` seeds it, normals by a 256-layer ziggurat, chi-square
  scales by Marsaglia & Tsang's gamma method, and crash days from a second stream (``spawn_key=(b, 0)``),
  so adding a crash to a scenario moves nothing but the crash days.
* Bootstrap: ``Generator(PCG64(SeedSequence(seed, spawn_key=(b,))))`` per block in numpy, blocks on threads.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from theses.data.calibration import Calibration
from theses.data.errors import DataError
from theses.data.scenario_spec import TRADING_DAYS_PER_YEAR, ScenarioSpec

PATH_BLOCK = 64
DEFAULT_START_PRICE = 100.0


TRADING_CALENDAR = "XNYS"
"""The exchange calendar of simulated dates (exchange_calendars' New York Stock Exchange)."""


def _calendar(first_year: int, last_year: int):  # noqa: ANN202 - exchange_calendars.ExchangeCalendar
    """The NYSE calendar covering whole years ``first_year .. last_year``.

    Building one takes about 0.4 s whatever its span, so every request within 2000-2100 shares one calendar
    (a simulation asks for several spans: the history, the horizon, the next session).
    """
    return _calendar_span(min(first_year, 2000), max(last_year, 2100))


@lru_cache(maxsize=4)
def _calendar_span(first_year: int, last_year: int):  # noqa: ANN202 - exchange_calendars.ExchangeCalendar
    import exchange_calendars

    return exchange_calendars.get_calendar(TRADING_CALENDAR, start=f"{first_year}-01-01", end=f"{last_year}-12-31")


def trading_days(start: pd.Timestamp | str, end: pd.Timestamp | str) -> pd.DatetimeIndex:
    """NYSE sessions from ``start`` to ``end`` (both inclusive), tz-naive midnights named ``date``.

    Within 2000-2100 they come from :func:`span_sessions` (a file in the user cache after the first run, so a
    process does not build the calendar: about 0.7 s); outside, from a calendar built for the request.
    """
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if end < start:
        return pd.DatetimeIndex([], name="date")
    if SESSION_SPAN[0] <= start.year - 1 and end.year + 1 <= SESSION_SPAN[1]:
        days = span_sessions()
        first = np.searchsorted(days, start.to_datetime64(), side="left")
        last = np.searchsorted(days, end.to_datetime64(), side="right")
        return pd.DatetimeIndex(days[first:last], name="date", freq=None)
    sessions = _calendar(start.year - 1, end.year + 1).sessions_in_range(start, end)
    return pd.DatetimeIndex(sessions.tz_localize(None) if sessions.tz else sessions, name="date", freq=None)


SESSION_SPAN = (2000, 2100)
"""The years whose sessions :func:`span_sessions` keeps (those of the shared calendar of :func:`_calendar`)."""


@lru_cache(maxsize=1)
def span_sessions() -> np.ndarray:
    """Every NYSE session of the ``SESSION_SPAN`` years, ascending ``datetime64[ns]`` midnights.

    Read from a file in the user cache written by an earlier process with the same exchange_calendars
    (the file's name holds the size and time of its rule files, so an upgrade writes a new one); otherwise
    taken from the calendar and written there (atomically; a cache that cannot be written is skipped).
    """
    path = _sessions_cache_path()
    if path is not None and path.exists():
        try:
            days = np.load(path, allow_pickle=False)
            if days.dtype == np.int64 and days.ndim == 1 and len(days) > 0 and bool(np.all(np.diff(days) > 0)):
                return days.astype("datetime64[D]").astype("datetime64[ns]")
        except (OSError, ValueError):
            pass  # unreadable: rebuilt and rewritten below
    sessions = _calendar_span(*SESSION_SPAN).sessions
    days = (sessions.tz_localize(None) if sessions.tz else sessions).to_numpy(dtype="datetime64[ns]")
    if path is not None:
        _write_sessions(path, days.astype("datetime64[D]").astype(np.int64))
    return days


def _write_sessions(path: os.PathLike[str], days: np.ndarray) -> None:
    """``days`` (int64 days since 1970) saved to ``path`` atomically; a folder that cannot be written is skipped."""
    from pathlib import Path

    from theses.util import atomic_write

    def save(temp: Path) -> None:
        with open(temp, "wb") as handle:  # a file object: np.save would add ".npy" to a bare path
            np.save(handle, days, allow_pickle=False)

    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, save)
    except OSError:
        pass


def _sessions_cache_path() -> os.PathLike[str] | None:
    """Where :func:`span_sessions` keeps its file: ``sessions_cache_dir()``, named after the calendar, the span
    and the size and modification time of exchange_calendars' NYSE rule files; None without the package."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("exchange_calendars")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    stamp = []
    for name in ("exchange_calendar_xnys.py", "us_holidays.py", "exchange_calendar.py"):
        try:
            info = (package / name).stat()
        except OSError:
            continue
        stamp.append(f"{info.st_size}.{info.st_mtime_ns}")
    folder = sessions_cache_dir()
    if folder is None or not stamp:
        return None
    return folder / f"{TRADING_CALENDAR}-{SESSION_SPAN[0]}-{SESSION_SPAN[1]}-{'-'.join(stamp)}.npy"


def sessions_cache_dir():  # noqa: ANN201 - pathlib.Path | None
    """The folder of cached calendar sessions: ``THESES_CACHE_DIR/calendars`` when that is set, else the user
    cache directory of ai-theses plus ``calendars``; None when neither can be named."""
    from pathlib import Path

    override = os.environ.get("THESES_CACHE_DIR")
    if override:
        return Path(override).expanduser() / "calendars"
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("ai-theses")) / "calendars"
    except Exception:  # noqa: BLE001 - no usable home directory: build the calendar each time
        return None


def next_business_day(date: pd.Timestamp) -> pd.Timestamp:
    """The first NYSE session strictly after ``date`` (a weekend or an exchange holiday is skipped)."""
    day = pd.Timestamp(date).normalize()
    return trading_days(day + pd.Timedelta(days=1), day + pd.Timedelta(days=14))[0]


def horizon_end(start: pd.Timestamp, years: float) -> pd.Timestamp:
    """The last calendar day of ``years`` years from ``start``: 2027-01-04 + 5 years -> 2032-01-03."""
    whole = int(years)
    end = start + pd.DateOffset(years=whole) + pd.Timedelta(days=round((float(years) - whole) * 365.25))
    return pd.Timestamp(end) - pd.Timedelta(days=1)


def simulation_index(start: pd.Timestamp | str, years: float) -> pd.DatetimeIndex:
    """The NYSE trading days of ``years`` calendar years from ``start`` (rolled forward to a session).

    Weekends and the exchange's holidays (exchange_calendars' XNYS rules, also for future years) are not
    simulated days, so a 5-year horizon from 2027-01-04 ends on 2032-01-02, the last session before
    2032-01-04, and calendar rebalancing lands on real first trading days. An exchange year has 250-253
    sessions; annual rates are still spread over 252 a year (``TRADING_DAYS_PER_YEAR``).
    """
    if not float(years) > 0 or not math.isfinite(float(years)):
        raise DataError(f"--years {years}: give a positive number of years, e.g. 5")
    start = pd.Timestamp(start).normalize()
    index = trading_days(start, horizon_end(start, float(years)))
    if len(index) < 2:
        raise DataError(f"--years {years}: fewer than 2 trading days; use at least 0.01 years")
    return pd.DatetimeIndex(index, name="date")


@dataclass(frozen=True)
class ScenarioPlan:
    """A scenario laid onto dates and tickers.

    Attributes
    ----------
    tickers : simulated tickers (columns).
    index : simulated dates.
    daily_drift : (T, N) expected daily log return.
    vol_factor : (T, N) market vol factor x group/ticker multipliers.
    crash_days : per crash event, the window's business days as positions in ``index`` (-1 when outside).
    crash_jumps : per crash event, (N,) log-return jump per ticker (0 for tickers it does not hit).
    """

    tickers: tuple[str, ...]
    index: pd.DatetimeIndex
    daily_drift: np.ndarray
    vol_factor: np.ndarray
    crash_days: tuple[np.ndarray, ...]
    crash_jumps: tuple[np.ndarray, ...]


def scenario_plan(spec: ScenarioSpec, index: pd.DatetimeIndex) -> ScenarioPlan:
    """Per-day drifts and vol factors of every ticker of ``spec`` on ``index``, plus its crash windows."""
    tickers = spec.tickers
    groups = [spec.group_of(t) for t in tickers]
    starts = pd.DatetimeIndex([p.start for p in spec.phases]).as_unit("ns")
    # The phase of each day: the last phase starting on or before it (the first phase before the timeline).
    phase_of_day = np.clip(starts.searchsorted(index.as_unit("ns"), side="right") - 1, 0, len(spec.phases) - 1)
    drift_by_phase = np.empty((len(spec.phases), len(tickers)))
    vol_by_phase = np.empty_like(drift_by_phase)
    for k, phase in enumerate(spec.phases):
        for i, (ticker, group) in enumerate(zip(tickers, groups, strict=True)):
            drift_by_phase[k, i] = (phase.market_drift + phase.excess_drift.get(group, 0.0)
                                    + phase.excess_drift.get(ticker, 0.0))
            vol_by_phase[k, i] = phase.market_vol * phase.vol_mult.get(group, 1.0) * phase.vol_mult.get(ticker, 1.0)
    crash_days, crash_jumps = [], []
    for event in spec.crashes:
        window = trading_days(event.start, event.end)  # the crash falls on one of the window's sessions
        pos = index.get_indexer(window)  # -1 where the window day is not simulated
        jumps = np.array([event.sizes.get(t, event.sizes.get(g, 0.0)) for t, g in zip(tickers, groups, strict=True)])
        crash_days.append(pos.astype(np.int64))
        crash_jumps.append(jumps)
    return ScenarioPlan(
        tickers=tickers, index=index,
        daily_drift=drift_by_phase[phase_of_day] / TRADING_DAYS_PER_YEAR,
        vol_factor=vol_by_phase[phase_of_day], crash_days=tuple(crash_days), crash_jumps=tuple(crash_jumps),
    )


def block_rng(seed: int, block: int) -> np.random.Generator:
    """The random stream of path block ``block`` (independent of how paths are chunked)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(int(block),))))


def _start_prices(start_prices: np.ndarray | None, n: int) -> np.ndarray:
    if start_prices is None:
        return np.full(n, DEFAULT_START_PRICE)
    values = np.asarray(start_prices, dtype=float)
    if values.shape != (n,) or not np.all(np.isfinite(values) & (values > 0)):
        raise DataError(f"start prices: expected {n} positive numbers, got shape {values.shape}; fix the input")
    return values


def _output(out: np.ndarray | None, shape: tuple[int, int, int]) -> np.ndarray:
    """``out`` checked to be a C-contiguous float32 array of ``shape``, or a new one."""
    if out is None:
        return np.empty(shape, dtype=np.float32)
    if out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float32 array of shape {shape}; got {out.dtype} {out.shape}")
    return out


class _BlockGenerator:
    """Shared chunking, crash and price logic; subclasses draw one block's log returns."""

    plan: ScenarioPlan
    seed: int
    start_prices: np.ndarray
    threads: int = min(2, os.cpu_count() or 1)

    @property
    def tickers(self) -> tuple[str, ...]:
        return self.plan.tickers

    @property
    def index(self) -> pd.DatetimeIndex:
        return self.plan.index

    def _block_returns(self, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _add_crashes(self, rng: np.random.Generator, returns: np.ndarray) -> None:
        rows = np.arange(returns.shape[0])
        for days, jumps in zip(self.plan.crash_days, self.plan.crash_jumps, strict=True):
            # One day per path, uniform over the window's business days (drawn even when it falls outside
            # the simulated dates, so every block consumes the same draws).
            day = days[rng.integers(0, len(days), size=returns.shape[0])]
            hit = day >= 0
            returns[rows[hit], day[hit], :] += jumps.astype(returns.dtype)

    def _block(self, block: int) -> np.ndarray:
        """Log returns of every path of one block (shocks, then crash jumps), float32 (PATH_BLOCK, T, N)."""
        rng = block_rng(self.seed, block)
        returns = self._block_returns(rng)
        self._add_crashes(rng, returns)
        return returns

    def _spans(self, path_start: int, n_paths: int) -> list[tuple[int, int, int]]:
        """``(block, first row in block, first row in request, rows)`` of the blocks covering a request."""
        if n_paths <= 0:
            raise DataError(f"--paths {n_paths}: ask for at least one path")
        stop = path_start + n_paths
        spans = []
        for block in range(path_start // PATH_BLOCK, (stop - 1) // PATH_BLOCK + 1):
            lo, hi = max(path_start, block * PATH_BLOCK), min(stop, (block + 1) * PATH_BLOCK)
            spans.append((block, lo - block * PATH_BLOCK, lo - path_start, hi - lo))
        return spans

    def log_returns(self, path_start: int, n_paths: int) -> np.ndarray:
        """Daily log returns (float32) of paths ``path_start .. path_start + n_paths - 1``, (paths, days, tickers)."""
        return np.concatenate([self._block(block)[first:first + rows]
                               for block, first, _, rows in self._spans(path_start, n_paths)], axis=0)

    def generate(self, path_start: int, n_paths: int, out: np.ndarray | None = None) -> np.ndarray:
        """Prices of paths ``path_start ..``, float32 of shape (paths, days, tickers).

        ``out``: an array of that shape and dtype to write them into (a buffer reused from chunk to chunk
        spares the allocator fresh pages, each of which the kernel would fault in).
        """
        from theses.data._paths_nb import prices_from_returns_nb

        out = _output(out, (n_paths, len(self.index), len(self.tickers)))
        log_start = np.log(self.start_prices)

        def fill(span: tuple[int, int, int, int]) -> None:
            block, first, offset, rows = span
            # A float64 running sum inside the kernel, so 1,000+ days of float32 rounding do not pile up.
            prices_from_returns_nb(self._block(block)[first:first + rows], log_start, out[offset:offset + rows])

        spans = self._spans(path_start, n_paths)
        if len(spans) == 1 or self.threads == 1:
            for span in spans:
                fill(span)
        else:
            # Blocks are independent streams written to disjoint rows, so threads change nothing but speed
            # (numpy's samplers and the numba kernels release the GIL).
            with ThreadPoolExecutor(max_workers=self.threads) as pool:
                list(pool.map(fill, spans))
        return out

    def chunks(self, n_paths: int, chunk_size: int) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first path, prices)`` chunks covering ``n_paths`` paths."""
        if chunk_size <= 0:
            raise DataError(f"--chunk-size {chunk_size}: use a positive number of paths")
        for start in range(0, n_paths, chunk_size):
            yield start, self.generate(start, min(chunk_size, n_paths - start))


class ParametricGenerator(_BlockGenerator):
    """Correlated Student-t shocks with the scenario's drifts, vols and crash jumps.

    Parameters
    ----------
    spec : the scenario.
    calibration : daily vols and correlation; must cover ``spec.tickers``.
    index : simulated dates (see :func:`simulation_index`).
    seed : the random seed.
    start_prices : (N,) price before the first simulated day (default 100 for every ticker).
    """

    def __init__(self, spec: ScenarioSpec, calibration: Calibration, index: pd.DatetimeIndex, seed: int,
                 start_prices: np.ndarray | None = None) -> None:
        self.spec = spec
        self.plan = scenario_plan(spec, index)
        cal = calibration.subset(self.plan.tickers, source=f"scenario {spec.name}")
        self.seed = int(seed)
        self.start_prices = _start_prices(start_prices, len(self.plan.tickers))
        try:
            cholesky = np.linalg.cholesky(cal.correlation)
        except np.linalg.LinAlgError:
            raise DataError(f"scenario {spec.name}: the calibrated correlation is not positive definite; "
                            "re-run `theses calibrate`") from None
        self.cholesky_t = np.ascontiguousarray(cholesky.T, dtype=np.float32)
        self.df = spec.t_df
        self.daily_vol = (self.plan.vol_factor * cal.daily_vol).astype(np.float32)
        self.daily_drift = self.plan.daily_drift.astype(np.float32)
        days = self.plan.crash_days
        width = max([len(d) for d in days] + [1])
        self._crash_days = np.full((len(days), width), -1, dtype=np.int64)
        for e, d in enumerate(days):
            self._crash_days[e, : len(d)] = d
        self._crash_counts = np.array([len(d) for d in days], dtype=np.int64)
        self._crash_jumps = np.array(self.plan.crash_jumps, dtype=np.float32).reshape(len(days), len(self.tickers))

    def _paths(self, path_start: int, n_paths: int, as_returns: bool, out: np.ndarray | None = None) -> np.ndarray:
        """Prices (or log returns) of paths ``path_start ..``, float32 ``(paths, days, tickers)``."""
        from theses.data._paths_nb import parametric_paths_nb, ziggurat_tables

        spans = self._spans(path_start, n_paths)
        blocks = [block for block, *_ in spans]
        shock_words = np.array([stream_words(self.seed, (b,)) for b in blocks], dtype=np.uint64)
        crash_words = np.array([stream_words(self.seed, (b, 0)) for b in blocks], dtype=np.uint64)
        out = _output(out, (n_paths, len(self.index), len(self.tickers)))
        parametric_paths_nb(shock_words, crash_words, path_start - blocks[0] * PATH_BLOCK, out, as_returns,
                            self.cholesky_t, self.daily_drift, self.daily_vol, float(self.df), self._crash_days,
                            self._crash_counts, self._crash_jumps, np.log(self.start_prices), *ziggurat_tables())
        return out

    def generate(self, path_start: int, n_paths: int, out: np.ndarray | None = None) -> np.ndarray:
        """Prices of paths ``path_start ..``, float32 of shape (paths, days, tickers) (``out``: as the base's)."""
        return self._paths(path_start, n_paths, as_returns=False, out=out)

    def log_returns(self, path_start: int, n_paths: int) -> np.ndarray:
        """Daily log returns (float32) of paths ``path_start .. path_start + n_paths - 1``, (paths, days, tickers)."""
        return self._paths(path_start, n_paths, as_returns=True)


def stream_words(seed: int, spawn_key: tuple[int, ...]) -> np.ndarray:
    """Three uint64 seed words of the stream ``SeedSequence(seed, spawn_key=spawn_key)`` (as SFC64 takes them)."""
    return np.random.SeedSequence(int(seed), spawn_key=spawn_key).generate_state(3, np.uint64)


def historical_log_returns(prices: pd.DataFrame, tickers: tuple[str, ...] | list[str],
                           min_days: int = 250) -> np.ndarray:
    """Daily log returns of ``tickers`` on the days all of them trade, as a (days, N) float64 array.

    Raises
    ------
    DataError
        If a ticker has no prices or the common history is shorter than ``min_days``.
    """
    missing = [t for t in tickers if t not in prices.columns]
    if missing:
        raise DataError(f"--data-dir: no prices for {', '.join(missing)}; add their CSVs or drop them from the scenario")
    frame = prices[list(tickers)].sort_index()
    values = frame.to_numpy(dtype=float)
    returns = np.log(values[1:] / values[:-1])
    returns = returns[np.all(np.isfinite(returns), axis=1)]
    if len(returns) < min_days:
        raise DataError(f"--data-dir: only {len(returns)} days on which all {len(tickers)} scenario tickers trade "
                        f"(need {min_days}); use a scenario with fewer late-listed tickers")
    return returns


class BootstrapGenerator(_BlockGenerator):
    """Stationary bootstrap of historical daily log returns, tilted to the scenario's drifts and vols.

    Parameters
    ----------
    spec : the scenario.
    history : (H, N) historical daily log returns of ``spec.tickers`` (see :func:`historical_log_returns`).
    index : simulated dates.
    seed : the random seed.
    mean_block : mean block length in days (block lengths are geometric with this mean).
    start_prices : (N,) price before the first simulated day (default 100).
    """

    def __init__(self, spec: ScenarioSpec, history: np.ndarray, index: pd.DatetimeIndex, seed: int,
                 mean_block: float = 20.0, start_prices: np.ndarray | None = None) -> None:
        self.spec = spec
        self.plan = scenario_plan(spec, index)
        history = np.asarray(history, dtype=float)
        if history.ndim != 2 or history.shape[1] != len(self.plan.tickers) or not np.all(np.isfinite(history)):
            raise DataError(f"scenario {spec.name}: history must be a finite (days, {len(self.plan.tickers)}) "
                            "array of log returns; pass prices through historical_log_returns")
        if mean_block < 1:
            raise DataError(f"mean block {mean_block}: use at least 1 day")
        self.seed = int(seed)
        self.mean_block = float(mean_block)
        self.start_prices = _start_prices(start_prices, len(self.plan.tickers))
        # Demeaned history; the scenario's drift replaces the historical mean.
        self.centered = (history - history.mean(axis=0)).astype(np.float32)
        self.vol_factor = self.plan.vol_factor.astype(np.float32)
        self.daily_drift = self.plan.daily_drift.astype(np.float32)

    def _block_returns(self, rng: np.random.Generator) -> np.ndarray:
        days = len(self.plan.index)
        length = len(self.centered)
        new_block = rng.random((PATH_BLOCK, days)) < 1.0 / self.mean_block
        new_block[:, 0] = True
        block_start = rng.integers(0, length, size=(PATH_BLOCK, days))
        steps = np.arange(days)
        # For each day: when its block began, and where in the history that block started.
        began = np.maximum.accumulate(np.where(new_block, steps, 0), axis=1)
        rows = np.arange(PATH_BLOCK)[:, None]
        source_day = (block_start[rows, began] + (steps - began)) % length
        returns = self.centered[source_day]
        returns *= self.vol_factor
        returns += self.daily_drift
        return returns
