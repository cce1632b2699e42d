"""``theses calibrate``: estimate daily vols, means and a shrunk correlation from real prices.

The file it writes holds summary figures only, so scenarios run offline with no price data. It goes to the
user data directory by default (never into the installed package); ``theses simulate --calibration FILE``
reads it.
"""

from __future__ import annotations

import argparse

from theses.cli import common


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` sub-command."""
    parser = subparsers.add_parser(
        "calibrate",
        help="calibrate scenario volatilities and correlations from real prices",
        description="Estimate each ticker's daily volatility and mean log return and a Ledoit-Wolf "
        "(constant-correlation target) shrunk correlation matrix from the CSVs in --data-dir, and write them "
        "to a calibration JSON for `theses simulate --calibration FILE`.",
    )
    parser.add_argument("--data-dir", metavar="DIR", help="directory of TICKER.csv files (default: $THESES_DATA_DIR)")
    parser.add_argument("--tickers", metavar="T,T,...", help="comma-separated tickers (default: every CSV in the directory)")
    parser.add_argument("--start", metavar="DATE", help="first date (YYYY-MM-DD); default: all history")
    parser.add_argument("--end", metavar="DATE", help="last date (YYYY-MM-DD); default: latest common date")
    parser.add_argument("--min-obs", type=common.count, default=500, metavar="N",
                        help="leave out tickers with fewer daily returns (default 500)")
    parser.add_argument("--out", metavar="FILE",
                        help="output JSON (default: calibration.json in the user data directory, or $THESES_DATA_HOME)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Calibrate and write the file; returns the exit status."""
    from rich.console import Console

    from theses.studies.calibration import calibrate

    tickers = args.tickers.split(",") if args.tickers is not None else None
    done = calibrate(data_dir=args.data_dir, tickers=tickers, start=args.start, end=args.end,
                     min_obs=args.min_obs, out=args.out)
    calibration = done.calibration
    console = Console(stderr=True)
    console.print(
        f"calibrated {len(calibration.tickers)} tickers, {calibration.start.date()} to {calibration.end.date()}; "
        f"correlation on {calibration.correlation_obs} common days, Ledoit-Wolf shrinkage "
        f"{calibration.shrinkage:.3f}"
    )
    for ticker, reason in calibration.dropped.items():
        console.print(f"left out {ticker}: {reason}")
    console.print(f"use it with: theses simulate --calibration {done.path}", highlight=False, soft_wrap=True)
    print(done.path)
    return 0
