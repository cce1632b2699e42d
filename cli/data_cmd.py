"""``theses data status`` and ``theses data fetch``: what prices are available, and downloading more."""

from __future__ import annotations

import argparse
from typing import Any

from theses.cli.errors import CliError


def register(subparsers: Any) -> None:
    """Add the ``data`` command and its ``status`` / ``fetch`` sub-commands."""
    parser = subparsers.add_parser("data", help="show or download price data", description=__doc__)
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")
    status = actions.add_parser(
        "status",
        help="list cached tickers and the CSV directory with their date ranges",
        description="List the price cache and the CSV directory: ticker, first date, last date, rows, source.",
    )
    status.add_argument(
        "--data-dir", metavar="DIR", help="folder of TICKER.csv files (default: THESES_DATA_DIR)"
    )
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
    from theses.data import CsvProvider, DataError, PriceCache, default_data_dir, read_price_csv

    console = Console()
    cache = PriceCache()
    data_dir = default_data_dir(args.data_dir)
    table = Table(title="Prices", title_justify="left")
    for column, justify in (("ticker", "left"), ("first", "left"), ("last", "left"), ("rows", "right"),
                            ("source", "left")):
        table.add_column(column, justify=justify, no_wrap=column != "source")
    cached = cache.tickers()
    for ticker in cached:
        entry = cache.read(ticker)
        if entry is None or entry.bars.empty:
            continue
        fetched = entry.fetched_at[:10]
        table.add_row(ticker, f"{entry.first.date()}", f"{entry.last.date()}", f"{len(entry.bars)}",
                      f"cache ({entry.source} {fetched})")
    csv_tickers: list[str] = []
    invalid = 0
    if data_dir is not None:
        csv = CsvProvider(data_dir)
        csv_tickers = csv.tickers()
        for ticker in csv_tickers:
            try:
                bars = read_price_csv(csv.path(ticker))
            except DataError as exc:
                invalid += 1
                table.add_row(ticker, "-", "-", "-", f"[red]csv, invalid: {exc}[/red]")
                continue
            table.add_row(ticker, f"{bars.index[0].date()}", f"{bars.index[-1].date()}", f"{len(bars)}", "csv")
    console.print(f"cache: {cache.directory} ({len(cached)} tickers)", highlight=False, soft_wrap=True)
    if data_dir is not None:
        console.print(f"csv:   {data_dir.resolve()} ({len(csv_tickers)} tickers)", highlight=False, soft_wrap=True)
    else:
        console.print("csv:   none (pass --data-dir DIR or set THESES_DATA_DIR)", highlight=False)
    if table.row_count:
        console.print(table)
    else:
        console.print("no prices yet: run `theses data fetch TICKER...` or pass --data-dir DIR")
    return 1 if invalid else 0


def _fetch(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from theses.data import PriceCache, YahooProvider, normalize_tickers, resolve_aliases

    names, notes = resolve_aliases(normalize_tickers(args.tickers))
    console = Console(stderr=True)
    for note in notes:
        console.print(f"note: {note}", highlight=False)
    cache = PriceCache()
    provider = YahooProvider()
    columns = (TextColumn("fetching"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
               TimeElapsedColumn())
    # Off when stderr is not a terminal: a log file gets the result lines, not bar redraws.
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("", total=len(names))

        def advance(ticker: str) -> None:
            progress.update(task, advance=1, description=ticker)

        status = cache.update(names, provider, args.start, args.end, progress=advance)
    out = Console()
    for name in names:
        entry = cache.read(name)
        if entry is None:
            continue
        out.print(
            f"{name}: {status[name]}, {entry.first.date()} to {entry.last.date()}, {len(entry.bars)} rows "
            f"-> {cache.path(name)}",
            highlight=False,
            soft_wrap=True,
        )
    return 0
