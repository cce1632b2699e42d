"""``theses list``: the registered thesis strategies as a table."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``list`` sub-command."""
    parser = subparsers.add_parser(
        "list",
        help="list the thesis strategies",
        description="List the registered thesis strategies: name, description, universe, rebalance, benchmark.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the strategy table; returns the exit status."""
    from rich.table import Table

    from theses.cli import render
    from theses.studies.catalog import strategy_catalog

    table = Table(title="Thesis strategies", show_lines=False)
    for column in ("name", "description", "universe", "rebalance", "benchmark"):
        table.add_column(column, overflow="fold", no_wrap=column == "name")
    for info in strategy_catalog():
        table.add_row(info.name, info.description, " ".join(info.universe), info.rebalance, info.benchmark)
    render.make_console().print(table)
    return 0
