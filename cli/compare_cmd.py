"""``theses compare``: backtest several strategies over one window, print a table, write a report folder."""

from __future__ import annotations

import argparse
import json
import sys

from theses.cli import common

SORT_KEYS = (
    "sharpe", "cagr", "total_return", "volatility", "sortino", "max_drawdown", "calmar", "beta", "alpha",
    "information_ratio", "tracking_error", "monthly_hit_rate", "turnover_ex_entry", "cost_drag_bps", "turnover",
    "costs",
)

TABLE_METRICS = ("cagr", "volatility", "sharpe", "max_drawdown", "calmar", "alpha", "turnover_ex_entry",
                 "cost_drag_bps")
"""Columns of the terminal table (the report holds every metric)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare strategies side by side and write a report",
        description="Backtest strategies (default: every registered one) over the same window against SPY and "
        "RSP, print a metrics table and write an HTML/Markdown/CSV/JSON report folder. Weights decided at a "
        "close trade at the next bar's close.",
    )
    parser.add_argument(
        "strategies", nargs="*", metavar="STRATEGY",
        help="strategy names (see `theses list`) or portfolio .toml files; default: all registered strategies",
    )
    parser.add_argument(
        "--since-essay", action="store_true",
        help=f"start at the essay's date ({common.ESSAY_DATE}), its out-of-sample period, up to the latest data",
    )
    common.add_data_options(parser)
    common.add_cost_options(parser)
    parser.add_argument("--sort", default="sharpe", choices=SORT_KEYS, metavar="METRIC",
                        help=f"order the table by this metric (default sharpe; one of {', '.join(SORT_KEYS)})")
    parser.add_argument("--out", metavar="DIR", help="report folder (default ./theses-report/<timestamp>/)")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="print a table (default) or a JSON document on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from theses.cli import render
    from theses.reports import write_report
    from theses.reports.folder import check_destination, default_report_dir
    from theses.studies import history

    check_destination(args.out or default_report_dir())  # before the work: a bad --out must not cost the results
    with render.Progress("comparing") as progress:
        comparison = history.compare(args.strategies or None, since_essay=args.since_essay,
                                     settings=common.settings_of(args), progress=progress,
                                     **common.data_options(args))
        header = comparison.header()
        path = write_report(comparison.results, args.out, title=comparison.title, context=header,
                            sort_by=args.sort, progress=progress)

    if args.format == "json":
        from theses.util import jsonable

        document = comparison.to_dict()
        document = {**{k: document[k] for k in ("window", "source")}, "sort": args.sort,
                    **{k: document[k] for k in ("strategies", "benchmarks", "notes")}, "report": str(path)}
        sys.stdout.write(json.dumps(jsonable(document), indent=2) + "\n")
        print(f"report written to {path / 'index.html'}", file=sys.stderr)
        return 0

    console = render.make_console()
    context = comparison.context
    table_title = f"{comparison.title}: {context.start} to {context.end} ({context.source})"
    console.print(render.metrics_table(render.sorted_rows(comparison.rows(), args.sort), TABLE_METRICS,
                                       title=table_title))
    console.print(f"[dim]{header['costs']}; {header['execution']}. {render.TABLE_FOOTNOTE}[/dim]")
    render.print_notes(console, header["notes"])
    console.print(f"report written to [bold]{path / 'index.html'}[/bold]", soft_wrap=True)
    return 0
