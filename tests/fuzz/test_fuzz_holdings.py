"""Property tests of holdings files through the public reader: Holdings or one DataError line naming the file."""

from __future__ import annotations

import math
import warnings

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

from theses.data.errors import DataError
from theses.data.holdings import read_holdings

HEADERS = ["ticker,shares,cost_basis", "ticker,shares", "Ticker,Shares", "symbol,qty", "shares,ticker", "",
           "ticker,shares,cost_basis,extra", "ticker,ticker,shares", "\ufeffticker,shares"]
CELLS = st.one_of(
    st.sampled_from(["SPY", "spy", "BRK-B", "^GSPC", "", "=HYPERLINK(1)", "A B", "TOOLONGTICKERNAMEXXXXX", "#x",
                     "10", "-5", "0", "1e308", "-1e308", "nan", "inf", "1,5", "abc", "3.5", "1e-9", "１０"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)


@st.composite
def holdings_files(draw: st.DrawFn) -> str:
    """A valid file (header, one row per ticker) with 0-2 cells replaced by odd values."""
    tickers = draw(st.lists(st.sampled_from(["SPY", "AAA", "BBB", "CCC"]), unique=True, max_size=4))
    rows = [[t, f"{draw(st.floats(-1e4, 1e4)):.4f}", draw(st.sampled_from(["", "100.5"]))] for t in tickers]
    header = "ticker,shares,cost_basis" if draw(st.integers(0, 3)) else draw(st.sampled_from(HEADERS))
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        if rows:
            row = rows[draw(st.integers(0, len(rows) - 1))]
            row[draw(st.integers(0, len(row) - 1))] = draw(CELLS)  # an earlier pass may have cut a cell
            if draw(st.integers(0, 4)) == 0:
                del row[-1]
    text = "\n".join([header, *(",".join(r).replace("\n", " ").replace("\r", " ") for r in rows)])
    return text + draw(st.sampled_from(["\n", "", "\n# comment\n", "\n\n"]))


def check_holdings(path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            book = read_holdings(path)
        except DataError as exc:
            message = str(exc)
            event("refused")
            assert "\n" not in message and str(path) in message, message
            return
    event("accepted")
    assert len(book.tickers) == len(set(book.tickers)) == len(book.shares) == len(book.lines)
    assert all(math.isfinite(s) for s in book.shares)
    assert np.isnan(book.cost_basis).sum() + np.isfinite(book.cost_basis).sum() == len(book.tickers)


@settings(max_examples=80)
@given(text=holdings_files())
def test_any_generated_holdings_file_is_read_or_refused_in_one_line(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("holdings") / "holdings.csv"
    path.write_text(text, encoding="utf-8")
    check_holdings(path)


@settings(max_examples=30)
@given(data=st.binary(max_size=200))
def test_any_bytes_as_holdings_are_read_or_refused_in_one_line(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("holdings-bytes") / "holdings.csv"
    path.write_bytes(data)
    check_holdings(path)
