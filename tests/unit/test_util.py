"""theses.util: atomic writes (mode from the umask, old file kept on failure), the TOML key locator, suggestions."""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from theses.util import (
    CALENDARS,
    MISSING_POLICIES,
    TomlLocator,
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    default_file_mode,
    did_you_mean,
    suggest,
    toml_key_lines,
    unknown_key,
)


@pytest.fixture
def umask() -> Iterator[callable]:
    """Set the process umask for one test and restore it afterwards."""
    original = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(original)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------------------------------ atomic writes
@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_new_file_gets_the_mode_the_umask_gives(tmp_path, umask, mask, expected):
    umask(mask)
    assert default_file_mode() == expected
    path = atomic_write_text(tmp_path / "a.txt", "hello\n")
    assert path.read_text() == "hello\n"
    assert mode(path) == expected
    # the same mode as a plain open() gives, the reference the umask is meant for
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert mode(plain) == expected


def test_rewrite_replaces_content_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "data.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new \x00 bytes")
    assert target.read_bytes() == b"new \x00 bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_write_leaves_old_file_intact_and_no_temporary(tmp_path, error):
    target = tmp_path / "report.json"
    target.write_text('{"old": true}')

    def half_then_die(temp: Path) -> None:
        temp.write_text('{"new": tr')  # part of the file, then the failure
        raise error

    with pytest.raises(type(error)):
        atomic_write(target, half_then_die)
    assert target.read_text() == '{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_failed_first_write_creates_nothing(tmp_path):
    def die(temp: Path) -> None:
        raise ValueError("bad data")

    with pytest.raises(ValueError):
        atomic_write(tmp_path / "new.txt", die)
    assert list(tmp_path.iterdir()) == []


def test_writer_callback_writes_by_path(tmp_path, umask):
    umask(0o022)
    seen: list[Path] = []

    def writer(temp: Path) -> None:
        seen.append(temp)
        with open(temp, "w", encoding="utf-8") as handle:  # a library that opens the file itself
            handle.write("a,b\n1,2\n")

    path = atomic_write(tmp_path / "t.csv", writer)
    assert path.read_text() == "a,b\n1,2\n" and mode(path) == 0o644
    assert seen[0].parent == tmp_path and seen[0].name.startswith(".t.csv") and not seen[0].exists()


# ------------------------------------------------------------------------------------------ TOML key lines
SPEC = """\
# a comment line
name = "x"   # trailing comment with = sign

[weights]
SPY = 0.6
"BRK.B" = 0.2
'BRK/B' = 0.1
BRK.A = 0.1
"a#b" = 1   # a hash inside a quoted key

[phases.early]
start = 2025-01-01
excess_drift.compute = 0.1

[[crashes]]
size = -0.3

[[crashes]]
name = "second"
[crashes.size]
NVDA = -0.5

[costs]
inline = { fees_bps = 1.0 }
"""


def test_key_lines_of_tables_keys_arrays_and_dotted_keys():
    tomllib.loads(SPEC)  # the fixture is valid TOML
    lines = toml_key_lines(SPEC)
    assert lines[("name",)] == 2
    assert lines[("weights",)] == 4
    assert lines[("weights", "SPY")] == 5
    assert lines[("weights", "BRK.B")] == 6  # a quoted key with a dot is one key
    assert lines[("weights", "BRK/B")] == 7
    assert lines[("weights", "BRK")] == 8 and lines[("weights", "BRK", "A")] == 8  # dotted: both parts placed
    assert lines[("weights", "a#b")] == 9
    assert lines[("phases", "early")] == 11
    assert lines[("phases", "early", "excess_drift")] == 13
    assert lines[("phases", "early", "excess_drift", "compute")] == 13
    assert lines[("crashes",)] == 15 and lines[("crashes", 0)] == 15 and lines[("crashes", 0, "size")] == 16
    assert lines[("crashes", 1)] == 18 and lines[("crashes", 1, "name")] == 19
    assert lines[("crashes", 1, "size")] == 20 and lines[("crashes", 1, "size", "NVDA")] == 21
    assert lines[("costs", "inline")] == 24
    assert ("costs", "inline", "fees_bps") not in lines  # inside an inline table: not placed


def test_locator_falls_back_to_the_enclosing_key():
    doc = TomlLocator(SPEC, "spec.toml")
    assert doc.line_of(("costs", "inline", "fees_bps")) == 24
    assert doc.line_of(("weights", "QQQ")) == 4
    assert doc.line_of(("nothing", "here")) is None and doc.line_of(()) is None
    assert doc.where(("weights", "SPY")) == "spec.toml line 5"
    assert doc.where(("nothing",)) == "spec.toml"


def test_unknown_key_and_suggestions():
    assert unknown_key({"name": 1, "rebalence": 2, "zzz": 3}, ("name", "rebalance")) == "rebalence"
    assert unknown_key({"name": 1}, ("name", "rebalance")) is None
    assert suggest("rebalence", ("name", "rebalance")) == "rebalance"
    assert suggest("qqqq", ("name", "rebalance")) is None
    assert did_you_mean("montly", CALENDARS) == "did you mean 'monthly'? "
    assert did_you_mean("xyz", CALENDARS) == ""
    # a looser cutoff finds more distant names
    assert suggest("fee", ("fees_bps",)) is None and suggest("fee", ("fees_bps",), cutoff=0.5) == "fees_bps"


def test_calendar_and_policy_names_are_the_engine_and_strategy_ones():
    from theses.engine import config
    from theses.strategies import base

    assert config.CALENDARS is CALENDARS and base.REBALANCE_RULES is CALENDARS
    assert config.MISSING_POLICIES is MISSING_POLICIES and base.MISSING_POLICIES is MISSING_POLICIES


# ------------------------------------------------------------------------------- leftovers of killed runs
def test_atomic_write_removes_leftovers_of_dead_writers_of_that_file_only(tmp_path):
    import time

    from theses.util import temp_prefix

    old = time.time() - 3600
    dead = [tmp_path / ".SPY.parquet.tmp-999999999-a1b2", tmp_path / ".SPY.parquet.tmp"]
    legacy = tmp_path / ".SPY.parquet.tmp-a1b2c3"  # an older version's name: no pid, stale when older than us
    fresh = tmp_path / ".SPY.parquet.tmp-d4e5f6"  # no pid and newer than this process: maybe still being written
    alive = tmp_path / f"{temp_prefix(tmp_path / 'SPY.parquet')}busy"  # this process, writing now
    other = [tmp_path / ".QQQ.parquet.tmp-999999999-x", tmp_path / "SPY.parquet.tmp-999999999-x",
             tmp_path / ".SPY.parquet.bak", tmp_path / "notes.txt"]
    for path in (*dead, legacy, fresh, alive, *other):
        path.write_text("x")
    for path in (legacy, dead[1]):
        os.utime(path, (old, old))
    atomic_write_text(tmp_path / "SPY.parquet", "new")
    assert not any(p.exists() for p in (*dead, legacy))
    assert fresh.exists() and alive.exists() and all(p.exists() for p in other)
    assert (tmp_path / "SPY.parquet").read_text() == "new"


def test_a_temporary_name_carries_the_writer_pid(tmp_path):
    from theses.util import is_stale, temp_prefix

    prefix = temp_prefix(tmp_path / "a.json")
    assert prefix == f".a.json.tmp-{os.getpid()}-"
    assert not is_stale(tmp_path / f"{prefix}x", "a.json", ".tmp-")
    assert is_stale(tmp_path / ".a.json.tmp-999999999-x", "a.json", ".tmp-")
    assert not is_stale(tmp_path / ".b.json.tmp-999999999-x", "a.json", ".tmp-")


# ------------------------------------------------------------------------------------------ setting ranges
@pytest.mark.parametrize(("name", "value", "problem"), [
    ("fees_bps", 1e9, "1e+09 is out of range; use 0 to 1000"), ("risk_free", 5, "5 is out of range; use -0.1 to 0.5"),
    ("band_abs", 5, "out of range; use 0 to 1"), ("initial_cash", 0, "0 is out of range"),
    ("cash_rate", float("nan"), "not a finite number"), ("borrow_bps", "50", "expected a number, got '50'"),
    ("slippage_bps", True, "expected a number"), ("fees_bps", 1.0, None), ("cash_rate", -0.01, None),
])
def test_setting_problem_states_the_range(name, value, problem):
    from theses.util import setting_problem

    found = setting_problem(name, value)
    assert (found is None) if problem is None else (problem in found), found


def test_a_store_folder_loses_only_the_leftovers_of_dead_writers(tmp_path):
    from theses.util import remove_stale_temps_in, temp_prefix

    dead = tmp_path / ".a.parquet.tmp-999999999-x"
    alive = tmp_path / f"{temp_prefix(tmp_path / 'b.parquet')}y"
    mine = [tmp_path / "a.parquet", tmp_path / ".hidden-user-file", tmp_path / "notes.tmp-999999999-z"]
    for path in (dead, alive, *mine):
        path.write_text("x")
    assert remove_stale_temps_in(tmp_path) == [dead]
    assert alive.exists() and all(p.exists() for p in mine)
