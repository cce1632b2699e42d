"""Property tests of the price CSV reader: any file gives checked bars or one DataError line naming the file.

Files are generated from a valid file by mutating cells, rows and the header (bad and extreme dates and
numbers, blanks, repeated or missing columns, shuffled rows, stray commas), plus raw bytes. The reader must
never raise anything else, never warn (numpy overflow), and what it returns must satisfy the bars contract.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import event, given, settings
from hypothesis import strategies as st

from theses.data import DataError, read_price_csv
from theses.data.validate import FIRST_PRICE_DATE, MAX_PRICE, MIN_PRICE, last_price_date

HEADERS = [
    "Date,Open,High,Low,Close,Volume", "Date,Open,High,Low,Close,Adj Close,Volume", "date,close",
    "Date,Close", "Date,Close,Close,Volume", "Date,Open,High,Low,Volume", "Close,Date", "Date,Close,close",
    "\ufeffDate,Close,Volume", "Date;Close", "Date,Open,High,Low,Close,Volume,Extra", "", "Date,Adj_Close,Close",
]
DATE_CELLS = st.sampled_from([
    "2024-01-02", "2024-01-03", "2024-02-29", "2023-02-29", "9999-01-04", "1600-01-03", "1899-12-31",
    "2262-04-12", "0001-01-01", "2024-01-02 00:00:00-05:00", "2024-01-02T10:00Z", "20240102", "", "NaN",
    "yesterday", "2024-1-2", " 2024-01-05 ", "2024-01-02\x00", "٢٠٢٤-٠١-٠٢",
])
NUMBER_CELLS = st.one_of(
    st.sampled_from(["", "nan", "NaN", "null", "inf", "-inf", "1e308", "1e-308", "0", "-1", "1e9", "1e10",
                     "1,5", "abc", "True", "0x10", "1_000", "1e", "+5", "١٢", "1e-7"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=0.01, max_value=1e5).map(lambda x: f"{x:.4f}"),
)


def _valid_rows(n: int) -> list[list[str]]:
    days = pd.bdate_range("2024-01-02", periods=n)
    return [[d.strftime("%Y-%m-%d"), "10", "11", "9", f"{10 + i * 0.1:.2f}", "1000"] for i, d in enumerate(days)]


@st.composite
def price_files(draw: st.DrawFn) -> str:
    """A CSV text: a valid file with a few random mutations."""
    header = draw(st.sampled_from(HEADERS))
    rows = _valid_rows(draw(st.integers(0, 12)))
    width = max(1, len(header.split(",")))
    rows = [row[:1] + row[1:width] for row in rows]
    for _ in range(draw(st.integers(0, 4))):
        if not rows:
            break
        kind = draw(st.sampled_from(["date", "number", "drop_cell", "extra_cell", "swap", "dup", "blank"]))
        i = draw(st.integers(0, len(rows) - 1))
        rows[i] = rows[i] or [""]
        if kind == "date":
            rows[i][0] = draw(DATE_CELLS)
        elif kind == "number" and len(rows[i]) > 1:
            rows[i][draw(st.integers(1, len(rows[i]) - 1))] = draw(NUMBER_CELLS)
        elif kind == "drop_cell":
            rows[i] = rows[i][:-1]
        elif kind == "extra_cell":
            rows[i].append(draw(NUMBER_CELLS))
        elif kind == "swap":
            j = draw(st.integers(0, len(rows) - 1))
            rows[i], rows[j] = rows[j], rows[i]
        elif kind == "dup":
            rows.insert(i, list(rows[i]))
        else:
            rows[i] = []
    return "\n".join([header, *(",".join(r) for r in rows)]) + draw(st.sampled_from(["\n", "", "\r\n", "\n\n"]))


def check_read(path: Path) -> None:
    """The property: bars satisfying the contract, or one DataError line that starts with the file."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            bars = read_price_csv(path)
        except DataError as exc:
            message = str(exc)
            event("refused")
            assert "\n" not in message and message.startswith(str(path)), message
            return
    event("accepted")
    index = bars.index
    assert isinstance(index, pd.DatetimeIndex) and index.tz is None and index.name == "date"
    assert index.is_monotonic_increasing and index.is_unique
    assert (index >= FIRST_PRICE_DATE).all() and (index <= last_price_date()).all()
    assert list(bars.columns) == ["Open", "High", "Low", "Close", "Volume"]
    assert all(bars[c].dtype == np.float64 for c in bars.columns)
    close = bars["Close"].to_numpy()
    assert np.isfinite(close).all() and (close >= MIN_PRICE * 0.999).all() and (close <= MAX_PRICE * 1.001).all()


@settings(max_examples=150)
@given(text=price_files())
def test_any_generated_price_file_is_read_or_refused_in_one_line(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("csv") / "AAA.csv"
    path.write_text(text, encoding="utf-8")
    check_read(path)


@settings(max_examples=40)
@given(data=st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_in_one_line(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "AAA.csv"
    path.write_bytes(data)
    check_read(path)
