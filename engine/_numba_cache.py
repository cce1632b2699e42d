"""Point numba's on-disk cache at a writable user directory before numba is imported.

Numba compiles ``@njit(cache=True)`` kernels on first use (seconds); with a writable cache the next
process loads the machine code instead. An unwritable cache directory makes numba fail or stall, so we
probe it and fall back to a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def configure_numba_cache() -> str:
    """Set ``NUMBA_CACHE_DIR`` (unless the user set it) and return the directory in use."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    from platformdirs import user_cache_dir

    for candidate in (Path(user_cache_dir("ai-theses")) / "numba", Path(tempfile.gettempdir()) / "ai-theses-numba"):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            probe = candidate / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            continue
        os.environ["NUMBA_CACHE_DIR"] = str(candidate)
        return str(candidate)
    return ""
