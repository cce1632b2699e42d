"""``theses demo``: the main job, with no network needed.

It compares every strategy with SPY and RSP over the full history and since the essay (real prices when at
hand, else the embedded sample of closes), runs the essay's scenarios (and the 2027 bubble) from the shipped
calibration and decides between the books across them; the report folder holds the two history reports and
the scenario report, which leads with the decision (and no longer embeds a copy of the history).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from theses.cli import common
from theses.studies.settings import DEMO_PATHS, DEMO_SEED, DEMO_YEARS

BLEND_COLUMNS = ("cagr_p50", "cagr_p5", "cagr_p95", "prob_loss", "prob_beat_benchmark", "cvar_5", "median_max_drawdown")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="compare every strategy on history and on the essay's scenarios; write a report",
        description="The main job: every registered strategy against SPY and RSP over the full history and since "
        "the essay (prices from the cache, --data-dir/THESES_DATA_DIR, Yahoo Finance when online, else the "
        "embedded sample), and on simulated paths for the essay's four scenarios plus the 2027 bubble (offline, "
        "from the shipped calibration).",
    )
    parser.add_argument("--data-dir", metavar="DIR", help="directory of TICKER.csv files (default: $THESES_DATA_DIR)")
    parser.add_argument("--paths", type=common.count, default=DEMO_PATHS, metavar="N", help=f"paths per scenario (default {DEMO_PATHS})")
    parser.add_argument("--years", type=float, default=DEMO_YEARS, metavar="Y", help=f"simulated years (default {DEMO_YEARS:g})")
    parser.add_argument("--seed", type=common.count, default=DEMO_SEED, metavar="S", help=f"random seed (default {DEMO_SEED})")
    parser.add_argument("--out", metavar="DIR", help="report folder (default ./theses-report/<timestamp>/)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from theses.cli import compare_cmd, render
    from theses.reports import write_decision_report, write_report
    from theses.reports.folder import atomic_folder, check_destination, default_report_dir
    from theses.studies.demo import demo

    console = render.make_console()
    dest = Path(args.out) if args.out else default_report_dir()
    check_destination(dest)  # before the work: a bad --out must not cost the results
    with render.Progress("demo") as progress:
        run_ = demo(data_dir=args.data_dir, paths=args.paths, years=args.years, seed=args.seed, progress=progress)
    sim = run_.simulation
    parts = (("full history", "history", run_.history), ("since the essay", "since-essay", run_.since_essay))
    with atomic_folder(dest) as folder, render.Progress("writing the reports") as progress:
        for label, sub, comparison in parts:
            write_report(comparison.results, folder / sub, title=f"Strategy comparison, {label}",
                         context=comparison.header(), progress=progress)
        write_decision_report(run_.decision, folder / "scenarios", title="The essay's scenarios", progress=progress)
    # Tables after the progress bars: a live bar on stderr and tables on stdout would interleave.
    for label, _, comparison in parts:
        title = f"{label}: {comparison.context.start} to {comparison.context.end} ({comparison.context.source})"
        console.print(render.metrics_table(render.sorted_rows(comparison.rows(), "sharpe"),
                                           compare_cmd.TABLE_METRICS, title=title))
    console.print(render.metrics_table(
        sim.blend, BLEND_COLUMNS, sort_by="cagr_p50",
        title=f"Scenario blend ({', '.join(f'{k} {v:.0%}' for k, v in sim.probabilities.items())}): "
        f"{sim.paths} paths x {sim.years:g} years, seed {sim.seed}",
    ))
    console.print(f"[dim]{render.TABLE_FOOTNOTE}[/dim]")
    render.print_notes(console, run_.history.header()["notes"])
    console.print(f"[bold]Verdict:[/bold] {run_.decision.verdict}", soft_wrap=True)
    console.print(f"report: [bold]{dest.absolute() / 'scenarios' / 'index.html'}[/bold]", soft_wrap=True)
    if run_.history.results:
        console.print(f"        {dest.absolute() / 'history' / 'index.html'}", soft_wrap=True)
        console.print(f"        {dest.absolute() / 'since-essay' / 'index.html'}", soft_wrap=True)
    return 0
