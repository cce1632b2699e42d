"""Entry point of the ``theses`` command.

Sub-commands live in ``cli/<name>_cmd.py`` modules, each exposing ``register(subparsers)`` which adds its
parser and sets ``func=run`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit
code). Command modules import heavy libraries inside ``run`` so that ``theses --help`` stays fast.

User mistakes (the packages' ``*Error`` classes, usage errors, files that cannot be read or written) end
with one line on stderr and exit status 2; the traceback is shown only with ``--debug``. Output cut short
by a closed pipe (``theses list | head -1``) ends quietly with status 1, as Python itself and rich (which
handles its own tables' broken pipes that way) do.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from theses import cli

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 1  # quietly, as rich's Console.on_broken_pipe and the Python documentation do

# Negative numbers, also in scientific notation and as -inf/-nan, are option values, not options
# (argparse's own pattern knows only -1 and -1.5, so `--cash -1e9` was "expected one argument").
_NEGATIVE_NUMBER = re.compile(r"^-(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^-(?:inf|infinity|nan)$", re.IGNORECASE)
_ARGUMENT_MESSAGE = re.compile(r"^argument (?P<name>[^:]+): (?P<problem>.*)$")
_REQUIRED_MESSAGE = re.compile(r"^the following arguments are required: (?P<names>.*)$")

#: Example values of options whose default does not make a useful example.
EXAMPLES: dict[str, str] = {
    "fees_bps": "1", "slippage_bps": "2", "borrow_bps": "50", "cash_rate": "0.04", "risk_free": "0.04",
    "start": "2020-01-02", "end": "2024-12-31", "as_of": "2025-06-30", "weights": '"SPY=0.6,TLT=0.4"',
    "holdings": "holdings.csv", "out": "out/report", "data_dir": "prices/", "calibration": "calibration.json",
    "probabilities": '"jetsons=0.35,take_off=0.65"', "tickers": '"SPY,QQQ"', "bands": "0.02", "cash": "2500",
}


#: Example values of positional arguments.
POSITIONAL_EXAMPLES: dict[str, str] = {"tickers": "SPY META", "strategy": "index_beta", "strategies": "index_beta"}


def _example(action: argparse.Action) -> str:
    """``--opt VALUE`` for an option: a known example, its default, its first choice, else its metavar."""
    flag = next((s for s in action.option_strings if s.startswith("--")), None) or action.dest
    if action.nargs == 0:
        return flag
    if not action.option_strings and action.dest in POSITIONAL_EXAMPLES:
        value = POSITIONAL_EXAMPLES[action.dest]
    elif action.dest in EXAMPLES:
        value = EXAMPLES[action.dest]
    elif action.choices:
        value = str(list(action.choices)[0])
    elif action.default not in (None, argparse.SUPPRESS, False, True, ""):
        value = f"{action.default:g}" if isinstance(action.default, float) else str(action.default)
    else:
        value = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    return f"{flag} {value}" if action.option_strings else value


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (exit 2) naming the option and a valid example."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        # No abbreviations: `--cash` must not silently mean `--cash-rate` in a command without `--cash`.
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def format_help(self) -> str:
        # A sub-command may give its description as a function, called only when its help is shown: simulate
        # and decide list the shipped priors, read from the scenario files (30 ms at every start otherwise).
        if callable(self.description):
            self.description = self.description()
        return super().format_help()

    def _action_named(self, name: str) -> argparse.Action | None:
        names = name.split("/")
        for action in self._actions:
            if any(n in action.option_strings for n in names) or (not action.option_strings and (
                    action.metavar in names or action.dest in names)):
                return action
        return None

    def usage_error_line(self, message: str) -> str:
        """The one-line form of an argparse message: ``theses CMD: OPTION: problem; e.g. OPTION VALUE``."""
        message = " ".join(message.split())
        hint = f"see `{self.prog} --help`"
        argument = _ARGUMENT_MESSAGE.match(message)
        required = _REQUIRED_MESSAGE.match(message)
        action = None
        if argument:
            action = self._action_named(argument.group("name"))
            message = f"{argument.group('name')}: {argument.group('problem')}"
        elif required:
            action = self._action_named(required.group("names").split(", ")[0].strip())
        if action is not None and not isinstance(action, argparse._SubParsersAction):
            hint = f"e.g. {self.prog} {_example(action)} ({hint})"
        return f"{self.prog}: {message}; {hint}"

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"error: {self.usage_error_line(message)}\n")


def _command_modules() -> list[str]:
    """Names of every ``cli/*_cmd.py`` module, sorted, so adding a command needs no edit here."""
    return sorted(
        f"theses.cli.{info.name}" for info in pkgutil.iter_modules(cli.__path__) if info.name.endswith("_cmd")
    )


class VersionAction(argparse.Action):
    """``--version``: print ``theses VERSION`` and exit, reading the version only then (it costs 60 ms a start)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: str = "show program's version number and exit") -> None:  # noqa: A002
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from theses import __version__

        parser._print_message(f"theses {__version__}\n", sys.stdout)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command (sub-parsers share its one-line errors)."""
    parser = OneLineParser(
        prog="theses", allow_abbrev=False,
        description="Backtest, simulate and rebalance portfolios that express theses about the AI economy.",
    )
    parser.add_argument("--version", action=VersionAction)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module_name in _command_modules():
        importlib.import_module(module_name).register(subparsers)
    return parser


def _user_error_types() -> tuple[type[BaseException], ...]:
    """The error classes that mean 'the user gave bad input' (imported lazily to keep start-up fast)."""
    from theses.cli.errors import CliError
    from theses.reports.errors import ReportError
    from theses.studies.errors import user_error_types

    return (CliError, ReportError, *user_error_types())


def describe_os_error(exc: OSError) -> str:
    """One line for a file the system would not read or write (permission, disk full, not a folder)."""
    where = f"{exc.filename}: " if exc.filename else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{where}{reason}; check the path and its permissions, or choose another"


def _quiet_broken_pipe() -> int:
    """Point stdout at /dev/null so the interpreter's final flush does not complain, and exit quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (a test's capture)
        pass
    return EXIT_BROKEN_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status (also used as the console-script entry point)."""
    try:
        status = _run(argv)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        print("error: theses: no command given; e.g. theses demo (see `theses --help`)", file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except _user_error_types() as exc:
        if args.debug:
            raise
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # the environment, not the program: unreadable input, read-only output, disk full
        if args.debug:
            raise
        print(f"error: {describe_os_error(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError:
        if args.debug:
            raise
        print("error: out of memory; ask for less work (fewer --paths or --years, a smaller --chunk-size)",
              file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
