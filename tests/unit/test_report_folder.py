"""Report folders are written atomically: all files or nothing, never a half-written or temp folder."""

from __future__ import annotations

import json
import os
import stat
import time
from datetime import datetime

import pytest

import theses.reports.folder as folder_module
import theses.reports.tables
from tests.unit.report_factory import synthetic_result
from theses.reports import ReportError, write_report
from theses.reports.folder import MARKER, atomic_folder, default_report_dir, foreign_entries

EXPECTED_FILES = {"index.html", "summary.md", "metrics.csv", "metrics.json", "equity.csv", MARKER}


@pytest.fixture
def results():
    return [synthetic_result("alpha", 1, n=120), synthetic_result("beta", 2, n=120)]


def test_writes_every_file_and_no_temp_folder(tmp_path, results):
    folder = write_report(results, tmp_path / "rep")
    assert folder == (tmp_path / "rep").absolute()
    assert {p.name for p in folder.iterdir()} == EXPECTED_FILES
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failure_midway_leaves_nothing(tmp_path, results, monkeypatch, error):
    def broken_writer(*args, **kwargs):
        raise error

    # equity.csv is written after index.html, summary.md and the metrics files: a failure midway.
    monkeypatch.setattr(theses.reports.tables, "write_equity_csv", broken_writer)
    with pytest.raises(type(error)):
        write_report(results, tmp_path / "rep")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_the_earlier_report(tmp_path, results, monkeypatch):
    first = write_report(results[:1], tmp_path / "rep", title="first")
    monkeypatch.setattr(theses.reports.tables, "write_equity_csv", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_report(results, tmp_path / "rep", title="second")
    assert (first / "summary.md").read_text().startswith("# first\n")
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_replaces_an_earlier_report(tmp_path, results):
    write_report(results[:1], tmp_path / "rep", title="first")
    folder = write_report(results, tmp_path / "rep", title="second")
    assert (folder / "summary.md").read_text().startswith("# second\n")
    assert {p.name for p in folder.iterdir()} == EXPECTED_FILES
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_empty_existing_folder_is_used(tmp_path, results):
    (tmp_path / "rep").mkdir()
    folder = write_report(results, tmp_path / "rep")
    assert (folder / "index.html").is_file()


def test_refuses_a_folder_with_other_files(tmp_path, results):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ReportError, match="is not empty and holds no earlier report"):
        write_report(results, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]


def test_refuses_a_file(tmp_path, results):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ReportError, match="is a file"):
        write_report(results, tmp_path / "file")


def test_creates_missing_parents(tmp_path, results):
    folder = write_report(results, tmp_path / "a" / "b" / "rep")
    assert (folder / "metrics.json").is_file()


def test_default_folder_is_timestamped_and_unique(tmp_path):
    now = datetime(2025, 3, 4, 5, 6, 7)
    first = default_report_dir(tmp_path, now)
    assert first == tmp_path / "20250304-050607"
    first.mkdir()
    assert default_report_dir(tmp_path, now) == tmp_path / "20250304-050607-2"


def test_default_folder_under_cwd(tmp_path, results, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = write_report(results, None)
    assert folder.parent == (tmp_path / "theses-report").absolute()
    assert (folder / "index.html").is_file()


def test_atomic_folder_context_manager(tmp_path):
    with atomic_folder(tmp_path / "out") as tmp:
        assert tmp.parent == tmp_path.absolute() and tmp.name.startswith(".out.tmp-")
        (tmp / "a.txt").write_text("a")
        assert not (tmp_path / "out").exists()
    assert (tmp_path / "out" / "a.txt").read_text() == "a"


# ------------------------------------------------------------------------ files the project did not write
def test_a_file_the_user_added_to_an_earlier_report_is_never_deleted(tmp_path, results):
    first = write_report(results[:1], tmp_path / "rep", title="first")
    (first / "my-notes.txt").write_text("keep me")
    (first / "extra").mkdir()
    (first / "extra" / "chart.png").write_bytes(b"\x89PNG")
    with pytest.raises(ReportError, match=r"files theses did not write \(extra/, my-notes.txt\)"):
        write_report(results, tmp_path / "rep", title="second")
    assert (first / "my-notes.txt").read_text() == "keep me"
    assert (first / "extra" / "chart.png").read_bytes() == b"\x89PNG"
    assert (first / "summary.md").read_text().startswith("# first\n")
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_the_marker_lists_every_file_written(tmp_path, results):
    folder = write_report(results, tmp_path / "rep")
    listed = json.loads((folder / MARKER).read_text())["files"]
    assert set(listed) == {p.name for p in folder.iterdir()}
    assert foreign_entries(folder) == []


def test_an_older_report_without_a_file_list_is_replaced_unless_it_holds_foreign_files(tmp_path, results):
    old = tmp_path / "rep"
    old.mkdir()
    (old / MARKER).write_text("written by theses; this folder may be replaced by a newer report\n")
    (old / "summary.md").write_text("# old\n")
    write_report(results, old, title="new")
    assert (old / "summary.md").read_text().startswith("# new\n")
    (old / MARKER).write_text("written by theses\n")
    (old / "mine.xlsx").write_text("x")
    with pytest.raises(ReportError, match="mine.xlsx"):
        write_report(results, old, title="newer")
    assert (old / "mine.xlsx").exists()


def test_a_file_added_while_the_report_is_computed_is_kept(tmp_path, results):
    write_report(results[:1], tmp_path / "rep", title="first")
    with pytest.raises(ReportError, match="late.txt"), atomic_folder(tmp_path / "rep") as tmp:
        (tmp / "summary.md").write_text("# second\n")
        (tmp_path / "rep" / "late.txt").write_text("added meanwhile")
    assert (tmp_path / "rep" / "late.txt").read_text() == "added meanwhile"
    assert (tmp_path / "rep" / "summary.md").read_text().startswith("# first\n")
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


# ----------------------------------------------------------------------------- swap, recovery, leftovers
def test_the_swap_is_one_atomic_exchange_where_the_system_has_one(tmp_path, results, monkeypatch):
    if folder_module._EXCHANGE is None:
        pytest.skip("no renameat2 here: the two-rename fallback is tested below")
    write_report(results[:1], tmp_path / "rep", title="first")
    renames, real_replace = [], os.replace
    monkeypatch.setattr(os, "replace", lambda *a: renames.append(a) or real_replace(*a))
    write_report(results, tmp_path / "rep", title="second")
    assert renames == []  # no moment without a report: the exchange, then the old copy is deleted
    assert (tmp_path / "rep" / "summary.md").read_text().startswith("# second\n")


def test_without_an_exchange_a_report_left_aside_by_a_killed_run_is_put_back(tmp_path, results, monkeypatch):
    monkeypatch.setattr(folder_module, "_EXCHANGE", None)
    write_report(results[:1], tmp_path / "rep", title="first")
    # A run killed between its two renames: the earlier report is in .rep.old-<pid>-*/report, no rep.
    aside = tmp_path / ".rep.old-999999999-abcd"
    aside.mkdir()
    os.replace(tmp_path / "rep", aside / "report")
    write_report(results, tmp_path / "rep2", title="elsewhere")  # another place: left alone
    assert aside.exists()
    with atomic_folder(tmp_path / "rep") as tmp:
        assert (tmp_path / "rep" / "summary.md").read_text().startswith("# first\n")  # recovered first
        assert not aside.exists()
        (tmp / "summary.md").write_text("# second\n")
    assert (tmp_path / "rep" / "summary.md").read_text() == "# second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "rep2"]


def test_stale_leftovers_of_killed_runs_are_removed_and_nothing_else(tmp_path, results):
    old = time.time() - 3600
    stale = [tmp_path / ".rep.tmp-999999999-x1", tmp_path / ".rep.old-999999999-x2", tmp_path / ".rep.tmp-legacy"]
    for path in stale:
        path.mkdir()
        (path / "index.html").write_text("half")
        os.utime(path, (old, old))
    kept = [tmp_path / f".rep.tmp-{os.getpid()}-mine", tmp_path / ".other.tmp-999999999-y", tmp_path / "rep.notes",
            tmp_path / ".rep.tmp-new"]  # this process's own, another target's, a user's, a fresh one of unknown owner
    for path in kept:
        path.mkdir()
    write_report(results, tmp_path / "rep")
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept)


def test_report_folders_and_files_get_the_modes_the_umask_gives(tmp_path, results):
    original = os.umask(0o027)
    try:
        folder = write_report(results, tmp_path / "rep")
        write_report(results, folder)  # replacing keeps the modes too
    finally:
        os.umask(original)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o640}


def test_a_symlinked_out_writes_into_its_target(tmp_path, results):
    write_report(results[:1], tmp_path / "real", title="first")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    write_report(results, tmp_path / "link", title="second")
    assert (tmp_path / "link").is_symlink()
    assert (tmp_path / "real" / "summary.md").read_text().startswith("# second\n")
