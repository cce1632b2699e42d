"""``theses simulate``: run strategies on scenario-generated price paths and summarise the outcomes."""

from __future__ import annotations

import argparse
import json
import os
import sys

from theses.cli import common
from theses.cli.simulation import DEFAULT_CHUNK_SIZE, DEFAULT_PROBABILITIES, METHODS

_DEFAULT_PROBS_TEXT = ", ".join(f"{k}={v:g}" for k, v in DEFAULT_PROBABILITIES.items())

COLUMNS = (
    "cagr_p50", "cagr_p5", "cagr_p95", "terminal_wealth_p50", "terminal_wealth_p5", "terminal_wealth_p95",
    "prob_loss", "prob_beat_benchmark", "cvar_5", "median_max_drawdown",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` sub-command."""
    parser = subparsers.add_parser(
        "simulate",
        help="run strategies on simulated scenario paths",
        description="Simulate price paths for the essay's scenarios (or your own spec) and run the strategies "
        "on every path through the engine's batch backtest. Prints, per strategy and scenario, the median and "
        "5th/95th percentile CAGR and terminal wealth, probability of loss, probability of beating SPY on the "
        "same path, CVaR(5%) of the terminal return and the median maximum drawdown, plus the "
        f"probability-weighted blend across scenarios (default probabilities: {_DEFAULT_PROBS_TEXT}; the essay "
        "puts >50% on jetsons or take_off; renormalised over the scenarios run, equal when one of them is your own spec).",
    )
    parser.add_argument("strategies", nargs="*", metavar="STRATEGY",
                        help="strategy names or portfolio .toml files (default: all registered); SPY and RSP "
                        "buy-and-hold are always added")
    parser.add_argument("--scenario", default="all", metavar="NAME",
                        help="a shipped scenario (damp_squib, typical_cycle, jetsons, take_off, bubble_2027), "
                        "'all' (default), or a path to a scenario .toml; comma-separate several")
    parser.add_argument("--paths", type=int, default=2000, metavar="N", help="paths per scenario (default 2000)")
    parser.add_argument("--years", type=float, default=5.0, metavar="Y", help="horizon in years of 252 days (default 5)")
    parser.add_argument("--seed", type=int, default=2024, metavar="S", help="random seed (default 2024)")
    parser.add_argument("--method", choices=METHODS, default="t",
                        help="t: correlated Student-t shocks from the calibration (default, offline); bootstrap: "
                        "stationary block bootstrap of real returns (needs --data-dir)")
    parser.add_argument("--probabilities", metavar="P",
                        help=f'scenario probabilities for the blend, e.g. "jetsons=0.35,take_off=0.2,..." '
                        f"(default: {_DEFAULT_PROBS_TEXT})")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, metavar="C",
                        help=f"paths generated and evaluated at a time (default {DEFAULT_CHUNK_SIZE}); bounds memory")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="CSV directory (default $THESES_DATA_DIR, only for --method bootstrap): paths then "
                        "start from the last real closes")
    parser.add_argument("--calibration", metavar="FILE", help="calibration JSON (default: the shipped one)")
    parser.add_argument("--start", metavar="DATE", help="first simulated day (default: next business day after the data)")
    parser.add_argument("--mean-block", type=float, default=20.0, metavar="D",
                        help="mean block length in days for --method bootstrap (default 20)")
    common.add_cost_options(parser)
    parser.add_argument("--out", metavar="DIR",
                        help="also write an HTML/Markdown/CSV/JSON report (fan charts per scenario) into DIR")
    parser.set_defaults(func=run)


def _scenarios(text: str) -> list:
    from theses.data.scenario_spec import list_scenarios, load_scenario

    names: list[str] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        names.extend(list_scenarios() if part == "all" else [part])
    return [load_scenario(name) for name in dict.fromkeys(names)]


def _table(title: str, summaries: dict[str, dict]):
    from rich import box
    from theses.cli import render

    table = render.metrics_table(summaries, COLUMNS, title=title)
    table.box = box.SIMPLE_HEAD
    return table


def run(args: argparse.Namespace) -> int:
    """Run the simulation and print tables or JSON; returns the exit status."""
    from theses.cli.errors import CliError
    from theses.cli.simulation import parse_probabilities, run_simulation, write_simulation_report

    if args.execution == "open":
        raise CliError("--execution open: simulated paths have closes only; use --execution close")
    strategies_ = [common.resolve_strategy(s) for s in args.strategies] if args.strategies else None
    if strategies_ is None:
        from theses.strategies import list_strategies

        strategies_ = list(list_strategies())
    scenarios = _scenarios(args.scenario)
    calibration = None
    if args.calibration:
        from theses.data.calibration import read_calibration

        calibration = read_calibration(args.calibration)
    data_dir = args.data_dir or (os.environ.get("THESES_DATA_DIR") if args.method == "bootstrap" else None)
    probabilities = parse_probabilities(args.probabilities) if args.probabilities else None
    result = run_simulation(
        strategies_, scenarios, args.paths, args.years, args.seed, args.method,
        config=lambda strategy: common.build_config(strategy, args), data_dir=data_dir,
        progress=args.format == "table" and sys.stderr.isatty(), probabilities=probabilities,
        chunk_size=args.chunk_size, calibration=calibration, start=args.start, mean_block=args.mean_block,
    )
    report_path = None
    if args.out:
        report_path = write_simulation_report(result, args.out, common.build_config(strategies_[0], args))
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=1, allow_nan=False))
        if report_path:
            print(f"report written to {report_path}", file=sys.stderr)
        return 0

    from theses.cli import render

    # Wide enough for the eleven columns even when piped (rich assumes 80 columns off a terminal).
    console = render.make_console()
    span = f"{result.index[0].date()} to {result.index[-1].date()}"
    for scenario, by_strategy in result.results.items():
        console.print(_table(f"{scenario}: {result.paths} paths, {span}",
                             {name: r.summary for name, r in by_strategy.items()}))
    probs = ", ".join(f"{k}={v:.2f}" for k, v in result.probabilities.items())
    console.print(_table(f"blend ({probs})", result.blend))
    for note in result.notes:
        console.print(f"[dim]note: {note}[/dim]")
    if report_path:
        console.print(f"report written to [bold]{report_path}[/bold]", soft_wrap=True)
    return 0
