"""What prices are at hand (the cache and a CSV folder), and filling the cache from Yahoo Finance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PriceFile:
    """One ticker in the cache or the CSV folder; ``problem`` is set when the file cannot be read."""

    ticker: str
    first: str | None
    last: str | None
    rows: int | None
    source: str
    problem: str | None = None


@dataclass(frozen=True)
class PriceStatus:
    """The price cache and CSV folder, ticker by ticker."""

    cache_dir: Path
    cached: tuple[PriceFile, ...]
    csv_dir: Path | None
    csv: tuple[PriceFile, ...] = field(default=())

    @property
    def problems(self) -> list[PriceFile]:
        return [f for f in (*self.cached, *self.csv) if f.problem]


def price_status(data_dir: str | None = None) -> PriceStatus:
    """List the cache and the CSV folder (``data_dir`` or ``THESES_DATA_DIR``) with each ticker's dates."""
    from theses.data import CsvProvider, DataError, PriceCache, default_data_dir, read_price_csv

    cache = PriceCache()
    cached = []
    for ticker in cache.tickers():
        try:
            entry = cache.read(ticker)
        except DataError as exc:
            cached.append(PriceFile(ticker, None, None, None, "cache", str(exc)))
            continue
        if entry is None or entry.bars.empty:
            continue
        cached.append(PriceFile(ticker, f"{entry.first.date()}", f"{entry.last.date()}", len(entry.bars),
                                f"cache ({entry.source} {entry.fetched_at[:10]})"))
    folder = default_data_dir(data_dir)
    csv_files = []
    if folder is not None:
        csv = CsvProvider(folder)
        for ticker in csv.tickers():
            try:
                bars = read_price_csv(csv.path(ticker))
            except DataError as exc:
                csv_files.append(PriceFile(ticker, None, None, None, "csv", str(exc)))
                continue
            csv_files.append(PriceFile(ticker, f"{bars.index[0].date()}", f"{bars.index[-1].date()}", len(bars), "csv"))
        folder = csv.directory
    return PriceStatus(cache.directory, tuple(cached), folder, tuple(csv_files))


@dataclass(frozen=True)
class FetchRun:
    """What ``fetch`` did per ticker: ``cached``, ``fetched`` or ``updated``, and the cached range."""

    notes: tuple[str, ...]
    status: dict[str, str]
    files: tuple[PriceFile, ...]
    paths: dict[str, Path]


def fetch(
    tickers: Sequence[str], *, start: object = "2015-01-01", end: object = None,
    progress: Callable[[str], None] | None = None,
) -> FetchRun:
    """Download daily adjusted prices from Yahoo Finance into the cache (only missing dates)."""
    from theses.data import PriceCache, YahooProvider, normalize_tickers, resolve_aliases

    names, notes = resolve_aliases(normalize_tickers(list(tickers)))
    cache = PriceCache()
    status = cache.update(names, YahooProvider(), start, end, progress=progress)
    files, paths = [], {}
    for name in names:
        entry = cache.read(name)
        if entry is None:
            continue
        files.append(PriceFile(name, f"{entry.first.date()}", f"{entry.last.date()}", len(entry.bars), status[name]))
        paths[name] = cache.path(name)
    return FetchRun(tuple(notes), status, tuple(files), paths)
