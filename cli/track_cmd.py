"""``theses track``: the essay's scenarios from December 2024, the realised path inside them, updated odds."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from theses.cli import common
from theses.studies.settings import (
    DEFAULT_SEED,
    DEFAULT_YEARS,
    ESSAY_DATE,
    TRACK_CONFUSION_PATHS,
    TRACK_PATHS,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "track",
        help="which of the essay's scenarios has the world followed since it was written?",
        description=f"Calibrate the scenario model on prices up to the essay's date ({ESSAY_DATE}) only, simulate "
        "every scenario from that date, put the realised path of every book and ticker group inside each "
        "scenario's fan, update the scenarios' odds from the drift and crash evidence of the group baskets "
        "(volatility reported, not counted), say how much data of this length can tell (a confusion matrix), "
        "study the efficiency shock of 2025-01-27, and run the decision study forward with the priors and with "
        "the posterior. Needs the real price CSVs (--data-dir or THESES_DATA_DIR).",
    )
    parser.add_argument("strategies", nargs="*", metavar="STRATEGY",
                        help="books to track: names or portfolio .toml files (default: all registered); SPY and RSP "
                        "are always added, and a basket per ticker group")
    parser.add_argument("--scenario", default="all", metavar="NAME",
                        help="'all' (default), shipped names or scenario .toml paths, comma-separated")
    parser.add_argument("--as-of", metavar="DATE", help="last date of the realised record (default: the latest data)")
    parser.add_argument("--paths", type=common.count, default=TRACK_PATHS, metavar="N",
                        help=f"paths per scenario for the fans and percentiles (default {TRACK_PATHS})")
    parser.add_argument("--confusion-paths", type=common.count, default=TRACK_CONFUSION_PATHS, metavar="N",
                        help=f"paths per scenario for the confusion matrix (default {TRACK_CONFUSION_PATHS})")
    parser.add_argument("--years", type=float, default=DEFAULT_YEARS, metavar="Y",
                        help=f"horizon of the fans from {ESSAY_DATE}, and of the decision (default {DEFAULT_YEARS:g})")
    parser.add_argument("--seed", type=common.count, default=DEFAULT_SEED, metavar="S", help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--no-decision", action="store_true", help="skip the decision study (faster)")
    common.add_data_options(parser, window=False)
    common.add_executor_options(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    parser.add_argument("--out", metavar="DIR", help="also write the HTML/Markdown/JSON report into DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from theses.cli import render
    from theses.studies.track import track

    with common.executor_of(args) as executor, render.Progress("tracking") as progress:
        result = track(args.strategies or None, scenarios=args.scenario, as_of=args.as_of, paths=args.paths,
                       confusion_paths=args.confusion_paths, years=args.years, seed=args.seed, source=args.source,
                       data_dir=args.data_dir, decide=not args.no_decision, progress=progress, executor=executor)
    path = None
    if args.out:
        from theses.reports.track import write_track_report

        path = write_track_report(result, args.out)
    if args.format == "json":
        from theses.util import jsonable

        sys.stdout.write(json.dumps(jsonable(result.to_dict()), indent=2) + "\n")
    else:
        print_tables(result)
    if path is not None:
        print(f"report written to {path}", file=sys.stderr if args.format == "json" else sys.stdout)
    return 0


def _table(title: str, head: list[str], rows: list[list[str]]) -> Any:
    from rich.table import Table

    table = Table(title=title, header_style="bold", title_justify="left")
    for i, name in enumerate(head):
        table.add_column(name, justify="left" if i == 0 else "right", style="bold cyan" if i == 0 else None)
    for row in rows:
        table.add_row(*row)
    return table


def print_tables(run: Any) -> None:
    """The findings, then the odds, the evidence by group, the confusion matrix, percentiles, event study."""
    from theses.cli import render

    console = render.make_console()
    for line in run.headline():
        console.print(line, soft_wrap=True)
    factors = run.log_bayes_factors()
    scenarios = run.scenarios
    vol = factors["volatility"].get("total", {})
    console.print(_table(
        f"Odds since the essay ({run.start:%Y-%m-%d} to {run.as_of:%Y-%m-%d}); log Bayes factors against {run.reference}",
        ["scenario", "prior", "posterior", "log BF drift+crash", "log BF volatility (not counted)"],
        [[s, f"{run.prior[s]:.0%}", f"{run.posterior[s]:.1%}", f"{factors['drift']['total'][s]:+.2f}",
          f"{vol[s]:+.1f}" if vol else "–"] for s in scenarios]))
    for kind in ("drift", "volatility"):
        if factors[kind]:
            console.print(_table(f"Log Bayes factors by group ({kind} evidence, against {run.reference})",
                                 ["group", *scenarios],
                                 [[part, *(f"{v:+.2f}" for v in row.values())] for part, row in factors[kind].items()]))
    c = run.confusion
    console.print(_table(
        f"How much {c.days} trading days can tell: top scenario on {c.paths} simulated paths each "
        f"(right {c.accuracy:.0%} of the time)",
        ["true scenario", *scenarios, "mean posterior of truth"],
        [[t, *(str(c.counts[t][s]) for s in scenarios), f"{c.mean_posterior[t]:.0%}"] for t in scenarios]))
    names = list(next(iter(run.percentiles.values()), {}))
    console.print(_table(f"Percentile of the realised value on {run.as_of:%Y-%m-%d} among each scenario's paths",
                         ["book or group", *scenarios],
                         [[n, *(f"{run.percentiles[s][n]:.0f}" for s in scenarios)] for n in names]))
    study = run.event_study
    if study.responses:
        console.print(_table(f"The efficiency shock of {study.day}",
                             ["series", "fall on the day", "drawdown after", "trough", "days to recover"],
                             [[name, f"{r['drop']:.1%}", f"{r['drawdown']:.1%}", r["trough"],
                               "not yet" if r["days_to_recover"] is None else str(r["days_to_recover"])]
                              for name, r in study.responses.items()]))
    console.print("[bold]Method[/bold]")
    for line in factors["method"]:
        console.print(f"[dim]- {line}[/dim]", soft_wrap=True)
    render.print_notes(console, run.header()["notes"])
