"""``theses backtest``: run one strategy (registered name, TOML file, or inline weights) on real history."""

from __future__ import annotations

import argparse
import json
import sys

from theses.cli import common
from theses.cli.errors import CliError

REBALANCE_CHOICES = ("none", "daily", "weekly", "monthly", "quarterly", "yearly")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="backtest one strategy on real history",
        description="Backtest a registered strategy (see `theses list`), a portfolio TOML file, or inline "
        "weights, against SPY and RSP. Weights decided from day t's close trade at day t+1.",
    )
    parser.add_argument("strategy", nargs="?", help="strategy name or path/to/portfolio.toml")
    parser.add_argument("--weights", metavar="W", help='inline fixed weights, e.g. "SPY=0.6,TLT=0.4" (shorts negative)')
    parser.add_argument(
        "--rebalance", choices=REBALANCE_CHOICES, default="monthly", help="rebalance rule for --weights (default monthly)"
    )
    common.add_data_options(parser)
    common.add_cost_options(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    parser.add_argument("--out", metavar="DIR", help="also write an HTML/Markdown/CSV/JSON report into DIR")
    parser.set_defaults(func=run)


def result_summary(result, context: common.RunContext) -> dict:
    """The JSON document printed by ``--format json``."""
    return {
        "strategy": result.name,
        "start": result.metrics.get("start"),
        "end": result.metrics.get("end"),
        "metrics": result.metrics,
        "benchmarks": result.benchmark_metrics,
        "config": result.config,
        "data": {"source": context.source, "loaded_window": [context.start, context.end], "notes": list(context.notes)},
    }


def run(args: argparse.Namespace) -> int:
    if args.strategy and args.weights:
        raise CliError("give either a STRATEGY or --weights, not both")
    if not args.strategy and not args.weights:
        raise CliError('name a strategy (see `theses list`), a portfolio .toml file, or --weights "SPY=1"')
    strategy = (
        common.inline_strategy(args.weights, args.rebalance) if args.weights else common.resolve_strategy(args.strategy)
    )
    price_data = common.load_window(common.tickers_for([strategy]), args)
    config = common.build_config(strategy, args)
    result = common.run_backtest(strategy, price_data, config)
    context = common.context_of(price_data)

    if args.format == "json":
        from theses.util import jsonable

        sys.stdout.write(json.dumps(jsonable(result_summary(result, context)), indent=2) + "\n")
    else:

        from theses.cli import render

        console = render.make_console()
        rows = {result.name: result.metrics, **result.benchmark_metrics}
        title = f"{result.name}: {result.metrics.get('start')} to {result.metrics.get('end')} ({context.source})"
        console.print(render.metrics_columns_table(rows, title=title))
        console.print(f"[dim]{context.as_dict(config)['costs']}; {context.as_dict(config)['execution']}[/dim]")
        render.print_notes(console, context.notes)
    if args.out:
        from theses.reports import write_report

        path = write_report([result], args.out, title=f"Backtest: {result.name}", context=context.as_dict(config))
        print(f"report written to {path}", file=sys.stderr if args.format == "json" else sys.stdout)
    return 0
