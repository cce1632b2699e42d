"""Text the user controls (portfolio names, titles, notes) is shown, never obeyed: Markdown escaped, CSV cells
that a spreadsheet would run as formulas neutralised."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest

from tests.unit.report_factory import synthetic_result
from theses.reports import write_report
from theses.reports.markdown import md_text
from theses.util import csv_safe, csv_text


@pytest.mark.parametrize(("raw", "shown"), [
    ("essay_book", "essay_book"),  # intraword underscores stay as written
    ("_x_", "\\_x\\_"),
    ("**bold** `code` [link](u) ![img](u)", "\\*\\*bold\\*\\* \\`code\\` \\[link\\](u) \\!\\[img\\](u)"),
    ("<script>x</script>", "\\<script\\>x\\</script\\>"),
    ("a | b", "a \\| b"),
    ("line\n# Heading\r\n- item", "line \\# Heading - item"),
    ("&lt; ~~x~~", "\\&lt; \\~\\~x\\~\\~"),
    ("2024-12-02 -5.0% (P(loss) 4%)", "2024-12-02 -5.0% (P(loss) 4%)"),  # numbers and dates stay readable
])
def test_md_text_escapes_inline_markup_and_line_breaks(raw, shown):
    assert md_text(raw) == shown


@pytest.mark.parametrize(("value", "safe"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+1", "'+1+1"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("essay_book", "essay_book"), ("", ""),
    (-1.5, -1.5), (None, None),
])
def test_csv_text_neutralises_formula_prefixes_of_text_only(value, safe):
    assert csv_text(value) == safe


def test_csv_safe_covers_cells_index_and_header_and_keeps_numbers():
    frame = pd.DataFrame({"=name": ["=a", "b"], "x": [-1.0, 2.0]}, index=pd.Index(["@i", "j"], name="name"))
    safe = csv_safe(frame)
    assert list(safe.columns) == ["'=name", "x"] and list(safe.index) == ["'@i", "j"]
    assert list(safe["'=name"]) == ["'=a", "b"] and list(safe["x"]) == [-1.0, 2.0]
    assert list(frame.columns) == ["=name", "x"]  # the input is not changed


def test_a_report_of_hostile_names_shows_them_and_runs_nothing(tmp_path):
    hostile = "=HYPERLINK(\"http://evil\",\"x\") **b** <img src=x onerror=alert(1)> | c"
    result = synthetic_result(hostile, 1, n=60)
    folder = write_report([result], tmp_path / "rep", title="Report\n# injected heading",
                          context={"notes": ["note with *markup*\n## and a heading"]})
    summary = (folder / "summary.md").read_text()
    headings = [line for line in summary.splitlines() if line.startswith("#")]
    assert headings == ["# Report \\# injected heading", "## Metrics", "## Notes"]
    assert re.search(r"(?<!\\)<img", summary) is None and "\\<img src=x onerror=alert(1)\\>" in summary
    assert "- note with \\*markup\\* \\#\\# and a heading" in summary
    table_row = next(line for line in summary.splitlines() if "HYPERLINK" in line)
    assert table_row.count(" | ") == 14 - 1  # the name's pipe is escaped: still 14 cells
    html = (folder / "index.html").read_text()
    # Outside the page's script blocks the name is HTML-escaped text; inside them (the chart data, JSON) it
    # is a string that cannot end the block early.
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S)
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)
    assert "<img src=x" not in markup and "&lt;img src=x onerror=alert(1)&gt;" in markup
    assert any("<img src=x" in block for block in scripts)  # the JSON string, escaped for a script block
    for name in ("metrics.csv", "equity.csv"):
        cells = [cell for row in csv.reader(io.StringIO((folder / name).read_text())) for cell in row]
        assert not any(cell.startswith(("=", "+", "@")) for cell in cells), name
        assert "'" + hostile in cells


def test_scenario_csvs_neutralise_names(tmp_path):
    from tests.unit.report_factory import synthetic_batch

    batch = synthetic_batch("=evil", 3)
    folder = write_report([], tmp_path / "rep", simulation={"+scenario": {"=evil": batch}},
                          simulation_meta={"seed": 1, "paths": 10})
    for name in ("scenarios.csv", "scenario_bands.csv"):
        cells = [cell for row in csv.reader(io.StringIO((folder / name).read_text())) for cell in row]
        assert "'=evil" in cells and "'+scenario" in cells
        assert not any(cell.startswith(("=", "+", "@")) for cell in cells)


def test_a_name_cannot_close_the_page_s_script_blocks(tmp_path):
    folder = write_report([synthetic_result("x</script><script>alert(1)</script>", 1, n=60)], tmp_path / "rep")
    html = (folder / "index.html").read_text()
    assert "</script><script>alert(1)" not in html
    assert "x&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
