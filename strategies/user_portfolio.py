"""User-defined portfolios from TOML text, so a book can be backtested without writing Python.

A portfolio file looks like::

    name = "my-ai-book"
    description = "Index core with an AI tilt"     # optional
    rebalance = "monthly"                          # none|daily|weekly|monthly|quarterly|yearly
    band_abs = 0.05                                # optional drift bands
    band_rel = 0.25
    benchmark = "SPY"                              # optional, default SPY
    missing_policy = "cash"                        # optional: cash|renormalize

    [weights]                                      # fractions of equity; negative = short
    SPY = 0.6
    META = 0.3
    "BRK-B" = 0.2
    F = -0.1

    [trend_filter]                                 # optional
    basket = ["META", "MSFT"]                      # default: the long tickers
    window = 200                                   # days in the simple moving average
    fallback = "SPY"                               # ticker held at 100% when off, or "cash" (default)

    [costs]                                        # optional, bps
    fees_bps = 1.0
    slippage_bps = 2.0
    borrow_bps = 50.0

    [sleeves]                                      # optional: named parts of the book, for attribution
    core = ["SPY", "BRK-B"]
    ai = ["META"]                                  # tickers in no sleeve are reported as "other"

The trend filter works like ``bubble_watch``: an equal-weight daily-return index of the basket, "on"
when it is strictly above its trailing average (closes up to t only); while on the book holds the
weights, while off (and before ``window`` observations exist) it holds the fallback. A drift band (e.g.
``band_abs = 0.25``) makes a switch trade on the next bar instead of at the next calendar rebalance.

:func:`strategy_from_toml` is pure: the caller reads the file and passes its text and name. Every
validation error is one line naming the file, the line and the key.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from theses.strategies.base import MISSING_POLICIES, OTHER_SLEEVE, REBALANCE_RULES, Strategy
from theses.strategies.combinators import Rule, StaticBook, TrendFilter
from theses.strategies.errors import StrategyError
from theses.util import TomlLocator, did_you_mean, setting_problem, unknown_key

TICKER_RE = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
#: Exposure limits, the same as the engine's defaults (BacktestConfig.max_gross / max_net).
MAX_GROSS = 3.0
MAX_NET = 1.5

#: Longest portfolio name (a column header in tables and reports).
MAX_NAME_LENGTH = 80

TOP_KEYS = (
    "name",
    "description",
    "weights",
    "rebalance",
    "band_abs",
    "band_rel",
    "trend_filter",
    "costs",
    "missing_policy",
    "benchmark",
    "sleeves",
)
TREND_KEYS = ("basket", "window", "fallback")
COST_KEYS = ("fees_bps", "slippage_bps", "borrow_bps")


@dataclass(frozen=True)
class TrendFilterParams:
    """The optional trend switch of a user portfolio.

    Attributes
    ----------
    basket : tuple of str
        Tickers of the equal-weight index whose trend is watched.
    window : int
        Days in the simple moving average.
    fallback : str
        Ticker held at 100% while the trend is off, or ``"cash"`` for all cash.
    """

    basket: tuple[str, ...]
    window: int = 200
    fallback: str = "cash"


@dataclass(frozen=True)
class UserPortfolioParams:
    """Parameters of a user portfolio.

    Attributes
    ----------
    weights : tuple of (ticker, fraction)
        The book; shorts negative.
    trend_filter : TrendFilterParams or None
        Optional switch to the fallback when the basket's trend breaks.
    buy_and_hold : bool
        True for ``rebalance = "none"``: a target is emitted only when it changes (the first row, and each
        trend switch), so the engine trades once and lets the positions drift rather than re-trading a
        repeated row every day.
    """

    weights: tuple[tuple[str, float], ...]
    trend_filter: TrendFilterParams | None = None
    buy_and_hold: bool = False


def portfolio_rule(params: UserPortfolioParams) -> Rule:
    """The combinators of a user portfolio: its book, switched to the fallback while the trend is off.

    Without a trend filter a :class:`~strategies.combinators.StaticBook` (a target on every row, unlisted
    tickers following the engine's missing-asset policy); with one a
    :class:`~strategies.combinators.TrendFilter` between the book and the fallback (100% of a ticker, or an
    empty book for cash). With ``buy_and_hold`` only rows where the target changes carry numbers.
    """
    trend = params.trend_filter
    if trend is None:
        return StaticBook(params.weights, buy_and_hold=params.buy_and_hold)
    fallback = StaticBook({} if trend.fallback == "cash" else {trend.fallback: 1.0})
    return TrendFilter(
        basket=trend.basket,
        window=trend.window,
        on=StaticBook(params.weights),
        off=fallback,
        buy_and_hold=params.buy_and_hold,
    )


class _Toml(TomlLocator):
    """Raises StrategyError messages that name the source, the line and the key."""

    def error(self, table: str | None, key: str | None, message: str) -> StrategyError:
        """A one-line StrategyError naming the source, the line (of the key, else its table) and the key."""
        path = tuple(p for p in (table, key) if p)
        name = ".".join(path)
        return StrategyError(f"{self.where(path)}: {name}: {message}" if name else f"{self.where(path)}: {message}")


def _suggest(word: str, choices: Sequence[str]) -> str:
    return did_you_mean(word, choices, cutoff=0.5)


def _check_keys(doc: _Toml, table: str | None, found: dict[str, Any], valid: Sequence[str]) -> None:
    key = unknown_key(found, valid)
    if key is not None:
        raise doc.error(table, key, f"unknown key; {_suggest(key, valid)}valid keys: {', '.join(valid)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _ticker(doc: _Toml, table: str | None, key: str, value: Any) -> str:
    """Validate one ticker string (the ``key`` names where it was found)."""
    if not isinstance(value, str):
        raise doc.error(table, key, f"expected a ticker string, got {type(value).__name__} {value!r}")
    if not TICKER_RE.match(value):
        hint = (
            f"write it as {value.upper()!r}" if TICKER_RE.match(value.upper()) else "use 1-10 of A-Z 0-9 . -"
        )
        raise doc.error(table, key, f"ticker {value!r} is not a valid ticker ({hint})")
    return value


def _number(doc: _Toml, table: str | None, key: str, value: Any, minimum: float = 0.0) -> float:
    if not _is_number(value):
        raise doc.error(table, key, f"expected a number, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise doc.error(table, key, f"must be >= {minimum:g}, got {value!r}")
    return float(value)


def _setting(doc: _Toml, table: str | None, key: str, value: Any) -> float:
    """A band or cost value within the range every run accepts (``theses.util.SETTING_RANGES``)."""
    problem = setting_problem(key, value)
    if problem is not None:
        raise doc.error(table, key, problem)
    return float(value)


def _choice(doc: _Toml, key: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise doc.error(None, key, f"expected a string, one of {', '.join(choices)}; got {value!r}")
    if value not in choices:
        raise doc.error(
            None, key, f"{value!r} is not valid; {_suggest(value, choices)}use one of {', '.join(choices)}"
        )
    return value


def _weights(doc: _Toml, table: Any) -> tuple[tuple[str, float], ...]:
    if not isinstance(table, dict):
        raise doc.error(
            None, "weights", "expected a table of TICKER = fraction, e.g. [weights] then SPY = 0.6"
        )
    if not table:
        raise doc.error(None, "weights", "the table is empty; add at least one TICKER = fraction line")
    book: list[tuple[str, float]] = []
    for ticker, value in table.items():
        if isinstance(value, dict):
            dotted = ".".join([ticker, *value])
            raise doc.error(
                "weights", ticker, f'a ticker with a dot must be quoted: write "{dotted}" = fraction'
            )
        if not TICKER_RE.match(ticker):
            hint = (
                f"write it as {ticker.upper()}"
                if TICKER_RE.match(ticker.upper())
                else "use 1-10 of A-Z 0-9 . -"
            )
            raise doc.error("weights", ticker, f"ticker {ticker!r} is not a valid ticker ({hint})")
        if not _is_number(value):
            raise doc.error("weights", ticker, f"expected a fraction of equity like 0.25, got {value!r}")
        book.append((ticker, float(value)))
    values = np.array([w for _, w in book])
    gross, net = float(np.abs(values).sum()), float(values.sum())
    if gross > MAX_GROSS:
        raise doc.error(
            None,
            "weights",
            f"gross exposure {gross:g} (sum of |weights|) exceeds {MAX_GROSS:g}; scale the weights down",
        )
    if abs(net) > MAX_NET:
        raise doc.error(
            None,
            "weights",
            f"net exposure {net:g} (sum of weights) exceeds +/-{MAX_NET:g}; scale the weights down",
        )
    return tuple(book)


def _trend_filter(doc: _Toml, table: Any, book: tuple[tuple[str, float], ...]) -> TrendFilterParams:
    if not isinstance(table, dict):
        raise doc.error(
            None, "trend_filter", "expected a table: [trend_filter] with basket, window, fallback"
        )
    _check_keys(doc, "trend_filter", table, TREND_KEYS)
    if "basket" in table:
        basket = table["basket"]
        if not isinstance(basket, list) or not basket:
            raise doc.error(
                "trend_filter",
                "basket",
                f'expected a non-empty list of tickers like ["META", "MSFT"], got {basket!r}',
            )
        tickers = tuple(_ticker(doc, "trend_filter", "basket", t) for t in basket)
    else:
        tickers = tuple(t for t, w in book if w > 0)
        if not tickers:
            raise doc.error(
                None, "trend_filter", "no long weights to build the basket from; give basket = [...]"
            )
    window = table.get("window", 200)
    if not isinstance(window, int) or isinstance(window, bool) or window < 2:
        raise doc.error("trend_filter", "window", f"expected a whole number of days >= 2, got {window!r}")
    fallback = table.get("fallback", "cash")
    if fallback != "cash":
        fallback = _ticker(doc, "trend_filter", "fallback", fallback)
    return TrendFilterParams(basket=tuple(dict.fromkeys(tickers)), window=window, fallback=fallback)


def _sleeves(doc: _Toml, table: Any, universe: Sequence[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``[sleeves]``: sleeve = [tickers of the portfolio], each ticker in one sleeve."""
    if not isinstance(table, dict) or not table:
        raise doc.error(None, "sleeves", 'expected a table of sleeve = [tickers], e.g. [sleeves] then core = ["SPY"]')
    seen: dict[str, str] = {}
    out = []
    for sleeve, members in table.items():
        if not isinstance(members, list) or not members:
            raise doc.error("sleeves", sleeve, f'expected a non-empty list of tickers like ["SPY"], got {members!r}')
        if sleeve == OTHER_SLEEVE:
            raise doc.error("sleeves", sleeve, f"{OTHER_SLEEVE!r} holds the tickers no sleeve names; choose another name")
        tickers = []
        for member in members:
            ticker = _ticker(doc, "sleeves", sleeve, member)
            if ticker not in universe:
                raise doc.error("sleeves", sleeve, f"{ticker} is not in the portfolio; "
                                f"{_suggest(ticker, universe)}use tickers of [weights] or [trend_filter]")
            if ticker in seen:
                raise doc.error("sleeves", sleeve, f"{ticker} is already in sleeve {seen[ticker]!r}; "
                                "put each ticker in one sleeve")
            seen[ticker] = sleeve
            tickers.append(ticker)
        out.append((sleeve, tuple(tickers)))
    return tuple(out)


def strategy_from_toml(text: str, source: str) -> Strategy:
    """Build a :class:`Strategy` from the text of a portfolio TOML file.

    Parameters
    ----------
    text : str
        The file's content.
    source : str
        The file's name, used in error messages.

    Returns
    -------
    Strategy

    Raises
    ------
    StrategyError
        One line naming ``source``, the line and the key: TOML syntax, unknown or misspelt keys, missing
        name/weights/rebalance, wrong types, bad ticker format, exposure beyond gross 3 / net 1.5, unknown
        rebalance rule or missing policy, a sleeve naming a ticker the portfolio does not hold or one
        already in another sleeve.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StrategyError(f"{source}: invalid TOML: {' '.join(str(exc).split())}") from None
    doc = _Toml(text, source)
    _check_keys(doc, None, raw, TOP_KEYS)

    for key, example in (("name", 'name = "my-book"'), ("weights", "[weights] with SPY = 0.6"),
                         ("rebalance", 'rebalance = "monthly"')):  # fmt: skip
        if key not in raw:
            raise doc.error(None, None, f"missing key {key!r}; add {example}")
    name = raw["name"]
    if not isinstance(name, str) or not name.strip():
        raise doc.error(None, "name", f"expected a non-empty string, got {name!r}")
    if any(not char.isprintable() for char in name) or len(name) > MAX_NAME_LENGTH:
        raise doc.error(None, "name", f"{name[:40]!r}: a name is one line of at most {MAX_NAME_LENGTH} printable "
                                      "characters (it heads tables and report columns)")
    description = raw.get("description", f"user portfolio from {source}")
    if not isinstance(description, str):
        raise doc.error(None, "description", f"expected a string, got {description!r}")
    book = _weights(doc, raw["weights"])
    rebalance = _choice(doc, "rebalance", raw["rebalance"], REBALANCE_RULES)
    missing_policy = _choice(doc, "missing_policy", raw.get("missing_policy", "cash"), MISSING_POLICIES)
    bands = {k: _setting(doc, None, k, raw[k]) if k in raw else None for k in ("band_abs", "band_rel")}
    benchmark = _ticker(doc, None, "benchmark", raw.get("benchmark", "SPY"))

    costs: dict[str, float | None] = dict.fromkeys(COST_KEYS)
    if "costs" in raw:
        if not isinstance(raw["costs"], dict):
            raise doc.error(
                None, "costs", "expected a table: [costs] with fees_bps, slippage_bps, borrow_bps"
            )
        _check_keys(doc, "costs", raw["costs"], COST_KEYS)
        costs.update({k: _setting(doc, "costs", k, v) for k, v in raw["costs"].items()})

    trend = _trend_filter(doc, raw["trend_filter"], book) if "trend_filter" in raw else None
    params = UserPortfolioParams(weights=book, trend_filter=trend, buy_and_hold=rebalance == "none")
    rule = portfolio_rule(params)
    sleeves = _sleeves(doc, raw["sleeves"], rule.universe) if "sleeves" in raw else ()
    return Strategy(
        name=name.strip(),
        description=" ".join(description.split()),
        rebalance=rebalance,
        benchmark=benchmark,
        params=params,
        rule=rule,
        band_abs=bands["band_abs"],
        band_rel=bands["band_rel"],
        missing_policy=missing_policy,
        fees_bps=costs["fees_bps"],
        slippage_bps=costs["slippage_bps"],
        borrow_bps=costs["borrow_bps"],
        sleeves=sleeves,
    )
