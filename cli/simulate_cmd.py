"""``theses simulate``: run strategies on scenario-generated price paths and summarise the outcomes."""

from __future__ import annotations

import argparse
import os

from theses.cli import common
from theses.cli.errors import CliError
from theses.studies.settings import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_PATHS,
    DEFAULT_SEED,
    DEFAULT_YEARS,
    SCENARIO_METHODS,
    priors_text,
)

COLUMNS = (
    "cagr_p50", "cagr_p5", "cagr_p95", "terminal_wealth_p50", "terminal_wealth_p5", "terminal_wealth_p95",
    "prob_loss", "prob_beat_benchmark", "cvar_5", "median_max_drawdown",
)


def priors_help() -> str:
    """Where the blend's probabilities come from, with the shipped priors (read from the files)."""
    return (f"Scenario probabilities are the priors written in the scenario files (shipped: {priors_text()}; "
            "the essay puts >50% on jetsons or take_off, the rest is a stated assumption), renormalised to sum "
            "to 1 over the scenarios run; a scenario file without a prior gives every scenario run an equal share "
            "(a note says so); --probabilities overrides.")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` sub-command."""
    parser = subparsers.add_parser(
        "simulate",
        help="run strategies on simulated scenario paths",
        description=lambda: "Simulate price paths for the essay's scenarios (or your own spec) and run the "
        "strategies on every path through the engine's batch backtest. Prints, per strategy and scenario, the "
        "median and 5th/95th percentile CAGR and terminal wealth, probability of loss, probability of beating SPY "
        "on the same path, CVaR(5%) of the terminal return and the median maximum drawdown, plus the "
        "probability-weighted blend across scenarios. " + priors_help(),
    )
    parser.add_argument("strategies", nargs="*", metavar="STRATEGY",
                        help="strategy names or portfolio .toml files (default: all registered); SPY and RSP "
                        "buy-and-hold are always added")
    add_scenario_options(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    common.add_cost_options(parser)
    common.add_executor_options(parser)
    parser.add_argument("--out", metavar="DIR",
                        help="also write an HTML/Markdown/CSV/JSON report (fan charts per scenario) into DIR")
    parser.set_defaults(func=run)


def add_scenario_options(parser: argparse.ArgumentParser) -> None:
    """The options every scenario study takes (simulate, and the studies built on it)."""
    parser.add_argument("--scenario", default="all", metavar="NAME",
                        help="a shipped scenario (damp_squib, typical_cycle, jetsons, take_off, bubble_2027), "
                        "'all' (default), or a path to a scenario .toml; comma-separate several")
    parser.add_argument("--paths", type=common.count, default=DEFAULT_PATHS, metavar="N",
                        help=f"paths per scenario (default {DEFAULT_PATHS})")
    parser.add_argument("--years", type=float, default=DEFAULT_YEARS, metavar="Y",
                        help=f"horizon in calendar years of NYSE trading days (default {DEFAULT_YEARS:g})")
    parser.add_argument("--seed", type=common.count, default=DEFAULT_SEED, metavar="S", help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--method", choices=SCENARIO_METHODS, default="t",
                        help="t: correlated Student-t shocks from the calibration (default, offline); bootstrap: "
                        "stationary block bootstrap of real returns (needs --data-dir)")
    parser.add_argument("--probabilities", metavar="P",
                        help='scenario probabilities for the blend, naming every scenario run and summing to 1, '
                        'e.g. "jetsons=0.6,take_off=0.4" (default: the priors in the scenario files)')
    parser.add_argument("--chunk-size", type=common.count, default=DEFAULT_CHUNK_SIZE, metavar="C",
                        help=f"paths generated and evaluated at a time (default {DEFAULT_CHUNK_SIZE}); bounds memory")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="CSV directory (default $THESES_DATA_DIR, only for --method bootstrap): paths then "
                        "start from the last real closes")
    parser.add_argument("--calibration", metavar="FILE",
                        help="calibration JSON written by `theses calibrate` (default: the shipped one)")
    parser.add_argument("--start", metavar="DATE", help="first simulated day (default: next business day after the data)")
    parser.add_argument("--mean-block", type=float, default=20.0, metavar="D",
                        help="mean block length in days for --method bootstrap (default 20)")


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


def scenario_options(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`theses.studies.scenarios.simulate` from the scenario options."""
    from theses.studies.calibration import read_calibration

    data_dir = args.data_dir or (os.environ.get("THESES_DATA_DIR") if args.method == "bootstrap" else None)
    return {
        "scenarios": args.scenario, "paths": args.paths, "years": args.years, "seed": args.seed,
        "method": args.method, "chunk_size": args.chunk_size, "data_dir": data_dir, "start": args.start,
        "mean_block": args.mean_block, "settings": common.settings_of(args),
        "calibration": read_calibration(args.calibration) if args.calibration else None,
        "probabilities": parse_probabilities(args.probabilities) if args.probabilities else None,
    }


def run(args: argparse.Namespace) -> int:
    """Run the simulation and print tables or JSON; returns the exit status."""
    from theses.cli import render
    from theses.studies.scenarios import simulate

    if args.out:
        from theses.reports.folder import check_destination

        check_destination(args.out)  # before the work: a bad --out must not cost the results
    options = scenario_options(args)
    with common.executor_of(args) as executor, render.Progress("simulating") as progress:
        result = simulate(args.strategies or None, progress=progress, executor=executor, **options)
        report_path = write_report(result, args.out, progress, executor) if args.out else None
    return render.emit(args.format, result.to_dict, lambda: print_tables(result), report_path)


def write_report(result, out: str, progress=None, executor=None):
    """The scenario report, led by the decision analysis of the run (the best mix repeated on seed + 1)."""
    from theses.reports import write_decision_report, write_simulation_report
    from theses.studies.decide import analyse, distinct_count

    if distinct_count(result) < 2:  # nothing to decide between: the scenario sections alone
        return write_simulation_report(result.results, result.report_meta(), out, title="Scenario simulation",
                                       context=result.header(), progress=progress)
    return write_decision_report(analyse(result, progress=progress, executor=executor), out,
                                 title="Scenario simulation", progress=progress)


def print_tables(result) -> None:
    """One table per scenario and the blend, then the notes."""
    from rich import box

    from theses.cli import render

    console = render.make_console()
    span = f"{result.index[0].date()} to {result.index[-1].date()}"
    tables = [(f"{scenario}: {result.paths} paths, {span}", {name: r.summary for name, r in by.items()})
              for scenario, by in result.results.items()]
    probs = ", ".join(f"{k}={v:.2f}" for k, v in result.probabilities.items())
    tables.append((f"blend ({probs})", result.blend))
    for title, summaries in tables:
        table = render.metrics_table(summaries, COLUMNS, title=title)
        table.box = box.SIMPLE_HEAD
        console.print(table)
    render.print_notes(console, result.notes)
