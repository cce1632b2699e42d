"""Report folders are written atomically: all files or nothing, never a half-written or temp folder."""

from __future__ import annotations

from datetime import datetime

import pytest

import theses.reports.tables
from tests.unit.report_factory import synthetic_result
from theses.reports import ReportError, write_report
from theses.reports.folder import MARKER, atomic_folder, default_report_dir

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
