"""The trades that move real holdings to a strategy's target weights, as of a date.

Prices are each ticker's latest close on or before ``as_of`` (default: the latest in the data), and the result
says which date every price is from. Targets are the strategy's weights row as of that date (the last row that
is not all-NaN, so a signal strategy such as ``bubble_watch`` uses its signal as of ``as_of`` and a
buy-and-hold strategy its first and only row), computed on all the history up to ``as_of``, so a signal has its
look-back; when the data holds fewer than ``Strategy.lookback`` days before that row, the notes say so. Sizing and skip rules live in :mod:`theses.engine.trade_list`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from theses.studies.errors import StudyError
from theses.studies.history import missing_history_note
from theses.studies.settings import DEFAULT_FEES_BPS, resolve_strategy

if TYPE_CHECKING:
    from theses.data.holdings import Holdings
    from theses.engine.trade_list import TradeList
    from theses.strategies import Strategy

WEIGHTS_BASIS = "weights before and after are fractions of equity before fees; fees are paid from cash"


@dataclass(frozen=True)
class LatestPrices:
    """Each ticker's last close on or before the as-of date, and that close's own date."""

    price: dict[str, float]
    date: dict[str, pd.Timestamp]
    #: Tickers with prices, but none on or before the as-of date -> their first date.
    unpriced: dict[str, pd.Timestamp]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Rebalance:
    """A trade list plus where its inputs came from."""

    strategy: Strategy
    trades: TradeList
    holdings_path: str
    as_of_requested: pd.Timestamp | None
    prices_as_of: pd.Timestamp
    target_date: pd.Timestamp
    source: str
    notes: tuple[str, ...]

    @property
    def all_notes(self) -> tuple[str, ...]:
        """The data notes and the trade list's own notes."""
        return (*self.notes, *self.trades.notes)

    def to_frame(self) -> pd.DataFrame:
        """Per-ticker rows plus a final CASH row (price 1; shares = cash), as ``--format csv`` writes them."""
        t = self.trades
        frame = t.to_frame().reset_index()
        frame["price_date"] = [_day(d) for d in frame["price_date"]]
        frame["note"] = [ticker_note(t, i) for i in range(len(t.tickers))]
        if "cost_basis" in frame.columns:
            gains = [unrealised_gain(t, i) for i in range(len(t.tickers))]
            frame.insert(frame.columns.get_loc("cost_basis") + 1, "unrealised_gain",
                         [np.nan if g is None else g for g in gains])
        frame = frame.drop(columns=["skip_reason"])
        target_cash = 1.0 - float(t.target_weights.sum())
        cash_row = {
            "ticker": "CASH", "price": 1.0, "price_date": _day(self.prices_as_of),
            "current_shares": t.cash_before, "current_weight": t.cash_before / t.equity,
            "target_weight": target_cash, "target_shares": target_cash * t.equity, "action": "",
            "trade_shares": t.cash_after - t.cash_before, "notional": float("nan"), "fee": t.total_fees,
            "shares_after": t.cash_after, "weight_after": t.cash_after / t.equity,
            "weight_error": t.cash_after / t.equity - target_cash, "in_strategy": "", "note": "fees paid from cash",
        }
        return pd.concat([frame, pd.DataFrame([cash_row])], ignore_index=True)

    def to_csv(self) -> str:
        """The trade list as CSV text: one row per ticker and a CASH row."""
        from theses.util import csv_safe

        return csv_safe(self.to_frame()).to_csv(index=False, float_format="%.10g", lineterminator="\n")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready document: header facts, totals, positions, skipped trades, notes."""
        t = self.trades
        positions = [_position(t, i) for i in range(len(t.tickers))]
        skipped = [
            {"ticker": p["ticker"], "shares": t.proposed_shares[i], "notional": t.proposed_shares[i] * t.prices[i],
             "reason": t.skip_reasons[i]}
            for i, p in enumerate(positions) if t.skip_reasons[i]
        ]
        return {
            "strategy": self.strategy.name,
            "holdings": self.holdings_path,
            "as_of": _day(self.as_of_requested) if self.as_of_requested is not None else None,
            "prices_as_of": _day(self.prices_as_of),
            "target_weights_date": _day(self.target_date),
            "data_source": self.source,
            "weights_basis": WEIGHTS_BASIS,
            "totals": t.totals(),
            "positions": positions,
            "skipped": skipped,
            "notes": list(self.all_notes),
        }


def _position(t: TradeList, i: int) -> dict[str, Any]:
    return {
        "ticker": t.tickers[i],
        "price": t.prices[i],
        "price_date": _day(t.price_dates[i]),
        "current_shares": t.current_shares[i],
        "current_weight": t.current_weights[i],
        "cost_basis": None if t.cost_basis is None or math.isnan(t.cost_basis[i]) else t.cost_basis[i],
        "unrealised_gain": unrealised_gain(t, i),
        "target_weight": t.target_weights[i],
        "target_shares": t.target_shares[i],
        "action": t.actions[i],
        "trade_shares": t.trade_shares[i],
        "notional": t.notional[i],
        "fee": t.fees[i],
        "shares_after": t.shares_after[i],
        "weight_after": t.weights_after[i],
        "weight_error": t.weight_error[i],
        "in_strategy": bool(t.in_strategy[i]),
        "skip_reason": t.skip_reasons[i] or None,
    }


def unrealised_gain(trades: TradeList, i: int) -> float | None:
    """Market value now (shares x price) less the cost basis; None without a cost basis."""
    if trades.cost_basis is None or math.isnan(trades.cost_basis[i]):
        return None
    return float(trades.current_shares[i] * trades.prices[i] - trades.cost_basis[i])


def ticker_note(trades: TradeList, i: int) -> str:
    """``not in strategy`` and/or the reason a trade was skipped."""
    parts = []
    if not trades.in_strategy[i]:
        parts.append("not in strategy")
    if trades.skip_reasons[i]:
        parts.append(trades.skip_reasons[i])
    return "; ".join(parts)


def _day(stamp: Any) -> str:
    return stamp.strftime("%Y-%m-%d")


def _day_or_latest(stamp: Any) -> str:
    return "the latest date" if stamp is None else _day(stamp)


# ------------------------------------------------------------------------------------------------ inputs
def parse_as_of(value: object) -> pd.Timestamp | None:
    """An as-of date as a day (``None`` = latest); empty text or a date outside 1900-2200 is an error."""
    if value is None:
        return None
    try:
        day = pd.Timestamp(value).normalize() if str(value).strip() else pd.NaT
    except (ValueError, TypeError, OverflowError):
        day = pd.NaT
    if pd.isna(day) or not 1900 <= day.year <= 2200:
        raise StudyError(f"--as-of {value!r} is not a date; write it as YYYY-MM-DD (or leave it out for the latest)")
    return day


#: Amounts a rebalance accepts, in account currency (the bound of a holdings file's amounts,
#: ``data.holdings.MAX_AMOUNT``): beyond it a figure is a typo (``--cash 1e308``), and whole-share counts
#: would near the float resolution.
MAX_AMOUNT = 1e13


def check_amounts(*, cash: Any, min_trade: Any, bands: Any, fees_bps: Any) -> None:
    """Refuse (one line naming the option and its range) a cash balance, minimum trade, band or fee that is
    not a finite number in range."""
    from theses.studies.limits import finite_number
    from theses.studies.settings import check_setting

    finite_number("--cash", cash, -MAX_AMOUNT, MAX_AMOUNT, "2500")
    finite_number("--min-trade", min_trade, 0.0, MAX_AMOUNT, "50")
    if bands is not None:
        check_setting("band_abs", bands, "--bands")
    if fees_bps is not None:
        check_setting("fees_bps", fees_bps)


def check_equity(trades_input: dict[str, float], prices: dict[str, float], cash: float) -> None:
    """Refuse holdings worth more than :data:`MAX_AMOUNT` (their share counts are then typos)."""
    gross = abs(cash) + sum(abs(shares * prices[t]) for t, shares in trades_input.items() if t in prices)
    if not math.isfinite(gross) or gross > MAX_AMOUNT:
        raise StudyError(f"the holdings and cash are worth {gross:,.4g}, more than {MAX_AMOUNT:,.0f}: check the "
                         "share counts in the holdings file and --cash")


def current_symbols(holdings: Holdings) -> list[str]:
    """Holdings tickers with renames applied (FB -> META); two rows that become one ticker are an error."""
    from theses.data import TICKER_ALIASES

    seen: dict[str, str] = {}
    for ticker, line in zip(holdings.tickers, holdings.lines, strict=True):
        current = TICKER_ALIASES.get(ticker, ticker)
        if current in seen:
            raise StudyError(
                f"{holdings.path} line {line}: {ticker} is {current}, already held on another line ({seen[current]}); "
                "merge the two rows into one"
            )
        seen[current] = ticker
    return list(seen)


def latest_prices(tickers: list[str], as_of: pd.Timestamp | None, source: str, data_dir: str | None) -> LatestPrices:
    """Last close on or before ``as_of`` for each ticker, read one ticker at a time.

    One ticker at a time because an aligned frame forward-fills a ticker whose file ends earlier, and the
    result must show that ticker's own last date. A ticker whose prices all come after ``as_of`` is reported
    in ``unpriced`` (the caller decides whether that is an error); any other data problem propagates as the
    data layer's ``DataError``.
    """
    from theses.data import DataError, load_prices

    price: dict[str, float] = {}
    date: dict[str, pd.Timestamp] = {}
    unpriced: dict[str, pd.Timestamp] = {}
    sources: dict[str, None] = {}
    for ticker in tickers:
        try:
            data = load_prices([ticker], end=as_of, source=source, data_dir=data_dir, trim_end=False)
        except DataError:
            if as_of is None:
                raise
            # Either the ticker's history starts after as_of (then the full history loads) or the error is
            # about the ticker itself, which the full load raises again.
            full = load_prices([ticker], source=source, data_dir=data_dir, trim_end=False)
            unpriced[ticker] = full.close.index[0]
            continue
        column = data.close.iloc[:, 0].dropna()
        price[ticker] = float(column.iloc[-1])
        date[ticker] = column.index[-1]
        sources[data.source] = None
    return LatestPrices(price, date, unpriced, tuple(sources))


def target_weights_as_of(
    strategy: Strategy, as_of: pd.Timestamp | None, source: str, data_dir: str | None,
    unpriced: dict[str, pd.Timestamp],
) -> tuple[pd.Timestamp, dict[str, float], str, tuple[str, ...]]:
    """The strategy's last non-all-NaN weights row on prices up to ``as_of``.

    Returns the row's date, ``{ticker: weight}`` over the universe (NaN -> 0: no price yet), the data source
    and the data notes.
    """
    from theses.data import load_prices

    priced = [t for t in strategy.universe if t not in unpriced]
    if not priced:
        raise StudyError(
            f"no ticker of strategy {strategy.name!r} has a price on or before {_day_or_latest(as_of)}; choose a later --as-of"
        )
    data = load_prices(priced, end=as_of, source=source, data_dir=data_dir, trim_end=False)
    close = data.close.reindex(columns=list(strategy.universe))  # unpriced tickers: all NaN, like before listing
    weights = strategy.target_weights(close)
    rows = weights.notna().any(axis=1).to_numpy()
    if not rows.any():
        raise StudyError(
            f"strategy {strategy.name!r} has no target weights on or before {close.index[-1].date()} "
            "(its signal needs more history): choose a later --as-of"
        )
    last = int(np.flatnonzero(rows)[-1])
    row = weights.iloc[last].fillna(0.0)
    short = missing_history_note(strategy, close.index, len(close) - 1)
    notes = (*data.notes, *([short] if short else []))
    return pd.Timestamp(weights.index[last]), {t: float(w) for t, w in row.items()}, data.source, notes


def _first_prices(tickers: list[str], first: dict[str, pd.Timestamp]) -> str:
    """``first price 2015-01-02`` when all share it, else ``first prices: SPY 2015-01-02, NEW 2020-05-01``."""
    days = {t: _day(first[t]) for t in tickers}
    if len(set(days.values())) == 1:
        return f"first price {next(iter(days.values()))}"
    return "first prices: " + ", ".join(f"{t} {d}" for t, d in days.items())


def stale_price_warnings(dates: dict[str, pd.Timestamp]) -> list[str]:
    """A warning naming the tickers whose last price is weeks older than the newest one (sized at old prices)."""
    from theses.data.load import STALE_DAYS, WARNING

    if not dates:
        return []
    newest = max(dates.values())
    stale = {t: d for t, d in dates.items() if (newest - d).days > STALE_DAYS}
    if not stale:
        return []
    listed = ", ".join(f"{t} {_day(d)}" for t, d in stale.items())
    return [f"{WARNING}last prices of {listed} are more than {STALE_DAYS} days older than the newest "
            f"({_day(newest)}); their trades are sized at those old prices: update them "
            f"(theses data fetch {' '.join(stale)}) or use --as-of"]


def _fees_bps(strategy: Strategy, given: float | None) -> float:
    """The fee estimate given, else the portfolio's own fees, else the project default."""
    if given is not None:
        return float(given)
    return float(strategy.fees_bps) if strategy.fees_bps is not None else DEFAULT_FEES_BPS


def _check_unpriced(strategy: Strategy, holdings: Holdings, held: list[str], latest: LatestPrices,
                    targets: dict[str, float] | None, as_of: pd.Timestamp | None) -> None:
    """Held or targeted tickers without a price on or before the as-of date are an error naming them."""
    if targets is None:
        names = [t for t in held if t in latest.unpriced and holdings.shares[held.index(t)] != 0]
        if names:
            raise StudyError(
                f"{', '.join(names)} in {holdings.path} have no price on or before {_day_or_latest(as_of)} "
                f"({_first_prices(names, latest.unpriced)}); choose a later --as-of"
            )
        return
    names = [t for t in strategy.universe if t in latest.unpriced and targets.get(t, 0.0) != 0.0]
    if names:
        raise StudyError(
            f"strategy {strategy.name!r} targets {', '.join(names)}, which have no price on or before "
            f"{_day_or_latest(as_of)}; choose a later --as-of"
        )


def rebalance(
    strategy: str | Strategy,
    *,
    holdings: str | Path | Holdings,
    cash: float = 0.0,
    as_of: object = None,
    whole_shares: bool = False,
    min_trade: float = 0.0,
    bands: float | None = None,
    fees_bps: float | None = None,
    source: str = "auto",
    data_dir: str | None = None,
) -> Rebalance:
    """The trade list that takes ``holdings`` plus ``cash`` to ``strategy``'s target weights as of a date.

    Parameters
    ----------
    strategy : a registered name, a portfolio ``.toml`` path, or a :class:`Strategy`.
    holdings : a holdings CSV path (``ticker,shares[,cost_basis]`` or a broker's positions export, see
        :mod:`theses.data.holdings`) or parsed :class:`Holdings`.
    cash : cash in the account, besides the file's cash and money-market rows (added to it).
    as_of : use closes on or before this date (default: the latest available).
    whole_shares : integer share counts, never spending more cash than there is (fees included).
    min_trade : skip trades below this notional.
    bands : skip tickers whose ``|current weight - target| <= bands``.
    fees_bps : estimated fee (default: the portfolio's own, else the project default).
    source, data_dir : where prices come from (see :func:`theses.data.load_prices`).
    """
    from theses.data.holdings import Holdings, read_holdings
    from theses.engine.trade_list import TradeOptions, build_trade_list

    check_amounts(cash=cash, min_trade=min_trade, bands=bands, fees_bps=fees_bps)
    as_of_day = parse_as_of(as_of)
    chosen = resolve_strategy(strategy)
    book = holdings if isinstance(holdings, Holdings) else read_holdings(holdings)
    cash = float(cash) + book.cash  # cash and money-market rows of a broker's file add to --cash
    held = current_symbols(book)
    tickers = list(dict.fromkeys([*chosen.universe, *held]))
    latest = latest_prices(tickers, as_of_day, source, data_dir)
    _check_unpriced(chosen, book, held, latest, None, as_of_day)
    target_date, targets, target_source, data_notes = target_weights_as_of(
        chosen, as_of_day, source, data_dir, latest.unpriced)
    _check_unpriced(chosen, book, held, latest, targets, as_of_day)
    notes = [*book.notes, *data_notes]
    dropped = [t for t in tickers if t in latest.unpriced]
    if dropped:
        notes.append(f"{', '.join(dropped)}: no price on or before {_day_or_latest(as_of_day)}, target 0, not held; left out")
    tickers = [t for t in tickers if t not in latest.unpriced]
    notes += stale_price_warnings({t: latest.date[t] for t in tickers})
    shares = {t: float(s) for t, s in zip(held, book.shares, strict=True)}
    check_equity(shares, latest.price, float(cash))
    basis = {t: float(c) for t, c in zip(held, book.cost_basis, strict=True)}
    options = TradeOptions(whole_shares=whole_shares, min_trade=float(min_trade), band_abs=bands,
                           fees_bps=_fees_bps(chosen, fees_bps))
    member = set(chosen.universe)
    trades = build_trade_list(
        tickers, [latest.price[t] for t in tickers], [shares.get(t, 0.0) for t in tickers],
        [targets.get(t, 0.0) for t in tickers], cash, options, in_strategy=[t in member for t in tickers],
        price_dates=[latest.date[t] for t in tickers], cost_basis=np.array([basis.get(t, np.nan) for t in tickers]),
    )
    all_sources = dict.fromkeys([*latest.sources, *target_source.split("+")])
    return Rebalance(strategy=chosen, trades=trades, holdings_path=book.path, as_of_requested=as_of_day,
                     prices_as_of=max(latest.date[t] for t in tickers), target_date=target_date,
                     source="+".join(all_sources), notes=tuple(notes))
