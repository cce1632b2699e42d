"""CsvProvider on small hand-made files: parsing, Adj Close scaling and every validation error."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from theses.data import CsvProvider, DataError, read_price_csv

HEADER = "Date,Open,High,Low,Close,Volume"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_good_file_parsed_exactly(tmp_path: Path) -> None:
    write(
        tmp_path,
        "ABC.csv",
        f"{HEADER}\n2020-01-02,10,11,9,10.5,1000\n2020-01-03,10.5,12,10,11.25,\n2020-01-06,,,,11.5,2000\n",
    )
    bars = CsvProvider(tmp_path).bars("abc")
    assert list(bars.columns) == ["Open", "High", "Low", "Close", "Volume"]
    assert (bars.dtypes == "float64").all()
    assert bars.index.name == "date" and bars.index.tz is None
    assert list(bars.index) == list(pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06"]))
    assert bars["Close"].tolist() == [10.5, 11.25, 11.5]
    assert bars.loc["2020-01-03", "High"] == 12.0
    assert np.isnan(bars.loc["2020-01-03", "Volume"])  # blank volume is allowed
    assert np.isnan(bars.loc["2020-01-06", "Open"])  # blank open is allowed


def test_adj_close_scales_every_price(tmp_path: Path) -> None:
    # factor = Adj Close / Close = 8 / 10 = 0.8 on the first row, 4.5 / 5 = 0.9 on the second.
    write(
        tmp_path,
        "ADJ.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n2021-03-01,9,11,8.5,10,8,100\n2021-03-02,5,6,4,5,4.5,200\n",
    )
    bars = CsvProvider(tmp_path).bars("ADJ")
    assert bars.loc["2021-03-01", ["Open", "High", "Low", "Close"]].tolist() == pytest.approx([7.2, 8.8, 6.8, 8.0])
    assert bars.loc["2021-03-02", ["Open", "High", "Low", "Close"]].tolist() == pytest.approx([4.5, 5.4, 3.6, 4.5])
    assert bars["Volume"].tolist() == [100.0, 200.0]


def test_header_names_are_matched_loosely_and_time_suffixes_ignored(tmp_path: Path) -> None:
    write(
        tmp_path,
        "LOW.csv",
        "date,close,adj_close\n2022-05-02 00:00:00-04:00,20,10\n2022-05-03 00:00:00-04:00,22,11\n",
    )
    bars = CsvProvider(tmp_path).bars("LOW")
    assert list(bars.index) == list(pd.to_datetime(["2022-05-02", "2022-05-03"]))
    assert bars["Close"].tolist() == [10.0, 11.0]
    assert bars["Open"].isna().all()


def test_start_end_are_inclusive(tmp_path: Path) -> None:
    rows = "\n".join(f"2020-01-{day:02d},1,1,1,{day},1" for day in (2, 3, 6, 7, 8))
    write(tmp_path, "R.csv", f"{HEADER}\n{rows}\n")
    bars = CsvProvider(tmp_path).bars("R", start="2020-01-03", end="2020-01-07")
    assert bars["Close"].tolist() == [3.0, 6.0, 7.0]


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        ("2020-01-03,1,1,1,1,1\n2020-01-02,1,1,1,1,1\n", 3, "comes after 2020-01-03"),
        ("2020-01-02,1,1,1,1,1\n2020-01-03,1,1,1,1,1\n2020-01-03,1,1,1,1,1\n", 4, "date 2020-01-03 is repeated"),
        ("2020-01-02,1,1,1,1,1\n2020-01-03,1,1,1,abc,1\n", 3, "Close value 'abc' is not a number"),
        ("2020-01-02,1,x1,1,1,1\n", 2, "High value 'x1' is not a number"),
        ("2020-01-02,1,1,1,1,1\n2020-01-03,1,1,1,NaN,1\n", 3, "Close is missing"),
        ("2020-01-02,1,1,1,,1\n", 2, "Close is missing"),
        ("2020-01-02,1,1,1,1,1\n2020-01-03,1,1,1,0,1\n", 3, "Close is 0; prices must be > 0"),
        ("2020-01-02,1,1,1,-2.5,1\n", 2, "Close is -2.5; prices must be > 0"),
        ("2020-01-02,1,1,1,inf,1\n", 2, "Close value 'inf' is not a number"),
        ("2020-01-02,1,1,1,1,1\n2020-13-45,1,1,1,1,1\n", 3, "date '2020-13-45' is not a date"),
        ("02/01/2020,1,1,1,1,1\n", 2, "date '02/01/2020' is not a date"),
        ("2020-01-02,1,1,1,1,1\n2020-01-03,1,1,1,1,1,9\n", 3, "fields but the header has fewer"),
        ("2020-01-02,1,1,1,1,-5\n", 2, "Volume is -5"),
    ],
)
def test_bad_rows_name_file_line_and_problem(tmp_path: Path, body: str, line: int, problem: str) -> None:
    path = write(tmp_path, "BAD.csv", f"{HEADER}\n{body}")
    with pytest.raises(DataError) as info:
        read_price_csv(path)
    message = str(info.value)
    assert f"BAD.csv line {line}:" in message
    assert problem in message
    assert "\n" not in message


def test_missing_close_column_names_header_line(tmp_path: Path) -> None:
    path = write(tmp_path, "NOC.csv", "Date,Open,High,Low,Volume\n2020-01-02,1,1,1,1\n")
    with pytest.raises(DataError, match=r"NOC\.csv line 1: no Close column \(header is Date,Open,High,Low,Volume\)"):
        read_price_csv(path)


def test_adj_close_blank_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "AB.csv", "Date,Close,Adj Close\n2020-01-02,1,1\n2020-01-03,1,\n")
    with pytest.raises(DataError, match=r"AB\.csv line 3: Adj Close is missing"):
        read_price_csv(path)


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "EMPTY.csv", text)
    with pytest.raises(DataError, match=r"EMPTY\.csv: the file is empty"):
        read_price_csv(path)


def test_header_only_file_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "HDR.csv", HEADER + "\n")
    with pytest.raises(DataError, match=r"HDR\.csv: the file is empty \(a header and no rows\)"):
        read_price_csv(path)


def test_unknown_ticker_lists_available(tmp_path: Path) -> None:
    for name in ("AAA", "BBB", "CCC"):
        write(tmp_path, f"{name}.csv", f"{HEADER}\n2020-01-02,1,1,1,1,1\n")
    provider = CsvProvider(tmp_path)
    assert provider.tickers() == ["AAA", "BBB", "CCC"]
    assert provider.has("bbb") and not provider.has("ZZZ")
    with pytest.raises(DataError, match=r"no price file for ZZZ in .* \(expected ZZZ\.csv\); available: AAA, BBB, CCC \(3 files\)"):
        provider.bars("zzz")


def test_end_before_start(tmp_path: Path) -> None:
    write(tmp_path, "A.csv", f"{HEADER}\n2020-01-02,1,1,1,1,1\n")
    with pytest.raises(DataError, match="end date 2020-01-01 is before start date 2020-02-01"):
        CsvProvider(tmp_path).bars("A", start="2020-02-01", end="2020-01-01")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist: pass --data-dir DIR"):
        CsvProvider(tmp_path / "nope")


def test_bad_file_is_reported_even_outside_the_requested_range(tmp_path: Path) -> None:
    write(tmp_path, "OLD.csv", f"{HEADER}\n2020-01-02,1,1,1,0,1\n2021-01-04,1,1,1,1,1\n")
    with pytest.raises(DataError, match=r"OLD\.csv line 2: Close is 0"):
        CsvProvider(tmp_path).bars("OLD", start="2021-01-01")


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        ("2020-01-02,1,1,1,1,1\n9999-01-04,1,1,1,1,1\n", 3, "date 9999-01-04 is in the future"),
        ("1600-01-03,1,1,1,1,1\n2020-01-02,1,1,1,1,1\n", 2, "date 1600-01-03 is before 1900-01-01"),
        ("2020-01-02,1,1,1,1e308,1\n", 2, "Close is 1e+308, outside 1e-06 to 1e+09"),
        ("2020-01-02,1,1e12,1,1,1\n", 2, "High is 1e+12, outside"),
        ("2020-01-02,1,1,1,1e-300,1\n", 2, "Close is 1e-300, outside"),
        ("2020-01-02,1,1,1,1,1e300\n", 2, "Volume is 1e+300, more than 1e+15"),
    ],
)
def test_dates_and_values_no_market_has_are_refused(tmp_path: Path, body: str, line: int, problem: str) -> None:
    path = write(tmp_path, "ODD.csv", f"{HEADER}\n{body}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no numpy overflow warnings on the way
        with pytest.raises(DataError) as info:
            read_price_csv(path)
    assert f"ODD.csv line {line}: {problem}" in str(info.value)


@pytest.mark.parametrize("header", ["Date,Open,High,Low,Close,Close,Volume", "Date,Close,close", "Date,Close,Adj Close,adj_close"])
def test_a_column_named_twice_is_refused_even_when_pandas_would_rename_it(tmp_path: Path, header: str) -> None:
    cells = ",".join(["2020-01-02", *["1"] * (header.count(",") )])
    path = write(tmp_path, "DUP.csv", f"{header}\n{cells}\n")
    with pytest.raises(DataError, match=r"DUP\.csv line 1: column (Close|Adj Close) appears twice; keep one"):
        read_price_csv(path)


def test_a_file_that_cannot_be_opened_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "LOCK.csv", f"{HEADER}\n2020-01-02,1,1,1,1,1\n")
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: (_ for _ in ()).throw(
        PermissionError(13, "Permission denied")) if self == path else real_open(self, *a, **k))
    with pytest.raises(DataError, match=r"LOCK\.csv: cannot be read \(Permission denied\); check the file's permissions"):
        read_price_csv(path)


def test_a_file_too_large_for_daily_prices_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    import theses.data.csv_provider as module

    path = write(tmp_path, "BIG.csv", f"{HEADER}\n2020-01-02,1,1,1,1,1\n")
    monkeypatch.setattr(module, "MAX_FILE_BYTES", 10)
    with pytest.raises(DataError, match="more than a daily price file can be"):
        read_price_csv(path)
