"""Small helpers every lane may use: atomic file writes, JSON-ready values, calendar names, suggestions.

This module sits at the bottom of the project: it imports nothing of ours (``tests/unit/test_layering.py``
enforces it), so ``data``, ``strategies``, ``engine``, ``studies``, ``reports`` and ``cli`` can all share it
instead of writing the same helper two or three times.
"""

from __future__ import annotations

import difflib
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: Rebalance calendars understood by the engine (``RebalanceRule.calendar``), strategies and the CLI.
CALENDARS: tuple[str, ...] = ("none", "daily", "weekly", "monthly", "quarterly", "yearly")

#: Prefix/suffix of the temporary files :func:`atomic_write_bytes` creates beside its target.
TEMP_INFIX = ".tmp-"


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


def atomic_write_bytes(path: str | os.PathLike[str], payload: bytes) -> Path:
    """Write ``payload`` to ``path`` atomically: a temporary file in the same folder, then ``os.replace``.

    A reader sees the old file or the new one, never half of one; when anything fails before the rename
    the temporary file is removed and the old file is left as it was. The new file gets the mode the
    umask gives (as ``open`` would), not ``mkstemp``'s owner-only 0600.
    """
    target = Path(path)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}{TEMP_INFIX}", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.chmod(temp_name, default_file_mode())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """:func:`atomic_write_bytes` of ``text`` encoded (no newline translation)."""
    return atomic_write_bytes(path, text.encode(encoding))


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
