"""``theses calibrate``: estimate daily vols, means and a shrunk correlation from real prices.

The file it writes (default ``data/calibration/default.json``) holds summary figures only, so scenarios run
offline with no price data.
"""

from __future__ import annotations

import argparse
import os


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` sub-command."""
    parser = subparsers.add_parser(
        "calibrate",
        help="calibrate scenario volatilities and correlations from real prices",
        description="Estimate each ticker's daily volatility and mean log return and a Ledoit-Wolf "
        "(constant-correlation target) shrunk correlation matrix from the CSVs in --data-dir, and write them "
        "to a calibration JSON used by `theses simulate`.",
    )
    parser.add_argument("--data-dir", metavar="DIR", help="directory of TICKER.csv files (default: $THESES_DATA_DIR)")
    parser.add_argument("--tickers", metavar="T,T,...", help="comma-separated tickers (default: every CSV in the directory)")
    parser.add_argument("--start", metavar="DATE", help="first date (YYYY-MM-DD); default: all history")
    parser.add_argument("--end", metavar="DATE", help="last date (YYYY-MM-DD); default: latest common date")
    parser.add_argument("--min-obs", type=int, default=500, metavar="N",
                        help="leave out tickers with fewer daily returns (default 500)")
    parser.add_argument("--out", metavar="FILE", help="output JSON (default: data/calibration/default.json)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Calibrate and write the file; returns the exit status."""
    from rich.console import Console
    from theses.cli.errors import CliError
    from theses.data.calibration import DEFAULT_CALIBRATION, calibrate, write_calibration
    from theses.data.csv_provider import CsvProvider
    from theses.data.load import load_prices

    data_dir = args.data_dir or os.environ.get("THESES_DATA_DIR")
    if not data_dir:
        raise CliError("calibrate needs real prices: pass --data-dir DIR (a folder of TICKER.csv files) "
                       "or set THESES_DATA_DIR")
    if args.tickers:
        tickers = [t.strip().upper() for t in args.tickers.split(",") if t.strip()]
    else:
        tickers = CsvProvider(data_dir).tickers()
    if len(tickers) < 2:
        raise CliError(f"--data-dir {data_dir}: need at least two tickers to estimate correlations")
    prices = load_prices(tickers, start=args.start, end=args.end, source="csv", data_dir=data_dir, trim_end=True)
    calibration = calibrate(prices.close, min_obs=args.min_obs)
    path = write_calibration(calibration, args.out or DEFAULT_CALIBRATION)
    console = Console(stderr=True)
    console.print(
        f"calibrated {len(calibration.tickers)} tickers, {calibration.start.date()} to {calibration.end.date()}; "
        f"correlation on {calibration.correlation_obs} common days, Ledoit-Wolf shrinkage "
        f"{calibration.shrinkage:.3f}"
    )
    for ticker, reason in calibration.dropped.items():
        console.print(f"left out {ticker}: {reason}")
    print(path)
    return 0
