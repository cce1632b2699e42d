"""Write a report folder atomically: build it under a temporary sibling name, then switch it into place.

An interrupted or failed run leaves neither a half-written report nor a missing one:

* The new report is built in ``.NAME.tmp-<pid>-XXXX`` beside ``--out`` and renamed into place. When an
  earlier report is there, the two folders are exchanged in one atomic step (Linux ``renameat2`` with
  ``RENAME_EXCHANGE``), so ``--out`` always holds the old report or the new one. Where the file system
  cannot exchange, the earlier report is first moved aside to ``.NAME.old-<pid>-XXXX/report``; a run killed
  between the two renames leaves it there, and the next write to that place moves it back before anything
  else.
* Every report folder holds a marker file listing what the project wrote. A folder is replaced only when
  it holds nothing else: a file the user added is never deleted (the write is refused, naming it), and a
  folder that holds no earlier report is refused unless it is empty.
* Leftovers of killed runs (``.NAME.tmp-*`` and ``.NAME.old-*`` of processes no longer running) are
  removed at the next write to that place; nothing else in the parent folder is touched.
* Folders and files get the modes the umask gives (0755/0644 usually), like ``mkdir`` and ``open``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from theses.reports.errors import ReportError
from theses.util import (
    OLD_INFIX,
    TEMP_INFIX,
    default_dir_mode,
    is_stale,
    remove_stale_temps,
    temp_prefix,
    writable_problem,
)

DEFAULT_PARENT = Path("theses-report")
MARKER = ".theses-report"  # present in every report folder; lists what the project wrote there
MARKER_NOTE = "written by theses; this folder may be replaced by a newer report"
#: What reports written before the marker listed its files held (all written by the project).
LEGACY_FILES = frozenset({"index.html", "summary.md", "metrics.csv", "metrics.json", "equity.csv",
                          "scenarios.csv", "scenario_bands.csv", MARKER})
_SHOWN = 3  # foreign names listed in a message


def default_report_dir(parent: Path = DEFAULT_PARENT, now: datetime | None = None) -> Path:
    """``./theses-report/<YYYYmmdd-HHMMSS>/``, with ``-2``, ``-3`` ... appended if that name is taken."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate = parent / stamp
    counter = 2
    while candidate.exists():
        candidate = parent / f"{stamp}-{counter}"
        counter += 1
    return candidate


# ------------------------------------------------------------------------------------------ what is ours
def _manifest(folder: Path) -> set[str] | None:
    """The relative paths the marker of ``folder`` lists (folders end with ``/``); None for an older marker."""
    try:
        document = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return set(files)


def _walk(folder: Path) -> list[str]:
    """Every entry below ``folder`` as a relative path (folders with a trailing ``/``), links not followed."""
    out: list[str] = []
    for root, dirs, files in os.walk(folder):
        rel = Path(root).relative_to(folder)
        out += [f"{(rel / d).as_posix()}/" for d in dirs]
        out += [(rel / f).as_posix() for f in files]
    return sorted(out)


def _legacy_foreign(folder: Path, prefix: str = "") -> list[str]:
    """Entries of a report written before markers listed files: known report files and sub-reports are ours."""
    foreign: list[str] = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.is_symlink() and (entry / MARKER).is_file():
            foreign += [f"{prefix}{entry.name}/{name}" for name in foreign_entries(entry)]
        elif entry.name not in LEGACY_FILES or entry.is_dir():
            foreign.append(f"{prefix}{entry.name}")
    return foreign


def foreign_entries(folder: Path) -> list[str]:
    """What a report folder holds that the project did not write there (relative paths), sorted."""
    listed = _manifest(folder)
    if listed is None:
        return _legacy_foreign(folder)
    entries = _walk(folder)
    # A folder the user added shows up once, not with every file inside it.
    foreign = [e for e in entries if e not in listed and e != MARKER]
    return [e for e in foreign if not any(e != f and e.startswith(f) for f in foreign if f.endswith("/"))]


def _write_marker(folder: Path) -> None:
    files = [*_walk(folder), MARKER]
    text = json.dumps({"note": MARKER_NOTE, "files": sorted(files)}, indent=1) + "\n"
    (folder / MARKER).write_text(text, encoding="utf-8")


def _foreign_error(dest: Path, foreign: list[str]) -> ReportError:
    shown = ", ".join(foreign[:_SHOWN]) + (f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else "")
    return ReportError(f"folder {dest} holds an earlier report and files theses did not write ({shown}): "
                       "move them out or choose another --out")


def check_destination(dest: str | os.PathLike[str]) -> Path:
    """Refuse (ReportError, one line) a ``--out`` the report could not be written to; return it absolute.

    Called before any work, so a bad ``--out`` is refused before results are computed and printed: a file,
    a non-empty folder that holds no earlier report, an earlier report with files the user added, or a
    place that cannot be written.
    """
    dest = Path(dest).expanduser().absolute()
    if dest.is_symlink():
        dest = dest.resolve()
    if dest.exists() and not dest.is_dir():
        raise ReportError(f"report path {dest} is a file: give a folder name with --out")
    if dest.is_dir() and any(dest.iterdir()):
        if not (dest / MARKER).exists():
            raise ReportError(
                f"folder {dest} is not empty and holds no earlier report: choose a new or empty folder with --out"
            )
        foreign = foreign_entries(dest)
        if foreign:
            raise _foreign_error(dest, foreign)
    problem = writable_problem(dest)
    if problem is not None:
        raise ReportError(f"cannot write the report {dest}: {problem}; choose another --out")
    return dest


# -------------------------------------------------------------------------------------------- the switch
def _recover(dest: Path) -> None:
    """Move back an earlier report that a killed run left aside (``.NAME.old-*/report``) when ``dest`` is gone."""
    if dest.exists():
        return
    aside = sorted((p for p in dest.parent.glob(f".{dest.name}{OLD_INFIX}*") if (p / "report" / MARKER).exists()
                    and is_stale(p, dest.name, OLD_INFIX)), key=lambda p: p.stat().st_mtime)
    if aside:
        os.replace(aside[-1] / "report", dest)


def _clean_leftovers(dest: Path) -> None:
    """Recover an earlier report left aside, then remove stale temporary and set-aside folders of ``dest``."""
    _recover(dest)
    remove_stale_temps(dest, (TEMP_INFIX, OLD_INFIX))


@contextlib.contextmanager
def atomic_folder(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it becomes ``dest``, on any error it is removed.

    Parameters
    ----------
    dest : the final report folder. Its parent is created if missing. An existing empty folder or an
        earlier report folder is replaced; other non-empty folders, and earlier reports holding files the
        project did not write, raise ``ReportError``.

    Yields
    ------
    Path of the temporary folder to write into (same file system as ``dest``, so the switch is atomic).
    """
    dest = check_destination(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(dest)
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(dest), dir=dest.parent))
    except OSError as exc:
        raise ReportError(f"cannot create the report folder {dest}: {exc.strerror or exc}; choose another --out") from exc
    try:
        yield tmp
        _write_marker(tmp)
        os.chmod(tmp, default_dir_mode())  # mkdtemp makes it owner-only; a report folder is an ordinary folder
        _move_into_place(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _move_into_place(tmp: Path, dest: Path) -> None:
    """Make ``tmp`` be ``dest``: a rename, or an atomic exchange with the earlier report, which is then deleted."""
    try:
        os.rename(tmp, dest)  # atomic when dest is absent or an empty folder
        return
    except OSError as exc:
        if not dest.is_dir() or exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
    foreign = foreign_entries(dest)  # again: a file may have been added while the report was computed
    if foreign:
        raise _foreign_error(dest, foreign)
    if exchange_paths(tmp, dest):
        shutil.rmtree(tmp)  # now the earlier report
        return
    old = Path(tempfile.mkdtemp(prefix=temp_prefix(dest, OLD_INFIX), dir=dest.parent))
    os.replace(dest, old / "report")
    try:
        os.replace(tmp, dest)
    except BaseException:
        os.replace(old / "report", dest)  # put the earlier report back
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2() -> object | None:
    """libc's ``renameat2`` (Linux, glibc 2.28+), or None where there is none."""
    name = ctypes.util.find_library("c")
    try:
        function = ctypes.CDLL(name, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_EXCHANGE = _renameat2()


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step; False when the system or file system cannot."""
    if _EXCHANGE is None:
        return False
    result = _EXCHANGE(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))
