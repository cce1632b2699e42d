"""Write a report folder atomically: build it under a temporary sibling name, then rename it into place.

An interrupted or failed run leaves neither a half-written report nor its temporary folder behind. A
folder that already holds an earlier report is replaced; any other non-empty folder is left untouched
and refused, so ``--out`` can never wipe out unrelated files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from theses.reports.errors import ReportError

DEFAULT_PARENT = Path("theses-report")
MARKER = ".theses-report"  # present in every report folder; marks a folder that may be replaced


def default_report_dir(parent: Path = DEFAULT_PARENT, now: datetime | None = None) -> Path:
    """``./theses-report/<YYYYmmdd-HHMMSS>/``, with ``-2``, ``-3`` ... appended if that name is taken."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate = parent / stamp
    counter = 2
    while candidate.exists():
        candidate = parent / f"{stamp}-{counter}"
        counter += 1
    return candidate


def _check_destination(dest: Path) -> None:
    if dest.exists() and not dest.is_dir():
        raise ReportError(f"report path {dest} is a file: give a folder name with --out")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / MARKER).exists():
        raise ReportError(
            f"folder {dest} is not empty and holds no earlier report: choose a new or empty folder with --out"
        )


@contextlib.contextmanager
def atomic_folder(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it becomes ``dest``, on any error it is removed.

    Parameters
    ----------
    dest : the final report folder. Its parent is created if missing. An existing empty folder or an
        earlier report folder is replaced; other non-empty folders raise ``ReportError``.

    Yields
    ------
    Path of the temporary folder to write into (same file system as ``dest``, so the rename is atomic).
    """
    dest = Path(dest).expanduser().absolute()
    _check_destination(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create report folder {dest.parent}: {exc.strerror}; choose another --out") from exc
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        yield tmp
        (tmp / MARKER).write_text("written by theses; this folder may be replaced by a newer report\n")
        os.chmod(tmp, 0o755)  # mkdtemp makes it owner-only; a report folder is an ordinary folder
        _move_into_place(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _move_into_place(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest``; an earlier report at ``dest`` is swapped out first and then deleted."""
    try:
        os.replace(tmp, dest)  # atomic when dest is absent or an empty folder
        return
    except OSError:
        if not dest.is_dir():
            raise
    old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
    os.replace(dest, old / "report")
    try:
        os.replace(tmp, dest)
    except BaseException:
        os.replace(old / "report", dest)  # put the earlier report back
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
