"""Holdings files: the accepted format and one message per kind of mistake (file and line named)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from theses.data.errors import DataError
from theses.data.holdings import parse_holdings, read_holdings


def _write(tmp_path: Path, text: str, name: str = "holdings.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_shares_shorts_and_cost_basis(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "\ufeffTicker, Shares ,cost_basis\n# my broker account\nspy,12,5400.5\n\nMETA,3.5,\nF,-100,-1150\nbrk-b,1,\n",
    )
    holdings = read_holdings(path)
    assert holdings.tickers == ("SPY", "META", "F", "BRK-B")
    np.testing.assert_array_equal(holdings.shares, [12.0, 3.5, -100.0, 1.0])
    np.testing.assert_array_equal(holdings.cost_basis, [5400.5, np.nan, -1150.0, np.nan])
    assert holdings.lines == (3, 5, 6, 7)
    assert holdings.as_dict() == {"SPY": 12.0, "META": 3.5, "F": -100.0, "BRK-B": 1.0}
    assert holdings.shares_of("F") == -100.0
    assert holdings.shares_of("TSLA") == 0.0


def test_columns_in_any_order_and_without_cost_basis() -> None:
    holdings = parse_holdings("shares,ticker\n7,NVDA\n")
    assert holdings.tickers == ("NVDA",)
    assert holdings.shares.tolist() == [7.0]
    assert np.isnan(holdings.cost_basis[0])


def test_header_only_means_no_positions() -> None:
    holdings = parse_holdings("ticker,shares\n", "cash_only.csv")
    assert holdings.tickers == ()
    assert holdings.shares.shape == (0,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "h.csv is empty; write a header line ticker,shares[,cost_basis] and one row per position"),
        ("\n  \n# only a comment\n", "h.csv is empty"),
        ("ticker,qty\nSPY,1\n", "h.csv line 1: missing column 'shares'; the header must be ticker,shares[,cost_basis]"),
        ("symbol,shares\nSPY,1\n", "h.csv line 1: missing column 'ticker'"),
        ("ticker,shares,price\nSPY,1,500\n", "h.csv line 1: unknown column 'price'"),
        ("ticker,shares,shares\nSPY,1,2\n", "h.csv line 1: a column is named twice"),
        ("ticker,shares\nSPY,ten\n", "h.csv line 2: shares 'ten' is not a number; write e.g. 12 or -3.5"),
        ("ticker,shares\nSPY,\n", "h.csv line 2: shares is empty; give a number (shorts negative)"),
        ("ticker,shares\nSPY,nan\n", "h.csv line 2: shares 'nan' is not a finite number"),
        ("ticker,shares\nSPY,1_000\n", "h.csv line 2: shares '1_000' is not a number"),
        ("ticker,shares,cost_basis\nSPY,1,abc\n", "h.csv line 2: cost_basis 'abc' is not a number"),
        ("ticker,shares\nSPY,1\nMETA,2\nspy,3\n", "h.csv line 4: ticker SPY is already on line 2; merge the two rows into one"),
        ("ticker,shares\nS P Y,1\n", "h.csv line 2: ticker 'S P Y' is not a valid symbol; use letters, digits and . - ^ = only"),
        ("ticker,shares\n$SPY,1\n", "h.csv line 2: ticker '$SPY' is not a valid symbol"),
        ("ticker,shares\n,1\n", "h.csv line 2: ticker '' is not a valid symbol"),
        ("ticker,shares\nSPY,1,2\n", "h.csv line 2: expected 2 fields (ticker,shares), found 3; one position per line"),
        ("ticker,shares\n\n# note\nSPY\n", "h.csv line 4: expected 2 fields"),
    ],
)
def test_malformed_files_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(DataError) as info:
        parse_holdings(text, "h.csv")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"holdings file .*nope\.csv not found; check the --holdings path"):
        read_holdings(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a directory; give the CSV file itself"):
        read_holdings(tmp_path)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("ticker,shares\nSPY,1\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="is not UTF-8 text"):
        read_holdings(path)


def test_error_names_the_path_given(tmp_path: Path) -> None:
    path = _write(tmp_path, "ticker,shares\nSPY,x\n", "acct.csv")
    with pytest.raises(DataError) as info:
        read_holdings(path)
    assert str(info.value).startswith(f"{path} line 2: shares 'x' is not a number")
