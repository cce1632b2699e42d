"""Kill the process at every file-system step of a report, cache and rebalance write; nothing is ever lost.

A forked child runs one write and sends itself SIGKILL just before its k-th file-system step (a rename, an
exchange, a removal, a folder or temporary file created, a file opened for writing, a mode change): no
``finally`` or ``except`` runs, as with a real ``kill -9`` or a power cut. For k = 0, 1, 2, ... until the
write completes, the parent checks that the place holds the previous version or the new one, whole, and
that the next run cleans the leftovers up and succeeds.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import shutil
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import theses.data.cache as cache_module
import theses.reports.folder as folder_module
from tests.unit.report_factory import synthetic_result
from tests.unit.test_cli_compare import write_csvs, write_portfolio
from theses.cli.main import main
from theses.data.cache import PriceCache
from theses.reports import write_report

MAX_STEPS = 400
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def _install_kill_switch(step: int) -> None:
    """In the child: count file-system steps and SIGKILL this process just before step ``step``."""
    count = [0]

    def counted(real: Callable, writes_only: bool = False) -> Callable:
        def wrapper(*args, **kwargs):
            mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
            if not writes_only or any(c in str(mode) for c in "wax+"):
                if count[0] == step:
                    os.kill(os.getpid(), signal.SIGKILL)
                count[0] += 1
            return real(*args, **kwargs)
        return wrapper

    for name in ("replace", "rename", "unlink", "remove", "rmdir", "mkdir", "chmod"):
        setattr(os, name, counted(getattr(os, name)))
    shutil.rmtree = counted(shutil.rmtree)
    tempfile.mkstemp = counted(tempfile.mkstemp)
    tempfile.mkdtemp = counted(tempfile.mkdtemp)
    builtins.open = counted(builtins.open, writes_only=True)
    io.open = counted(io.open, writes_only=True)  # pathlib's write_text / write_bytes
    folder_module.exchange_paths = counted(folder_module.exchange_paths)
    cache_module._write_parquet = counted(cache_module._write_parquet)


def run_killed_at(step: int, action: Callable[[], object]) -> bool:
    """Run ``action`` in a forked child killed before its ``step``-th file-system step; True if it was killed."""
    pid = os.fork()
    if pid == 0:  # the child
        try:
            _install_kill_switch(step)
            action()
        except BaseException:
            os._exit(3)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True
    assert os.WEXITSTATUS(status) == 0, "the write failed instead of completing"
    return False


def digest(path: Path) -> dict[str, str] | None:
    """Relative path -> sha256 of every file under ``path`` (a file: its own hash); None when absent."""
    if not path.exists():
        return None
    if path.is_file():
        return {"": hashlib.sha256(path.read_bytes()).hexdigest()}
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def leftovers(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))


def kill_at_every_step(write_new: Callable[[], object], check_after_kill: Callable[[], None],
                       next_run: Callable[[], None]) -> int:
    """Kill ``write_new`` at step 0, 1, ... until it completes; after each kill check, then run again."""
    for step in range(MAX_STEPS):
        killed = run_killed_at(step, write_new)
        check_after_kill()
        next_run()
        if not killed:
            return step
    raise AssertionError(f"the write took more than {MAX_STEPS} steps")


# ------------------------------------------------------------------------------------------------ reports
@pytest.mark.parametrize("exchange", [True, False], ids=["atomic-exchange", "two-renames"])
def test_report_folder_killed_at_every_step(tmp_path, monkeypatch, exchange):
    if exchange and folder_module._EXCHANGE is None:
        pytest.skip("no renameat2 on this system")
    if not exchange:
        monkeypatch.setattr(folder_module, "_EXCHANGE", None)
    # The page's plotly rendering is no file-system step and takes most of a write: a small page instead.
    monkeypatch.setattr("theses.reports.html.render_page", lambda results, **kw: f"<html>{kw['title']}</html>\n")
    dest = tmp_path / "rep"
    runs = {name: [synthetic_result(name, seed, n=60)] for seed, name in enumerate(("old", "new", "next"))}
    fixed = {"generated": "2025-01-01 00:00", "version": "test"}  # the same bytes for the same report

    def write(name: str, where: Path = dest) -> Path:
        return write_report(runs[name], where, title=name, context=fixed)

    write("old")
    versions = {"old": digest(dest)}
    write("new", tmp_path / "probe")
    versions["new"] = digest(tmp_path / "probe")
    shutil.rmtree(tmp_path / "probe")
    seen: set[str] = set()

    def check_after_kill():
        state = digest(dest)
        if state is None and not exchange:  # killed between the two renames: the old report is aside, whole
            aside = [p / "report" for p in tmp_path.glob(".rep.old-*") if (p / "report").is_dir()]
            assert len(aside) == 1 and digest(aside[0]) == versions["old"]
            seen.add("aside")
            return
        match = [name for name, files in versions.items() if files == state]
        assert match, "the report folder is neither the old report nor the new one"
        seen.add(match[0])

    def next_run():
        write("next")
        assert (dest / "summary.md").read_text().startswith("# next\n")
        assert leftovers(tmp_path, "rep") == []
        write("old")  # the state the next kill starts from
        assert digest(dest) == versions["old"]

    steps = kill_at_every_step(lambda: write("new"), check_after_kill, next_run)
    assert steps >= 8 and {"old", "new"} <= seen
    assert ("aside" in seen) == (not exchange)


# ------------------------------------------------------------------------------------------------- cache
def _bars(value: float) -> pd.DataFrame:
    index = pd.bdate_range("2024-01-02", periods=50, name="date")
    return pd.DataFrame({c: np.full(50, value) for c in ("Open", "High", "Low", "Close", "Volume")}, index=index)


def test_cache_file_killed_at_every_step(tmp_path):
    cache = PriceCache(tmp_path)
    cache.write("SPY", _bars(1.0), "test")
    seen: set[float] = set()

    def check_after_kill():
        entry = PriceCache(tmp_path).read("SPY")  # never a DataError: the old file or the new one
        assert entry is not None and entry.bars.shape == (50, 5)
        closes = set(entry.bars["Close"])
        assert closes in ({1.0}, {2.0})
        seen.update(closes)

    def next_run():
        PriceCache(tmp_path).write("SPY", _bars(3.0), "test")
        assert set(PriceCache(tmp_path).read("SPY").bars["Close"]) == {3.0}
        assert leftovers(tmp_path, "SPY.parquet") == [] and [p.name for p in tmp_path.iterdir()] == ["SPY.parquet"]
        PriceCache(tmp_path).write("SPY", _bars(1.0), "test")

    steps = kill_at_every_step(lambda: PriceCache(tmp_path).write("SPY", _bars(2.0), "test"), check_after_kill,
                               next_run)
    assert steps >= 3 and seen == {1.0, 2.0}


# --------------------------------------------------------------------------------------------- rebalance
def test_rebalance_out_killed_at_every_step(tmp_path, monkeypatch, capsys):
    write_csvs(tmp_path / "prices")
    portfolio = write_portfolio(tmp_path, "tilt", {"AAA": 0.7, "BBB": 0.3})
    (tmp_path / "holdings.csv").write_text("ticker,shares\nAAA,10\n")
    out = tmp_path / "trades.csv"
    out.write_text("the previous trade list\n")
    argv = ["rebalance", str(portfolio), "--holdings", str(tmp_path / "holdings.csv"), "--source", "csv",
            "--data-dir", str(tmp_path / "prices"), "--format", "csv", "--out", str(out)]
    assert main([*argv[:-2]]) == 0
    new_text = capsys.readouterr().out
    inputs = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p != out}
    seen: set[str] = set()

    def check_after_kill():
        text = out.read_text()
        assert text in ("the previous trade list\n", new_text)
        seen.add("old" if text.startswith("the previous") else "new")
        assert all(p.read_bytes() == data for p, data in inputs.items())

    def next_run():
        assert main(argv) == 0
        assert out.read_text() == new_text
        assert leftovers(tmp_path, "trades.csv") == []
        out.write_text("the previous trade list\n")

    steps = kill_at_every_step(lambda: main(argv), check_after_kill, next_run)
    capsys.readouterr()
    assert steps >= 3 and seen == {"old", "new"}
