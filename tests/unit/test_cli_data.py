"""``theses data status`` and ``theses data fetch`` run through cli.main.main with a fake yfinance."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
import yfinance

import theses.data.yahoo_provider
from theses.cli.main import main
from theses.data import PriceCache


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # rich wraps at 80 columns when not on a terminal


def test_fetch_offline_prints_one_line_and_leaves_cache_empty(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def offline(*_: Any, **__: Any) -> pd.DataFrame:
        raise requests.exceptions.ConnectionError("Failed to resolve 'query2.finance.yahoo.com'")

    monkeypatch.setattr(yfinance, "download", offline)
    monkeypatch.setattr(theses.data.yahoo_provider, "yahoo_resolves", lambda: False)
    code = main(["data", "fetch", "META"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == (
        "error: could not download META from Yahoo Finance (no network?): use --data-dir DIR with CSV files, "
        "or retry when online\n"
    )
    cache_dir = Path(os.environ["THESES_CACHE_DIR"])
    assert list(cache_dir.iterdir()) == []


def test_fetch_online_writes_the_cache(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    dates = pd.DatetimeIndex(["2024-03-01", "2024-03-04"], name="Date").tz_localize("America/New_York")
    frame = pd.DataFrame({("Close", "SPY"): [500.0, 505.0], ("Open", "SPY"): [499.0, 501.0]}, index=dates)
    calls: list[dict[str, Any]] = []

    def download(tickers: Any, **kwargs: Any) -> pd.DataFrame:
        calls.append({"tickers": tickers, **kwargs})
        return frame

    monkeypatch.setattr(yfinance, "download", download)
    assert main(["data", "fetch", "spy", "--start", "2024-03-01", "--end", "2024-03-04"]) == 0
    out = capsys.readouterr().out
    assert "SPY: fetched, 2024-03-01 to 2024-03-04, 2 rows" in out
    assert calls[0]["start"] == "2024-03-01" and calls[0]["end"] == "2024-03-05"
    assert PriceCache().read("SPY").bars["Close"].tolist() == [500.0, 505.0]
    # A second fetch of the same range asks Yahoo for nothing.
    assert main(["data", "fetch", "SPY", "--start", "2024-03-01", "--end", "2024-03-04"]) == 0
    assert len(calls) == 1 and "SPY: cached" in capsys.readouterr().out


def test_status_lists_cache_and_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    index = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"], name="date")
    bars = pd.DataFrame({"Open": 1.0, "High": 1.0, "Low": 1.0, "Close": [1.0, 2.0, 3.0], "Volume": 1.0}, index=index)
    PriceCache().write("QQQ", bars, "yahoo", fetched_at="2024-01-05T00:00:00+00:00")
    (tmp_path / "TLT.csv").write_text("Date,Close\n2019-05-01,100\n2019-05-02,101\n")
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    assert main(["data", "status", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    qqq = next(line for line in lines if "QQQ" in line)
    tlt = next(line for line in lines if "TLT" in line)
    assert qqq.split("│")[1:6] == [" QQQ    ", " 2024-01-02 ", " 2024-01-04 ", "    3 ", " cache (yahoo 2024-01-05) "]
    assert [cell.strip() for cell in tlt.split("│")[1:6]] == ["TLT", "2019-05-01", "2019-05-02", "2", "csv"]


def test_status_flags_an_invalid_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "BAD.csv").write_text("Date,Close\n2019-05-01,0\n")
    monkeypatch.setenv("THESES_DATA_DIR", str(tmp_path))
    assert main(["data", "status"]) == 2
    assert "BAD.csv line 2: Close is 0" in capsys.readouterr().out.replace("\n", "")


def test_status_without_anything(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    assert main(["data", "status"]) == 0
    assert "no prices yet" in capsys.readouterr().out


def test_status_missing_dir_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "status", "--data-dir", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.startswith("error: price directory ")


def test_data_without_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data"]) == 2
    assert "missing action" in capsys.readouterr().err
