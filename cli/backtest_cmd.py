"""``theses backtest``: run one strategy (registered name, TOML file, or inline weights) on real history."""

from __future__ import annotations

import argparse
import json
import sys

from theses.cli import common
from theses.cli.errors import CliError


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
        "--rebalance", choices=common.CALENDARS, default="monthly", help="rebalance rule for --weights (default monthly)"
    )
    common.add_data_options(parser)
    common.add_cost_options(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    parser.add_argument("--out", metavar="DIR", help="also write an HTML/Markdown/CSV/JSON report into DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from theses.studies import history
    from theses.studies.settings import inline_strategy

    if args.strategy and args.weights:
        raise CliError("give either a STRATEGY or --weights, not both")
    if not args.strategy and not args.weights:
        raise CliError('name a strategy (see `theses list`), a portfolio .toml file, or --weights "SPY=1"')
    from theses.cli import render

    if args.out:
        from theses.reports.folder import check_destination

        check_destination(args.out)  # before the work: a bad --out must not cost the results
    strategy = inline_strategy(args.weights, args.rebalance) if args.weights else args.strategy
    with render.Progress("backtesting") as progress:
        run_ = history.backtest(strategy, settings=common.settings_of(args), progress=progress,
                                **common.data_options(args))
        path = None
        if args.out:
            from theses.reports import write_report

            path = write_report([run_.result], args.out, title=f"Backtest: {run_.name}", context=run_.header(),
                                progress=progress)

    if args.format == "json":
        from theses.util import jsonable

        sys.stdout.write(json.dumps(jsonable(run_.to_dict()), indent=2) + "\n")
    else:
        console = render.make_console()
        result, context = run_.result, run_.context
        rows = {result.name: result.metrics, **result.benchmark_metrics}
        title = f"{result.name}: {result.metrics.get('start')} to {result.metrics.get('end')} ({context.source})"
        console.print(render.metrics_columns_table(rows, title=title))
        header = run_.header()
        console.print(f"[dim]{header['costs']}; {header['execution']}. {render.TABLE_FOOTNOTE}[/dim]")
        render.print_notes(console, context.notes)
    if path is not None:
        print(f"report written to {path / 'index.html'}", file=sys.stderr if args.format == "json" else sys.stdout)
    return 0
