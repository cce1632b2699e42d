"""Prices from Yahoo Finance through ``yfinance.download``.

yfinance changed its defaults (``auto_adjust``), column layouts and time zones more than once, so every
argument that matters is passed explicitly and the result is normalised here:

* ``auto_adjust=True``: Close is the total-return adjusted close, O/H/L scaled by the same factor.
* columns come as a MultiIndex ``(field, ticker)`` (``group_by="column"``, the default), ``(ticker,
  field)`` (``group_by="ticker"``) or flat for one ticker in old versions; all three are accepted.
* the index may be tz-aware (exchange time zone); it becomes tz-naive local dates.

``download`` does not raise when a ticker fails: it logs the error and returns NaN columns (or an
empty frame). Both an exception and a ticker without a single close count as a failed attempt and are
retried with exponential backoff; what still fails ends in one DataError line. A rate limit
(``YFRateLimitError``, "Too Many Requests", raised or logged) waits longer (``rate_limit_backoff``) and says so;
a symbol Yahoo does not know says so and suggests Yahoo's spelling (``BRK.B`` -> ``BRK-B``).

Every argument passed to ``download`` exists from yfinance 0.2.48 on (``multi_level_index``, the newest, came
in 0.2.48), the floor in ``pyproject.toml``.
"""

from __future__ import annotations

import logging
import re
import socket
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from theses.data.aliases import resolve_aliases
from theses.data.errors import DataError
from theses.data.validate import BAR_COLUMNS, check_bars, check_range, normalize_tickers, scale_by_adj_close

_FIELDS = {"open": "Open", "high": "High", "low": "Low", "close": "Close", "adj close": "Adj Close",
           "volume": "Volume"}
_ONE_DAY = pd.Timedelta(days=1)
# Words in yfinance's logged errors that mean "Yahoo answered: there is no such data".
_NO_DATA_WORDS = ("delisted", "no price data", "no data found", "not found", "no timezone", "404")
# ... and that mean "Yahoo refuses: too many requests from this address".
_RATE_LIMIT_WORDS = ("yfratelimiterror", "too many requests", "rate limited", "rate limit", "429")
_SHARE_CLASS = re.compile(r"^([A-Z]{1,5})[./ ]([A-Z])$")


def is_rate_limit(reason: str) -> bool:
    """Whether a failure reason (an exception's text or yfinance's logged error) is Yahoo's rate limit."""
    text = reason.lower()
    return any(word in text for word in _RATE_LIMIT_WORDS)


def yahoo_spelling(name: str) -> str | None:
    """Yahoo's spelling of a symbol written another way (``BRK.B``/``BRK/B``/``BRK B`` -> ``BRK-B``), else None."""
    cleaned = name.strip().upper().lstrip("$").rstrip("*")
    match = _SHARE_CLASS.match(cleaned)
    suggestion = f"{match.group(1)}-{match.group(2)}" if match else cleaned
    return suggestion if suggestion != name else None


class YahooProvider:
    """Download daily bars from Yahoo Finance.

    Parameters
    ----------
    batch_size
        Tickers per ``yfinance.download`` call.
    timeout
        Seconds yfinance waits for each HTTP response.
    retries
        Extra attempts after a failed one (an exception, or tickers that came back empty).
    backoff
        Seconds before the first retry; doubled before each further one.
    rate_limit_backoff
        Seconds before the first retry after Yahoo's rate limit (``YFRateLimitError``); doubled likewise.
    threads
        Passed to ``yfinance.download`` (parallel requests within a batch).
    sleep
        The pause function (tests pass a no-op so retries are instant).
    is_online
        Called after a failure to tell "no network" from "no such ticker" (yfinance reports both as
        missing data); default: whether Yahoo's host name resolves.
    """

    source = "yahoo"

    def __init__(
        self,
        *,
        batch_size: int = 20,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 1.0,
        rate_limit_backoff: float = 20.0,
        threads: bool = True,
        sleep: Callable[[float], Any] = time.sleep,
        is_online: Callable[[], bool] | None = None,
    ) -> None:
        if batch_size < 1 or retries < 0 or backoff < 0 or timeout <= 0:
            raise ValueError("batch_size >= 1, retries >= 0, backoff >= 0 and timeout > 0 are required")
        self.batch_size = batch_size
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.rate_limit_backoff = rate_limit_backoff
        self.threads = threads
        self.sleep = sleep
        self.is_online = is_online if is_online is not None else yahoo_resolves
        self.notes: list[str] = []

    def fetch(
        self,
        tickers: str | Iterable[str],
        start: object = None,
        end: object = None,
        progress: Callable[[str], Any] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Bars of every ticker between ``start`` and ``end`` (both inclusive).

        Renamed tickers (``FB``) are downloaded under their current symbol (``META``), keyed by it, and a
        note is added to ``self.notes``. ``start=None`` asks for the whole history.

        Parameters
        ----------
        progress
            Called with each ticker once its batch is done.

        Raises
        ------
        DataError
            One line naming every ticker that could not be downloaded and what to do instead.
        """
        found, failed = self.fetch_partial(tickers, start, end, progress)
        if failed:
            raise DataError(self.describe_failure(failed))
        return found

    def describe_failure(self, failed: dict[str, str]) -> str:
        """The one-line DataError message for tickers that could not be downloaded."""
        return describe_failure(failed, online=self.is_online())

    def fetch_partial(
        self,
        tickers: str | Iterable[str],
        start: object = None,
        end: object = None,
        progress: Callable[[str], Any] | None = None,
    ) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
        """Like :meth:`fetch` but returns ``(bars by ticker, reason by failed ticker)`` instead of raising."""
        names, notes = resolve_aliases(normalize_tickers(tickers))
        self.notes.extend(notes)
        start_ts, end_ts = check_range(start, end)
        found: dict[str, pd.DataFrame] = {}
        failed: dict[str, str] = {}
        for first in range(0, len(names), self.batch_size):
            batch = names[first : first + self.batch_size]
            batch_found, batch_failed = self._fetch_batch(batch, start_ts, end_ts)
            found.update(batch_found)
            failed.update(batch_failed)
            if progress is not None:
                for name in batch:
                    progress(name)
        return found, failed

    def _fetch_batch(
        self, batch: list[str], start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
        """Download one batch, retrying the tickers that failed, with exponential backoff."""
        found: dict[str, pd.DataFrame] = {}
        reasons: dict[str, str] = {}
        pending = list(batch)
        for attempt in range(self.retries + 1):
            if attempt:
                limited = any(is_rate_limit(reasons.get(name, "")) for name in pending)
                if not limited and not self.is_online():
                    break  # waiting will not bring the network back within seconds
                wait = self.rate_limit_backoff if limited else self.backoff
                self.sleep(wait * 2 ** (attempt - 1))
            try:
                raw, logged = self._download(pending, start, end)
            except Exception as exc:  # yfinance/requests/curl raise many types; all mean "try again"
                reasons.update(dict.fromkeys(pending, _one_line(f"{type(exc).__name__}: {exc}")))
                continue
            frames = frames_by_ticker(raw, pending)
            for name in pending:
                bars = frames.get(name)
                if bars is not None:
                    bars = check_bars(bars, f"Yahoo Finance {name}")
                    if start is not None or end is not None:
                        bars = bars.loc[start:end]
                if bars is not None and len(bars):
                    found[name] = bars
                    reasons.pop(name, None)
                else:
                    reasons[name] = logged.get(name, "no rows returned")
            pending = [name for name in pending if name not in found]
            if not pending:
                break
        return found, {name: reasons[name] for name in pending}

    def _download(
        self, batch: list[str], start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> tuple[pd.DataFrame | None, dict[str, str]]:
        """One ``yfinance.download`` call; returns the raw frame and the per-ticker errors yfinance logged."""
        import yfinance  # heavy import (curl_cffi, protobuf): only when a download is needed

        window: dict[str, Any] = {"period": "max"} if start is None and end is None else {
            "start": None if start is None else start.strftime("%Y-%m-%d"),
            # yfinance's end is exclusive; ours is inclusive.
            "end": None if end is None else (end + _ONE_DAY).strftime("%Y-%m-%d"),
        }
        with _captured_yfinance_errors() as logged, warnings.catch_warnings():
            # yfinance trips pandas deprecation warnings; they are not the user's business.
            warnings.simplefilter("ignore")
            raw = yfinance.download(
                batch if len(batch) > 1 else batch[0],
                interval="1d",
                auto_adjust=True,
                actions=False,
                progress=False,
                threads=self.threads,
                timeout=self.timeout,
                group_by="column",
                multi_level_index=True,
                **window,
            )
        return raw, _errors_by_ticker(logged)

    def prices(self, tickers: str | Iterable[str], start: object = None, end: object = None) -> pd.DataFrame:
        """Adjusted closes, one column per ticker (union of dates, NaN where a ticker has no row)."""
        found = self.fetch(tickers, start, end)
        close = pd.concat({name: bars["Close"] for name, bars in found.items()}, axis=1).sort_index()
        close.index.name = "date"
        return close


def frames_by_ticker(raw: pd.DataFrame | None, tickers: list[str]) -> dict[str, pd.DataFrame]:
    """Split a ``yfinance.download`` result into one bars frame per ticker.

    Accepts columns ``(field, ticker)``, ``(ticker, field)`` or flat fields (only when one ticker was
    asked for). Field names are matched case-insensitively; ``Adj Close``, when present (a result made
    with ``auto_adjust=False``), adjusts the prices. The index becomes tz-naive dates named ``date``.
    Tickers absent from the frame are absent from the result.
    """
    if raw is None or raw.empty:
        return {}
    frames: dict[str, pd.DataFrame] = {}
    columns = raw.columns
    if isinstance(columns, pd.MultiIndex):
        field_level = _field_level(columns)
        ticker_level = 1 - field_level
        for ticker in columns.get_level_values(ticker_level).unique():
            frames[str(ticker).upper()] = raw.xs(ticker, axis=1, level=ticker_level)
    elif len(tickers) == 1:
        frames[tickers[0]] = raw
    else:
        raise DataError(
            f"Yahoo Finance returned flat columns {list(columns)[:6]} for {len(tickers)} tickers; "
            "upgrade yfinance (pip install -U yfinance) or fetch one ticker at a time"
        )
    return {ticker: _normalise(frame) for ticker, frame in frames.items() if ticker in tickers}


def _field_level(columns: pd.MultiIndex) -> int:
    """Which of the two column levels holds the field names (Open, Close, ...)."""
    if columns.nlevels != 2:
        raise DataError(f"Yahoo Finance returned {columns.nlevels} column levels; expected 2 (field, ticker)")
    hits = [
        sum(str(value).lower() in _FIELDS for value in columns.get_level_values(level).unique())
        for level in (0, 1)
    ]
    return 0 if hits[0] >= hits[1] else 1


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical field names, float64, tz-naive midnight dates; rows without a close dropped."""
    renamed = frame.rename(columns=lambda name: _FIELDS.get(str(name).lower(), str(name)))
    renamed = renamed.loc[:, ~renamed.columns.duplicated()]
    if "Close" not in renamed.columns:
        return renamed.iloc[0:0]
    index = pd.DatetimeIndex(renamed.index)
    if index.tz is not None:
        # Daily bars are stamped at local midnight of the exchange; keep that calendar date.
        index = index.tz_localize(None)
    bars = renamed.reindex(columns=[*BAR_COLUMNS, "Adj Close"]).astype("float64")
    bars.index = index.normalize().rename("date")
    bars = bars[bars["Close"].notna()]
    if bars["Adj Close"].notna().any():
        bars = scale_by_adj_close(bars, bars["Adj Close"].fillna(bars["Close"]))
    return bars[list(BAR_COLUMNS)]


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _captured_yfinance_errors() -> Iterator[list[str]]:
    """Collect what yfinance logs during a download instead of letting it print to stderr.

    yfinance reports failed tickers through its logger (``['XYZ']: possibly delisted; ...``); printed,
    that would break the one-line error rule, so the messages are kept for our own error line.
    """
    logger = logging.getLogger("yfinance")
    handler = _ListHandler()
    saved = (logger.handlers[:], logger.propagate)
    logger.handlers = [handler]
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.handlers, logger.propagate = saved


def _errors_by_ticker(messages: list[str]) -> dict[str, str]:
    """``["['A', 'B']: reason", ...]`` -> ``{"A": "reason", "B": "reason"}``."""
    errors: dict[str, str] = {}
    for message in messages:
        match = re.match(r"\s*\[([^\]]*)\]:\s*(.*)", message, flags=re.S)
        if match:
            for name in re.findall(r"[\w.\-=^]+", match.group(1)):
                errors[name.upper()] = _one_line(match.group(2))
    return errors


def _one_line(text: str, limit: int = 160) -> str:
    """Collapse whitespace and cut long exception texts so an error stays one readable line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def yahoo_resolves(host: str = "query2.finance.yahoo.com") -> bool:
    """Whether Yahoo Finance's API host name resolves (a cheap "are we online" probe)."""
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def describe_failure(failed: dict[str, str], online: bool = False) -> str:
    """The one-line DataError message for tickers Yahoo Finance did not deliver.

    Offline, yfinance reports every ticker as "possibly delisted", so its reason is trusted only when
    ``online`` is true.
    """
    names = ", ".join(sorted(failed))
    if any(is_rate_limit(reason) for reason in failed.values()):
        return (
            f"could not download {names}: Yahoo Finance is rate-limiting this address (YFRateLimitError, too "
            "many requests); wait a few minutes and retry, or use --data-dir DIR with CSV files"
        )
    no_data = sorted(name for name, reason in failed.items() if any(w in reason.lower() for w in _NO_DATA_WORDS))
    spelled = {name: yahoo_spelling(name) for name in sorted(failed)}
    hint = "; ".join(f"did you mean {good}? (Yahoo writes share classes with a dash)" if "-" in good
                     else f"did you mean {good}?" for good in spelled.values() if good)
    if online and no_data and len(no_data) == len(failed):
        reason = failed[no_data[0]]
        return (
            f"Yahoo Finance does not know {names} (unknown or delisted symbol; yfinance says: {reason})"
            f"{': ' + hint if hint else ''}; check the symbol on finance.yahoo.com, or use --data-dir DIR with "
            "CSV files"
        )
    return (
        f"could not download {names} from Yahoo Finance (no network?): use --data-dir DIR with CSV files, "
        "or retry when online"
    )
