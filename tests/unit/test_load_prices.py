"""load_prices: alignment (no back-fill, forward-fill, trim_end, late starts), opens and source selection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yfinance

import theses.data.yahoo_provider
from theses.data import DataError, PriceCache, load_prices

HEADER = "Date,Open,High,Low,Close,Volume"


def write_csv(directory: Path, ticker: str, rows: list[tuple[str, float, float]]) -> None:
    """rows: (date, open, close)."""
    lines = [HEADER] + [f"{d},{o},{max(o, c)},{min(o, c)},{c},100" for d, o, c in rows]
    (directory / f"{ticker}.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "prices"
    directory.mkdir()
    # AAA trades every day but has no row on 01-06 (a gap); it ends a day before BBB.
    write_csv(directory, "AAA", [("2020-01-02", 9.5, 10), ("2020-01-03", 10, 11), ("2020-01-07", 11.5, 12)])
    # BBB lists on 01-03 (late start) and runs to 01-08.
    write_csv(
        directory, "BBB",
        [("2020-01-03", 49, 50), ("2020-01-06", 50, 51), ("2020-01-07", 51, 52), ("2020-01-08", 52, 53)],
    )
    return directory


def test_alignment_with_trim_end(csv_dir: Path) -> None:
    prices = load_prices(["aaa", "BBB"], source="csv", data_dir=csv_dir)
    close = prices.close
    assert list(close.columns) == ["AAA", "BBB"]
    assert close.index.name == "date" and close.index.tz is None
    assert (close.dtypes == "float64").all()
    # Union of dates, cut at 01-07: the last date both have a price of their own.
    assert list(close.index) == list(pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"]))
    assert np.isnan(close.loc["2020-01-02", "BBB"])  # before its first price: never back-filled
    assert close["AAA"].tolist() == [10.0, 11.0, 11.0, 12.0]  # the 01-06 gap carries 11 forward
    assert close["BBB"].tolist()[1:] == [50.0, 51.0, 52.0]
    assert prices.late_starts == {"BBB": pd.Timestamp("2020-01-03")}
    assert prices.source == f"csv:{csv_dir.resolve()}"
    assert any("prices end 2020-01-07" in note and "AAA end there" in note for note in prices.notes)
    assert any(note.startswith("BBB starts 2020-01-03") for note in prices.notes)


def test_open_frame_same_alignment(csv_dir: Path) -> None:
    prices = load_prices(["AAA", "BBB"], source="csv", data_dir=csv_dir)
    opened = prices.open
    assert opened.shape == prices.close.shape and list(opened.index) == list(prices.close.index)
    assert opened["AAA"].tolist() == [9.5, 10.0, 11.0, 11.5]  # 01-06 (no AAA bar) opens at the carried close
    assert np.isnan(opened.loc["2020-01-02", "BBB"])
    assert opened.loc["2020-01-03", "BBB"] == 49.0


def test_without_trim_end_forward_fills_to_the_last_date(csv_dir: Path) -> None:
    prices = load_prices(["AAA", "BBB"], source="csv", data_dir=csv_dir, trim_end=False)
    assert prices.close.index[-1] == pd.Timestamp("2020-01-08")
    assert prices.close.loc["2020-01-08", "AAA"] == 12.0
    assert not any("prices end" in note for note in prices.notes)


def test_start_end_and_late_starts_relative_to_the_frame(csv_dir: Path) -> None:
    window = {"start": "2020-01-03", "end": "2020-01-06", "source": "csv", "data_dir": csv_dir}
    # AAA's last own price in the window is 01-03, so trim_end stops there.
    assert list(load_prices(["AAA", "BBB"], **window).close.index) == [pd.Timestamp("2020-01-03")]
    prices = load_prices(["AAA", "BBB"], trim_end=False, **window)
    assert list(prices.close.index) == list(pd.to_datetime(["2020-01-03", "2020-01-06"]))
    assert prices.late_starts == {}
    assert prices.close["AAA"].tolist() == [11.0, 11.0]


def test_no_open_column_gives_no_open_frame(tmp_path: Path) -> None:
    (tmp_path / "C.csv").write_text("Date,Close\n2020-01-02,5\n2020-01-03,6\n")
    prices = load_prices("C", source="csv", data_dir=tmp_path)
    assert prices.open is None
    assert prices.close["C"].tolist() == [5.0, 6.0]


def test_env_data_dir_and_alias(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_csv(tmp_path, "META", [("2022-06-09", 1, 2), ("2022-06-10", 2, 3)])
    monkeypatch.setenv("THESES_DATA_DIR", str(tmp_path))
    prices = load_prices(["FB"], source="csv")
    assert list(prices.close.columns) == ["META"]
    assert prices.notes[0] == "FB was renamed META; its prices are listed under META"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2021-01-01", "end": "2020-01-01"}, "end date 2020-01-01 is before start date 2021-01-01"),
        ({"start": "2021-01-01"}, r"AAA has no prices between 2021-01-01 and the end \(its prices run 2020-01-02 to 2020-01-07\)"),
        ({"source": "web"}, "unknown price source 'web'"),
        ({"start": "yesterday-ish"}, "start date 'yesterday-ish' is not a date"),
    ],
)
def test_user_mistakes(csv_dir: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_prices(["AAA"], **{"source": "csv", "data_dir": csv_dir, **kwargs})


def test_csv_source_needs_a_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="source 'csv' needs a price directory"):
        load_prices(["AAA"], source="csv")


def test_bad_ticker_symbol() -> None:
    with pytest.raises(DataError, match="ticker 'AA/B' is not a valid symbol"):
        load_prices(["AA/B"], source="cache")


def test_cache_source_missing_ticker() -> None:
    with pytest.raises(DataError, match=r"ZZZ is not in the price cache .*: run `theses data fetch ZZZ`"):
        load_prices(["ZZZ"], source="cache")


def cached(ticker: str, closes: list[float], dates: list[str], covered_end: str) -> None:
    index = pd.DatetimeIndex(dates, name="date")
    bars = pd.DataFrame({"Open": closes, "High": closes, "Low": closes, "Close": closes, "Volume": 1.0}, index=index)
    PriceCache().write(ticker, bars, "yahoo", None, pd.Timestamp(covered_end))


def fake_yahoo(frames: dict[str, pd.DataFrame], calls: list[Any]):
    def download(tickers: Any, **kwargs: Any) -> pd.DataFrame:
        names = [tickers] if isinstance(tickers, str) else list(tickers)
        calls.append((names, kwargs.get("start"), kwargs.get("end")))
        return pd.concat({name: frames[name] for name in names}, axis=1, names=["Ticker", "Price"])

    return download


def test_auto_prefers_cache_then_csv_then_yahoo(
    csv_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AAA is cached with different numbers than its CSV: the cache wins while it covers the range.
    cached("AAA", [100.0, 101.0, 102.0], ["2020-01-02", "2020-01-03", "2020-01-06"], "2020-01-06")
    dates = pd.DatetimeIndex(["2020-01-02", "2020-01-03", "2020-01-06"], name="Date")
    ccc = pd.DataFrame({"Open": [7.0, 8.0, 9.0], "High": 9.0, "Low": 7.0, "Close": [7.5, 8.5, 9.5],
                        "Volume": 1.0}, index=dates)
    calls: list[Any] = []
    monkeypatch.setattr(yfinance, "download", fake_yahoo({"CCC": ccc}, calls))
    prices = load_prices(["AAA", "BBB", "CCC"], start="2020-01-02", end="2020-01-06", data_dir=csv_dir)
    assert prices.close["AAA"].tolist() == [100.0, 101.0, 102.0]  # cache
    assert prices.close["BBB"].tolist()[1:] == [50.0, 51.0]  # csv
    assert prices.close["CCC"].tolist() == [7.5, 8.5, 9.5]  # yahoo, via the cache
    assert calls == [(["CCC"], "2020-01-02", "2020-01-07")]
    assert prices.source == f"cache+csv:{csv_dir.resolve()}+yahoo"
    assert PriceCache().read("CCC").source == "yahoo"


def test_auto_uses_csv_when_cache_does_not_cover_the_range(csv_dir: Path) -> None:
    cached("AAA", [100.0], ["2020-01-02"], "2020-01-02")
    prices = load_prices(["AAA"], start="2020-01-02", end="2020-01-07", data_dir=csv_dir)
    assert prices.close["AAA"].tolist() == [10.0, 11.0, 12.0]


def test_auto_offline_for_unknown_local_ticker_is_one_line(
    csv_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(*_: Any, **__: Any) -> pd.DataFrame:
        raise ConnectionError("Could not resolve host: query2.finance.yahoo.com")

    monkeypatch.setattr(yfinance, "download", offline)
    monkeypatch.setattr(theses.data.yahoo_provider, "yahoo_resolves", lambda: False)
    with pytest.raises(DataError) as info:
        load_prices(["AAA", "ZZZ"], data_dir=csv_dir)
    message = str(info.value)
    assert message.startswith(f"ZZZ neither cached nor in {csv_dir.resolve()}, not in the embedded sample, and could not download ZZZ")
    assert "(no network?)" in message and "\n" not in message
    assert PriceCache().tickers() == []


def test_auto_falls_back_on_stale_cache_when_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    cached("AAA", [100.0, 101.0], ["2020-01-02", "2020-01-03"], "2020-01-03")
    monkeypatch.setattr(yfinance, "download", lambda *a, **k: pd.DataFrame())
    monkeypatch.setattr(theses.data.yahoo_provider, "yahoo_resolves", lambda: False)
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    prices = load_prices(["AAA"], start="2020-01-02", end="2020-01-10")
    assert prices.close["AAA"].tolist() == [100.0, 101.0]
    assert prices.source == "cache"
    assert any("could not update AAA from Yahoo Finance" in note for note in prices.notes)


def test_auto_mixed_stale_and_new_when_one_download_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    cached("AAA", [100.0, 101.0], ["2020-01-02", "2020-01-03"], "2020-01-03")
    dates = pd.DatetimeIndex(["2020-01-02", "2020-01-03", "2020-01-06"], name="Date")
    bbb = pd.DataFrame({"Open": 1.0, "High": 1.0, "Low": 1.0, "Close": [5.0, 6.0, 7.0], "Volume": 1.0}, index=dates)
    empty = bbb * np.nan  # yfinance's answer for a ticker that failed: all NaN

    def download(tickers: Any, **_: Any) -> pd.DataFrame:
        names = [tickers] if isinstance(tickers, str) else list(tickers)
        return pd.concat({n: bbb if n == "BBB" else empty for n in names}, axis=1, names=["Ticker", "Price"])

    monkeypatch.setattr(yfinance, "download", download)
    monkeypatch.setattr(theses.data.yahoo_provider, "yahoo_resolves", lambda: False)
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    prices = load_prices(["AAA", "BBB"], start="2020-01-02", end="2020-01-06", trim_end=False)
    assert prices.close["AAA"].tolist() == [100.0, 101.0, 101.0]
    assert prices.close["BBB"].tolist() == [5.0, 6.0, 7.0]
    assert "could not update AAA from Yahoo Finance; using the cached prices" in prices.notes
    assert prices.source == "cache+yahoo"
    assert PriceCache().read("AAA").bars["Close"].tolist() == [100.0, 101.0]  # untouched


def test_a_ticker_ending_weeks_early_is_a_warning_naming_it(tmp_path: Path) -> None:
    directory = tmp_path / "stale"
    directory.mkdir()
    days = pd.bdate_range("2020-01-02", periods=30)
    write_csv(directory, "OLD", [(d.strftime("%Y-%m-%d"), 10.0, 10.0) for d in days[:18]])
    write_csv(directory, "NEW", [(d.strftime("%Y-%m-%d"), 20.0, 20.0) for d in days])
    prices = load_prices(["NEW", "OLD"], source="csv", data_dir=directory)
    assert prices.close.index[-1] == days[17]
    gap = (days[-1] - days[17]).days
    assert prices.warnings == [
        f"warning: results end {days[17].date()}, {gap} days before the latest prices ({days[-1].date()}), because "
        "the prices of OLD end there; update them (theses data fetch OLD) or leave them out"
    ]
    assert prices.warnings[0] in prices.notes
    # A day or two behind is ordinary (a file fetched yesterday): a note, not a warning.
    write_csv(directory, "OLD", [(d.strftime("%Y-%m-%d"), 10.0, 10.0) for d in days[:29]])
    assert load_prices(["NEW", "OLD"], source="csv", data_dir=directory).warnings == []
