"""``theses decide``: which book to hold across the scenarios — the verdict first, then the tables behind it."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import Any

from theses.cli import common, simulate_cmd
from theses.studies.settings import DEFAULT_MAX_WEIGHT, DEFAULT_RISK_AVERSION


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``decide`` sub-command."""
    parser = subparsers.add_parser(
        "decide",
        help="which book to hold across the scenarios: verdict, scoreboard, regret, break-even beliefs, best mix",
        description=lambda: "Run every book on the same simulated paths of each scenario and answer which one to "
        "hold: "
        "a verdict in plain words, then the scoreboard (median CAGR, P(loss), P(beat SPY on the same path), "
        "CVaR 5%, median max drawdown, rank by certainty equivalent), certainty equivalents under CRRA risk "
        f"aversion 1, 2 and 5 (default {DEFAULT_RISK_AVERSION:g}; 1 = log utility), regret against the best "
        "book on each path, robustness, break-even beliefs and the best mix of books (optimised on --seed, "
        "reported on --oos-seed). " + simulate_cmd.priors_help(),
    )
    parser.add_argument("strategies", nargs="*", metavar="BOOK",
                        help="strategy names or portfolio .toml files (default: all registered); SPY and RSP "
                        "buy-and-hold are always added")
    simulate_cmd.add_scenario_options(parser)
    parser.add_argument("--risk-aversion", type=float, default=DEFAULT_RISK_AVERSION, metavar="G",
                        help=f"CRRA risk aversion for the ranking, break-even beliefs and the mix (default "
                        f"{DEFAULT_RISK_AVERSION:g}; 1 = log utility / Kelly, 5 = cautious)")
    parser.add_argument("--max-weight", type=float, default=DEFAULT_MAX_WEIGHT, metavar="W",
                        help=f"cap on one book's weight in the best mix, in (0, 1] (default {DEFAULT_MAX_WEIGHT:g})")
    parser.add_argument("--oos-seed", type=common.count, metavar="S",
                        help="fresh seed the best mix is reported on, out of sample (default: --seed + 1)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    common.add_cost_options(parser)
    common.add_executor_options(parser)
    parser.add_argument("--out", metavar="DIR", help="also write the decision report (HTML/Markdown/CSV/JSON) into DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the decision study and print the verdict and tables, or JSON; returns the exit status."""
    from theses.cli import render
    from theses.studies.decide import decide

    if args.out:
        from theses.reports.folder import check_destination

        check_destination(args.out)  # before the work: a bad --out must not cost the results
    options = simulate_cmd.scenario_options(args)
    with common.executor_of(args) as executor, render.Progress("simulating", enabled=args.format == "table") as progress:
        decision = decide(args.strategies or None, risk_aversion=args.risk_aversion, max_weight=args.max_weight,
                          oos_seed=args.oos_seed, progress=progress, executor=executor, **options)
    report_path = None
    if args.out:
        from theses.reports import write_decision_report

        report_path = write_decision_report(decision, args.out)
    return render.emit(args.format, decision.to_dict, lambda: print_decision(decision), report_path)


# ------------------------------------------------------------------------------------------- rendering
def pct(value: Any) -> str:
    """A fraction as a percentage with one decimal; missing as an en dash."""
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1%}"


def ruin(value: Any) -> str:
    """A ruin probability with two decimals of a percent (a few paths in thousands must not show as 0.0%)."""
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2%}"


def belief(value: Any) -> str:
    """A probability with two decimals; missing as an en dash."""
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], first: str = "book") -> Any:
    from rich import box
    from rich.table import Table

    table = Table(title=title, header_style="bold", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column(first, style="bold cyan", no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def _rows(frame: Any, order: Sequence[str], label: Callable[[str], str],
          cells: Sequence[tuple[str, Callable[[Any], str]]]) -> list[list[str]]:
    return [[label(name), *(fmt(frame.loc[name, key]) for key, fmt in cells)] for name in order]


def print_decision(d: Any) -> None:
    """The verdict, then scoreboard, certainty equivalents, regret, robustness, break-even beliefs, mix, notes."""
    from rich.panel import Panel

    from theses.cli import render

    console = render.make_console()
    order, g = d.ranking, d.gamma
    span = f"{d.run.paths} paths x {d.run.years:g} years per scenario, seed {d.run.seed}"
    console.print(Panel(d.verdict, title="Verdict", title_align="left", border_style="green"))
    blend = d.scoreboard.loc["blend"]
    cells = [("rank", str), ("certainty_equivalent", pct), ("cagr_p50", pct), ("prob_loss", pct),
             ("prob_beat_benchmark", pct), ("cvar_5", pct), ("median_max_drawdown", pct), ("ruin_probability", ruin)]
    console.print(_table(f"Scoreboard, blend of the scenarios ({span})",
                         ["rank", f"CE γ={g:g}", "median CAGR", "P(loss)", "P(>SPY)", "CVaR 5%", "median max DD",
                          "P(ruin)"], _rows(blend, order, d.label, cells)))
    columns = [*d.run.results, "blend"]
    rows = [[d.label(b), *(f"{pct(d.scoreboard.loc[(c, b), 'cagr_p50'])} #{d.scoreboard.loc[(c, b), 'rank']}"
                           for c in columns)] for b in order]
    console.print(_table(f"Median CAGR by scenario (#rank by CE at γ={g:g} in that column)", columns, rows))
    keys = [c for c in d.certainty.columns if c.startswith("gamma_")]
    cells = [(k, pct) for k in keys] + [("ruin_probability", ruin)]
    console.print(_table("Certainty equivalent, blended (constant annual return worth the same)",
                         [f"γ={k[6:]}" for k in keys] + ["P(ruin)"], _rows(d.certainty, order, d.label, cells)))
    tops = ", ".join(f"γ={k[6:]}: {b}" for k, b in d.tops.items())
    switches = "; ".join(f"{s['from']} -> {s['to']} at γ={s['gamma']:.2f}" for s in d.switches) or "none in [0, 10]"
    console.print(f"top book {tops}. Changes of the top book: {switches}.", soft_wrap=True)
    if (d.certainty["ruin_probability"] > 0).any():
        console.print("[yellow]A CE of -100% means wealth reaches zero on some paths (P(ruin)): for γ >= 1 the "
                      "utility of zero wealth is -infinity, so no return compensates for it.[/yellow]", soft_wrap=True)
    print_regret_robustness(console, d, order)
    print_break_even(console, d)
    print_mix(console, d)
    render.print_notes(console, d.notes)


def print_regret_robustness(console: Any, d: Any, order: Sequence[str]) -> None:
    """Expected regret per scenario and blended; worst-scenario median CAGR and CVaR."""
    scenarios = list(d.run.results)
    cells = [(s, pct) for s in [*scenarios, "blend", "worst"]] + [("worst_scenario", str)]
    console.print(_table("Expected regret (best book's CAGR on the same path minus the book's, per year)",
                         [*scenarios, "blend", "worst", "in"], _rows(d.regret, order, d.label, cells)))
    console.print(f"minimax regret: {d.label(d.minimax_regret)}", soft_wrap=True)
    cells = [("worst_median_cagr", pct), ("worst_median_scenario", str), ("worst_cvar_5", pct),
             ("worst_cvar_scenario", str)]
    console.print(_table("Robustness: the worst scenario for each book",
                         ["worst median CAGR", "in", "worst CVaR 5%", "in"], _rows(d.robustness, order, d.label, cells)))
    console.print(f"never bad (best worst-scenario median CAGR): {d.label(d.never_bad)}; "
                  f"best worst-scenario CVaR: {d.label(d.safest_tail)}", soft_wrap=True)


def print_break_even(console: Any, d: Any) -> None:
    """Break-even beliefs of the top book against its rival, and the range where the top book stays first."""
    frame = d.break_even
    rows = [[s, belief(r["prior"]), belief(r["break_even"]), str(r["direction"]),
             f"{belief(r['top_holds_from'])}–{belief(r['top_holds_to'])}"] for s, r in frame.iterrows()]
    console.print(_table(f"Break-even beliefs: {d.top} against {d.rival} (others rescaled in proportion, γ={d.gamma:g})",
                         ["prior", "break-even", "what changes", f"{d.top} first for P in"], rows, first="scenario"))


def print_mix(console: Any, d: Any) -> None:
    """The best mix's weights and its figures in and out of sample beside the best single book."""
    mix = d.mix
    weights = ", ".join(f"{b} {w:.1%}" for b, w in mix.weights.items())
    console.print(f"[bold]Best mix[/bold] (γ={d.gamma:g}, max weight {mix.max_weight:g}; each book a separate "
                  f"sleeve from the start, so the mix's terminal wealth on a path is the weighted sum of the books'): "
                  f"{weights}", soft_wrap=True)
    keys = ("certainty_equivalent", "cagr_p50", "cvar_5", "prob_loss", "ruin_probability")
    rows = []
    for sample, seed in (("in_sample", mix.seeds["in_sample"]), ("out_of_sample", mix.seeds["out_of_sample"])):
        figures = getattr(mix, sample)
        if figures is None:
            continue
        for who, label in (("mix", "mix"), ("best_book", mix.best_book)):
            rows.append([f"{label}, {sample.replace('_', ' ')} (seed {seed})",
                         *((ruin if k == "ruin_probability" else pct)(figures[who][k]) for k in keys)])
    console.print(_table("Best mix against the best single book", ["CE", "median CAGR", "CVaR 5%", "P(loss)",
                                                                   "P(ruin)"], rows, first=""))
    console.print(f"CE gain over {mix.best_book}: {mix.gain('in_sample') * 100:+.1f} pp in sample, "
                  f"{mix.gain('out_of_sample') * 100:+.1f} pp out of sample", soft_wrap=True)
