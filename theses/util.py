"""Small helpers every lane may use: atomic file writes, JSON-ready values, calendar names, suggestions,
and the TOML key locator that lets a parser name the line of a bad key, and the numba cache directory.

This module sits at the bottom of the project: it imports nothing of ours (``tests/unit/test_layering.py``
enforces it), so ``data``, ``strategies``, ``engine``, ``studies``, ``reports`` and ``cli`` can all share it
instead of writing the same helper two or three times.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

#: Rebalance calendars understood by the engine (``RebalanceRule.calendar``), strategies and the CLI.
CALENDARS: tuple[str, ...] = ("none", "daily", "weekly", "monthly", "quarterly", "yearly")
#: What the engine does with a target on an asset that has no price yet (``BacktestConfig.missing_policy``,
#: ``Strategy.missing_policy``): keep that slice in cash, or spread it over the priced assets.
MISSING_POLICIES: tuple[str, ...] = ("cash", "renormalize")

#: Infix of the temporary files :func:`atomic_write` creates beside its target: ``.NAME.tmp-<pid>-XXXX``.
TEMP_INFIX = ".tmp-"
#: Infix of an earlier report folder moved aside while a new one takes its place: ``.NAME.old-<pid>-XXXX``.
OLD_INFIX = ".old-"
#: When this process started using the project (temporary files of unknown owner older than this are stale).
PROCESS_STARTED = time.time()
_OWNER_PID = re.compile(r"^(\d+)-")

# Accepted ranges of the cost and rate settings, shared by the CLI/API settings and portfolio files: wider
# values are typing mistakes (``--fees-bps 1e9``, ``--risk-free 5`` meant as 5%), never a real market.
#: name -> (lowest, highest, unit and example for the message)
SETTING_RANGES: dict[str, tuple[float, float, str]] = {
    "fees_bps": (0.0, 1_000.0, "bps of traded notional per side, e.g. 1"),
    "slippage_bps": (0.0, 1_000.0, "bps of traded notional per side, e.g. 2"),
    "borrow_bps": (0.0, 10_000.0, "bps per year on short market value, e.g. 50"),
    "cash_rate": (-0.1, 0.5, "a fraction per year, e.g. 0.04 for 4%"),
    "risk_free": (-0.1, 0.5, "a fraction per year, e.g. 0.04 for 4%"),
    "initial_cash": (0.01, 1e12, "currency units, e.g. 10000"),
    "band_abs": (0.0, 1.0, "a weight difference, e.g. 0.05 for 5 percentage points"),
    "band_rel": (0.0, 1.0, "a fraction of the target weight, e.g. 0.25"),
}


def setting_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is not acceptable for the setting ``name`` of :data:`SETTING_RANGES`, or None when it is.

    The text says the accepted range and gives an example; the caller adds the option's name and raises
    its own lane's error.
    """
    low, high, unit = SETTING_RANGES[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expected a number, got {value!r}; give {unit}"
    if not math.isfinite(value):
        return f"{value!r} is not a finite number; give {unit}"
    if not low <= value <= high:
        return f"{value:g} is out of range; use {low:g} to {high:g} ({unit})"
    return None


# ------------------------------------------------------------------------------------------ file writes
def _umask() -> int:
    """The process's file-creation mask (read without changing it for more than an instant)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file: ``0o666`` less the umask (0644 usually)."""
    return 0o666 & ~_umask()


def default_dir_mode() -> int:
    """The mode ``mkdir`` would give a new folder: ``0o777`` less the umask (0755 usually)."""
    return 0o777 & ~_umask()


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Create ``path`` atomically with ``write(temporary_path)``: a temporary file beside it, then ``os.replace``.

    ``write`` fills the temporary file by its path (a library writer such as ``pyarrow.parquet.write_table``
    that opens the file itself). A reader sees the old file or the new one, never half of one; when
    ``write`` or anything before the rename fails, the temporary file is removed and the old file is left
    as it was. The new file gets the mode the umask gives (as ``open`` would), not ``mkstemp``'s owner-only
    0600. The folder must exist. Temporary files of ``path`` left by a killed run are removed first
    (:func:`remove_stale_temps`).
    """
    target = Path(path)
    remove_stale_temps(target)
    fd, temp_name = tempfile.mkstemp(prefix=temp_prefix(target), dir=target.parent)
    os.close(fd)
    try:
        write(Path(temp_name))
        os.chmod(temp_name, default_file_mode())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def temp_prefix(target: str | os.PathLike[str], infix: str = TEMP_INFIX) -> str:
    """``.NAME.tmp-<pid>-``: the prefix of this process's temporary names beside ``target``.

    The process id in the name tells a later run whether the writer is still alive (:func:`is_stale`).
    """
    return f".{Path(target).name}{infix}{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process (alive) / not a pid at all
        return pid < 2**31
    return True


def is_stale(path: Path, target_name: str, infix: str) -> bool:
    """Whether ``path`` is a leftover ``.NAME<infix>...`` of a run that is no longer running.

    Names written by this project carry the writer's process id: stale when that process is gone. Other
    names of the same pattern (older versions wrote ``.NAME.tmp-XXXX`` and ``.NAME.tmp``) are stale when
    they are older than this process.
    """
    prefix = f".{target_name}{infix}"
    bare = f".{target_name}{infix.rstrip('-')}"
    if path.name == bare:
        rest = None
    elif path.name.startswith(prefix):
        rest = path.name[len(prefix):]
    else:
        return False
    owner = _OWNER_PID.match(rest or "")
    if owner is not None:
        pid = int(owner.group(1))
        return pid != os.getpid() and not _pid_alive(pid)
    try:
        return path.lstat().st_mtime < PROCESS_STARTED
    except OSError:
        return False


def remove_stale_temps(
    target: str | os.PathLike[str], infixes: Sequence[str] = (TEMP_INFIX,)
) -> list[Path]:
    """Remove the project's own leftovers beside ``target`` (``.NAME.tmp-*`` of runs no longer running).

    Only names of the project's patterns for this very target are looked at (:func:`is_stale`); anything
    else in the folder is never touched. Folders of that pattern (a report being built) are removed with
    their content. Returns what was removed; a leftover that cannot be removed is left for a later run.
    """
    target = Path(target)
    removed: list[Path] = []
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return removed
    for path in siblings:
        if not any(is_stale(path, target.name, infix) for infix in infixes):
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


def remove_stale_temps_in(folder: str | os.PathLike[str], infix: str = TEMP_INFIX) -> list[Path]:
    """:func:`remove_stale_temps` for every target of ``folder`` at once (``.NAME.tmp-*`` of any NAME).

    For a store of many files (a sweep's tasks): a leftover is removed only when its writer is gone, so a
    second process writing into the same folder keeps its temporary files.
    """
    removed: list[Path] = []
    try:
        entries = [p for p in Path(folder).iterdir() if p.name.startswith(".") and infix.rstrip("-") in p.name]
    except OSError:
        return removed
    for path in entries:
        target = path.name[1:].split(infix, 1)[0] if infix in path.name else path.name[1:].rsplit(infix.rstrip("-"), 1)[0]
        if is_stale(path, target, infix) and not path.is_dir():
            try:
                path.unlink()
            except OSError:
                continue
            removed.append(path)
    return removed


def writable_problem(path: str | os.PathLike[str]) -> str | None:
    """Why a new file or folder cannot be created at ``path`` (its nearest existing folder is read-only or
    not a folder), or None when it can. Checked before long work, so the work is not lost at the end."""
    target = Path(path).expanduser().absolute()
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"folder {parent} is not writable (permission denied)"
    return None


def atomic_write_bytes(path: str | os.PathLike[str], payload: bytes) -> Path:
    """:func:`atomic_write` of ``payload``: the old file or the whole new one, mode from the umask."""
    return atomic_write(path, lambda temp: temp.write_bytes(payload))


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """:func:`atomic_write_bytes` of ``text`` encoded (no newline translation)."""
    return atomic_write_bytes(path, text.encode(encoding))


# ------------------------------------------------------------------------------------------ CSV cells
#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
CSV_FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: Any) -> Any:
    """A text cell that no spreadsheet runs as a formula: ``'`` before a leading ``= + - @``, tab or CR.

    Anything that is not a string (numbers, dates, missing values) is returned unchanged, so a negative
    number stays a number.
    """
    if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_safe(frame: Any) -> Any:
    """A copy of a DataFrame with :func:`csv_text` applied to every text cell, the index and the header."""
    out = frame.copy()
    for column in out.columns:
        if _may_hold_text(out[column].dtype):
            out[column] = out[column].map(csv_text)
    if _may_hold_text(out.index.dtype):
        out.index = out.index.map(csv_text)
    out.columns = [csv_text(column) for column in out.columns]
    return out


def _may_hold_text(dtype: Any) -> bool:
    """Object and string columns (numbers, booleans and dates are never text)."""
    return getattr(dtype, "kind", "O") not in "biufcmM"


# ------------------------------------------------------------------------------------------ JSON values
def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars become Python numbers, timestamps ISO dates, NaN/inf ``None``.

    Mappings become dicts with string keys, sequences and arrays lists; anything with ``strftime`` (a
    ``pandas.Timestamp``, ``datetime``, ``date``) is written ``YYYY-MM-DD``.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if tolist is not None and getattr(value, "ndim", 0) > 0:  # numpy arrays (imported by the caller)
        return [jsonable(v) for v in tolist()]
    if hasattr(value, "strftime") and not isinstance(value, str):
        try:
            return value.strftime("%Y-%m-%d")
        except ValueError:  # pandas.NaT: a missing date
            return None
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", None) == 0:  # numpy scalars
        value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ------------------------------------------------------------------------------------------ suggestions
def suggest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The closest of ``choices`` to a misspelt ``word``, or None (difflib's ratio, at least ``cutoff``)."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str:
    """``"did you mean 'x'? "`` for the closest choice, or an empty string."""
    close = suggest(word, choices, cutoff)
    return f"did you mean {close!r}? " if close else ""


# ------------------------------------------------------------------------------------------ TOML key lines
#: A key path: table and key names, with the index of an element of an array of tables as an int.
KeyPath = tuple[str | int, ...]

# One part of a dotted key: bare (A-Za-z0-9_-), "basic" (with escapes) or 'literal'.
_KEY_PART = r"""(?:[A-Za-z0-9_\-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_KEY_LINE = re.compile(rf"^({_DOTTED})\s*=")
_HEADER_LINE = re.compile(rf"^(\[\[?)\s*({_DOTTED})\s*\]")
_PART = re.compile(_KEY_PART)


def _strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (ignoring ``#`` inside quoted strings)."""
    quote = ""
    for pos, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:pos]
    return line


def _key_parts(dotted: str) -> list[str]:
    """``a."b.c".d`` -> ``["a", "b.c", "d"]`` (quotes removed; escapes are kept as written)."""
    return [part[1:-1] if part[0] in "\"'" else part for part in _PART.findall(dotted)]


def toml_key_lines(text: str) -> dict[KeyPath, int]:
    """Map each key path of a TOML text to the 1-based line where it is first written.

    ``tomllib`` does not say where a key was, so a parser that wants to name the line of a bad value asks
    here. Handles ``[table]`` and ``[[array]]`` headers (a header below an array of tables refers to its
    latest element, whose index is part of the path), dotted keys (``a.b = 1`` also places ``a``) and
    quoted keys. Keys inside inline tables and multi-line values are not placed: :meth:`TomlLocator.line_of`
    falls back to the enclosing key.
    """
    lines: dict[KeyPath, int] = {}
    array_counts: dict[KeyPath, int] = {}
    current: KeyPath = ()

    def resolve(parts: list[str]) -> KeyPath:
        path: KeyPath = ()
        for part in parts:
            path = (*path, part)
            if path in array_counts:
                path = (*path, array_counts[path] - 1)
        return path

    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).strip()
        header = _HEADER_LINE.match(line)
        if header:
            parts = _key_parts(header.group(2))
            if header.group(1) == "[[":
                array_path = (*resolve(parts[:-1]), parts[-1])
                array_counts[array_path] = array_counts.get(array_path, 0) + 1
                current = (*array_path, array_counts[array_path] - 1)
                lines.setdefault(array_path, number)
            else:
                current = resolve(parts)
            for end in range(1, len(current) + 1):  # [a.b] also places a (a misspelt table name has a line)
                lines.setdefault(current[:end], number)
            continue
        key = _KEY_LINE.match(line)
        if key:
            parts = _key_parts(key.group(1))
            for end in range(1, len(parts) + 1):
                lines.setdefault((*current, *parts[:end]), number)
    return lines


class TomlLocator:
    """Where the keys of one TOML text are, for error messages that name the line.

    Parameters
    ----------
    text : str
        The TOML text.
    source : str
        What to call it in messages (usually the file name).
    """

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines = toml_key_lines(text)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of ``path``, else of its longest enclosing path that is written out; None if none is."""
        path = tuple(path)
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def where(self, path: Sequence[str | int]) -> str:
        """``"<source> line N"`` for ``path`` (see :meth:`line_of`), or just the source when not found."""
        line = self.line_of(path)
        return f"{self.source} line {line}" if line is not None else self.source


def unknown_key(found: Iterable[str], allowed: Sequence[str]) -> str | None:
    """The first of ``found`` that is not in ``allowed`` (a misspelt key), or None when all are known."""
    return next((key for key in found if key not in allowed), None)


# ------------------------------------------------------------------------------------------ numba cache
#: The directory :func:`configure_numba_cache` chose in this process (None until it runs).
_numba_cache_dir: str | None = None


def _unusable(folder: Path) -> str | None:
    """Why ``folder`` cannot hold numba's cache (None when it can): create it, write and remove a file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _default_cache_dirs() -> list[Path]:
    """The user cache directory, then a per-user folder in the system temp directory."""
    candidates = []
    try:
        from platformdirs import user_cache_dir

        candidates.append(Path(user_cache_dir("ai-theses")) / "numba")
    except Exception:  # noqa: BLE001 - no usable home directory: the temp folder below still works
        pass
    user = getattr(os, "getuid", lambda: "user")()
    candidates.append(Path(tempfile.gettempdir()) / f"ai-theses-numba-{user}")
    return candidates


def configure_numba_cache() -> str | None:
    """Point numba's on-disk kernel cache at a writable folder; call it before defining cached kernels.

    Numba compiles ``@njit(cache=True)`` kernels on first use (seconds) and, with a writable cache, later
    processes load the machine code instead; each kernel picks its cache folder when it is decorated, so the
    modules that define kernels call this first. The folder is the user's ``NUMBA_CACHE_DIR`` when set and
    writable, else the user cache directory (``platformdirs``), else a folder in the temp directory; each is
    probed by writing a file. A user-set folder that cannot be used (read-only, a path under a file) gets a
    one-line note on stderr and the fallback, instead of numba's traceback. Only numba's own setting is
    changed (``numba.core.config.CACHE_DIR``), not the environment. Runs once per process.

    Returns
    -------
    str or None
        The folder in use; None when no folder is writable (numba then uses its own fallbacks).
    """
    global _numba_cache_dir
    if _numba_cache_dir is not None:
        return _numba_cache_dir
    from numba.core import config

    user_set = os.environ.get("NUMBA_CACHE_DIR", "")
    if user_set:
        reason = _unusable(Path(user_set))
        if reason is None:
            _numba_cache_dir = user_set
            config.CACHE_DIR = user_set
            return user_set
    for candidate in _default_cache_dirs():
        if _unusable(candidate) is None:
            if user_set:
                print(f"note: NUMBA_CACHE_DIR={user_set} is not usable ({reason}); caching compiled kernels in "
                      f"{candidate} instead", file=sys.stderr)
            _numba_cache_dir = str(candidate)
            config.CACHE_DIR = _numba_cache_dir
            return _numba_cache_dir
    if user_set:
        print(f"note: NUMBA_CACHE_DIR={user_set} is not usable ({reason}) and no other cache folder is "
              "writable; kernels are compiled in every process", file=sys.stderr)
        config.CACHE_DIR = ""
    return None


# ------------------------------------------------------------------------------------------------ kernels
# A kernel module can be loaded a second time as plain Python: the same source, its decorators replaced, numba
# never imported. Numba's first dispatch in a process costs about a second (its target set-up and cache load,
# plus 0.4 s to import it), which dominates a single-path backtest of a few thousand bars; interpreted, such
# a backtest runs in a fraction of that. The engine and the signals pick the twin only while numba is not
# loaded yet and the work is small (:func:`prefer_interpreted`).
_loading_twin = False
INTERPRETED_WORK = 300_000
"""Bars x assets up to which a process that has not loaded numba runs a kernel as plain Python."""


#: libgomp spins before an idle worker sleeps, unless the user sets ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY``.
OPENMP_SPINS = "10000"


def quiet_idle_openmp_workers() -> str | None:
    """Let numba's OpenMP workers go to sleep soon after a parallel kernel instead of spinning for ~10 ms.

    libgomp's default (300,000 spins) keeps every idle worker busy-waiting after each parallel region, so it can
    take the next one at once. Here the work after a kernel is usually numpy in threads (the percentile bands'
    sort) or the other pipeline thread's kernel, and on a machine with few cores the spinning worker takes one
    of their cores: measured on two cores, 10.6 ms of CPU burnt after each kernel (0.4 ms with 10,000 spins),
    and the bands right after a kernel took 10 ms instead of 6. libgomp reads the setting once, when it is
    loaded (numba loads it at the first parallel kernel), so the kernel modules call this before defining their
    kernels. A user's ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` is left alone; other OpenMP runtimes do not read
    ``GOMP_SPINCOUNT``.

    Returns
    -------
    str or None
        The value set, or None when the user's setting stands.
    """
    if "GOMP_SPINCOUNT" in os.environ or "OMP_WAIT_POLICY" in os.environ:
        return None
    os.environ["GOMP_SPINCOUNT"] = OPENMP_SPINS
    return OPENMP_SPINS


def kernel_api() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(njit, prange)`` for a kernel module: numba's (with the cache set up), or plain-Python stand-ins while
    :func:`interpreted_twin` loads the module (``njit`` returns the function itself, ``prange`` is ``range``)."""
    if _loading_twin:
        return _plain_njit, range
    configure_numba_cache()
    quiet_idle_openmp_workers()
    from numba import njit, prange

    return njit, prange


def loading_twin() -> bool:
    """Whether a kernel module is being loaded as an interpreted twin (:func:`interpreted_twin`): then it must not
    import numba, and defines plain-Python stand-ins for numba-only helpers."""
    return _loading_twin


def _plain_njit(*args: Any, **kwargs: Any) -> Any:
    """``@njit`` and ``@njit(...)`` that leave the function as it is."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda function: function


_twins: dict[str, Any] = {}


def interpreted_twin(module: str) -> Any:
    """The kernel module ``module`` loaded again (once) as plain Python, named ``module + "_interpreted"``."""
    if module not in _twins:
        import importlib.util

        global _loading_twin
        origin = importlib.util.find_spec(module).origin
        spec = importlib.util.spec_from_file_location(module + "_interpreted", origin)
        twin = importlib.util.module_from_spec(spec)
        _loading_twin = True
        try:
            spec.loader.exec_module(twin)
        finally:
            _loading_twin = False
        _twins[module] = twin
    return _twins[module]


def prefer_interpreted(work: int) -> bool:
    """Whether to run ``work`` (bars x assets) on an interpreted twin: numba is not loaded yet in this process
    and the work is at most :data:`INTERPRETED_WORK` (``THESES_JIT=1`` forces numba)."""
    return "numba" not in sys.modules and work <= INTERPRETED_WORK and os.environ.get("THESES_JIT") != "1"
