"""Entry point of the ``theses`` command.

Sub-commands live in ``cli/<name>_cmd.py`` modules, each exposing ``register(subparsers)`` which adds its
parser and sets ``func=run`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit
code). Command modules import heavy libraries inside ``run`` so that ``theses --help`` stays fast.

User mistakes (the packages' ``*Error`` classes) end with one line on stderr and exit status 2; the
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from theses import cli
from theses.cli import __version__

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _command_modules() -> list[str]:
    """Names of every ``cli/*_cmd.py`` module, sorted, so adding a command needs no edit here."""
    return sorted(
        f"theses.cli.{info.name}" for info in pkgutil.iter_modules(cli.__path__) if info.name.endswith("_cmd")
    )


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="theses",
        description="Backtest, simulate and rebalance portfolios that express theses about the AI economy.",
    )
    parser.add_argument("--version", action="version", version=f"theses {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _command_modules():
        importlib.import_module(module_name).register(subparsers)
    return parser


def _user_error_types() -> tuple[type[BaseException], ...]:
    """The error classes that mean 'the user gave bad input' (imported lazily to keep start-up fast)."""
    from theses.cli.errors import CliError
    from theses.reports.errors import ReportError
    from theses.studies.errors import user_error_types

    return (CliError, ReportError, *user_error_types())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status (also used as the console-script entry point)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except _user_error_types() as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
