"""``theses rebalance``: the trades that move real holdings to a strategy's target weights.

Prices are each ticker's latest close on or before ``--as-of`` (default: the latest in the data), and the
output says which date every price is from. Targets are the strategy's weights row as of that date (the
last row that is not all-NaN, so a signal strategy such as ``bubble_watch`` uses its signal as of
``--as-of`` and a buy-and-hold strategy its first and only row). Sizing and skip rules live in
:mod:`engine.trade_list`; this module loads, wires and prints.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from theses.cli import common
from theses.cli.errors import CliError

if TYPE_CHECKING:  # annotations only; the real imports are lazy to keep `theses --help` fast
    import pandas as pd
    from theses.data.holdings import Holdings
    from theses.engine.trade_list import TradeList
    from theses.strategies import Strategy

FORMATS = ("table", "csv", "json")
#: Width of the table when it goes to a file or a pipe (a terminal uses its own width).
TEXT_WIDTH = 170
WEIGHTS_BASIS = "weights before and after are fractions of equity before fees; fees are paid from cash"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rebalance",
        help="trade list from your holdings to a strategy's target weights",
        description="Compute the trades that take the positions in a holdings CSV (ticker,shares[,cost_basis]; "
        "shorts negative) plus cash to a strategy's target weights, at the latest closes on or before --as-of. "
        "Tickers held but not in the strategy are sold.",
    )
    parser.add_argument("strategy", help="strategy name (see `theses list`) or path/to/portfolio.toml")
    parser.add_argument("--holdings", required=True, metavar="CSV", help="holdings file: ticker,shares[,cost_basis]")
    parser.add_argument("--cash", type=float, default=0.0, metavar="AMOUNT", help="cash in the account (default 0)")
    parser.add_argument("--as-of", metavar="DATE", help="use closes on or before DATE (default: latest available)")
    parser.add_argument(
        "--whole-shares", action="store_true",
        help="integer share counts; never spends more cash than there is (fees included)",
    )
    parser.add_argument("--min-trade", type=float, default=0.0, metavar="USD", help="skip trades below this notional")
    parser.add_argument(
        "--bands", type=float, metavar="ABS",
        help="skip tickers whose |current weight - target| <= ABS (e.g. 0.02)",
    )
    parser.add_argument(
        "--fees-bps", type=float, metavar="F",
        help=f"estimated fee, bps of notional (default: the portfolio's own, else {common.DEFAULT_FEES_BPS:g})",
    )
    common.add_data_options(parser, window=False)
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    parser.add_argument(
        "--out", metavar="FILE",
        help="write the output to FILE atomically (csv/json go only there; the table is also shown)",
    )
    parser.set_defaults(func=run)


# ------------------------------------------------------------------------------------------------ inputs
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
    """Everything the output needs: the trade list plus where its inputs came from."""

    strategy: Strategy
    trades: TradeList
    holdings_path: str
    as_of_requested: pd.Timestamp | None
    prices_as_of: pd.Timestamp
    target_date: pd.Timestamp
    source: str
    notes: tuple[str, ...]


def parse_as_of(text: str | None) -> pd.Timestamp | None:
    """``--as-of`` as a day (``None`` = latest)."""
    import pandas as pd

    if text is None:
        return None
    try:
        return pd.Timestamp(text).normalize()
    except (ValueError, TypeError):
        raise CliError(f"--as-of {text!r} is not a date; write it as YYYY-MM-DD") from None


def current_symbols(holdings: Holdings) -> list[str]:
    """Holdings tickers with renames applied (FB -> META); two rows that become one ticker are an error."""
    from theses.data import TICKER_ALIASES

    seen: dict[str, str] = {}
    for ticker, line in zip(holdings.tickers, holdings.lines, strict=True):
        current = TICKER_ALIASES.get(ticker, ticker)
        if current in seen:
            raise CliError(
                f"{holdings.path} line {line}: {ticker} is {current}, already held on another line ({seen[current]}); "
                "merge the two rows into one"
            )
        seen[current] = ticker
    return list(seen)


def latest_prices(tickers: list[str], as_of: pd.Timestamp | None, source: str, data_dir: str | None) -> LatestPrices:
    """Last close on or before ``as_of`` for each ticker, read one ticker at a time.

    One ticker at a time because an aligned frame forward-fills a ticker whose file ends earlier, and the
    output must show that ticker's own last date. A ticker whose prices all come after ``as_of`` is
    reported in ``unpriced`` (the caller decides whether that is an error); any other data problem
    (file missing, malformed, no network) propagates as the data layer's ``DataError``.
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


def target_weights_as_of(strategy: Strategy, as_of: pd.Timestamp | None, args: argparse.Namespace,
                         unpriced: dict[str, pd.Timestamp]) -> tuple[pd.Timestamp, dict[str, float], str, tuple[str, ...]]:
    """The strategy's last non-all-NaN weights row on prices up to ``as_of``.

    Returns the row's date, ``{ticker: weight}`` over the universe (NaN -> 0: no price yet), the data
    source and the data notes.
    """
    import numpy as np
    import pandas as pd
    from theses.data import load_prices

    priced = [t for t in strategy.universe if t not in unpriced]
    if not priced:
        raise CliError(
            f"no ticker of strategy {strategy.name!r} has a price on or before {_day_or_latest(as_of)}; choose a later --as-of"
        )
    data = load_prices(priced, end=as_of, source=args.source, data_dir=args.data_dir, trim_end=False)
    close = data.close.reindex(columns=list(strategy.universe))  # unpriced tickers: all NaN, like before listing
    weights = strategy.target_weights(close)
    rows = weights.notna().any(axis=1).to_numpy()
    if not rows.any():
        raise CliError(
            f"strategy {strategy.name!r} has no target weights on or before {close.index[-1].date()} "
            "(its signal needs more history): choose a later --as-of"
        )
    last = int(np.flatnonzero(rows)[-1])
    row = weights.iloc[last].fillna(0.0)
    return pd.Timestamp(weights.index[last]), {t: float(w) for t, w in row.items()}, data.source, tuple(data.notes)


def _first_prices(tickers: list[str], first: dict[str, pd.Timestamp]) -> str:
    """``first price 2015-01-02`` when all share it, else ``first prices: SPY 2015-01-02, NEW 2020-05-01``."""
    days = {t: _day(first[t]) for t in tickers}
    if len(set(days.values())) == 1:
        return f"first price {next(iter(days.values()))}"
    return "first prices: " + ", ".join(f"{t} {d}" for t, d in days.items())


def fees_bps_for(strategy: Strategy, flag: float | None) -> float:
    """``--fees-bps``, else the portfolio's own fees, else the project default."""
    if flag is not None:
        return float(flag)
    if strategy.fees_bps is not None:
        return float(strategy.fees_bps)
    return common.DEFAULT_FEES_BPS


def build_rebalance(args: argparse.Namespace) -> Rebalance:
    """Load holdings, prices and targets, and compute the trade list."""
    import numpy as np
    from theses.data.holdings import read_holdings
    from theses.engine.trade_list import TradeOptions, build_trade_list

    if not math.isfinite(args.cash):
        raise CliError(f"--cash {args.cash} is not a number; give the cash balance, e.g. --cash 2500")
    as_of = parse_as_of(args.as_of)
    strategy = common.resolve_strategy(args.strategy)
    holdings = read_holdings(args.holdings)
    held = current_symbols(holdings)
    tickers = list(dict.fromkeys([*strategy.universe, *held]))

    latest = latest_prices(tickers, as_of, args.source, args.data_dir)
    unpriced_held = [t for t in held if t in latest.unpriced and holdings.shares[held.index(t)] != 0]
    if unpriced_held:
        raise CliError(
            f"{', '.join(unpriced_held)} in {holdings.path} have no price on or before {_day_or_latest(as_of)} "
            f"({_first_prices(unpriced_held, latest.unpriced)}); choose a later --as-of"
        )
    target_date, targets, source, data_notes = target_weights_as_of(strategy, as_of, args, latest.unpriced)
    unpriced_targets = [t for t in strategy.universe if t in latest.unpriced and targets.get(t, 0.0) != 0.0]
    if unpriced_targets:
        raise CliError(
            f"strategy {strategy.name!r} targets {', '.join(unpriced_targets)}, which have no price on or before "
            f"{_day_or_latest(as_of)}; choose a later --as-of"
        )
    notes = list(data_notes)
    dropped = [t for t in tickers if t in latest.unpriced]
    if dropped:
        notes.append(f"{', '.join(dropped)}: no price on or before {_day_or_latest(as_of)}, target 0, not held; left out")
    tickers = [t for t in tickers if t not in latest.unpriced]

    member = set(strategy.universe)
    shares = {t: float(s) for t, s in zip(held, holdings.shares, strict=True)}
    basis = {t: float(c) for t, c in zip(held, holdings.cost_basis, strict=True)}
    options = TradeOptions(
        whole_shares=args.whole_shares,
        min_trade=float(args.min_trade),
        band_abs=args.bands,
        fees_bps=fees_bps_for(strategy, args.fees_bps),
    )
    trades = build_trade_list(
        tickers,
        [latest.price[t] for t in tickers],
        [shares.get(t, 0.0) for t in tickers],
        [targets.get(t, 0.0) for t in tickers],
        args.cash,
        options,
        in_strategy=[t in member for t in tickers],
        price_dates=[latest.date[t] for t in tickers],
        cost_basis=np.array([basis.get(t, np.nan) for t in tickers]),
    )
    all_sources = dict.fromkeys([*latest.sources, *source.split("+")])
    return Rebalance(
        strategy=strategy,
        trades=trades,
        holdings_path=holdings.path,
        as_of_requested=as_of,
        prices_as_of=max(latest.date[t] for t in tickers),
        target_date=target_date,
        source="+".join(all_sources),
        notes=tuple(notes),
    )


# ------------------------------------------------------------------------------------------------ output
def _day(stamp: Any) -> str:
    return stamp.strftime("%Y-%m-%d")


def _day_or_latest(stamp: Any) -> str:
    return "the latest date" if stamp is None else _day(stamp)


def header_line(result: Rebalance) -> str:
    """One line stating the strategy, dates and equity."""
    t = result.trades
    requested = _day(result.as_of_requested) if result.as_of_requested is not None else "latest"
    return (
        f"rebalance {result.strategy.name} | as-of {requested}: prices up to {_day(result.prices_as_of)}, "
        f"target weights of {_day(result.target_date)} | equity {t.equity:,.2f} (cash {t.cash_before:,.2f}) | "
        f"{'whole' if t.whole_shares else 'fractional'} shares, fees {t.fees_bps:g} bps | data {result.source}"
    )


def _ticker_note(trades: TradeList, i: int) -> str:
    parts = []
    if not trades.in_strategy[i]:
        parts.append("not in strategy")
    if trades.skip_reasons[i]:
        parts.append(trades.skip_reasons[i])
    return "; ".join(parts)


def positions_frame(result: Rebalance) -> pd.DataFrame:
    """Per-ticker rows plus a final CASH row (price 1; shares = cash), as written by ``--format csv``."""
    import pandas as pd

    t = result.trades
    frame = t.to_frame().reset_index()
    frame["price_date"] = [_day(d) for d in frame["price_date"]]
    frame["note"] = [_ticker_note(t, i) for i in range(len(t.tickers))]
    frame = frame.drop(columns=["skip_reason"])
    target_cash = 1.0 - float(t.target_weights.sum())
    cash_row = {
        "ticker": "CASH", "price": 1.0, "price_date": _day(result.prices_as_of),
        "current_shares": t.cash_before, "current_weight": t.cash_before / t.equity,
        "target_weight": target_cash, "target_shares": target_cash * t.equity, "action": "",
        "trade_shares": t.cash_after - t.cash_before, "notional": float("nan"), "fee": t.total_fees,
        "shares_after": t.cash_after, "weight_after": t.cash_after / t.equity,
        "weight_error": t.cash_after / t.equity - target_cash, "in_strategy": "", "note": "fees paid from cash",
    }
    return pd.concat([frame, pd.DataFrame([cash_row])], ignore_index=True)


def to_csv_text(result: Rebalance) -> str:
    """The trade list as CSV: one row per ticker and a CASH row."""
    return positions_frame(result).to_csv(index=False, float_format="%.10g", lineterminator="\n")


def to_json_document(result: Rebalance) -> dict[str, Any]:
    """The trade list as a JSON-ready dict: header facts, totals, positions, skipped trades, notes."""
    t = result.trades
    positions = []
    for i, ticker in enumerate(t.tickers):
        positions.append({
            "ticker": ticker,
            "price": t.prices[i],
            "price_date": _day(t.price_dates[i]),
            "current_shares": t.current_shares[i],
            "current_weight": t.current_weights[i],
            "cost_basis": None if t.cost_basis is None or math.isnan(t.cost_basis[i]) else t.cost_basis[i],
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
        })
    skipped = [
        {"ticker": p["ticker"], "shares": t.proposed_shares[i], "notional": t.proposed_shares[i] * t.prices[i],
         "reason": t.skip_reasons[i]}
        for i, p in enumerate(positions) if t.skip_reasons[i]
    ]
    return {
        "strategy": result.strategy.name,
        "holdings": result.holdings_path,
        "as_of": _day(result.as_of_requested) if result.as_of_requested is not None else None,
        "prices_as_of": _day(result.prices_as_of),
        "target_weights_date": _day(result.target_date),
        "data_source": result.source,
        "weights_basis": WEIGHTS_BASIS,
        "totals": t.totals(),
        "positions": positions,
        "skipped": skipped,
        "notes": [*result.notes, *t.notes],
    }


def _plain(value: Any) -> Any:
    """numpy scalars -> Python, NaN/inf -> None (JSON has no NaN)."""
    import numpy as np

    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json_text(result: Rebalance) -> str:
    return json.dumps(_plain(to_json_document(result)), indent=2) + "\n"


def _shares(value: float, whole: bool) -> str:
    if value == 0:
        return "0"
    return f"{value:,.0f}" if whole and float(value).is_integer() else f"{value:,.4f}"


def render_table(result: Rebalance, console: Any) -> None:
    """Header line, the per-ticker table, totals, skipped trades and notes, with rich."""
    from rich import box
    from rich.table import Table

    t = result.trades
    whole = t.whole_shares
    console.print(header_line(result), highlight=False)
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in [
        ("ticker", "left"), ("price", "right"), ("price date", "left"), ("shares now", "right"),
        ("w now", "right"), ("w target", "right"), ("target sh", "right"), ("action", "left"),
        ("trade sh", "right"), ("notional", "right"), ("fee", "right"), ("shares after", "right"),
        ("w after", "right"),
    ]:
        table.add_column(name, justify=justify, no_wrap=True)
    table.add_column("note", justify="left", overflow="fold", min_width=12)
    for i, ticker in enumerate(t.tickers):
        table.add_row(
            ticker, f"{t.prices[i]:,.2f}", _day(t.price_dates[i]), _shares(t.current_shares[i], whole),
            f"{t.current_weights[i]:.2%}", f"{t.target_weights[i]:.2%}", f"{t.target_shares[i]:,.4f}",
            t.actions[i], _shares(t.trade_shares[i], whole), f"{t.notional[i]:,.2f}", f"{t.fees[i]:,.2f}",
            _shares(t.shares_after[i], whole), f"{t.weights_after[i]:.2%}", _ticker_note(t, i),
        )
    target_cash = 1.0 - float(t.target_weights.sum())
    table.add_section()
    table.add_row(
        "CASH", "", "", f"{t.cash_before:,.2f}", f"{t.cash_before / t.equity:.2%}", f"{target_cash:.2%}", "", "",
        "", "", f"{t.total_fees:,.2f}", f"{t.cash_after:,.2f}", f"{t.cash_after / t.equity:.2%}",
        "fees paid from cash",
    )
    console.print(table)
    console.print(
        f"cash {t.cash_before:,.2f} -> {t.cash_after:,.2f} | after: gross {t.gross_after:.2%}, net {t.net_after:.2%}"
        f" | turnover {t.turnover:.2%} | fees {t.total_fees:,.2f} | residual weight error"
        f" sum|w after - w target| {t.weight_error_total:.4%}",
        highlight=False,
    )
    console.print(
        f"weights are fractions of equity before fees ({t.equity:,.2f}); fees are paid from cash "
        f"(equity after fees {t.equity_after_fees:,.2f}); notional > 0 spends cash, < 0 brings it in "
        "(short sale proceeds included)",
        style="dim", highlight=False,
    )
    for note in (*result.notes, *t.notes):
        console.print(f"note: {note}", style="dim", highlight=False)


def _console() -> Any:
    """A rich console for stdout; wide enough for the table when stdout is a file or a pipe."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, TEXT_WIDTH))


def to_table_text(result: Rebalance, width: int = TEXT_WIDTH) -> str:
    """The table output as plain text (for ``--out`` with ``--format table``)."""
    from rich.console import Console

    buffer = io.StringIO()
    render_table(result, Console(file=buffer, width=width, no_color=True, force_terminal=False, soft_wrap=False))
    return buffer.getvalue()


def write_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then ``os.replace`` it into place."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise CliError(f"--out {path} is a directory; give a file name")
    if not target.parent.is_dir():
        raise CliError(f"--out {path}: folder {target.parent} does not exist; create it first")
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def run(args: argparse.Namespace) -> int:
    result = build_rebalance(args)
    if args.format == "json":
        text = to_json_text(result)
    elif args.format == "csv":
        text = to_csv_text(result)
    else:
        text = None
    if args.out:
        path = write_atomic(args.out, text if text is not None else to_table_text(result))
        if text is None:
            render_table(result, _console())
        print(f"trade list written to {path}", file=sys.stderr)
    elif text is not None:
        sys.stdout.write(text)
    else:
        render_table(result, _console())
    return 0
