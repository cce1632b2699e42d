"""``theses rebalance``: the trades that move real holdings to a strategy's target weights."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

from theses.cli import common
from theses.cli.errors import CliError

FORMATS = ("table", "csv", "json")
#: Width of the table when it goes to a file or a pipe (a terminal uses its own width).
TEXT_WIDTH = 200


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rebalance",
        help="trade list from your holdings to a strategy's target weights",
        description="Compute the trades that take the positions in a holdings CSV (ticker,shares[,cost_basis]; "
        "shorts negative; or a positions export from Fidelity, Schwab, Vanguard or IBKR as downloaded) plus cash "
        "to a strategy's target weights, at the latest closes on or before --as-of. Cash and money-market rows "
        "of the file add to --cash. Tickers held but not in the strategy are sold.",
    )
    parser.add_argument("strategy", help="strategy name (see `theses list`) or path/to/portfolio.toml")
    parser.add_argument("--holdings", required=True, metavar="CSV", help="holdings file: ticker,shares[,cost_basis], or a broker's positions CSV")
    parser.add_argument("--cash", type=float, default=0.0, metavar="AMOUNT",
                        help="cash in the account besides the file's cash rows (default 0)")
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


# ------------------------------------------------------------------------------------------------ output
def _day(stamp: Any) -> str:
    return stamp.strftime("%Y-%m-%d")


def header_line(result: Any) -> str:
    """One line stating the strategy, dates and equity."""
    t = result.trades
    requested = _day(result.as_of_requested) if result.as_of_requested is not None else "latest"
    return (
        f"rebalance {result.strategy.name} | as-of {requested}: prices up to {_day(result.prices_as_of)}, "
        f"target weights of {_day(result.target_date)} | equity {t.equity:,.2f} (cash {t.cash_before:,.2f}) | "
        f"{'whole' if t.whole_shares else 'fractional'} shares, fees {t.fees_bps:g} bps | data {result.source}"
    )


def _shares(value: float, whole: bool) -> str:
    if value == 0:
        return "0"
    return f"{value:,.0f}" if whole and float(value).is_integer() else f"{value:,.4f}"


COLUMNS = (
    ("ticker", "left"), ("price", "right"), ("price date", "left"), ("shares now", "right"), ("w now", "right"),
    ("w target", "right"), ("target sh", "right"), ("action", "left"), ("trade sh", "right"),
    ("notional", "right"), ("fee", "right"), ("shares after", "right"), ("w after", "right"),
)


def render_table(result: Any, console: Any) -> None:
    """Header line, the per-ticker table, totals, skipped trades and notes, with rich."""
    import numpy as np
    from rich import box
    from rich.table import Table

    from theses.studies.rebalance import ticker_note, unrealised_gain

    t = result.trades
    whole = t.whole_shares
    console.print(header_line(result), highlight=False)
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    basis = t.cost_basis is not None and bool(np.isfinite(t.cost_basis).any())
    columns = list(COLUMNS)
    if basis:  # cost basis and unrealised gain beside the current position
        columns[5:5] = [("cost basis", "right"), ("gain", "right")]
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)
    table.add_column("note", justify="left", overflow="fold", min_width=12)
    for i, ticker in enumerate(t.tickers):
        cells = [
            ticker, f"{t.prices[i]:,.2f}", _day(t.price_dates[i]), _shares(t.current_shares[i], whole),
            f"{t.current_weights[i]:.2%}", f"{t.target_weights[i]:.2%}", f"{t.target_shares[i]:,.4f}",
            t.actions[i], _shares(t.trade_shares[i], whole), f"{t.notional[i]:,.2f}", f"{t.fees[i]:,.2f}",
            _shares(t.shares_after[i], whole), f"{t.weights_after[i]:.2%}", ticker_note(t, i),
        ]
        if basis:
            gain = unrealised_gain(t, i)
            cells[5:5] = ["" if np.isnan(t.cost_basis[i]) else f"{t.cost_basis[i]:,.2f}",
                          "" if gain is None else f"{gain:+,.2f}"]
        table.add_row(*cells)
    target_cash = 1.0 - float(t.target_weights.sum())
    table.add_section()
    cash_cells = [
        "CASH", "", "", f"{t.cash_before:,.2f}", f"{t.cash_before / t.equity:.2%}", f"{target_cash:.2%}", "", "",
        "", "", f"{t.total_fees:,.2f}", f"{t.cash_after:,.2f}", f"{t.cash_after / t.equity:.2%}",
        "fees paid from cash",
    ]
    if basis:
        cash_cells[5:5] = ["", ""]
    table.add_row(*cash_cells)
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
    from theses.cli import render

    render.print_notes(console, result.all_notes)


def to_table_text(result: Any, width: int = TEXT_WIDTH) -> str:
    """The table output as plain text (for ``--out`` with ``--format table``)."""
    from rich.console import Console

    buffer = io.StringIO()
    render_table(result, Console(file=buffer, width=width, no_color=True, force_terminal=False, soft_wrap=False))
    return buffer.getvalue()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_out(path_text: str, inputs: dict[str, str]) -> Path:
    """``--out`` as a path, refused before any work when it is a folder, has no folder, cannot be written,
    or is one of the inputs (``{option: path}``): the trade list must never replace the holdings file."""
    from theses.util import writable_problem

    target = Path(path_text).expanduser()
    for option, given in inputs.items():
        if given and _same_file(target, Path(given).expanduser()):
            raise CliError(f"--out {path_text} is the {option} file; write the trade list to another file")
    if target.is_dir():
        raise CliError(f"--out {path_text} is a directory; give a file name")
    if not target.parent.is_dir():
        raise CliError(f"--out {path_text}: folder {target.parent} does not exist; create it first")
    problem = writable_problem(target)
    if problem is not None:
        raise CliError(f"--out {path_text}: {problem}; choose another file")
    return target


def _write_out(target: Path, text: str) -> Path:
    """Write ``--out`` atomically (checked by :func:`check_out`)."""
    from theses.util import atomic_write_text

    return atomic_write_text(target, text)


def run(args: argparse.Namespace) -> int:
    import json

    from theses.cli import render
    from theses.studies.rebalance import rebalance
    from theses.util import jsonable

    target = None
    if args.out:
        toml = args.strategy if args.strategy.endswith(".toml") else None
        target = check_out(args.out, {"--holdings": args.holdings, "portfolio": toml})
    result = rebalance(
        args.strategy, holdings=args.holdings, cash=args.cash, as_of=args.as_of, whole_shares=args.whole_shares,
        min_trade=args.min_trade, bands=args.bands, fees_bps=args.fees_bps, source=args.source,
        data_dir=args.data_dir,
    )
    text = {"json": lambda: json.dumps(jsonable(result.to_dict()), indent=2) + "\n", "csv": result.to_csv,
            "table": lambda: None}[args.format]()
    if target is not None:
        path = _write_out(target, text if text is not None else to_table_text(result))
        if text is None:
            render_table(result, render.make_console(width=TEXT_WIDTH))
        print(f"trade list written to {path}", file=sys.stderr)
    elif text is not None:
        sys.stdout.write(text)
    else:
        render_table(result, render.make_console(width=TEXT_WIDTH))
    return 0
