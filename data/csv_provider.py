"""Prices from a directory of Yahoo-style CSV files, one ``TICKER.csv`` per ticker.

Format: ``Date,Open,High,Low,Close[,Adj Close],Volume`` with ISO dates (``2015-01-02``; a time and a UTC
offset after the date, as ``DataFrame.to_csv`` writes them for yfinance frames, are ignored). Only
``Date`` and ``Close`` are required; blank Open/High/Low/Volume cells are allowed. When ``Adj Close`` is
present every price is scaled by ``Adj Close / Close`` (yfinance ``auto_adjust=True`` convention).

The whole file is checked (whatever range is asked for), column by column with pandas; a bad file
raises a DataError naming the file, the 1-based line (the header is line 1) and the problem.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from theses.data.errors import DataError
from theses.data.validate import (
    BAR_COLUMNS,
    MAX_PRICE,
    MAX_VOLUME,
    MIN_PRICE,
    PRICE_COLUMNS,
    check_range,
    clip_range,
    date_bounds_problem,
    normalize_ticker,
    normalize_tickers,
    out_of_date_bounds,
    price_bounds_problem,
    scale_by_adj_close,
)

EXPECTED_HEADER = "Date,Open,High,Low,Close[,Adj Close],Volume"
_MISSING_TOKENS = ("", "nan", "NaN", "NAN", "na", "NA", "n/a", "N/A", "null", "NULL", "None", "none")
_DATE_RE = r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_HEADER_LINE = 1
_FIRST_DATA_LINE = 2
#: A daily file of a century of bars is ~3 MB; anything this large is not a price file (or not one ticker's).
MAX_FILE_BYTES = 200 * 2**20


def _column_key(name: str) -> str:
    """Header names compared without case, spaces or underscores (``Adj Close`` = ``adj_close``)."""
    return re.sub(r"[\s_]+", "", str(name)).lower()


_KNOWN_COLUMNS = {_column_key(name): name for name in (*BAR_COLUMNS, "Adj Close", "Date")}


class CsvProvider:
    """Read and check ``TICKER.csv`` files in one directory.

    Parameters
    ----------
    directory
        The folder holding the files (e.g. ``../shared/data/prices``).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()
        if not self.directory.is_dir():
            raise DataError(
                f"price directory {self.directory} does not exist: pass --data-dir DIR (or set "
                "THESES_DATA_DIR) to a folder of TICKER.csv files"
            )
        self.directory = self.directory.resolve()

    @property
    def source(self) -> str:
        """The source tag used in ``PriceData.source``: ``csv:<absolute directory>``."""
        return f"csv:{self.directory}"

    def _files(self) -> dict[str, Path]:
        """Ticker (upper-case file stem) -> path, for every ``*.csv`` in the directory."""
        files: dict[str, Path] = {}
        for path in sorted(self.directory.iterdir()):
            if path.suffix.lower() == ".csv" and path.is_file():
                files.setdefault(path.stem.upper(), path)
        return files

    def tickers(self) -> list[str]:
        """Tickers that have a file, sorted."""
        return sorted(self._files())

    def has(self, ticker: str) -> bool:
        """Whether ``TICKER.csv`` exists (the file name's case does not matter)."""
        return normalize_ticker(ticker) in self._files()

    def path(self, ticker: str) -> Path:
        """The file of ``ticker``; a DataError listing a few available tickers when there is none."""
        name = normalize_ticker(ticker)
        files = self._files()
        if name not in files:
            available = sorted(files)
            shown = ", ".join(available[:8]) + (", ..." if len(available) > 8 else "")
            listing = f"available: {shown} ({len(available)} files)" if available else "the folder has no CSV files"
            raise DataError(f"no price file for {name} in {self.directory} (expected {name}.csv); {listing}")
        return files[name]

    def bars(self, ticker: str, start: object = None, end: object = None) -> pd.DataFrame:
        """Checked, adjusted OHLCV of one ticker between ``start`` and ``end`` (inclusive).

        Returns
        -------
        pandas.DataFrame
            Index ``date`` (tz-naive, ascending, unique); float64 columns ``Open, High, Low, Close, Volume``.
        """
        start_ts, end_ts = check_range(start, end)
        return clip_range(read_price_csv(self.path(ticker)), start_ts, end_ts)

    def fetch(
        self, tickers: str | Iterable[str], start: object = None, end: object = None
    ) -> dict[str, pd.DataFrame]:
        """Bars of several tickers, keyed by upper-case ticker (see :meth:`bars`)."""
        return {name: self.bars(name, start, end) for name in normalize_tickers(tickers)}

    def has_open(self, ticker: str) -> bool:
        """Whether the ticker's file has an Open column."""
        return "open" in {_column_key(cell) for cell in _header_cells(self.path(ticker))}


def _fail(path: Path, line: int | None, problem: str) -> DataError:
    where = f"{path} line {line}" if line is not None else str(path)
    return DataError(f"{where}: {problem}")


def _first_line(mask: np.ndarray) -> int:
    """1-based file line of the first True row of a per-row mask (the header is line 1)."""
    return int(np.flatnonzero(mask)[0]) + _FIRST_DATA_LINE


def _header_cells(path: Path) -> list[str]:
    """The cells of the header line; a DataError when the file cannot be opened or is not UTF-8 text."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _fail(path, None, f"is {size / 2**20:,.0f} MB, more than a daily price file can be "
                                    f"({MAX_FILE_BYTES // 2**20} MB); give one ticker's daily bars")
        with path.open(encoding="utf-8-sig", newline="") as handle:
            line = handle.readline(1 << 20)
    except UnicodeDecodeError:
        raise _fail(path, None, "is not a UTF-8 text file; save it as CSV text") from None
    except OSError as exc:
        raise _fail(path, None, f"cannot be read ({exc.strerror or exc}); check the file's permissions") from None
    return next(csv.reader([line]), [])


def _check_header(path: Path) -> None:
    """Refuse a header that names a column twice (pandas would silently rename the second ``Close.1``)."""
    seen: set[str] = set()
    for cell in _header_cells(path):
        key = _column_key(cell)
        if key in seen and key:
            raise _fail(path, _HEADER_LINE, f"column {_KNOWN_COLUMNS.get(key, cell.strip())} appears twice; keep one")
        seen.add(key)


def _read_cells(path: Path) -> pd.DataFrame:
    """The file with numeric columns parsed where every cell is a number or blank, canonical column names.

    A column holding any other text stays ``object`` and is checked cell by cell in ``_parse_numbers``
    (reading everything as text first would triple the time spent on good files).
    """
    _check_header(path)
    try:
        raw = pd.read_csv(
            path,
            na_values=list(_MISSING_TOKENS),
            keep_default_na=False,
            skip_blank_lines=True,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        raise _fail(path, None, f"the file is empty; expected a header {EXPECTED_HEADER} and rows") from None
    except pd.errors.ParserError as exc:
        # pandas says e.g. "Expected 6 fields in line 5, saw 7" (1-based file lines).
        found = re.search(r"line (\d+), saw (\d+)", str(exc))
        if not found:
            raise _fail(path, None, f"cannot be parsed as CSV ({str(exc).strip()})") from None
        raise _fail(
            path,
            int(found.group(1)),
            f"{found.group(2)} fields but the header has fewer; remove the extra commas",
        ) from None
    except UnicodeDecodeError:
        raise _fail(path, None, "is not a UTF-8 text file; save it as CSV text") from None
    except OSError as exc:
        raise _fail(path, None, f"cannot be read ({exc.strerror or exc}); check the file's permissions") from None
    raw.columns = [_KNOWN_COLUMNS.get(_column_key(column), str(column).strip()) for column in raw.columns]
    header = ",".join(raw.columns)
    for required in ("Date", "Close"):
        if required not in raw.columns:
            raise _fail(
                path, _HEADER_LINE, f"no {required} column (header is {header}); expected {EXPECTED_HEADER}"
            )
    duplicated = raw.columns[raw.columns.duplicated()]
    if len(duplicated):
        raise _fail(path, _HEADER_LINE, f"column {duplicated[0]} appears twice; keep one")
    if raw.empty:
        raise _fail(path, None, f"the file is empty (a header and no rows); add rows {EXPECTED_HEADER}")
    return raw


def _parse_dates(path: Path, cells: pd.Series) -> pd.DatetimeIndex:
    text = cells.astype(object).where(cells.notna(), "").astype(str)  # any dtype (all blank: float)
    # Fast path: plain YYYY-MM-DD everywhere (the format is exact, so nothing else slips through).
    dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():  # times/offsets after the date are allowed; anything else is an error
        text = text.str.strip()
        well_formed = text.str.fullmatch(_DATE_RE).to_numpy(dtype=bool)
        dates = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        bad = ~well_formed | dates.isna().to_numpy()
    if bad.any():
        line = _first_line(bad)
        raise _fail(path, line, f"date {text.iloc[line - 2]!r} is not a date; write dates as YYYY-MM-DD")
    index = pd.DatetimeIndex(dates, name="date")
    outside = out_of_date_bounds(index)
    if outside.any():
        line = _first_line(outside)
        raise _fail(path, line, date_bounds_problem(index[line - 2]))
    step = np.diff(index.asi8)
    if (step <= 0).any():
        position = int(np.flatnonzero(step <= 0)[0]) + 1
        line = position + _FIRST_DATA_LINE
        day, previous = index[position].date(), index[position - 1].date()
        if step[position - 1] == 0:
            raise _fail(path, line, f"date {day} is repeated; remove the duplicate row")
        raise _fail(
            path, line, f"date {day} comes after {previous} on the line above; sort the rows by date (oldest first)"
        )
    return index


def _parse_numbers(path: Path, raw: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as float64; blank/NaN cells become NaN, anything else non-numeric is an error."""
    cells = raw[column]
    if pd.api.types.is_numeric_dtype(cells.dtype):
        values = cells.to_numpy(dtype="float64")
        text = None
    else:
        text = cells.fillna("").astype(str).str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
    bad = np.isinf(values)
    if text is not None:
        bad |= np.isnan(values) & ~text.isin(_MISSING_TOKENS).to_numpy()
    if bad.any():
        line = _first_line(bad)
        shown = text.iloc[line - 2] if text is not None else cells.iloc[line - 2]
        raise _fail(path, line, f"{column} value {str(shown)!r} is not a number; fix or remove the row")
    return values


def _check_prices(path: Path, name: str, values: np.ndarray, required: bool) -> None:
    """Prices must be positive; a required column (Close, Adj Close) may not be blank or NaN."""
    if required and np.isnan(values).any():
        line = _first_line(np.isnan(values))
        raise _fail(path, line, f"{name} is missing (blank or NaN); fill in the price or remove the row")
    nonpositive = values <= 0
    if nonpositive.any():
        line = _first_line(nonpositive)
        raise _fail(
            path, line, f"{name} is {values[line - 2]:g}; prices must be > 0 (fix the value or remove the row)"
        )
    outside = (values < MIN_PRICE) | (values > MAX_PRICE)
    if outside.any():
        line = _first_line(outside)
        raise _fail(path, line, price_bounds_problem(name, values[line - 2]))


def read_price_csv(path: str | Path) -> pd.DataFrame:
    """Read, check and adjust one Yahoo-style price CSV.

    Parameters
    ----------
    path
        The ``TICKER.csv`` file.

    Returns
    -------
    pandas.DataFrame
        Bars: index ``date`` (tz-naive, ascending, unique); float64 ``Open, High, Low, Close, Volume``,
        prices adjusted by ``Adj Close / Close`` when that column exists.

    Raises
    ------
    DataError
        Naming the file, the line and the problem: empty file, missing Date/Close column, bad or
        unsorted or repeated date, non-numeric value, blank/NaN close, zero or negative price.
    """
    path = Path(path)
    raw = _read_cells(path)
    index = _parse_dates(path, raw["Date"])
    columns: dict[str, np.ndarray] = {}
    for column in (*BAR_COLUMNS, "Adj Close"):
        if column in raw.columns:
            columns[column] = _parse_numbers(path, raw, column)
        elif column != "Adj Close":
            columns[column] = np.full(len(raw), np.nan)
    for column in PRICE_COLUMNS:
        _check_prices(path, column, columns[column], required=column == "Close")
    if "Adj Close" in columns:
        _check_prices(path, "Adj Close", columns["Adj Close"], required=True)
    volume = columns["Volume"]
    if (volume < 0).any():
        line = _first_line(volume < 0)
        raise _fail(path, line, f"Volume is {volume[line - 2]:g}; volume cannot be negative")
    if (volume > MAX_VOLUME).any():
        line = _first_line(volume > MAX_VOLUME)
        raise _fail(path, line, f"Volume is {volume[line - 2]:g}, more than {MAX_VOLUME:g}; fix the value")
    bars = pd.DataFrame({column: columns[column] for column in BAR_COLUMNS}, index=index)
    if "Adj Close" in columns:
        bars = scale_by_adj_close(bars, pd.Series(columns["Adj Close"], index=index))
    return bars
