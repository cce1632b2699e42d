"""PriceCache: round trip with metadata, atomic writes, incremental updates and failed fetches."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import theses.data.cache
from theses.data import DataError, PriceCache
from theses.data.yahoo_provider import describe_failure


def make_bars(dates: list[str], closes: list[float]) -> pd.DataFrame:
    index = pd.DatetimeIndex(dates, name="date")
    close = pd.Series(closes, index=index, dtype="float64")
    return pd.DataFrame(
        {"Open": close - 1, "High": close + 1, "Low": close - 2, "Close": close, "Volume": 100.0}, index=index
    )


class FakeProvider:
    """Serves bars from a fixed full history; records the windows asked for."""

    source = "yahoo"

    def __init__(self, history: dict[str, pd.DataFrame], fail: set[str] | None = None) -> None:
        self.history = history
        self.fail = fail or set()
        self.calls: list[tuple[list[str], Any, Any]] = []

    def fetch_partial(self, tickers, start, end, progress=None):
        self.calls.append((list(tickers), start, end))
        found = {t: self.history[t].loc[start:end] for t in tickers if t not in self.fail}
        return found, {t: "ConnectionError: offline" for t in tickers if t in self.fail}

    def describe_failure(self, failed):
        return describe_failure(failed, online=False)


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


def test_default_directory_is_theses_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THESES_CACHE_DIR", str(tmp_path / "c"))
    assert PriceCache().directory == tmp_path / "c"
    monkeypatch.delenv("THESES_CACHE_DIR")
    assert PriceCache().directory.parts[-2:] == ("ai-theses", "prices")


def test_round_trip_keeps_values_and_metadata(tmp_path: Path) -> None:
    cache = PriceCache(tmp_path)
    bars = make_bars(["2024-01-02", "2024-01-03"], [10.0, 10.5])
    path = cache.write("spy", bars, "yahoo", pd.Timestamp("2023-12-01"), pd.Timestamp("2024-01-05"),
                       fetched_at="2024-01-06T10:00:00+00:00")
    assert path == tmp_path / "SPY.parquet"
    entry = cache.read("SPY")
    pd.testing.assert_frame_equal(entry.bars, bars)
    assert (entry.source, entry.fetched_at) == ("yahoo", "2024-01-06T10:00:00+00:00")
    assert (entry.covered_start, entry.covered_end) == (pd.Timestamp("2023-12-01"), pd.Timestamp("2024-01-05"))
    assert cache.tickers() == ["SPY"]
    assert cache.read("QQQ") is None


def test_cache_file_gets_the_mode_the_umask_gives(tmp_path: Path) -> None:
    original = os.umask(0o027)
    try:
        path = PriceCache(tmp_path).write("SPY", make_bars(["2024-01-02"], [10.0]), "yahoo")
    finally:
        os.umask(original)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # not mkstemp's 0600


def test_write_killed_midway_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = PriceCache(tmp_path)
    cache.write("SPY", make_bars(["2024-01-02"], [10.0]), "yahoo")
    before = (tmp_path / "SPY.parquet").read_bytes()

    def crash(table: Any, path: str) -> None:
        Path(path).write_bytes(b"PAR1 half a file")  # the process dies after writing some bytes
        raise KeyboardInterrupt

    monkeypatch.setattr(theses.data.cache, "_write_parquet", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.write("SPY", make_bars(["2024-01-02", "2024-01-03"], [10.0, 11.0]), "yahoo")
    assert (tmp_path / "SPY.parquet").read_bytes() == before
    assert files_in(tmp_path) == ["SPY.parquet"]
    assert cache.read("SPY").bars["Close"].tolist() == [10.0]


def test_first_write_killed_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(table: Any, path: str) -> None:
        Path(path).write_bytes(b"PAR1")
        raise OSError("disk full")

    monkeypatch.setattr(theses.data.cache, "_write_parquet", crash)
    with pytest.raises(OSError):
        PriceCache(tmp_path).write("SPY", make_bars(["2024-01-02"], [10.0]), "yahoo")
    assert files_in(tmp_path) == []


def test_corrupt_file_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "BAD.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"BAD\.parquet cannot be read .*; delete it or run `theses data fetch BAD` again"):
        PriceCache(tmp_path).read("BAD")


HISTORY_DATES = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]


def test_update_fetches_only_missing_dates(tmp_path: Path) -> None:
    history = {"AAA": make_bars(HISTORY_DATES, [10.0, 11.0, 12.0, 13.0, 14.0, 15.0])}
    provider = FakeProvider(history)
    cache = PriceCache(tmp_path)
    assert cache.update(["AAA"], provider, "2024-01-03", "2024-01-04") == {"AAA": "fetched"}
    assert provider.calls == [(["AAA"], pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-04"))]
    # Covered already: nothing is asked for.
    assert cache.update(["AAA"], provider, "2024-01-03", "2024-01-04") == {"AAA": "cached"}
    assert len(provider.calls) == 1
    # Later end: from the cached last bar (kept to splice) to the new end; earlier start: up to the first bar.
    assert cache.update(["AAA"], provider, "2024-01-02", "2024-01-08") == {"AAA": "updated"}
    assert provider.calls[1:] == [
        (["AAA"], pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")),
        (["AAA"], pd.Timestamp("2024-01-04"), pd.Timestamp("2024-01-08")),
    ]
    entry = cache.read("AAA")
    assert entry.bars["Close"].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0]
    assert (entry.covered_start, entry.covered_end) == (pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-08"))


def test_update_rescales_cached_block_to_new_adjustment(tmp_path: Path) -> None:
    cache = PriceCache(tmp_path)
    cache.write("AAA", make_bars(HISTORY_DATES[:3], [10.0, 11.0, 12.0]), "yahoo",
                pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-04"))
    # A dividend went ex after our fetch: Yahoo now reports every older close 2% lower (12 -> 11.76).
    fresh = make_bars(HISTORY_DATES[2:], [11.76, 13.0, 14.0, 15.0])
    cache.update(["AAA"], FakeProvider({"AAA": fresh}), "2024-01-02", "2024-01-09")
    close = cache.read("AAA").bars["Close"]
    assert close.tolist() == pytest.approx([9.8, 10.78, 11.76, 13.0, 14.0, 15.0])
    # Open was cached as close - 1 = 9 on the first day: scaled by the same 0.98.
    assert cache.read("AAA").bars["Open"].iloc[0] == pytest.approx(8.82)


def test_failed_fetch_leaves_cache_untouched(tmp_path: Path) -> None:
    cache = PriceCache(tmp_path)
    cache.write("AAA", make_bars(HISTORY_DATES[:2], [10.0, 11.0]), "yahoo", None, pd.Timestamp("2024-01-03"))
    before = (tmp_path / "AAA.parquet").read_bytes()
    history = {"AAA": make_bars(HISTORY_DATES, [10.0] * 6), "BBB": make_bars(HISTORY_DATES, [5.0] * 6)}
    with pytest.raises(DataError, match=r"could not download AAA from Yahoo Finance \(no network\?\)"):
        cache.update(["AAA", "BBB"], FakeProvider(history, fail={"AAA"}), None, "2024-01-09")
    assert (tmp_path / "AAA.parquet").read_bytes() == before
    # The ticker that did download is kept; no temporary file is left behind.
    assert files_in(tmp_path) == ["AAA.parquet", "BBB.parquet"]


def test_update_with_nothing_cached_and_offline_writes_nothing(tmp_path: Path) -> None:
    history = {"AAA": make_bars(HISTORY_DATES, [10.0] * 6)}
    with pytest.raises(DataError):
        PriceCache(tmp_path / "new").update(["AAA"], FakeProvider(history, fail={"AAA"}), "2024-01-02", "2024-01-09")
    assert files_in(tmp_path / "new") == []


def test_end_defaults_to_yesterday(tmp_path: Path) -> None:
    provider = FakeProvider({"AAA": make_bars(HISTORY_DATES, [10.0] * 6)})
    PriceCache(tmp_path).update(["AAA"], provider, "2024-01-02")
    assert provider.calls[0][2] == pd.Timestamp.now().normalize() - pd.Timedelta(days=1)
