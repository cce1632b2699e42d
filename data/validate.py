"""Checks shared by every price source: ticker names, date ranges and the OHLCV frame ("bars").

A *bars* frame is what a provider returns for one ticker: a tz-naive ``DatetimeIndex`` named ``date``
(ascending, unique) and the float64 columns ``Open, High, Low, Close, Volume``. ``Close`` is the
total-return adjusted close (yfinance ``auto_adjust=True`` convention); ``Open/High/Low`` are scaled by
the same factor and may be NaN where a source has no intraday prices; ``Volume`` may be NaN.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from theses.data.errors import DataError

BAR_COLUMNS: tuple[str, ...] = ("Open", "High", "Low", "Close", "Volume")
PRICE_COLUMNS: tuple[str, ...] = ("Open", "High", "Low", "Close")

# Bounds of what a daily price file can hold. Outside them a value is a typo or a damaged file (a year 9999,
# a close of 1e308 that overflows every return), never a quote; inside them every return and ratio the
# engine computes stays finite.
FIRST_PRICE_DATE = pd.Timestamp("1900-01-01")
#: Days after today a bar may be dated (time zones; a bar is never from the future).
FUTURE_SLACK_DAYS = 7
MIN_PRICE = 1e-6
MAX_PRICE = 1e9
MAX_VOLUME = 1e15


def last_price_date() -> pd.Timestamp:
    """The latest date a bar may carry: today plus :data:`FUTURE_SLACK_DAYS`."""
    return pd.Timestamp.now().normalize() + pd.Timedelta(days=FUTURE_SLACK_DAYS)


def date_bounds_problem(day: pd.Timestamp) -> str:
    """Why ``day`` is outside the dates a price file may hold (for the message)."""
    if day < FIRST_PRICE_DATE:
        return f"date {day.date()} is before {FIRST_PRICE_DATE.date()}; fix the year or remove the row"
    return f"date {day.date()} is in the future (after {last_price_date().date()}); fix the year or remove the row"


def out_of_date_bounds(index: pd.DatetimeIndex) -> np.ndarray:
    """Per row, whether its date lies outside ``[FIRST_PRICE_DATE, last_price_date()]``."""
    return np.asarray((index < FIRST_PRICE_DATE) | (index > last_price_date()), dtype=bool)


def price_bounds_problem(name: str, value: float) -> str:
    """Why a price outside ``[MIN_PRICE, MAX_PRICE]`` is refused (for the message)."""
    return (f"{name} is {value:g}, outside {MIN_PRICE:g} to {MAX_PRICE:g}; "
            "fix the value (a typo or a damaged file) or remove the row")

# Letters, digits and the punctuation Yahoo uses in symbols (BRK-B, ^GSPC, EURUSD=X, RDS.A).
_TICKER_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-=^]{0,19}|\^[A-Z0-9.\-=]{1,19}")


def normalize_ticker(ticker: str) -> str:
    """Upper-case, strip and check one ticker symbol.

    Raises
    ------
    DataError
        When the symbol is empty or holds characters no exchange symbol has (it also becomes a file name).
    """
    name = str(ticker).strip().upper()
    if not _TICKER_RE.fullmatch(name):
        raise DataError(
            f"ticker {ticker!r} is not a valid symbol: use letters, digits and . - = ^ only (e.g. SPY, BRK-B)"
        )
    return name


def normalize_tickers(tickers: str | Iterable[str]) -> list[str]:
    """Tickers as a de-duplicated, upper-case list in the given order.

    A single string may hold several symbols separated by commas or spaces (``"SPY, QQQ"``).
    """
    items = re.split(r"[,\s]+", tickers) if isinstance(tickers, str) else list(tickers)
    names = [normalize_ticker(item) for item in items if str(item).strip()]
    if not names:
        raise DataError("no tickers given: name at least one ticker, e.g. SPY")
    return list(dict.fromkeys(names))


def parse_date(value: object, what: str) -> pd.Timestamp | None:
    """A date argument (``None``, ``"2020-01-31"``, ``datetime``, ``Timestamp``) as a tz-naive midnight Timestamp.

    An empty string is an error, not "no date": ``--start ""`` is a mistake (an unset shell variable), and
    reading it as "all history" would silently run another window than the one meant.
    """
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        raise DataError(f"the {what} date is empty: write it as YYYY-MM-DD (e.g. --{what} 2020-01-02), "
                        "or leave the option out for no limit")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise DataError(f"{what} date {value!r} is not a date: write it as YYYY-MM-DD")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


def check_range(start: object, end: object) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Parse ``start``/``end`` and reject an end before the start."""
    start_ts, end_ts = parse_date(start, "start"), parse_date(end, "end")
    if start_ts is not None and end_ts is not None and end_ts < start_ts:
        raise DataError(
            f"end date {end_ts.date()} is before start date {start_ts.date()}: swap them or fix the range"
        )
    return start_ts, end_ts


def clip_range(bars: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.DataFrame:
    """Rows of ``bars`` with ``start <= date <= end`` (both inclusive, ``None`` = open)."""
    if start is None and end is None:
        return bars
    return bars.loc[start:end]


def scale_by_adj_close(bars: pd.DataFrame, adj_close: pd.Series) -> pd.DataFrame:
    """Adjust OHLC the way yfinance ``auto_adjust=True`` does: every price times ``AdjClose / Close``.

    ``Close`` becomes ``adj_close``; Volume is left as traded.
    """
    factor = adj_close / bars["Close"]
    out = bars.copy()
    for column in ("Open", "High", "Low"):
        out[column] = bars[column] * factor
    out["Close"] = adj_close.astype("float64")
    return out


def empty_bars() -> pd.DataFrame:
    """A bars frame with no rows."""
    index = pd.DatetimeIndex([], name="date")
    return pd.DataFrame({column: pd.Series(dtype="float64") for column in BAR_COLUMNS}, index=index)


def check_bars(bars: pd.DataFrame, label: str) -> pd.DataFrame:
    """Check a bars frame built from a remote source; raise a DataError naming ``label`` and the date.

    ``label`` says where the frame came from (e.g. ``"Yahoo Finance META"``). The frame must already
    have a DatetimeIndex; rows are sorted, a repeated date keeps its last row (yfinance repeats the
    newest bar during trading hours) and rows without a close are dropped (alignment NaNs).
    """
    out = bars.reindex(columns=list(BAR_COLUMNS)).astype("float64")
    out = out[~out.index.duplicated(keep="last")].sort_index()
    out = out[out["Close"].notna()]
    prices = out[list(PRICE_COLUMNS)].to_numpy()
    bad = ~np.isfinite(prices) & ~np.isnan(prices) | (prices <= 0)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"{label}: {PRICE_COLUMNS[col].lower()} on {out.index[row].date()} is {prices[row, col]} "
            "(prices must be positive numbers); retry later or use --data-dir DIR with a corrected CSV"
        )
    out.index.name = "date"
    return out
