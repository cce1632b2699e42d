"""The sweep folder: one parquet file per finished task, written atomically, so a sweep can resume.

Layout of ``--out DIR``::

    DIR/sweep.json            what was asked (a fingerprint of every input a task's result depends on)
    DIR/tasks/<key>.parquet   one finished task: its table, and in the file's metadata its key, the
                              fingerprint and a few figures (e.g. the backtest's metrics)
    DIR/report/               the report (written at the end, replaced by a later run)

A task's file appears only once it is complete (written to a temporary name, then renamed). ``resume``
runs the tasks whose file is missing; the fingerprint must match, so a resumed sweep cannot mix results
of other settings. Every file read back is checked like user input (readable, its own key and the
sweep's fingerprint, the expected columns, rows and finite values); a damaged one is refused in one line.
Objective, walk-forward windows and scenario probabilities are applied afterwards, so they may change on
a resume.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from theses.studies.errors import StudyError
from theses.util import atomic_write_bytes, atomic_write_text, remove_stale_temps_in

STORE_VERSION = 1
MANIFEST = "sweep.json"
TASKS = "tasks"
META_KEY = b"theses_sweep"


def canonical(value: Any) -> Any:
    """A JSON-ready, deterministic description of ``value`` (arrays and frames by a hash of their bytes)."""
    if isinstance(value, pd.DataFrame | pd.Series):
        return {"frame": _digest_bytes(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes()),
                "columns": [str(c) for c in (value.columns if isinstance(value, pd.DataFrame) else [value.name])]}
    if isinstance(value, pd.Index):
        return {"index": _digest_bytes(pd.util.hash_pandas_object(value).to_numpy().tobytes()), "n": len(value)}
    if isinstance(value, np.ndarray):
        return {"array": _digest_bytes(np.ascontiguousarray(value).tobytes()), "shape": list(value.shape),
                "dtype": str(value.dtype)}
    if is_dataclass(value) and not isinstance(value, type):
        return {type(value).__name__: {f.name: canonical(getattr(value, f.name)) for f in fields(value)}}
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if callable(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}"
    return repr(value)


def _digest_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()[:20]


def digest(value: Any) -> str:
    """A short hash of :func:`canonical` of ``value``."""
    return _digest_bytes(json.dumps(canonical(value), sort_keys=True).encode())


@dataclass(frozen=True)
class Expect:
    """What a task's table must look like when read back."""

    columns: tuple[str, ...]
    rows: int | None = None
    finite: tuple[str, ...] = ()


class SweepStore:
    """Finished tasks of one sweep: in ``folder`` (resumable), or in memory when ``folder`` is None."""

    def __init__(self, folder: Path | None, fingerprint: str) -> None:
        self.folder = folder
        self.fingerprint = fingerprint
        self._memory: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = {}

    @classmethod
    def open(cls, folder: str | Path | None, parts: Mapping[str, Any], resume: bool = False) -> SweepStore:
        """Start a sweep in ``folder`` (new or empty), or continue the one there with ``resume``.

        ``parts`` are the inputs task results depend on (each hashed), written to ``sweep.json``.
        """
        hashes = {name: digest(part) for name, part in parts.items()} | {"store_version": str(STORE_VERSION)}
        fingerprint = digest(hashes)
        if folder is None:
            if resume:
                raise StudyError("--resume needs the sweep's folder: pass --out DIR of the interrupted sweep")
            return cls(None, fingerprint)
        path = Path(folder).expanduser().absolute()
        manifest = path / MANIFEST
        if resume:
            cls._check_resumable(path, hashes, fingerprint)
        else:
            if manifest.exists():
                raise StudyError(f"{path} holds a sweep already: add --resume to continue it, or choose another --out")
            if path.exists() and (not path.is_dir() or any(path.iterdir())):
                raise StudyError(f"{path} is not an empty folder: choose a new or empty folder with --out")
            try:
                (path / TASKS).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StudyError(f"cannot create sweep folder {path}: {exc.strerror}; choose another --out") from None
            document = {"fingerprint": fingerprint, "parts": hashes, "written_by": "theses sweep"}
            atomic_write_text(manifest, json.dumps(document, indent=1) + "\n")
        store = cls(path, fingerprint)
        store._remove_temporaries()
        return store

    @staticmethod
    def _check_resumable(path: Path, hashes: Mapping[str, str], fingerprint: str) -> None:
        manifest = path / MANIFEST
        if not manifest.is_file():
            raise StudyError(f"{path} holds no sweep to resume ({MANIFEST} is missing); run without --resume first")
        try:
            document = json.loads(manifest.read_text(encoding="utf-8"))
            stored, old_parts = str(document["fingerprint"]), dict(document["parts"])
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise StudyError(f"{manifest} is damaged ({type(exc).__name__}); start the sweep again in a new folder") from None
        if stored != fingerprint:
            differ = [name for name in hashes if old_parts.get(name) != hashes[name]] or ["version"]
            raise StudyError(f"the sweep in {path} was run with other {', '.join(differ)}: repeat its options with "
                             "--resume, or run without --resume into a new folder")
        (path / TASKS).mkdir(exist_ok=True)

    def _remove_temporaries(self) -> None:
        """Temporary files a killed run left behind (our own names only)."""
        if self.folder is not None:  # only those whose writer is gone: another run may be writing here
            remove_stale_temps_in(self.folder / TASKS)

    def path_of(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / TASKS / f"{key}.parquet"

    def has(self, key: str) -> bool:
        return key in self._memory if self.folder is None else self.path_of(key).is_file()

    def write(self, key: str, frame: pd.DataFrame, meta: Mapping[str, Any]) -> None:
        """Store one finished task atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from theses.util import jsonable

        document = {"key": key, "fingerprint": self.fingerprint, "meta": jsonable(dict(meta))}
        if self.folder is None:
            self._memory[key] = (frame.copy(), json.loads(json.dumps(document))["meta"])
            return
        table = pa.Table.from_pandas(frame, preserve_index=True)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: json.dumps(document).encode()})
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        atomic_write_bytes(self.path_of(key), buffer.getvalue())

    def read(self, key: str, expect: Expect) -> tuple[pd.DataFrame, dict[str, Any]]:
        """One finished task's table and metadata, checked against ``expect``; StudyError if damaged."""
        if self.folder is None:
            frame, meta = self._memory[key]
            return frame.copy(), meta
        frame, document = self._read_file(key)
        problem = self._problem(key, frame, document, expect)
        if problem:
            raise StudyError(f"{self.path_of(key)} is damaged ({problem}); delete it and run with --resume "
                             "to compute that task again")
        return frame, dict(document.get("meta") or {})

    def _read_file(self, key: str) -> tuple[pd.DataFrame, dict[str, Any]]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.path_of(key)
        try:
            table = pq.read_table(path)
            document = json.loads((table.schema.metadata or {}).get(META_KEY, b"{}"))
            frame = table.to_pandas()
        except (OSError, pa.ArrowException, ValueError, UnicodeDecodeError) as exc:
            raise StudyError(f"{path} is damaged ({' '.join(str(exc).split())[:120]}); delete it and run with "
                             "--resume to compute that task again") from None
        return frame, document if isinstance(document, dict) else {}

    def _problem(self, key: str, frame: pd.DataFrame, document: Mapping[str, Any], expect: Expect) -> str | None:
        if document.get("key") != key:
            return f"it names task {document.get('key')!r}, not {key!r}"
        if document.get("fingerprint") != self.fingerprint:
            return "it belongs to a sweep with other settings"
        missing = [c for c in expect.columns if c not in frame.columns]
        if missing:
            return f"column {missing[0]} is missing"
        if any(frame[c].dtype != np.float64 for c in expect.columns):
            return "a column is not float64"
        if expect.rows is not None and len(frame) != expect.rows:
            return f"{len(frame)} rows where {expect.rows} were written"
        bad = [c for c in expect.finite if not np.isfinite(frame[c].to_numpy()).all()]
        if bad:
            return f"column {bad[0]} holds values that are not finite numbers"
        return None

    def keys_done(self, keys: Sequence[str]) -> list[str]:
        return [key for key in keys if self.has(key)]
