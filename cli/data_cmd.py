"""``theses data status`` and ``theses data fetch``: what prices are available, and downloading more."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from theses.cli.errors import CliError

EXIT_PROBLEMS = 2


def register(subparsers: Any) -> None:
    """Add the ``data`` command and its ``status`` / ``fetch`` sub-commands."""
    parser = subparsers.add_parser("data", help="show or download price data", description=__doc__)
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")
    status = actions.add_parser(
        "status",
        help="list cached tickers and the CSV directory with their date ranges",
        description="List the price cache and the CSV directory: ticker, first date, last date, rows, source. "
        "Files that cannot be read are listed and named on stderr (exit status 2).",
    )
    status.add_argument("--data-dir", metavar="DIR", help="folder of TICKER.csv files (default: THESES_DATA_DIR)")
    fetch = actions.add_parser(
        "fetch",
        help="download prices from Yahoo Finance into the cache",
        description="Download daily adjusted prices from Yahoo Finance into the cache (only missing dates).",
    )
    fetch.add_argument("tickers", nargs="+", metavar="TICKER", help="symbols, e.g. SPY META")
    fetch.add_argument("--start", metavar="YYYY-MM-DD", default="2015-01-01", help="first date (default 2015-01-01)")
    fetch.add_argument("--end", metavar="YYYY-MM-DD", default=None, help="last date (default: yesterday)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to ``status`` or ``fetch``."""
    if args.data_command == "status":
        return _status(args)
    if args.data_command == "fetch":
        return _fetch(args)
    raise CliError("missing action: use `theses data status` or `theses data fetch TICKER...`")


def _status(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from theses.studies.prices import price_status

    status = price_status(args.data_dir)
    console = Console()
    table = Table(title="Prices", title_justify="left")
    for column, justify in (("ticker", "left"), ("first", "left"), ("last", "left"), ("rows", "right"),
                            ("source", "left")):
        table.add_column(column, justify=justify, no_wrap=column != "source")
    for item in (*status.cached, *status.csv):
        if item.problem:
            table.add_row(item.ticker, "-", "-", "-", f"[red]{item.source}, invalid: {item.problem}[/red]")
        else:
            table.add_row(item.ticker, item.first, item.last, f"{item.rows}", item.source)
    console.print(f"cache: {status.cache_dir} ({len(status.cached)} tickers)", highlight=False, soft_wrap=True)
    if status.csv_dir is not None:
        console.print(f"csv:   {status.csv_dir} ({len(status.csv)} tickers)", highlight=False, soft_wrap=True)
    else:
        console.print("csv:   none (pass --data-dir DIR or set THESES_DATA_DIR)", highlight=False)
    if table.row_count:
        console.print(table)
    else:
        console.print("no prices yet: run `theses data fetch TICKER...` or pass --data-dir DIR")
    for item in status.problems:
        print(f"error: {item.problem}", file=sys.stderr)
    return EXIT_PROBLEMS if status.problems else 0


def _fetch(args: argparse.Namespace) -> int:
    from rich.console import Console

    from theses.cli import render
    from theses.studies.prices import fetch

    console = Console(stderr=True)
    count = [0]

    # A bar on a terminal; piped or logged, a line every few seconds (cli.render.Progress).
    with render.Progress("fetching") as progress:
        def step(ticker: str) -> None:
            count[0] += 1
            progress(f"fetching {ticker}", count[0], len(args.tickers))

        done = fetch(args.tickers, start=args.start, end=args.end, progress=step)
    for note in done.notes:
        console.print(f"note: {note}", highlight=False)
    out = Console()
    for item in done.files:
        out.print(f"{item.ticker}: {item.source}, {item.first} to {item.last}, {item.rows} rows -> "
                  f"{done.paths[item.ticker]}", highlight=False, soft_wrap=True)
    return 0
