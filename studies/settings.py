"""What every study shares: the project's cost defaults, the benchmarks, and turning names into strategies.

A study takes a :class:`RunSettings` (costs, execution, capital) instead of command-line flags. Unset costs
fall back to the portfolio's own ``[costs]`` (TOML portfolios), then to the project defaults below, which
every report prints.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from theses.studies.errors import StudyError
from theses.util import setting_problem

if TYPE_CHECKING:
    from theses.engine import BacktestConfig
    from theses.strategies import Strategy

BENCHMARKS: tuple[str, ...] = ("SPY", "RSP")
ESSAY_DATE = "2024-12-02"  # the essay's publication: the start of its out-of-sample period

DEFAULT_FEES_BPS = 1.0
DEFAULT_SLIPPAGE_BPS = 2.0
DEFAULT_BORROW_BPS = 50.0
DEFAULT_CASH_RATE = 0.0
DEFAULT_RISK_FREE = 0.0
DEFAULT_INITIAL_CASH = 10_000.0
EXECUTIONS = ("close", "open")

# Scenario studies (theses.studies.scenarios); kept here, free of heavy imports, so `--help` can show them.
SCENARIO_METHODS = ("t", "bootstrap")
DEFAULT_PATHS = 2000
DEFAULT_YEARS = 5.0
DEFAULT_SEED = 2024
DEFAULT_CHUNK_SIZE = 1024  # 1,024 paths x 1,260 days x 40 assets of float32 = 206 MB per chunk
# Decision study (theses.studies.decide).
DEFAULT_RISK_AVERSION = 2.0  # CRRA gamma: between log utility (1, Kelly) and the cautious 5
DECISION_GAMMAS = (1.0, 2.0, 5.0)  # risk aversions shown side by side
DEFAULT_MAX_WEIGHT = 1.0  # cap on one book's weight in the best mix (1: no cap)
DEMO_PATHS = 1000  # `theses demo`: paths per scenario, years, seed
TRACK_PATHS = 500  # `theses track`: paths per scenario for the fans and the realised percentiles
TRACK_CONFUSION_PATHS = 300  # `theses track`: paths per scenario for the confusion matrix
DEMO_YEARS = 5.0
DEMO_SEED = 2024
# Sweeps (theses.studies.sweep): where a grid is run, how it is scored, and its scenario work split.
SWEEP_ON = ("history", "scenarios", "both")
SWEEP_OBJECTIVES = ("sharpe", "cagr", "ce")
DEFAULT_SWEEP_PATHS = 500
DEFAULT_SWEEP_BLOCK = 256  # paths per task: a multiple of the generators' 64-path seed blocks
DEFAULT_RISK_AVERSION = 2.0  # CRRA gamma of the "ce" objective; 1 is log utility

#: A portfolio file is a page of TOML; a larger file is not a portfolio (a wrong path).
MAX_PORTFOLIO_BYTES = 1 << 20

_INLINE_WEIGHT = re.compile(r"^\s*([A-Za-z][A-Za-z0-9.\-]{0,9})\s*=\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$")


@dataclass(frozen=True)
class RunSettings:
    """Costs, rates, capital and execution of a run; ``None`` costs mean "the portfolio's own, else default".

    Attributes
    ----------
    fees_bps, slippage_bps : per side, basis points of traded notional.
    borrow_bps : annual, on short market value, charged daily.
    cash_rate : annual interest on positive cash (fraction, e.g. 0.04).
    risk_free : annual risk-free rate for Sharpe, Sortino and alpha (fraction).
    initial_cash : starting capital.
    execution : ``close`` (next bar's close) or ``open`` (next bar's open).
    """

    fees_bps: float | None = None
    slippage_bps: float | None = None
    borrow_bps: float | None = None
    cash_rate: float | None = None
    risk_free: float | None = None
    initial_cash: float = DEFAULT_INITIAL_CASH
    execution: str = "close"

    def __post_init__(self) -> None:
        """Refuse values outside the accepted ranges (``theses.util.SETTING_RANGES``), naming the option."""
        for name in ("fees_bps", "slippage_bps", "borrow_bps", "cash_rate", "risk_free", "initial_cash"):
            value = getattr(self, name)
            if value is None and name != "initial_cash":
                continue
            check_setting(name, value)
        check_choice("--execution", self.execution, EXECUTIONS)

    def config_for(self, strategy: Strategy) -> BacktestConfig:
        """The engine configuration of one strategy under these settings."""
        from theses.engine import BacktestConfig, CostModel, RebalanceRule

        costs = CostModel(
            fees_bps=_pick(self.fees_bps, strategy.fees_bps, DEFAULT_FEES_BPS),
            slippage_bps=_pick(self.slippage_bps, strategy.slippage_bps, DEFAULT_SLIPPAGE_BPS),
            borrow_bps=_pick(self.borrow_bps, strategy.borrow_bps, DEFAULT_BORROW_BPS),
            cash_rate=_pick(self.cash_rate, None, DEFAULT_CASH_RATE),
        )
        rule = RebalanceRule(calendar=strategy.rebalance, band_abs=strategy.band_abs, band_rel=strategy.band_rel)
        return BacktestConfig(
            initial_cash=float(self.initial_cash),
            costs=costs,
            rebalance=rule,
            missing_policy=strategy.missing_policy,
            execution=self.execution or "close",
            risk_free=_pick(self.risk_free, None, DEFAULT_RISK_FREE),
        )


def option_name(name: str) -> str:
    """The command-line spelling of a setting: ``fees_bps`` -> ``--fees-bps``."""
    return "--" + name.replace("_", "-")


def check_setting(name: str, value: Any, option: str | None = None) -> float:
    """``value`` as a float, or a StudyError naming the option (default ``--name``) and its accepted range
    (``theses.util.SETTING_RANGES``)."""
    problem = setting_problem(name, value)
    if problem is not None:
        raise StudyError(f"{option or option_name(name)} {problem}")
    return float(value)


def _pick(given: float | None, own: float | None, default: float) -> float:
    """The setting given, else the portfolio's own, else the project default."""
    if given is not None:
        return float(given)
    if own is not None:
        return float(own)
    return default


def costs_text(config: BacktestConfig) -> str:
    """The one-line statement of costs and rates every result prints."""
    c = config.costs
    return (
        f"fees {c.fees_bps:g} bps, slippage {c.slippage_bps:g} bps per side; borrow {c.borrow_bps:g} bps/yr; "
        f"cash {c.cash_rate:.2%}/yr; risk-free {config.risk_free:.2%}/yr"
    )


def execution_text(config: BacktestConfig | None) -> str:
    """How weights turn into trades, in words."""
    return "weights decided from a close trade at the next bar's " + (config.execution if config else "close")


# ------------------------------------------------------------------------------------------- strategies
def resolve_strategy(spec: str | Strategy) -> Strategy:
    """A :class:`Strategy` as given, a registered strategy name, or a path to a user portfolio TOML file."""
    from theses import strategies

    if not isinstance(spec, str):
        return spec
    if is_portfolio_path(spec):
        return strategies.strategy_from_toml(read_portfolio_text(spec), source=str(Path(spec)))
    return strategies.get_strategy(spec)


def is_portfolio_path(spec: str) -> bool:
    """True when ``spec`` names a portfolio file rather than a registered strategy."""
    return spec.endswith(".toml") or os.sep in spec or "/" in spec


def read_portfolio_text(spec: str) -> str:
    """The text of a portfolio ``.toml`` file, or a StudyError naming it."""
    path = Path(spec)
    if not path.is_file():
        raise StudyError(f"portfolio file {spec} not found: check the path (or give a strategy name; see `theses list`)")
    try:
        if path.stat().st_size > MAX_PORTFOLIO_BYTES:
            raise StudyError(f"portfolio file {spec} is {path.stat().st_size:,} bytes; a portfolio is a short "
                             f"TOML text (at most {MAX_PORTFOLIO_BYTES:,} bytes): check the path")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise StudyError(f"portfolio file {spec} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise StudyError(f"cannot read portfolio file {spec}: {exc.strerror or exc}") from None


def resolve_strategies(specs: Iterable[str | Strategy] | str | None) -> list[Strategy]:
    """Strategies from names/files/objects (every registered one for None, none for []); each name once."""
    from theses import strategies

    if isinstance(specs, str):
        specs = [specs]
    chosen = [resolve_strategy(s) for s in specs] if specs is not None else list(strategies.list_strategies())
    seen: set[str] = set()
    for strategy in chosen:
        if strategy.name in seen:
            raise StudyError(f'strategy "{strategy.name}" is named twice: list each strategy once')
        seen.add(strategy.name)
    return chosen


def parse_inline_weights(text: str) -> dict[str, float]:
    """Parse ``"SPY=0.6,TLT=0.4"`` (shorts negative) into ``{"SPY": 0.6, "TLT": 0.4}``."""
    weights: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = _INLINE_WEIGHT.match(item)
        if not match:
            raise StudyError(f'--weights item "{item}" is not TICKER=FRACTION: write e.g. --weights "SPY=0.6,TLT=0.4"')
        ticker = match.group(1).upper()
        if ticker in weights:
            raise StudyError(f"--weights names {ticker} twice: give each ticker once")
        weights[ticker] = float(match.group(2))
    if not weights:
        raise StudyError('--weights is empty: write e.g. --weights "SPY=0.6,TLT=0.4"')
    return weights


def inline_strategy(weights: str | Mapping[str, float], rebalance: str = "monthly", name: str = "inline") -> Strategy:
    """A fixed-weight portfolio from ``"SPY=0.6,TLT=0.4"`` or a mapping, validated like a TOML portfolio."""
    from theses import strategies

    book = parse_inline_weights(weights) if isinstance(weights, str) else {str(k).upper(): float(v) for k, v in weights.items()}
    for ticker, weight in book.items():
        if not math.isfinite(weight):
            raise StudyError(f"weight of {ticker} is {weight!r}; give a finite fraction of equity such as 0.25")
    lines = [f"name = {json.dumps(name)}", f"rebalance = {json.dumps(rebalance)}", "[weights]"]
    lines += [f'"{ticker}" = {weight!r}' for ticker, weight in book.items()]
    return strategies.strategy_from_toml("\n".join(lines) + "\n", source="--weights")


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


def tickers_for(strategies_: Iterable[Strategy], benchmarks: Iterable[str] = BENCHMARKS) -> list[str]:
    """Every ticker the strategies and benchmarks need, in first-seen order."""
    seen: dict[str, None] = {}
    for strategy in strategies_:
        seen.update(dict.fromkeys(strategy.universe))
        seen[strategy.benchmark] = None
    seen.update(dict.fromkeys(benchmarks))
    return list(seen)


def shipped_priors() -> dict[str, float]:
    """``{scenario: prior}`` as written in the shipped scenario files, in listing order (for ``--help`` texts).

    Reads only the ``prior`` and ``order`` keys with ``tomllib`` and locates ``theses.data`` without importing
    it (that would load pandas), so ``--help`` stays fast. A file without a readable prior is left out here;
    loading the scenario reports the problem in one line.
    """
    import importlib.util
    import tomllib

    spec = importlib.util.find_spec("theses.data")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    found: list[tuple[float, str, float]] = []
    for path in sorted(p for folder in folders for p in (Path(folder) / "scenarios").glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        prior, order = raw.get("prior"), raw.get("order")
        if isinstance(prior, int | float) and not isinstance(prior, bool):
            found.append((order if isinstance(order, int) else math.inf, path.stem, float(prior)))
    return {name: prior for _, name, prior in sorted(found)}


def priors_text() -> str:
    """The shipped priors as ``damp_squib=0.15, ...`` (empty when none could be read)."""
    return ", ".join(f"{name}={prior:g}" for name, prior in shipped_priors().items())


def check_data_dir(data_dir: str | os.PathLike[str] | None) -> None:
    """A StudyError unless ``data_dir`` is None or an existing folder (a file or a typo is refused early)."""
    if data_dir is None:
        return
    if not str(data_dir).strip():
        raise StudyError('--data-dir is empty; give a folder of TICKER.csv files, or leave the option out')
    if not Path(data_dir).expanduser().is_dir():
        what = "is a file" if Path(data_dir).expanduser().exists() else "does not exist"
        raise StudyError(f"--data-dir {data_dir} {what}: give a folder of TICKER.csv files (or set THESES_DATA_DIR)")


def check_choice(option: str, value: Any, choices: Sequence[str]) -> None:
    """A StudyError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise StudyError(f"{option} {value!r} is not valid; use one of {', '.join(choices)}")


DEFAULT_SETTINGS = RunSettings()
"""The project defaults (every unset cost falls back to the portfolio's own, then the defaults above)."""
