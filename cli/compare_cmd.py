"""``theses compare``: backtest several strategies over one window, print a table, write a report folder."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from theses.cli import common
from theses.cli.errors import CliError

SORT_KEYS = (
    "sharpe", "cagr", "total_return", "volatility", "sortino", "max_drawdown", "calmar", "beta", "alpha",
    "information_ratio", "tracking_error", "monthly_hit_rate", "turnover", "costs",
)

TABLE_METRICS = ("cagr", "volatility", "sharpe", "max_drawdown", "calmar", "alpha", "turnover", "costs")
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


def _start(args: argparse.Namespace) -> str | None:
    """The first date of the window: --since-essay, else --start, else all history."""
    if args.since_essay and args.start:
        raise CliError("give either --since-essay or --start, not both")
    return common.ESSAY_DATE if args.since_essay else args.start


def _strategies(specs: list[str]) -> list[Any]:
    """The strategies named on the command line, or every registered one; each name once."""
    from theses import strategies

    chosen = [common.resolve_strategy(s) for s in specs] if specs else strategies.list_strategies()
    seen: set[str] = set()
    for strategy in chosen:
        if strategy.name in seen:
            raise CliError(f'strategy "{strategy.name}" is named twice: list each strategy once')
        seen.add(strategy.name)
    return chosen


def _costs_text(config: Any) -> str:
    c = config.costs
    return (
        f"fees {c.fees_bps:g} bps, slippage {c.slippage_bps:g} bps per side; borrow {c.borrow_bps:g} bps/yr; "
        f"cash {c.cash_rate:.2%}/yr; risk-free {config.risk_free:.2%}/yr"
    )


def report_context(results: list[Any], configs: list[Any], context: common.RunContext) -> dict[str, Any]:
    """Header facts for the report: the loaded window and source, costs (per strategy where they differ)."""
    out = context.as_dict(configs[0])
    notes = list(out.get("notes", []))
    costs = {r.name: _costs_text(c) for r, c in zip(results, configs, strict=True)}
    if len(set(costs.values())) > 1:
        out["costs"] = "differ by strategy (see notes)"
        notes += [f"costs of {name}: {text}" for name, text in costs.items()]
    starts = {r.name: r.config.get("window_start") for r in results}
    if len(set(starts.values())) > 1:
        first = results[0].name
        notes.append(
            "strategies start when their first target can be traded: "
            + ", ".join(f"{name} {start}" for name, start in starts.items())
            + f"; benchmark rows cover the window of {first}"
        )
    out["notes"] = notes
    return out


def sorted_rows(rows: dict[str, dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Rows ordered by ``key`` as in the HTML report: best first (ascending for costs, volatility ...), missing last."""
    import math

    from theses.reports.html import LOWER_IS_BETTER

    def value(name: str) -> float:
        v = rows[name].get(key)
        return float(v) if isinstance(v, int | float) and not math.isnan(float(v)) else math.nan

    present = [n for n in rows if not math.isnan(value(n))]
    missing = [n for n in rows if math.isnan(value(n))]
    present.sort(key=value, reverse=key not in LOWER_IS_BETTER)
    return {n: rows[n] for n in present + missing}


def run_comparison(
    chosen: list[Any], args: argparse.Namespace, start: str | None
) -> tuple[list[Any], list[Any], common.RunContext]:
    """Backtest every strategy over one window loaded once: results, their configs, and the data context."""
    price_data = common.load_window(common.tickers_for(chosen), args, start=start)
    context = common.context_of(price_data)
    configs = [common.build_config(s, args) for s in chosen]
    results = [common.run_backtest(s, price_data, c) for s, c in zip(chosen, configs, strict=True)]
    return results, configs, context


def run(args: argparse.Namespace) -> int:
    start = _start(args)
    chosen = _strategies(args.strategies)
    results, configs, context = run_comparison(chosen, args, start)

    from theses.reports import write_report
    from theses.reports.tables import benchmark_metrics

    rows: dict[str, dict[str, Any]] = {r.name: r.metrics for r in results}
    rows.update(benchmark_metrics(results))
    title = "Strategy comparison since the essay" if args.since_essay else "Strategy comparison"
    report_ctx = report_context(results, configs, context)
    path = write_report(results, args.out, title=title, context=report_ctx, sort_by=args.sort)

    if args.format == "json":
        from theses.util import jsonable

        document = {
            "window": [context.start, context.end],
            "source": context.source,
            "sort": args.sort,
            "strategies": {r.name: r.metrics for r in results},
            "benchmarks": benchmark_metrics(results),
            "notes": report_ctx["notes"],
            "report": str(path),
        }
        sys.stdout.write(json.dumps(jsonable(document), indent=2) + "\n")
        return 0


    from theses.cli import render

    console = render.make_console()
    table_title = f"{title}: {context.start} to {context.end} ({context.source})"
    console.print(render.metrics_table(sorted_rows(rows, args.sort), TABLE_METRICS, title=table_title))
    console.print(f"[dim]{report_ctx['costs']}; {report_ctx['execution']}[/dim]")
    render.print_notes(console, report_ctx["notes"])
    console.print(f"report written to [bold]{path}[/bold]", soft_wrap=True)
    return 0
