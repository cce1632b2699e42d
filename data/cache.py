"""On-disk price cache: one parquet file of bars per ticker, written atomically, updated incrementally.

Location: ``THESES_CACHE_DIR`` if set, else ``platformdirs.user_cache_dir("ai-theses")/prices``.
Each ``TICKER.parquet`` holds the bars (see :mod:`data.validate`) and, in the parquet schema metadata
under the key ``ai-theses``, a JSON object::

    {"ticker": "META", "source": "yahoo", "fetched_at": "2026-10-10T21:05:00+00:00",
     "covered_start": "2015-01-01" | null, "covered_end": "2026-10-09"}

``covered_start``/``covered_end`` are the range the source was asked for (``null`` = from the first
listing), so a ticker that listed later than ``covered_start`` is not fetched again for earlier dates.

Adjusted prices change every time a dividend is paid, so an update re-downloads the cached boundary
date along with the new dates and rescales the older block by the ratio of the two closes on that day;
the merged series then has no spurious jump at the seam.

A file is read back like user input (:func:`check_cached_bars`, :func:`check_metadata`): the expected
schema (a date index and the float64 bar columns), ascending unique dates in range, positive finite closes,
a metadata object with the keys above. A damaged file is refused in one line naming it and the fix, never
read into a result. Writers replace a file atomically and a reader opens it once (data and metadata from
the same open file), so concurrent writers and readers of one ticker see one whole file or the other. Two
concurrent updates of one ticker both download; the last rename wins, each file whole.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from theses.data.errors import DataError
from theses.data.validate import (
    BAR_COLUMNS,
    MAX_PRICE,
    MIN_PRICE,
    PRICE_COLUMNS,
    check_range,
    date_bounds_problem,
    normalize_ticker,
    normalize_tickers,
    out_of_date_bounds,
    price_bounds_problem,
)
from theses.util import atomic_write

METADATA_KEY = b"ai-theses"
_ONE_DAY = pd.Timedelta(days=1)


class CacheUpdateError(DataError):
    """Some tickers could not be fetched; ``failed`` maps each to the provider's reason."""

    def __init__(self, message: str, failed: dict[str, str]) -> None:
        super().__init__(message)
        self.failed = failed


class BarsSource(Protocol):
    """What :meth:`PriceCache.update` needs from a provider (``YahooProvider`` fits)."""

    source: str

    def fetch_partial(
        self, tickers: list[str], start: object, end: object, progress: Callable[[str], Any] | None = None
    ) -> tuple[dict[str, pd.DataFrame], dict[str, str]]: ...

    def describe_failure(self, failed: dict[str, str]) -> str: ...


@dataclass(frozen=True)
class CacheEntry:
    """One cached ticker: its bars and where/when they came from."""

    ticker: str
    bars: pd.DataFrame
    source: str
    fetched_at: str
    covered_start: pd.Timestamp | None
    covered_end: pd.Timestamp | None

    @property
    def first(self) -> pd.Timestamp:
        """Date of the first cached bar."""
        return self.bars.index[0]

    @property
    def last(self) -> pd.Timestamp:
        """Date of the last cached bar."""
        return self.bars.index[-1]

    def covers(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
        """Whether the source was already asked for every date in ``[start, end]`` (``None`` = whatever is cached)."""
        starts_ok = start is None or self.covered_start is None or start >= self.covered_start
        ends_ok = end is None or (self.covered_end is not None and end <= self.covered_end)
        return starts_ok and ends_ok


def default_cache_dir() -> Path:
    """``THESES_CACHE_DIR``, else the user cache directory of ai-theses plus ``prices``."""
    override = os.environ.get("THESES_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("ai-theses")) / "prices"


def _write_parquet(table: pa.Table, path: str) -> None:
    """The one place a parquet file is written (tests replace it to simulate a crash mid-write)."""
    pq.write_table(table, path)


def _iso_date(stamp: pd.Timestamp | None) -> str | None:
    return None if stamp is None else stamp.strftime("%Y-%m-%d")


def _stamp(text: str | None) -> pd.Timestamp | None:
    return None if text is None else pd.Timestamp(text)


class PriceCache:
    """Parquet files of bars, one per ticker.

    Parameters
    ----------
    directory
        Where the files live; default :func:`default_cache_dir` (read when the cache is created).
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory).expanduser() if directory is not None else default_cache_dir()

    def path(self, ticker: str) -> Path:
        """The parquet file of ``ticker``."""
        return self.directory / f"{normalize_ticker(ticker)}.parquet"

    def tickers(self) -> list[str]:
        """Cached tickers, sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(path.stem for path in self.directory.glob("*.parquet") if not path.name.startswith("."))

    def read(self, ticker: str) -> CacheEntry | None:
        """The cached entry of ``ticker``, or ``None`` when it is not cached.

        Raises
        ------
        DataError
            One line naming the file and the fix when the file is unreadable or damaged.
        """
        path = self.path(ticker)
        if not path.is_file():
            return None
        name = normalize_ticker(ticker)
        fix = f"delete it or run `theses data fetch {name}` again"
        try:
            # One open file for schema, metadata and data: a writer's rename in between cannot mix two files.
            with path.open("rb") as handle:
                table = pq.read_table(handle)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"price cache file {path} cannot be read ({type(exc).__name__}); {fix}") from None
        try:
            meta = check_metadata((table.schema.metadata or {}).get(METADATA_KEY), name)
            bars = check_cached_bars(table.to_pandas())
        except _Damaged as exc:
            raise DataError(f"price cache file {path}: {exc}; {fix}") from None
        except (pa.ArrowException, ValueError, TypeError) as exc:  # pandas cannot rebuild the frame
            raise DataError(f"price cache file {path}: not a price table ({type(exc).__name__}); {fix}") from None
        return CacheEntry(
            ticker=name, bars=bars, source=meta["source"], fetched_at=meta["fetched_at"],
            covered_start=meta["covered_start"], covered_end=meta["covered_end"],
        )

    def write(
        self,
        ticker: str,
        bars: pd.DataFrame,
        source: str,
        covered_start: pd.Timestamp | None = None,
        covered_end: pd.Timestamp | None = None,
        fetched_at: str | None = None,
    ) -> Path:
        """Write ``bars`` of ``ticker`` atomically (:func:`theses.util.atomic_write`).

        If anything fails before the rename, the temporary file is removed and the old file is untouched;
        the new file gets the mode the umask gives.
        """
        name = normalize_ticker(ticker)
        if bars.empty:
            raise ValueError(f"refusing to cache an empty frame for {name}")
        meta = {
            "ticker": name,
            "source": source,
            "fetched_at": fetched_at or datetime.now(UTC).isoformat(timespec="seconds"),
            "covered_start": _iso_date(covered_start),
            "covered_end": _iso_date(covered_end if covered_end is not None else bars.index[-1]),
        }
        frame = bars.reindex(columns=list(BAR_COLUMNS)).astype("float64")
        frame.index = pd.DatetimeIndex(frame.index, name="date")
        table = pa.Table.from_pandas(frame, preserve_index=True)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta)})
        self.directory.mkdir(parents=True, exist_ok=True)
        # Looked up at call time, so tests can replace _write_parquet to simulate a crash mid-write.
        return atomic_write(self.path(name), lambda temp: _write_parquet(table, str(temp)))

    def update(
        self,
        tickers: str | Iterable[str],
        provider: BarsSource,
        start: object = None,
        end: object = None,
        progress: Callable[[str], Any] | None = None,
    ) -> dict[str, str]:
        """Fetch what the cache lacks for ``[start, end]`` and merge it in.

        Only dates before the first cached bar (when ``start`` is earlier than the range covered so far)
        and after the last cached bar are asked for, plus the boundary bar itself to splice adjusted
        prices. ``end=None`` means yesterday (today's bar may still be moving). A ticker whose fetch
        fails keeps its old file, untouched.

        Parameters
        ----------
        provider
            Has ``fetch_partial(tickers, start, end)``, ``describe_failure(failed)`` and a ``source`` tag.
        progress
            Called with each ticker once it is handled.

        Returns
        -------
        dict
            Ticker -> ``"cached"`` (nothing to fetch), ``"fetched"`` (new file) or ``"updated"`` (merged).

        Raises
        ------
        CacheUpdateError
            A DataError raised when some tickers could not be fetched (the others are written first);
            one line from the provider's message, and the failed tickers in ``failed``.
        """
        names = normalize_tickers(tickers)
        start_ts, end_ts = check_range(start, end)
        yesterday = pd.Timestamp.now().normalize() - _ONE_DAY
        end_ts = yesterday if end_ts is None or end_ts > yesterday else end_ts
        if start_ts is not None and start_ts > end_ts:
            raise DataError(f"start date {start_ts.date()} is after the last complete trading day {end_ts.date()}")
        entries = {name: self.read(name) for name in names}
        # Group the requests by window so each window is one (batched) provider call.
        windows: dict[tuple[pd.Timestamp | None, pd.Timestamp], list[str]] = {}
        status: dict[str, str] = {}
        for name, entry in entries.items():
            needed = _missing_windows(entry, start_ts, end_ts)
            for window in needed:
                windows.setdefault(window, []).append(name)
            if not needed:
                status[name] = "cached"
                if progress is not None:
                    progress(name)
        fetched: dict[str, list[pd.DataFrame]] = {}
        failures: dict[str, str] = {}
        for (window_start, window_end), group in windows.items():
            found, failed = provider.fetch_partial(group, window_start, window_end)
            failures.update(failed)
            for name, bars in found.items():
                fetched.setdefault(name, []).append(bars)
        for name, entry in entries.items():
            if name in status:
                continue
            if name not in failures and name in fetched:
                merged = _merge(entry, fetched[name])
                covered_start = start_ts if entry is None else _earliest(entry.covered_start, start_ts)
                covered_end = end_ts if entry is None else max(end_ts, entry.covered_end or end_ts)
                self.write(name, merged, provider.source, covered_start, covered_end)
                status[name] = "fetched" if entry is None else "updated"
            if progress is not None:
                progress(name)
        if failures:
            raise CacheUpdateError(provider.describe_failure(failures), failures)
        return status


class _Damaged(Exception):
    """What is wrong with a cache file (turned into a DataError naming the file)."""


_META_TEXT_KEYS = ("ticker", "source", "fetched_at")
_META_DATE_KEYS = ("covered_start", "covered_end")


def check_metadata(raw: bytes | None, ticker: str) -> dict[str, Any]:
    """The metadata of a cache file as written by :meth:`PriceCache.write`; _Damaged names what is wrong.

    Returns ``source`` and ``fetched_at`` (text) and ``covered_start``/``covered_end`` (Timestamps or None).
    """
    if raw is None:
        raise _Damaged("no ai-theses metadata (not written by theses)")
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _Damaged("its metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise _Damaged(f"its metadata is a JSON {type(meta).__name__}, not an object")
    for key in _META_TEXT_KEYS:
        if not isinstance(meta.get(key), str):
            raise _Damaged(f"metadata {key} is {meta.get(key)!r}, not text")
    if meta["ticker"] != ticker:
        raise _Damaged(f"it holds the prices of {meta['ticker']!r}, not {ticker}")
    dates: dict[str, pd.Timestamp | None] = {}
    for key in _META_DATE_KEYS:
        value = meta.get(key)
        try:
            dates[key] = None if value is None else pd.Timestamp(dt.date.fromisoformat(value))
        except (TypeError, ValueError):
            raise _Damaged(f"metadata {key} is {value!r}, not a date YYYY-MM-DD or null") from None
    if dates["covered_end"] is None:
        raise _Damaged("metadata covered_end is missing")
    return {"source": meta["source"], "fetched_at": meta["fetched_at"], **dates}


def check_cached_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """The bars of a cache file, checked like a price CSV; _Damaged names the first problem.

    The schema is the one :meth:`PriceCache.write` gives: a tz-naive date index, ascending and unique,
    within the dates a price file may hold, and exactly the float64 columns ``Open, High, Low, Close,
    Volume``; closes are present and within the price bounds; other prices are NaN or within them.
    """
    if list(frame.columns) != list(BAR_COLUMNS):
        raise _Damaged(f"columns are {', '.join(map(str, frame.columns)) or 'none'}, not {', '.join(BAR_COLUMNS)}")
    wrong = [f"{c} ({frame[c].dtype})" for c in BAR_COLUMNS if frame[c].dtype != "float64"]
    if wrong:
        raise _Damaged(f"column {wrong[0]} is not float64 prices")
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is not None:
        raise _Damaged(f"its index is {type(index).__name__} ({index.dtype}), not dates")
    if frame.empty:
        raise _Damaged("it holds no rows")
    if index.hasnans:
        raise _Damaged("a date is missing (NaT)")
    if not index.is_monotonic_increasing or not index.is_unique:
        raise _Damaged("its dates are not in ascending order, each once")
    outside = out_of_date_bounds(index)
    if outside.any():
        raise _Damaged(date_bounds_problem(index[int(np.flatnonzero(outside)[0])]))
    close = frame["Close"].to_numpy()
    if not np.isfinite(close).all():
        row = int(np.flatnonzero(~np.isfinite(close))[0])
        raise _Damaged(f"Close on {index[row].date()} is {close[row]}")
    prices = frame[list(PRICE_COLUMNS)].to_numpy()
    outside = ~np.isnan(prices) & ~((prices >= MIN_PRICE) & (prices <= MAX_PRICE))
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise _Damaged(f"on {index[row].date()}: {price_bounds_problem(PRICE_COLUMNS[col], prices[row, col])}")
    volume = frame["Volume"].to_numpy()
    if (volume < 0).any() or np.isinf(volume).any():
        raise _Damaged("a Volume is negative or infinite")
    bars = frame.copy()
    bars.index = pd.DatetimeIndex(index, name="date")
    return bars


def _earliest(covered: pd.Timestamp | None, start: pd.Timestamp | None) -> pd.Timestamp | None:
    if covered is None or start is None:
        return None
    return min(covered, start)


def _missing_windows(
    entry: CacheEntry | None, start: pd.Timestamp | None, end: pd.Timestamp
) -> list[tuple[pd.Timestamp | None, pd.Timestamp]]:
    """The date windows to ask the provider for, each including the cached boundary bar."""
    if entry is None:
        return [(start, end)]
    windows: list[tuple[pd.Timestamp | None, pd.Timestamp]] = []
    if entry.covered_start is not None and (start is None or start < entry.covered_start):
        windows.append((start, entry.first))
    if entry.covered_end is None or end > entry.covered_end:
        windows.append((entry.last, end))
    return windows


def _merge(entry: CacheEntry | None, pieces: list[pd.DataFrame]) -> pd.DataFrame:
    """Splice fetched pieces onto the cached bars on the newest adjustment basis.

    A piece that ends on the cached first bar was fetched now, as was one that starts on the cached
    last bar; the cached block is rescaled by new/old close on a shared date so that the whole series
    is on today's adjustment basis.
    """
    if entry is None:
        return pd.concat(pieces).sort_index()
    old = entry.bars
    for piece in pieces:
        shared = old.index.intersection(piece.index)
        if len(shared):
            day = shared[-1]
            ratio = piece.at[day, "Close"] / old.at[day, "Close"]
            old = old.copy()
            old[list(PRICE_COLUMNS)] = old[list(PRICE_COLUMNS)] * ratio
    combined = pd.concat([old, *pieces])
    # The fresh download wins on the boundary dates.
    combined = combined[~combined.index.duplicated(keep="last")].sort_index()
    combined.index.name = "date"
    return combined
