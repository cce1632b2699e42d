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
        ("ticker,price\nSPY,1\n", "h.csv line 1: missing column 'shares'; the header must name a ticker (ticker or "
                                   "symbol) and a share count (shares or quantity)"),
        ("name,shares\nSPY,1\n", "h.csv line 1: missing column 'ticker'"),
        ("ticker,shares,quantity\nSPY,1,2\n", "h.csv line 1: columns 'shares' and 'quantity' both give the shares; "
                                             "keep one"),
        ("ticker,shares\nSPY,ten\n", "h.csv line 2: shares 'ten' is not a number; write e.g. 12, -3.5 or $1,234.50"),
        ("ticker,shares\nSPY,1e12\n", "h.csv line 2: shares '1e12' is beyond 10,000,000,000, not a plausible position"),
        ("ticker,shares,market value\nSPY,1,$1e14\n", "h.csv line 2: market_value '$1e14' is beyond"),
        ("ticker,shares\nSPY,inf\n", "h.csv line 2: shares 'inf' is not a finite number"),
        ("symbol,quantity\nCASH,\n", "h.csv line 2: cash row 'CASH' has no amount"),
        ("ticker,shares\nSPY,\n", "h.csv line 2: shares is empty; give a number (shorts negative)"),
        ("ticker,shares\nSPY,nan\n", "h.csv line 2: shares 'nan' is not a finite number"),
        ("ticker,shares\nSPY,1_000\n", "h.csv line 2: shares '1_000' is not a number"),
        ("ticker,shares,cost_basis\nSPY,1,abc\n", "h.csv line 2: cost_basis 'abc' is not a number"),
        ("ticker,shares\nSPY,1\nMETA,2\nspy,3\n", "h.csv line 4: ticker SPY is already on line 2; merge the two rows into one"),
        ("ticker,shares\nS P Y,1\n", "h.csv line 2: ticker 'S P Y' is not a valid symbol; use letters, digits and . - ^ = only"),
        ("ticker,shares\n$SPY,1\n", "h.csv line 2: ticker '$SPY' is not a valid symbol"),
        ("ticker,shares\n,1\n", "h.csv line 2: ticker '' is not a valid symbol"),
        ("ticker,shares\nSPY,1,2\n", "h.csv line 2: expected 2 fields, found 3; one position per line"),
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


BROKERS = Path(__file__).resolve().parents[1] / "data" / "brokers"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "brokers"


def test_every_broker_sample_file_loads():
    files = sorted(BROKERS.glob("*.csv")) + sorted(EXAMPLES.glob("*.csv"))
    assert len(files) >= 10
    for path in files:
        holdings = read_holdings(path)
        assert holdings.tickers, path.name
        assert np.isfinite(holdings.shares).all()


def test_fidelity_export_two_accounts_sweep_cash_and_footer():
    h = read_holdings(BROKERS / "fidelity_positions.csv")
    assert h.tickers == ("SPY", "META", "NVDA", "BRK-B", "MSFT")
    np.testing.assert_array_equal(h.shares, [15, 4, 10, 2, 3])  # SPY: 12 + 3 over two accounts
    np.testing.assert_allclose(h.cost_basis, [7700, 2200, 1350, 820, 1300])
    np.testing.assert_allclose(h.market_value, [9768.0, 2860, 1852, 960, 1537.2])
    assert h.cash == pytest.approx(2512.34 + 800.0)  # SPAXX** and FZFXX**; pending activity is not cash
    notes = " | ".join(h.notes)
    assert "cash 3,312.34 from SPAXX, FZFXX" in notes and "skipped Pending Activity" in notes
    assert "summed over accounts: SPY" in notes and "ignored 3 lines of text below the table" in notes
    assert "Average Cost Basis" in notes  # ignored, not taken for the total cost


def test_schwab_export_title_line_parentheses_and_cash_rows():
    h = read_holdings(BROKERS / "schwab_positions.csv")
    assert h.tickers == ("NVDA", "INTC", "F", "BRK-B")  # brk/b -> BRK-B
    np.testing.assert_array_equal(h.shares, [10, 25, -150, 2])
    assert h.cost_basis[2] == -1650.0  # ($1,650.00)
    assert h.market_value[2] == -1710.0  # -$1,710.00
    assert h.cash == pytest.approx(1200.55 + 312.18)  # SWVXX and "Cash & Cash Investments"
    assert any("skipped 2 lines above the header (line 3)" in n for n in h.notes)
    assert any("skipped Account Total" in n for n in h.notes)


def test_vanguard_export_stops_at_the_transactions_table():
    h = read_holdings(BROKERS / "vanguard_ofxdownload.csv")
    assert h.tickers == ("MSFT", "SPY", "AMZN")
    np.testing.assert_array_equal(h.shares, [3, 24.5, 6])
    assert h.cash == pytest.approx(1503.22)
    assert any("line 10: a second table starts" in n for n in h.notes)


def test_ibkr_statement_reads_open_positions_summary_rows_only():
    h = read_holdings(BROKERS / "ibkr_activity_statement.csv")
    assert h.tickers == ("AMZN", "BRK-B", "TSM")  # "BRK B" -> BRK-B; the AMZN lots are not added again
    np.testing.assert_array_equal(h.shares, [8, 2, -5])
    np.testing.assert_array_equal(h.cost_basis, [1442, 820, -1250])
    assert h.cash == 0.0


def test_semicolon_file_with_decimal_commas_and_lowercase_tickers():
    h = read_holdings(BROKERS / "semicolon_decimal_comma.csv")
    assert h.tickers == ("SPY", "MSFT")
    np.testing.assert_array_equal(h.shares, [12, 3.5])
    np.testing.assert_array_equal(h.cost_basis, [6100, 1300])
    assert h.cash == 2500.0


@pytest.mark.parametrize(("cell", "value"), [
    ("$1,234.50", 1234.5), ("(1,234.50)", -1234.5), ("-$1,234.50", -1234.5), ("1,234.50-", -1234.5),
    ("+$3.10", 3.1), ("12", 12.0), (".5", 0.5), ("--", None), ("n/a", None), ("", None), ("1e3", 1000.0),
])
def test_amounts_as_brokers_write_them(cell, value):
    from theses.data.holdings import parse_amount

    parsed = parse_amount(cell, "f line 2", "market_value")
    assert (np.isnan(parsed) if value is None else parsed == value)


def test_share_classes_and_fidelity_marks():
    from theses.data.holdings import canonical_ticker

    assert [canonical_ticker(t) for t in ("BRK.B", "brk/b", "BRK B", "bf.b", "SPAXX**", "^GSPC", "SPY")] == [
        "BRK-B", "BRK-B", "BRK-B", "BF-B", "SPAXX", "^GSPC", "SPY"]


def test_a_device_or_a_huge_file_ends_at_once_with_one_line(tmp_path: Path) -> None:
    import time

    from theses.data import holdings as module

    started = time.monotonic()
    with pytest.raises(DataError, match=r"holdings file /dev/zero is not a regular file \(a device\?\)"):
        read_holdings("/dev/zero")
    big = tmp_path / "big.csv"
    big.write_bytes(b"ticker,shares\n" + b"SPY,1\n" * (module.MAX_BYTES // 6 + 10))
    with pytest.raises(DataError, match=r"big.csv is 5.0 MB, more than 5 MB; a holdings file has one line per"):
        read_holdings(big)
    binary = tmp_path / "zeros.csv"
    binary.write_bytes(b"\x00" * 1000)
    with pytest.raises(DataError, match="holds binary data"):
        read_holdings(binary)
    assert time.monotonic() - started < 5


def test_too_many_rows_is_refused() -> None:
    from theses.data import holdings as module

    text = "ticker,shares\n" + "".join(f"T{i},1\n" for i in range(module.MAX_ROWS + 1))
    with pytest.raises(DataError, match="more than 20,000"):
        parse_holdings(text, "h.csv")


def test_a_repeated_ticker_in_a_one_account_file_stays_an_error_and_unknown_columns_are_noted():
    h = parse_holdings("ticker,shares,price,sector\nSPY,1,500,ETF\n", "h.csv")
    assert h.notes == ("h.csv: ignored columns price, sector",)
    with pytest.raises(DataError, match="h.csv line 3: ticker SPY is already on line 2; merge the two rows"):
        parse_holdings("symbol,quantity\nSPY,1\nSPY,2\n", "h.csv")
