"""The scenario pipeline behind ``theses simulate``: generate paths in chunks, run every strategy on them.

For each scenario the paths are generated ``chunk_size`` at a time (memory stays bounded); on each chunk every
strategy computes its target weights from its own universe's columns and the engine's batch backtest turns them
into equity. Per path we keep terminal wealth, CAGR, maximum drawdown, turnover and costs, plus SPY's terminal
wealth on the same path (for "probability of beating SPY"); full equity curves are not kept, only percentile
bands.

Every scenario uses the same seed (common random numbers): scenarios differ by their drifts, volatilities and
crashes, not by luck of the draw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from theses.cli import common
from theses.cli.errors import CliError

if TYPE_CHECKING:  # numpy/pandas are imported inside the functions so `theses --help` stays fast
    import numpy as np
    import pandas as pd
    from theses.data.scenario_spec import ScenarioSpec
    from theses.engine import BacktestConfig, BatchResult
    from theses.strategies import Strategy

BENCHMARK_TICKERS: tuple[str, ...] = ("SPY", "RSP")
BEAT_BENCHMARK = "SPY"
DEFAULT_CHUNK_SIZE = 1024  # 1,024 paths x 1,260 days x 40 assets of float32 = 206 MB per chunk
# Default scenario probabilities: the essay puts >50% on scenarios 3 (jetsons) or 4 (take_off); the split of
# the rest is our assumption. bubble_2027 is a variant of the path to 2027 and gets a smaller share.
DEFAULT_PROBABILITIES: dict[str, float] = {
    "damp_squib": 0.15,
    "typical_cycle": 0.20,
    "jetsons": 0.35,
    "take_off": 0.20,
    "bubble_2027": 0.10,
}
METHODS = ("t", "bootstrap")


@dataclass
class SimulationRun:
    """Everything a simulation produced.

    Attributes
    ----------
    results : ``{scenario: {strategy: BatchResult}}`` (per-path arrays over all paths, equity bands).
    probabilities : scenario probabilities used for the blend.
    blend : ``{strategy: summary}`` of the probability-weighted mixture of scenarios
        (see ``engine.metrics.scenario_blend``).
    seed, method, paths, years : the run's settings.
    index : simulated dates.
    benchmark_terminal : ``{scenario: (P,) SPY terminal wealth per path}`` (buy and hold, same costs).
    notes : human-readable notes (start prices, calibration, ...).
    """

    results: dict[str, dict[str, BatchResult]]
    probabilities: dict[str, float]
    blend: dict[str, dict[str, Any]]
    seed: int
    method: str
    paths: int
    years: float
    index: pd.DatetimeIndex
    benchmark_terminal: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-path arrays)."""
        from theses.util import jsonable

        return {
            "seed": self.seed,
            "method": self.method,
            "paths": self.paths,
            "years": self.years,
            "start": self.index[0].strftime("%Y-%m-%d"),
            "end": self.index[-1].strftime("%Y-%m-%d"),
            "probabilities": self.probabilities,
            "scenarios": {
                scenario: {name: jsonable(result.summary) for name, result in by_strategy.items()}
                for scenario, by_strategy in self.results.items()
            },
            "blend": {name: jsonable(summary) for name, summary in self.blend.items()},
            "notes": list(self.notes),
        }


def parse_probabilities(text: str) -> dict[str, float]:
    """Parse ``"jetsons=0.35,take_off=0.2"`` into a dict."""
    out: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise CliError(f'--probabilities item "{item}" is not SCENARIO=P; write e.g. "jetsons=0.35,take_off=0.2"') from None
    if not out:
        raise CliError('--probabilities is empty; write e.g. "jetsons=0.35,take_off=0.65"')
    return out


def resolve_probabilities(scenarios: Sequence[str], given: Mapping[str, float] | None) -> dict[str, float]:
    """The blend's probabilities: the user's, or the defaults renormalised over the scenarios run.

    When any scenario run has no default (a user's spec), every scenario run gets the same probability:
    a user's scenario silently weighted 0 would vanish from the blend. Pass ``--probabilities`` to choose.
    """
    if given is not None:
        return {name: float(p) for name, p in given.items()}
    if any(name not in DEFAULT_PROBABILITIES for name in scenarios):
        return {name: 1.0 / len(scenarios) for name in scenarios}
    total = sum(DEFAULT_PROBABILITIES[name] for name in scenarios)
    return {name: DEFAULT_PROBABILITIES[name] / total for name in scenarios}


def _config_for(config: BacktestConfig | Callable[[Strategy], BacktestConfig] | None, strategy: Strategy) -> BacktestConfig:
    from theses.engine import BacktestConfig, RebalanceRule

    if callable(config) and not isinstance(config, BacktestConfig):
        return config(strategy)
    base = config if config is not None else BacktestConfig()
    rule = RebalanceRule(calendar=strategy.rebalance, band_abs=strategy.band_abs, band_rel=strategy.band_rel)
    return dataclasses.replace(base, rebalance=rule, missing_policy=strategy.missing_policy)


def _check_universe(strategies_: Sequence[Strategy], spec: ScenarioSpec) -> None:
    simulated = set(spec.tickers)
    for strategy in strategies_:
        missing = [t for t in strategy.universe if t not in simulated]
        if missing:
            raise CliError(
                f"strategy {strategy.name} needs {', '.join(missing)}, which scenario {spec.name} ({spec.source}) "
                "does not simulate; add them to one of its [groups]"
            )


class _Accumulator:
    """Per-path arrays and equity bands of one strategy, merged over chunks."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in ("terminal_wealth", "cagr", "max_drawdown",
                                                                   "turnover", "costs", "benchmark_terminal")}
        self.bands: np.ndarray | None = None
        self.n = 0
        self.first: BatchResult | None = None

    def add(self, result: BatchResult, bench_terminal: np.ndarray | None) -> None:
        import numpy as np

        n = len(result.terminal_wealth)
        for key in ("terminal_wealth", "cagr", "max_drawdown", "turnover", "costs"):
            self.parts[key].append(np.asarray(getattr(result, key), dtype=np.float64))
        if bench_terminal is not None:
            self.parts["benchmark_terminal"].append(bench_terminal)
        # Percentile bands of a chunk, averaged with chunk-size weights: exact for one chunk, otherwise a
        # consistent estimate (enough for fan charts) without keeping every path's equity.
        weighted = result.equity_bands * n
        self.bands = weighted if self.bands is None else self.bands + weighted
        self.n += n
        self.first = self.first or result

    def per_path(self) -> dict[str, np.ndarray]:
        import numpy as np

        out = {k: np.concatenate(v) for k, v in self.parts.items() if v}
        # Wealth to 12 decimals: a strategy that *is* SPY must not "beat" SPY by float rounding (1e-16).
        for key in ("terminal_wealth", "benchmark_terminal"):
            if key in out:
                out[key] = np.round(out[key], 12)
        return out

    def result(self, scenario: str) -> BatchResult:
        from theses.engine import BatchResult
        from theses.engine.metrics import scenario_blend

        paths = self.per_path()
        summary = dict(scenario_blend({scenario: paths}, {scenario: 1.0}))
        assert self.first is not None and self.bands is not None
        return BatchResult(
            name=self.first.name, index=self.first.index, terminal_wealth=paths["terminal_wealth"],
            cagr=paths["cagr"], max_drawdown=paths["max_drawdown"], turnover=paths["turnover"],
            costs=paths["costs"], equity_bands=self.bands / self.n, summary=summary,
            config=dict(self.first.config),
        )


def _window_start(result: BatchResult) -> int:
    import pandas as pd

    start = result.config.get("window_start")
    return int(result.index.get_loc(pd.Timestamp(start))) if start else 0


def run_simulation(
    strategies: Sequence[Strategy],
    scenarios: Sequence[ScenarioSpec],
    paths: int,
    years: float,
    seed: int,
    method: str = "t",
    config: BacktestConfig | Callable[[Strategy], BacktestConfig] | None = None,
    data_dir: str | Path | None = None,
    progress: bool = True,
    *,
    probabilities: Mapping[str, float] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    calibration: Any = None,
    start: str | pd.Timestamp | None = None,
    mean_block: float = 20.0,
    include_benchmarks: bool = True,
) -> SimulationRun:
    """Run ``strategies`` (plus SPY and RSP buy-and-hold) on every scenario's simulated paths.

    Parameters
    ----------
    strategies : strategies to evaluate.
    scenarios : validated scenario specs.
    paths, years, seed : number of paths, horizon (252 trading days a year), random seed.
    method : ``"t"`` (correlated Student-t) or ``"bootstrap"`` (stationary bootstrap of history).
    config : a base :class:`engine.BacktestConfig` (each strategy's rebalance rule and missing policy are
        applied to it) or a function ``strategy -> BacktestConfig``.
    data_dir : CSV directory; needed for ``bootstrap``; with it the paths start from the last real closes
        the day after the data ends. Without it they start at 100 the day after the calibration window.
    progress : show a rich progress bar on stderr.
    probabilities : scenario probabilities for the blend (default: ``DEFAULT_PROBABILITIES`` renormalised).
    chunk_size : paths generated and evaluated at a time.
    calibration : a ``data.calibration.Calibration`` (default: the shipped ``default.json``).
    start : first simulated date (default: next business day after the data / calibration end).
    mean_block : mean block length of the bootstrap, days.
    include_benchmarks : add SPY and RSP buy-and-hold (SPY is also the "beat" benchmark).

    Returns
    -------
    SimulationRun
    """
    import numpy as np
    import pandas as pd
    from theses.data.calibration import read_calibration
    from theses.data.generators import (
        BootstrapGenerator,
        ParametricGenerator,
        historical_log_returns,
        next_business_day,
        simulation_index,
    )
    from theses.engine import backtest_batch
    from theses.engine.metrics import scenario_blend

    if method not in METHODS:
        raise CliError(f"--method {method!r}: use one of {', '.join(METHODS)}")
    if paths < 1:
        raise CliError(f"--paths {paths}: simulate at least one path")
    if chunk_size < 1:
        raise CliError(f"--chunk-size {chunk_size}: use a positive number of paths")
    if not scenarios:
        raise CliError("no scenario to run; pass --scenario NAME, all, or a .toml file")
    names = [spec.name for spec in scenarios]
    if len(set(names)) != len(names):
        raise CliError(f"scenario names repeat ({', '.join(names)}); give each spec a distinct name")
    probs = resolve_probabilities(names, probabilities)

    run_strategies = list(strategies)
    if include_benchmarks:
        taken = {s.name for s in run_strategies}
        run_strategies += [b for b in common.benchmark_strategies(BENCHMARK_TICKERS) if b.name not in taken]
    if not run_strategies:
        raise CliError("no strategy to run; name one (see `theses list`) or keep the benchmarks")

    notes: list[str] = []
    calibration = calibration if calibration is not None else read_calibration()
    history_prices: pd.DataFrame | None = None
    if data_dir is not None:
        from theses.data.load import load_prices

        all_tickers = sorted({t for spec in scenarios for t in spec.tickers})
        history_prices = load_prices(all_tickers, source="csv", data_dir=data_dir).close
        notes.append(f"paths start from the last real closes ({history_prices.index[-1].date()})")
    elif method == "bootstrap":
        raise CliError("--method bootstrap resamples real history: pass --data-dir DIR (or set THESES_DATA_DIR)")
    else:
        notes.append("paths start at 100 for every ticker")
    anchor = history_prices.index[-1] if history_prices is not None else calibration.end
    first_day = pd.Timestamp(start) if start is not None else next_business_day(anchor)
    index = simulation_index(first_day, years)
    notes.append(f"calibration {calibration.start.date()} to {calibration.end.date()}, "
                 f"shrinkage {calibration.shrinkage:.3f}; method {method}; seed {seed}")

    configs = {s.name: _config_for(config, s) for s in run_strategies}
    n_chunks = -(-paths // chunk_size)
    results: dict[str, dict[str, BatchResult]] = {}
    per_path: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    bench_terminal: dict[str, np.ndarray] = {}

    bar = _progress(progress)
    with bar:
        task = bar.add_task("simulating", total=len(scenarios) * n_chunks * len(run_strategies)) if bar else None
        for spec in scenarios:
            _check_universe(run_strategies, spec)
            tickers = spec.tickers
            start_prices = None
            if history_prices is not None:
                last = history_prices[list(tickers)].ffill().iloc[-1].to_numpy(dtype=float)
                start_prices = np.where(np.isfinite(last) & (last > 0), last, 100.0)
            if method == "t":
                generator = ParametricGenerator(spec, calibration, index, seed, start_prices=start_prices)
            else:
                assert history_prices is not None
                history = historical_log_returns(history_prices, tickers)
                generator = BootstrapGenerator(spec, history, index, seed, mean_block=mean_block,
                                               start_prices=start_prices)
            accumulators = {s.name: _Accumulator() for s in run_strategies}
            columns = {s.name: [tickers.index(t) for t in s.universe] for s in run_strategies}
            n_assets = len(tickers)
            for _, prices in generator.chunks(paths, chunk_size):
                spy_equity = None
                ordered = sorted(run_strategies, key=lambda s: s.name != BEAT_BENCHMARK)  # SPY first
                for strategy in ordered:
                    if bar:
                        bar.update(task, description=f"{spec.name}: {strategy.name}")
                    # np.take on the 2-D view is ~4x faster than fancy indexing the last axis of a 3-D array.
                    sub = np.take(prices.reshape(-1, n_assets), columns[strategy.name], axis=1).reshape(
                        len(prices), len(index), -1)
                    weights = strategy.target_weights_array(sub, index, list(strategy.universe))
                    keep = strategy.name == BEAT_BENCHMARK
                    result = backtest_batch(sub, weights, configs[strategy.name], index=index,
                                            tickers=list(strategy.universe), keep_equity=keep, name=strategy.name)
                    if keep:
                        spy_equity = result.equity
                    bench = None
                    if spy_equity is not None:
                        first = _window_start(result)
                        bench = spy_equity[:, -1] / spy_equity[:, first]
                    accumulators[strategy.name].add(result, bench)
                    if bar:
                        bar.advance(task)
                del prices
            results[spec.name] = {s.name: accumulators[s.name].result(spec.name) for s in run_strategies}
            per_path[spec.name] = {s.name: accumulators[s.name].per_path() for s in run_strategies}
            if BEAT_BENCHMARK in results[spec.name]:
                bench_terminal[spec.name] = results[spec.name][BEAT_BENCHMARK].terminal_wealth

    blend: dict[str, dict[str, Any]] = {}
    keys = ("terminal_wealth", "cagr", "max_drawdown", "benchmark_terminal")
    for strategy in run_strategies:
        pooled = {spec.name: {k: v for k, v in per_path[spec.name][strategy.name].items() if k in keys}
                  for spec in scenarios}
        blend[strategy.name] = dict(scenario_blend(pooled, probs))
    return SimulationRun(results=results, probabilities=probs, blend=blend, seed=int(seed), method=method,
                         paths=int(paths), years=float(years), index=index, benchmark_terminal=bench_terminal,
                         notes=tuple(notes))


def _progress(enabled: bool) -> Any:
    """A rich progress bar on stderr (transient), or a falsy stand-in when progress is off."""
    if not enabled:
        return _NullBar()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


class _NullBar:
    """Stands in for a progress bar when progress is off (falsy, usable as a context manager)."""

    def __bool__(self) -> bool:
        return False

    def __enter__(self) -> _NullBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def write_simulation_report(
    run: SimulationRun,
    out_dir: str | Path | None,
    config: BacktestConfig,
    *,
    title: str = "Scenario simulation",
    results: Sequence[Any] = (),
    extra_notes: Sequence[str] = (),
) -> Path:
    """Write the report folder of a simulation (fan charts, terminal wealth, strategy x scenario table).

    ``results`` are optional historical backtests shown beside the scenarios (as ``theses demo`` does).
    """
    from theses.reports import write_simulation_report as write

    span = f"{run.index[0].date()} to {run.index[-1].date()}"
    context = common.RunContext(
        source=f"simulated paths ({run.method}), {run.paths} per scenario", start=str(run.index[0].date()),
        end=str(run.index[-1].date()), notes=(*run.notes, *extra_notes),
    ).as_dict(config)
    if results:
        context["window"] = f"history {results[0].metrics.get('start')} to {results[0].metrics.get('end')}; scenarios {span}"
    meta = {
        "seed": run.seed, "method": run.method, "paths": run.paths, "years": run.years,
        "probabilities": run.probabilities, "blend": run.blend,
    }
    return write(run.results, meta, out_dir, title=title, context=context, results=results)
