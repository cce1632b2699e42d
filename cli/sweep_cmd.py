"""``theses sweep``: run a strategy over a grid of its parameters on history and/or scenarios; heatmap report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from theses.cli import common
from theses.cli.errors import CliError
from theses.studies.settings import (
    DEFAULT_RISK_AVERSION,
    DEFAULT_SEED,
    DEFAULT_SWEEP_BLOCK,
    DEFAULT_SWEEP_PATHS,
    DEFAULT_YEARS,
    SCENARIO_METHODS,
    SWEEP_OBJECTIVES,
    SWEEP_ON,
)

SCENARIO_COLUMNS = ("objective", "cvar_5", "cagr_p50", "prob_loss", "median_max_drawdown")
HISTORY_COLUMNS = ("objective", "cvar_5", "cagr", "sharpe", "max_drawdown", "turnover")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` sub-command."""
    parser = subparsers.add_parser(
        "sweep", help="run a strategy over a grid of its parameters (history, scenarios, walk-forward)",
        description="Run a strategy at every point of a parameter grid: on real history (optionally with "
        "walk-forward validation and the probability of backtest overfitting) and/or on the scenarios' "
        "simulated paths (every point sees the same paths). Finished tasks are stored in --out DIR as they "
        "complete, so an interrupted sweep continues with --resume. Writes a heatmap report into DIR/report.",
    )
    parser.add_argument("strategy", metavar="STRATEGY", help="a registered strategy (see `theses list`) or a portfolio .toml")
    parser.add_argument("--grid", action="append", required=True, metavar="GRID",
                        help='parameters and values, e.g. "window=100:300:50,switch_band=none,0.25" (START:STOP:STEP '
                        "ranges are inclusive); a portfolio .toml takes its keys, e.g. trend_filter.window, weights.NVDA")
    parser.add_argument("--on", choices=SWEEP_ON, default="history", help="where points are scored (default history)")
    parser.add_argument("--scenario", default="all", metavar="NAME", help="scenarios for --on scenarios/both (default all)")
    parser.add_argument("--paths", type=common.count, default=DEFAULT_SWEEP_PATHS, metavar="N",
                        help=f"paths per scenario (default {DEFAULT_SWEEP_PATHS})")
    parser.add_argument("--years", type=float, default=DEFAULT_YEARS, metavar="Y", help=f"scenario horizon (default {DEFAULT_YEARS:g})")
    parser.add_argument("--seed", type=common.count, default=DEFAULT_SEED, metavar="S", help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--method", choices=SCENARIO_METHODS, default="t", help="path generator, as in `theses simulate`")
    parser.add_argument("--probabilities", metavar="P", help='scenario probabilities of the blend, e.g. "jetsons=0.5,take_off=0.5"')
    parser.add_argument("--calibration", metavar="FILE", help="calibration JSON (default: the shipped one)")
    parser.add_argument("--block-size", type=common.count, default=DEFAULT_SWEEP_BLOCK, metavar="B",
                        help=f"paths per task (default {DEFAULT_SWEEP_BLOCK}); results do not depend on it")
    parser.add_argument("--walk-forward", metavar="IS/OOS",
                        help="rolling in-sample/out-of-sample windows on history, e.g. 3y/1y (units y, m, w, d)")
    parser.add_argument("--objective", choices=SWEEP_OBJECTIVES, default="sharpe",
                        help="what 'best' means: sharpe, cagr, or ce (CRRA certainty-equivalent growth)")
    parser.add_argument("--risk-aversion", type=float, default=DEFAULT_RISK_AVERSION, metavar="G",
                        help=f"risk aversion of --objective ce (default {DEFAULT_RISK_AVERSION:g}; 1 = log utility)")
    parser.add_argument("--axes", metavar="X,Y", help="the two grid dimensions of the heatmaps (default: the first two)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    parser.add_argument("--out", metavar="DIR", help="sweep folder (default ./theses-sweep/<timestamp>)")
    parser.add_argument("--resume", action="store_true", help="continue the sweep in --out DIR: run only what is missing")
    common.add_data_options(parser)
    common.add_cost_options(parser)
    common.add_executor_options(parser)
    parser.set_defaults(func=run)


def _axes(args: argparse.Namespace) -> list[str] | None:
    """Heatmap axes, checked against the grid's names before any work starts."""
    from theses.studies.grid import split_grid

    if not args.axes:
        return None
    axes = [a.strip() for a in args.axes.split(",") if a.strip()]
    names = [name for name, _ in split_grid(args.grid)]
    unknown = [a for a in axes if a not in names]
    if unknown or not 1 <= len(axes) <= 2:
        raise CliError(f"--axes {args.axes}: name one or two of the grid's parameters ({', '.join(names)})")
    return axes


def _options(args: argparse.Namespace) -> dict:
    import os

    from theses.cli.simulate_cmd import parse_probabilities
    from theses.studies.calibration import read_calibration

    data = common.data_options(args)
    if args.method == "bootstrap" and not data["data_dir"]:
        data["data_dir"] = os.environ.get("THESES_DATA_DIR")
    return {
        "grid": args.grid, "on": args.on, "scenarios": args.scenario, "paths": args.paths, "years": args.years,
        "seed": args.seed, "method": args.method, "block_size": args.block_size, "walk_forward": args.walk_forward,
        "objective": args.objective, "gamma": args.risk_aversion, "settings": common.settings_of(args),
        "probabilities": parse_probabilities(args.probabilities) if args.probabilities else None,
        "calibration": read_calibration(args.calibration) if args.calibration else None,
        **data,
    }


def run(args: argparse.Namespace) -> int:
    """Run the sweep, write the report, print the summary or JSON; returns the exit status."""
    from theses.cli import render
    from theses.reports import default_report_dir, write_sweep_report
    from theses.studies.sweep import sweep

    if args.resume and not args.out:
        raise CliError("--resume continues a sweep folder: pass --out DIR of the sweep to continue")
    axes = _axes(args)
    folder = Path(args.out) if args.out else default_report_dir(Path("theses-sweep"))
    options = _options(args)
    with common.executor_of(args) as executor, render.Progress("sweep") as progress:
        result = sweep(args.strategy, out=folder, resume=args.resume, executor=executor, progress=progress, **options)
    report = write_sweep_report(result, folder / "report", axes=axes)
    if args.format == "json":
        print(json.dumps(result.to_dict() | {"report": str(report)}, indent=1, allow_nan=False))
        return 0
    print_summary(result, report)
    return 0


def print_summary(result, report: Path) -> None:
    """Points table per place, walk-forward windows and summary, where the report is."""
    from rich import box

    from theses.cli import render
    from theses.studies.grid import point_label

    console = render.make_console()
    reused = result.tasks_total - result.tasks_run
    console.print(f"[bold]{result.strategy}[/bold]: {len(result.points)} grid points, {result.tasks_total} tasks "
                  f"({result.tasks_run} run {result.executor}, {reused} from the sweep folder); objective "
                  f"{result.objective}", soft_wrap=True)
    for place in result.places:
        keys = HISTORY_COLUMNS if place == "history" else SCENARIO_COLUMNS
        rows = {point_label(result.point(pid)) + (" (default)" if pid == result.default_id else ""):
                {k: result.values(place, k).get(pid) for k in keys} for pid in range(len(result.points))}
        table = render.metrics_table(rows, keys, title=f"{place}: best {point_label(result.best(place)['params'] or {})}")
        table.box = box.SIMPLE_HEAD
        console.print(table)
    walk = result.history.walk_forward if result.history is not None else None
    if walk is not None:
        console.print(walk_forward_table(result))
        s = walk.summary
        console.print(f"out of sample: walk-forward CAGR {s['walk_forward']['cagr']:.1%}, Sharpe "
                      f"{s['walk_forward']['sharpe']:.2f}; default CAGR {s['default']['cagr']:.1%}, Sharpe "
                      f"{s['default']['sharpe']:.2f}", soft_wrap=True)
        over = walk.overfitting
        console.print(f"probability of backtest overfitting: {over.pbo:.0%} ({over.method}, {over.splits} blocks, "
                      f"{over.combinations} splits)" if over else "probability of backtest overfitting: not defined "
                      "(needs two or more grid points and enough history)", soft_wrap=True)
    for note in result.notes:
        console.print(f"[dim]note: {note}[/dim]", soft_wrap=True)
    console.print(f"report written to [bold]{report}[/bold]", soft_wrap=True)


def walk_forward_table(result):
    """The chosen point of each walk-forward window."""
    from rich import box
    from rich.table import Table

    from theses.studies.grid import point_label

    walk = result.history.walk_forward
    table = Table(title=f"walk-forward ({walk.is_days} days in sample, {walk.oos_days} out)", box=box.SIMPLE_HEAD)
    for column in ("in sample", "out of sample", "chosen", "IS", "OOS", "default OOS", "OOS rank"):
        table.add_column(column, justify="left" if column in ("in sample", "out of sample", "chosen") else "right")
    for row in walk.windows.itertuples():
        table.add_row(f"{row.is_start.date()} to {row.is_end.date()}", f"{row.oos_start.date()} to {row.oos_end.date()}",
                      point_label(result.point(int(row.chosen))), f"{row.is_objective:.3f}", f"{row.oos_objective:.3f}",
                      f"{row.default_oos_objective:.3f}", str(row.oos_rank))
    return table
