"""``load_prices``: the one entry point that turns tickers and a date range into aligned Prices frames."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from theses.data.aliases import resolve_aliases
from theses.data.cache import CacheUpdateError, PriceCache
from theses.data.csv_provider import CsvProvider
from theses.data.errors import DataError
from theses.data.sample_provider import SampleProvider
from theses.data.validate import check_range, clip_range, normalize_tickers
from theses.data.yahoo_provider import YahooProvider

SOURCES = ("auto", "cache", "csv", "yahoo", "sample")
# A requested start this many days before the first price is reported (weekends and holidays are not).
_START_GAP_DAYS = 7
# Calendar days fetched per trading day of look-back history, plus a margin for holidays: 365/252 = 1.45.
_CALENDAR_PER_TRADING_DAY = 1.5
_HISTORY_MARGIN_DAYS = 14


@dataclass(frozen=True)
class PriceData:
    """Aligned prices of several tickers.

    Attributes
    ----------
    close
        Adjusted closes: tz-naive DatetimeIndex named ``date``, ascending, float64, one column per ticker;
        NaN before a ticker's first price, gaps after it forward-filled.
    open
        Opens on the same index and columns (adjusted the same way), when every ticker's source had an
        Open column; else ``None``. On a forward-filled day the open is the carried close.
    source
        Where the prices came from, e.g. ``"csv:/abs/dir"``, ``"cache"``, ``"yahoo"``, ``"cache+yahoo"``.
    late_starts
        Tickers whose first price comes after the first date of the frame, with that first date.
    notes
        Human-readable remarks (renamed tickers, late starts, end trimmed, ...).
    window_start
        The first day of the requested window when rows of look-back history precede it (``history_days``
        of :func:`load_prices`); ``None`` when the window starts at the frame's first row.
    """

    close: pd.DataFrame
    open: pd.DataFrame | None
    source: str
    late_starts: dict[str, pd.Timestamp] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    window_start: pd.Timestamp | None = None

    @property
    def tickers(self) -> list[str]:
        """The columns, in the requested order."""
        return list(self.close.columns)

    @property
    def warnings(self) -> list[str]:
        """The notes that warn the result is cut short (stale tickers) -- also in ``notes``."""
        return warnings_of(self.notes)

    @property
    def window_row(self) -> int:
        """Row of ``close`` where the requested window starts (the rows before it are look-back history)."""
        return 0 if self.window_start is None else int(self.close.index.searchsorted(self.window_start))


def default_data_dir(data_dir: str | Path | None = None) -> Path | None:
    """``data_dir`` if given, else ``THESES_DATA_DIR``, else ``None``."""
    chosen = data_dir if data_dir is not None else os.environ.get("THESES_DATA_DIR") or None
    return Path(chosen).expanduser() if chosen is not None else None


def load_prices(
    tickers: str | Iterable[str],
    start: object = None,
    end: object = None,
    source: str = "auto",
    data_dir: str | Path | None = None,
    trim_end: bool = True,
    history_days: int = 0,
) -> PriceData:
    """Load adjusted prices of ``tickers`` between ``start`` and ``end`` (inclusive) and align them.

    Parameters
    ----------
    tickers
        Symbols (case-insensitive; renamed ones such as FB are replaced by their current symbol).
    start, end
        Dates (``"YYYY-MM-DD"``, datetime or Timestamp); ``None`` = all available.
    source
        ``"auto"``: per ticker, the cache when it covers the range, else ``data_dir``/``THESES_DATA_DIR``
        CSVs, else a Yahoo Finance download into the cache, else (offline) the embedded sample of closes, with
        a note naming the tickers and the sample's last date. ``"cache"``, ``"csv"``, ``"yahoo"``, ``"sample"``:
        only that.
    data_dir
        Folder of ``TICKER.csv`` files; default ``THESES_DATA_DIR``.
    trim_end
        Cut the frame at the last date on which every ticker has a price of its own (not carried
        forward) and say so in ``notes``.
    history_days
        Also keep up to this many trading days before ``start`` (the look-back a signal needs); fewer when
        the data starts later. ``window_start`` then marks where the window begins; the checks and notes
        about the window (no prices in range, a start later than asked) are about ``start``, not the
        history before it.

    Returns
    -------
    PriceData

    Raises
    ------
    DataError
        Bad tickers or dates, unreadable or invalid files, a ticker found nowhere, no prices in range.
    """
    if source not in SOURCES:
        raise DataError(f"unknown price source {source!r}: use one of {', '.join(SOURCES)}")
    names, notes = resolve_aliases(normalize_tickers(tickers))
    start_ts, end_ts = check_range(start, end)
    if isinstance(history_days, bool) or not isinstance(history_days, int | np.integer) or history_days < 0:
        raise DataError(f"history_days {history_days!r}: give a whole number of trading days >= 0")
    with_history = start_ts is not None and history_days > 0
    fetch_from = start_ts
    if with_history:
        margin = int(history_days * _CALENDAR_PER_TRADING_DAY) + _HISTORY_MARGIN_DAYS
        fetch_from = start_ts - pd.Timedelta(days=margin)
    bars, sources = _collect_bars(names, fetch_from, end_ts, source, default_data_dir(data_dir), notes)
    close, open_, late_starts, align_notes = align_bars(
        bars, names, start_ts, end_ts, trim_end, history_days=history_days if with_history else 0
    )
    window_start = close.index[close.index.searchsorted(start_ts)] if with_history else None
    return PriceData(
        close=close,
        open=open_,
        source="+".join(dict.fromkeys(sources)),
        late_starts=late_starts,
        notes=tuple(notes + align_notes),
        window_start=window_start,
    )


def _collect_bars(
    names: list[str],
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    source: str,
    data_dir: Path | None,
    notes: list[str],
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Bars of every ticker (full history of its source) and the source tags used, in a stable order."""
    bars: dict[str, pd.DataFrame] = {}
    used: set[str] = set()
    cache = PriceCache()
    csv = CsvProvider(data_dir) if data_dir is not None and source in ("auto", "csv") else None
    if source == "csv":
        if csv is None:
            raise DataError("source 'csv' needs a price directory: pass --data-dir DIR or set THESES_DATA_DIR")
        bars = {name: csv.bars(name) for name in names}
        return bars, [csv.source]
    if source == "sample":
        sample = SampleProvider()
        return {name: sample.bars(name) for name in names}, [sample.source]
    to_download: list[str] = []
    for name in names:
        entry = cache.read(name) if source in ("auto", "cache") else None
        if source == "cache" and entry is None:
            raise DataError(
                f"{name} is not in the price cache {cache.directory}: run `theses data fetch {name}` "
                "or use --data-dir DIR"
            )
        if entry is not None and (source == "cache" or entry.covers(start, end)):
            bars[name] = entry.bars
            used.add("cache")
        elif csv is not None and csv.has(name):
            bars[name] = csv.bars(name)
            used.add(csv.source)
        else:
            to_download.append(name)
    if to_download:
        bars.update(_download(to_download, start, end, cache, source, csv, notes, used))
    order = ["cache", *(tag for tag in sorted(used) if tag.startswith("csv:")), "cache+yahoo", "yahoo",
             *(tag for tag in sorted(used) if tag.startswith("sample:"))]
    return {name: bars[name] for name in names}, [tag for tag in order if tag in used]


def _download(
    names: list[str],
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    cache: PriceCache,
    source: str,
    csv: CsvProvider | None,
    notes: list[str],
    used: set[str],
) -> dict[str, pd.DataFrame]:
    """Fetch ``names`` from Yahoo Finance into the cache (incrementally) and return their cached bars."""
    provider = YahooProvider()
    try:
        status = cache.update(names, provider, start, end)
    except CacheUpdateError as exc:
        if source == "yahoo":
            raise
        # auto: a ticker that was cached, only not up to date, falls back on what the cache has.
        missing = [name for name in exc.failed if cache.read(name) is None]
        from_sample = _from_sample(missing, csv, exc, notes, used)
        stale = sorted(name for name in exc.failed if name not in from_sample)
        if stale:
            notes.append(f"could not update {', '.join(stale)} from Yahoo Finance; using the cached prices")
        status = {name: "cached" if name in exc.failed else "fetched" for name in names if name not in from_sample}
        return from_sample | _cached_bars([n for n in names if n not in from_sample], cache, status, used)
    return _cached_bars(names, cache, status, used)


def _from_sample(
    missing: list[str], csv: CsvProvider | None, exc: CacheUpdateError, notes: list[str], used: set[str]
) -> dict[str, pd.DataFrame]:
    """Bars of tickers found nowhere else from the embedded sample, or the one-line error when it lacks one."""
    if not missing:
        return {}
    sample = SampleProvider()
    lacking = [name for name in missing if not sample.has(name)]
    if lacking:
        where = f"neither cached nor in {csv.directory}" if csv is not None else "not cached"
        raise DataError(f"{', '.join(lacking)} {where}, not in the embedded sample, and {exc}") from None
    used.add(sample.source)
    notes.append(
        f"{', '.join(missing)}: no cache, no CSV and no Yahoo Finance (offline?): using the embedded sample of "
        f"adjusted closes, which ends {sample.sample.last_date.date()} (pass --data-dir DIR or run "
        "`theses data fetch` for newer prices)"
    )
    return {name: sample.bars(name) for name in missing}


def _cached_bars(
    names: list[str], cache: PriceCache, status: dict[str, str], used: set[str]
) -> dict[str, pd.DataFrame]:
    """The cached bars of ``names`` after an update, recording where each came from."""
    for state in status.values():
        used.add({"fetched": "yahoo", "updated": "cache+yahoo"}.get(state, "cache"))
    result: dict[str, pd.DataFrame] = {}
    for name in names:
        entry = cache.read(name)
        if entry is None:  # pragma: no cover - update() either wrote it or raised
            raise DataError(f"{name}: nothing was cached after downloading; retry")
        result[name] = entry.bars
    return result


def align_bars(
    bars: dict[str, pd.DataFrame],
    names: list[str],
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    trim_end: bool = True,
    history_days: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, pd.Timestamp], list[str]]:
    """Align per-ticker bars on the union of their dates.

    With ``history_days`` the frame also holds up to that many of the union's dates before ``start``
    (look-back history); the window checks and the late-start-of-window note are about ``start``.

    Returns
    -------
    close, open, late_starts, notes
        See :class:`PriceData`. ``open`` is ``None`` unless every ticker has some open price.
    """
    notes: list[str] = []
    window = {name: clip_range(bars[name], start, end) for name in names}
    for name, frame in window.items():
        if frame.empty:
            full = bars[name]
            span = f"its prices run {full.index[0].date()} to {full.index[-1].date()}" if len(full) else "no rows"
            raise DataError(
                f"{name} has no prices between {_day(start, 'the start')} and {_day(end, 'the end')} ({span}); "
                "widen the date range"
            )
    clipped = window
    if history_days and start is not None:
        clipped = {name: clip_range(bars[name], _history_start(bars, names, start, history_days), end)
                   for name in names}
    raw_close = pd.concat({name: clipped[name]["Close"] for name in names}, axis=1).sort_index()
    last_own = {name: clipped[name].index[-1] for name in names}
    if trim_end:
        common_end = min(last_own.values())
        if common_end < raw_close.index[-1]:
            early = sorted(name for name, day in last_own.items() if day == common_end)
            notes.append(trim_note(common_end, raw_close.index[-1], early))
            raw_close = raw_close.loc[:common_end]
    close = raw_close.ffill().astype("float64")
    close.index = pd.DatetimeIndex(close.index, name="date")
    close.columns = pd.Index(names)
    first_day = close.index[0]
    late_starts = {name: clipped[name].index[0] for name in names if clipped[name].index[0] > first_day}
    for name, day in late_starts.items():
        notes.append(f"{name} starts {day.date()}, after the first date {first_day.date()}; it is NaN before")
    window_first = close.index[close.index.searchsorted(start)] if start is not None else first_day
    if start is not None and (window_first - start).days > _START_GAP_DAYS:
        notes.append(f"prices start {window_first.date()}, later than the requested start {start.date()}")
    open_ = _align_open(clipped, names, close)
    return close, open_, late_starts, notes


STALE_DAYS = 7
"""A ticker whose prices end more than this many calendar days before the others' is stale: a warning."""
WARNING = "warning: "
"""The prefix of a note that says a result is cut short or built on old prices (shown as a warning)."""


def trim_note(common_end: pd.Timestamp, latest: pd.Timestamp, early: list[str]) -> str:
    """The note of a frame cut at ``common_end``: a warning naming the stale tickers when it is weeks early."""
    names = ", ".join(early)
    gap = (latest - common_end).days
    if gap > STALE_DAYS:
        return (
            f"{WARNING}results end {common_end.date()}, {gap} days before the latest prices ({latest.date()}), "
            f"because the prices of {names} end there; update them (theses data fetch {' '.join(early)}) "
            "or leave them out"
        )
    return f"prices end {common_end.date()}, the last date every ticker has a price ({names} end there; others run to {latest.date()})"


def warnings_of(notes: tuple[str, ...] | list[str]) -> list[str]:
    """The notes that are warnings (see :data:`WARNING`)."""
    return [note for note in notes if note.startswith(WARNING)]


def _history_start(bars: dict[str, pd.DataFrame], names: list[str], start: pd.Timestamp, days: int) -> pd.Timestamp:
    """The date ``days`` trading days (of the tickers' union of dates) before ``start``, or the first date."""
    before = [bars[name].index[bars[name].index < start].to_numpy(dtype="datetime64[ns]") for name in names]
    dates = np.unique(np.concatenate(before)) if before else np.array([], dtype="datetime64[ns]")
    return start if not len(dates) else pd.Timestamp(dates[max(len(dates) - days, 0)])


def _align_open(clipped: dict[str, pd.DataFrame], names: list[str], close: pd.DataFrame) -> pd.DataFrame | None:
    """Opens on the close frame's index; a day without a bar of its own opens at the carried close."""
    if not all(clipped[name]["Open"].notna().any() for name in names):
        return None
    raw_open = pd.concat({name: clipped[name]["Open"] for name in names}, axis=1).reindex(close.index)
    values = raw_open.to_numpy(dtype="float64")
    values = np.where(np.isnan(values), close.to_numpy(), values)
    return pd.DataFrame(values, index=close.index, columns=close.columns)


def _day(stamp: pd.Timestamp | None, default: str) -> str:
    return default if stamp is None else str(stamp.date())
