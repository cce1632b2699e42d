"""What every bad-input test checks: the CLI either works or ends with one ``error:`` line and exit 2, never
a traceback or a warning, never a hang, never a changed file outside ``--out``."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import signal
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from theses.cli.main import main

#: A plain progress line (cli.render.Progress, when stderr is no terminal and the work passed 2 s).
PROGRESS_LINE = re.compile(r": \d+/\d+(?: \(\d+%\))?, \d+ s$")
#: Seconds one CLI case may take before it counts as a hang (the small synthetic inputs take < 2 s).
CASE_TIMEOUT_S = 60


class Hang(Exception):
    """A case ran past CASE_TIMEOUT_S."""


@contextlib.contextmanager
def time_limit(seconds: int = CASE_TIMEOUT_S) -> Iterator[None]:
    """Raise Hang in the main thread when the block runs longer than ``seconds`` (SIGALRM)."""
    def on_alarm(signum, frame):  # noqa: ARG001
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Outcome:
    status: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        """Lines on stderr other than progress lines (a slow run prints ``label: 3/10 (30%), 4 s`` first)."""
        return [line for line in self.err.splitlines() if line.strip() and not PROGRESS_LINE.search(line)]


def run_cli(argv: Sequence[str], timeout: int = CASE_TIMEOUT_S) -> Outcome:
    """Run ``theses ARGV`` in process with stdout/stderr captured; warnings are errors (none may leak)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        with time_limit(timeout):
            try:
                status = main(list(argv))
            except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
                status = exc.code if isinstance(exc.code, int) else 2
    outcome = Outcome(int(status), out.getvalue(), err.getvalue())
    log = os.environ.get("THESES_FUZZ_LOG")  # a JSON line per case, to review the messages and count classes
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"argv": list(argv), "status": outcome.status,
                                     "error": outcome.error_lines[-1:] or None}) + "\n")
    return outcome


def assert_handled(outcome: Outcome, argv: Sequence[str] = ()) -> None:
    """Exit 0 with no traceback, or exit 2 with exactly one ``error:`` line on stderr."""
    assert "Traceback" not in outcome.err, (argv, outcome.err)
    if outcome.status == 0:
        return
    assert outcome.status == 2, (argv, outcome.status, outcome.err)
    lines = outcome.error_lines
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, outcome.err)


def assert_refused(outcome: Outcome, *needles: str) -> str:
    """Exit 2 with one error line holding every ``needle``; returns the line."""
    assert outcome.status == 2, (outcome.status, outcome.out[-500:], outcome.err)
    lines = outcome.error_lines
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def tree_digest(*roots: Path, skip: Sequence[Path] = ()) -> dict[str, str]:
    """Path -> sha256 of every file under ``roots`` (and each folder's entry list), to prove nothing changed."""
    skipped = [s.resolve() for s in skip]
    digest: dict[str, str] = {}
    for root in roots:
        if not root.exists():
            continue
        for path in sorted([root, *root.rglob("*")]):
            resolved = path.resolve()
            if any(resolved == s or s in resolved.parents for s in skipped):
                continue
            if path.is_file():
                digest[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                digest[str(path) + "/"] = ",".join(sorted(p.name for p in path.iterdir()))
    return digest
