"""``theses demo``: the main job on the embedded default, with no network.

With real prices at hand (``--data-dir``, ``THESES_DATA_DIR`` or the price cache) it compares every strategy
with SPY and RSP over the full history and since the essay; it always runs the essay's scenarios (and the
2027 bubble) from the committed calibration, and writes one report folder holding both.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from theses.cli import common

DEMO_PATHS = 1000
DEMO_YEARS = 5.0
DEMO_SEED = 2024


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="compare every strategy on history and on the essay's scenarios; write a report",
        description="The main job: every registered strategy against SPY and RSP over the full history and since "
        "the essay (when price CSVs or a price cache are available), and on simulated paths for the essay's four "
        "scenarios plus the 2027 bubble (always; offline, from the committed calibration).",
    )
    parser.add_argument("--data-dir", metavar="DIR", help="directory of TICKER.csv files (default: $THESES_DATA_DIR)")
    parser.add_argument("--paths", type=int, default=DEMO_PATHS, metavar="N", help=f"paths per scenario (default {DEMO_PATHS})")
    parser.add_argument("--years", type=float, default=DEMO_YEARS, metavar="Y", help=f"simulated years (default {DEMO_YEARS:g})")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, metavar="S", help=f"random seed (default {DEMO_SEED})")
    parser.add_argument("--out", metavar="DIR", help="report folder (default ./theses-report/<timestamp>/)")
    parser.set_defaults(func=run)


def _history_args(args: argparse.Namespace, source: str) -> argparse.Namespace:
    """The options of a `compare` run with project defaults (costs, window) and the demo's data source."""
    return argparse.Namespace(
        start=None, end=None, source=source, data_dir=args.data_dir, fees_bps=None, slippage_bps=None,
        borrow_bps=None, cash_rate=None, risk_free=None, initial_cash=common.DEFAULT_INITIAL_CASH, execution="close",
    )


def _history_source(args: argparse.Namespace, tickers: list[str]) -> str | None:
    """``csv`` or ``cache`` when every ticker can be read without the network, else None."""
    from theses.data import CsvProvider, PriceCache

    data_dir = args.data_dir or os.environ.get("THESES_DATA_DIR")
    if data_dir and Path(data_dir).is_dir() and all(CsvProvider(data_dir).has(t) for t in tickers):
        return "csv"
    cached = set(PriceCache().tickers())
    if cached.issuperset(tickers):
        return "cache"
    return None


def run(args: argparse.Namespace) -> int:

    from theses.cli import compare_cmd, render
    from theses.cli.simulation import run_simulation, write_simulation_report
    from theses.data.scenario_spec import list_scenarios, load_scenario
    from theses.reports import write_report
    from theses.reports.folder import atomic_folder, default_report_dir
    from theses.reports.tables import benchmark_metrics

    from theses import strategies

    console = render.make_console()
    chosen = list(strategies.list_strategies())
    tickers = common.tickers_for(chosen)
    source = _history_source(args, tickers)
    dest = Path(args.out) if args.out else default_report_dir()
    history: list[Any] = []
    with atomic_folder(dest) as folder:
        if source is None:
            console.print("[yellow]no price CSVs or cache found (set THESES_DATA_DIR or pass --data-dir): "
                          "skipping the historical comparison[/yellow]")
        else:
            hist_args = _history_args(args, source)
            for label, start, sub in (("full history", None, "history"), ("since the essay", common.ESSAY_DATE, "since-essay")):
                results, configs, context = compare_cmd.run_comparison(chosen, hist_args, start)
                rows = {r.name: r.metrics for r in results} | benchmark_metrics(results)
                title = f"{label}: {context.start} to {context.end} ({context.source})"
                console.print(render.metrics_table(compare_cmd.sorted_rows(rows, "sharpe"), compare_cmd.TABLE_METRICS, title=title))
                ctx = compare_cmd.report_context(results, configs, context)
                write_report(results, folder / sub, title=f"Strategy comparison, {label}", context=ctx)
                if start is None:
                    history = results
        scenarios = [load_scenario(name) for name in list_scenarios()]
        config_of = lambda s: common.build_config(s, _history_args(args, "auto"))  # noqa: E731
        sim = run_simulation(chosen, scenarios, args.paths, args.years, args.seed, "t", config=config_of,
                             progress=console.is_terminal)
        console.print(render.metrics_table(
            sim.blend, ("cagr_p50", "cagr_p5", "cagr_p95", "prob_loss", "prob_beat_benchmark", "cvar_5", "median_max_drawdown"),
            title=f"Scenario blend ({', '.join(f'{k} {v:.0%}' for k, v in sim.probabilities.items())}): "
            f"{sim.paths} paths x {sim.years:g} years, seed {sim.seed}",
            sort_by="cagr_p50",
        ))
        write_simulation_report(sim, folder / "scenarios", config_of(chosen[0]), title="The essay's scenarios",
                                results=history)
    main_page = dest / ("scenarios" if history else "scenarios") / "index.html"
    console.print(f"report: [bold]{main_page}[/bold]", soft_wrap=True)
    if history:
        console.print(f"        {dest / 'history' / 'index.html'}", soft_wrap=True)
        console.print(f"        {dest / 'since-essay' / 'index.html'}", soft_wrap=True)
    return 0
