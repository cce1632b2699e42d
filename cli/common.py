"""Wiring shared by the sub-commands: options, strategy resolution, price loading, one backtest run.

This is the one module that knows all four packages; each command module stays a thin layer over it.
Heavy packages are imported inside the functions so that ``theses --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from theses.cli.errors import CliError

if TYPE_CHECKING:  # imported for annotations only; the real imports are lazy

    from theses.data import PriceData
    from theses.engine import BacktestConfig, BacktestResult
    from theses.strategies import Strategy

BENCHMARKS: tuple[str, ...] = ("SPY", "RSP")
ESSAY_DATE = "2024-12-02"  # the essay's publication: the start of its out-of-sample period

# Defaults shown in every report; a user portfolio's [costs] and the command-line flags override them.
DEFAULT_FEES_BPS = 1.0
DEFAULT_SLIPPAGE_BPS = 2.0
DEFAULT_BORROW_BPS = 50.0
DEFAULT_CASH_RATE = 0.0
DEFAULT_RISK_FREE = 0.0
DEFAULT_INITIAL_CASH = 10_000.0

_INLINE_WEIGHT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9.\-]{0,9})\s*=\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$")


# ----------------------------------------------------------------------------------------------- options
def add_data_options(parser: argparse.ArgumentParser, *, window: bool = True) -> None:
    """``--start/--end`` (optional) and ``--source/--data-dir``."""
    if window:
        parser.add_argument("--start", metavar="DATE", help="first date (YYYY-MM-DD); default: all history")
        parser.add_argument("--end", metavar="DATE", help="last date (YYYY-MM-DD); default: latest data")
    parser.add_argument(
        "--source",
        choices=("auto", "csv", "yahoo"),
        default="auto",
        help="where prices come from: auto = cache, then --data-dir/THESES_DATA_DIR CSVs, then yfinance",
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="directory of TICKER.csv files (default: $THESES_DATA_DIR)"
    )


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


# ------------------------------------------------------------------------------------------- strategies
def resolve_strategy(spec: str) -> Strategy:
    """A registered strategy name, or a path to a user portfolio TOML file."""
    from theses import strategies

    looks_like_file = spec.endswith(".toml") or os.sep in spec or "/" in spec
    if looks_like_file:
        path = Path(spec)
        if not path.is_file():
            raise CliError(f"portfolio file {spec} not found: check the path (or give a strategy name; see `theses list`)")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read portfolio file {spec}: {exc}") from exc
        return strategies.strategy_from_toml(text, source=str(path))
    return strategies.get_strategy(spec)


def parse_inline_weights(text: str) -> dict[str, float]:
    """Parse ``"SPY=0.6,TLT=0.4"`` (shorts negative) into ``{"SPY": 0.6, "TLT": 0.4}``."""
    weights: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = _INLINE_WEIGHT.match(item)
        if not match:
            raise CliError(f'--weights item "{item}" is not TICKER=FRACTION: write e.g. --weights "SPY=0.6,TLT=0.4"')
        ticker = match.group(1).upper()
        if ticker in weights:
            raise CliError(f"--weights names {ticker} twice: give each ticker once")
        weights[ticker] = float(match.group(2))
    if not weights:
        raise CliError('--weights is empty: write e.g. --weights "SPY=0.6,TLT=0.4"')
    return weights


def inline_strategy(weights_text: str, rebalance: str) -> Strategy:
    """A fixed-weight portfolio from ``--weights``, validated like a user TOML portfolio."""
    from theses import strategies

    weights = parse_inline_weights(weights_text)
    lines = ['name = "inline"', f'rebalance = "{rebalance}"', "[weights]"]
    lines += [f"{ticker} = {weight!r}" for ticker, weight in weights.items()]
    return strategies.strategy_from_toml("\n".join(lines) + "\n", source="--weights")


def strategies_from_args(specs: Sequence[str], weights_text: str | None = None, rebalance: str = "monthly") -> list[Strategy]:
    """Resolve positional strategy names/files plus an optional inline ``--weights`` portfolio."""
    resolved = [resolve_strategy(spec) for spec in specs]
    if weights_text:
        resolved.append(inline_strategy(weights_text, rebalance))
    return resolved


# ------------------------------------------------------------------------------------------------ prices
def tickers_for(strategies_: Iterable[Strategy], benchmarks: Iterable[str] = BENCHMARKS) -> list[str]:
    """Every ticker the strategies and benchmarks need, in first-seen order."""
    seen: dict[str, None] = {}
    for strategy in strategies_:
        seen.update(dict.fromkeys(strategy.universe))
        seen[strategy.benchmark] = None
    seen.update(dict.fromkeys(benchmarks))
    return list(seen)


def load_window(tickers: Sequence[str], args: argparse.Namespace, *, start: str | None = None) -> PriceData:
    """Load aligned closes (and opens when asked for) for ``tickers`` over the command's window."""
    from theses.data import load_prices

    return load_prices(
        list(tickers),
        start=start if start is not None else getattr(args, "start", None),
        end=getattr(args, "end", None),
        source=getattr(args, "source", "auto"),
        data_dir=getattr(args, "data_dir", None),
    )


# ------------------------------------------------------------------------------------------------ engine
def _pick(flag: float | None, own: float | None, default: float) -> float:
    """Command-line flag, else the portfolio's own setting, else the project default."""
    if flag is not None:
        return float(flag)
    if own is not None:
        return float(own)
    return default


def build_config(strategy: Strategy, args: argparse.Namespace) -> BacktestConfig:
    """The engine configuration for one strategy under the command's flags."""
    from theses.engine import BacktestConfig, CostModel, RebalanceRule

    costs = CostModel(
        fees_bps=_pick(getattr(args, "fees_bps", None), strategy.fees_bps, DEFAULT_FEES_BPS),
        slippage_bps=_pick(getattr(args, "slippage_bps", None), strategy.slippage_bps, DEFAULT_SLIPPAGE_BPS),
        borrow_bps=_pick(getattr(args, "borrow_bps", None), strategy.borrow_bps, DEFAULT_BORROW_BPS),
        cash_rate=_pick(getattr(args, "cash_rate", None), None, DEFAULT_CASH_RATE),
    )
    rule = RebalanceRule(calendar=strategy.rebalance, band_abs=strategy.band_abs, band_rel=strategy.band_rel)
    return BacktestConfig(
        initial_cash=float(getattr(args, "initial_cash", DEFAULT_INITIAL_CASH) or DEFAULT_INITIAL_CASH),
        costs=costs,
        rebalance=rule,
        missing_policy=strategy.missing_policy,
        execution=getattr(args, "execution", "close") or "close",
        risk_free=_pick(getattr(args, "risk_free", None), None, DEFAULT_RISK_FREE),
    )


@dataclass(frozen=True)
class RunContext:
    """What a report header states about a run."""

    source: str
    start: str
    end: str
    notes: tuple[str, ...]

    def as_dict(self, config: BacktestConfig | None = None) -> dict[str, Any]:
        from theses.cli import __version__

        out: dict[str, Any] = {
            "data_source": self.source,
            "window": f"{self.start} to {self.end}",
            "version": __version__,
            "execution": "weights decided from a close trade at the next bar's "
            + (config.execution if config else "close"),
            "notes": list(self.notes),
        }
        if config is not None:
            c = config.costs
            out["costs"] = (
                f"fees {c.fees_bps:g} bps, slippage {c.slippage_bps:g} bps per side; borrow {c.borrow_bps:g} bps/yr; "
                f"cash {c.cash_rate:.2%}/yr; risk-free {config.risk_free:.2%}/yr"
            )
        return out


def context_of(price_data: PriceData) -> RunContext:
    """Source, window and notes of loaded prices."""
    index = price_data.close.index
    return RunContext(
        source=price_data.source,
        start=index[0].strftime("%Y-%m-%d"),
        end=index[-1].strftime("%Y-%m-%d"),
        notes=tuple(price_data.notes),
    )


def run_backtest(
    strategy: Strategy, price_data: PriceData, config: BacktestConfig, benchmarks: Sequence[str] = BENCHMARKS
) -> BacktestResult:
    """Target weights from the strategy, executed by the engine, measured against the benchmarks."""
    from theses.engine import backtest

    close = price_data.close
    universe = list(strategy.universe)
    weights = strategy.target_weights(close[universe])
    opens = None
    if config.execution == "open":
        if price_data.open is None:
            raise CliError("--execution open needs Open prices, and this data source has none: use --execution close")
        opens = price_data.open[universe]
    bench_cols = [b for b in dict.fromkeys([strategy.benchmark, *benchmarks]) if b in close.columns]
    result = backtest(
        close[universe], weights, config, open_prices=opens, benchmarks=close[bench_cols], name=strategy.name
    )
    result.config.update(
        {"strategy": strategy.name, "description": strategy.description, "rebalance": strategy.rebalance,
         "data_source": price_data.source}
    )
    return result


def benchmark_strategies(benchmarks: Sequence[str] = BENCHMARKS) -> list[Strategy]:
    """Buy-and-hold strategies for the benchmark tickers (for side-by-side tables)."""
    from theses import strategies

    return [
        strategies.strategy_from_toml(
            f'name = "{b}"\ndescription = "benchmark: buy and hold {b}"\nrebalance = "none"\n'
            f'benchmark = "SPY"\n[weights]\n{b} = 1.0\n',
            source=b,
        )
        for b in benchmarks
    ]
