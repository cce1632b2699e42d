"""Options shared by the sub-commands, and turning parsed options into a study's keyword arguments.

Nothing here knows how a study works: options in, typed settings out. Heavy packages are imported inside
the functions so that ``theses --help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import Any

# theses.studies.settings holds the defaults and imports nothing heavy, so --help can show them.
from theses.studies.settings import (
    DEFAULT_BORROW_BPS,
    DEFAULT_FEES_BPS,
    DEFAULT_INITIAL_CASH,
    DEFAULT_SLIPPAGE_BPS,
    ESSAY_DATE,
)
from theses.util import CALENDARS

__all__ = ["CALENDARS", "DEFAULT_FEES_BPS", "ESSAY_DATE", "add_cost_options", "add_data_options",
           "add_executor_options", "count", "data_options", "executor_of", "settings_of"]


def count(text: str) -> int:
    """A whole-number option written ``2000``, ``2_000`` or ``2e3`` (the study checks its range)."""
    try:
        return int(text)
    except ValueError:
        number = float(text)  # ValueError for text that is no number: argparse names the option
        if not number.is_integer():
            raise ValueError(text) from None
        return int(number)


def add_data_options(parser: argparse.ArgumentParser, *, window: bool = True) -> None:
    """``--start/--end`` (optional) and ``--source/--data-dir``."""
    if window:
        parser.add_argument("--start", metavar="DATE", help="first date (YYYY-MM-DD); default: all history")
        parser.add_argument("--end", metavar="DATE", help="last date (YYYY-MM-DD); default: latest data")
    parser.add_argument(
        "--source", choices=("auto", "csv", "yahoo", "sample"), default="auto",
        help="where prices come from: auto = cache, then --data-dir/THESES_DATA_DIR CSVs, then yfinance, then "
        "the embedded sample of closes (offline)",
    )
    parser.add_argument("--data-dir", metavar="DIR", help="directory of TICKER.csv files (default: $THESES_DATA_DIR)")


def add_cost_options(parser: argparse.ArgumentParser) -> None:
    """Cost and rate flags; unset flags fall back to the portfolio's own costs, then the defaults."""
    parser.add_argument("--fees-bps", type=float, metavar="F", help=f"fees per side, bps of notional (default {DEFAULT_FEES_BPS:g})")
    parser.add_argument("--slippage-bps", type=float, metavar="S", help=f"slippage per side, bps (default {DEFAULT_SLIPPAGE_BPS:g})")
    parser.add_argument("--borrow-bps", type=float, metavar="B", help=f"annual short borrow, bps (default {DEFAULT_BORROW_BPS:g})")
    parser.add_argument("--cash-rate", type=float, metavar="R", help="annual interest on positive cash, e.g. 0.04 (default 0)")
    parser.add_argument("--risk-free", type=float, metavar="R", help="annual risk-free rate for Sharpe/Sortino/alpha (default 0)")
    parser.add_argument("--initial-cash", type=float, default=DEFAULT_INITIAL_CASH, metavar="X", help="starting capital (default 10000)")
    parser.add_argument(
        "--execution", choices=("close", "open"), default="close",
        help="execute at the next bar's close (default) or the next bar's open",
    )


def settings_of(args: argparse.Namespace) -> Any:
    """The study's RunSettings from the cost options (those a command does not have stay unset)."""
    from theses.studies.settings import RunSettings

    return RunSettings(
        fees_bps=getattr(args, "fees_bps", None), slippage_bps=getattr(args, "slippage_bps", None),
        borrow_bps=getattr(args, "borrow_bps", None), cash_rate=getattr(args, "cash_rate", None),
        risk_free=getattr(args, "risk_free", None),
        initial_cash=getattr(args, "initial_cash", DEFAULT_INITIAL_CASH),
        execution=getattr(args, "execution", "close") or "close",
    )


def data_options(args: argparse.Namespace) -> dict[str, Any]:
    """``start``, ``end``, ``source``, ``data_dir`` keyword arguments of a history study."""
    return {
        "start": getattr(args, "start", None), "end": getattr(args, "end", None),
        "source": getattr(args, "source", "auto"), "data_dir": getattr(args, "data_dir", None),
    }


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """``--workers N | --cluster ADDRESS``: run a long study's tasks on Dask workers instead of in process."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, metavar="N",
                       help="run the work on a local Dask cluster of N worker processes (default: in this process)")
    group.add_argument("--cluster", metavar="ADDRESS",
                       help="run the work on a running Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                       "(start one with `dask scheduler` and `dask worker ADDRESS`)")


def executor_of(args: argparse.Namespace) -> Any:
    """A context manager giving the executor of ``--workers/--cluster``, or None to run in process."""
    import contextlib

    workers, cluster = getattr(args, "workers", None), getattr(args, "cluster", None)
    if workers is None and not cluster:
        return contextlib.nullcontext(None)
    from theses.studies.executor import make_executor

    return make_executor(workers=workers, cluster=cluster)
