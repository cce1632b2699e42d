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


# ----------------------------------------------------------------------- damaged files are refused on read
GOOD_META = {"ticker": "SPY", "source": "yahoo", "fetched_at": "2026-01-01T00:00:00+00:00",
             "covered_start": None, "covered_end": "2024-01-09"}


def write_raw(path: Path, frame: pd.DataFrame, meta: Any = GOOD_META, index: bool = True) -> None:
    """A parquet file with any content and metadata, as damage (or another program) could leave it."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=index)
    raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), b"ai-theses": raw}), path)


def good_frame() -> pd.DataFrame:
    return make_bars(HISTORY_DATES, [10.0, 11.0, 12.0, 13.0, 14.0, 15.0])


def _damage(kind: str) -> tuple[pd.DataFrame, Any, bool]:
    frame, meta, index = good_frame(), dict(GOOD_META), True
    if kind == "shuffled":
        frame = frame.iloc[[2, 0, 5, 1, 4, 3]]
    elif kind == "reversed":
        frame = frame.iloc[::-1]
    elif kind == "repeated date":
        frame = frame.iloc[[0, 1, 1, 2, 3]]
    elif kind == "wrong Close name":
        frame = frame.rename(columns={"Close": "close"})
    elif kind == "no Close":
        frame = frame.drop(columns="Close")
    elif kind == "extra column":
        frame = frame.assign(Dividends=0.0)
    elif kind == "integer index":
        frame = frame.reset_index(drop=True)
    elif kind == "epoch integers as dates":
        frame.index = pd.Index(frame.index.asi8 // 10**9, name="date")
    elif kind == "string index":
        frame.index = frame.index.strftime("%d/%m/%Y")
    elif kind == "tz-aware index":
        frame.index = frame.index.tz_localize("America/New_York")
    elif kind == "booleans":
        frame["Close"] = frame["Close"] > 12
    elif kind == "text values":
        frame["Close"] = frame["Close"].map(str)
    elif kind == "integers":
        frame["Close"] = frame["Close"].astype("int64")
    elif kind == "NaN close":
        frame.iloc[2, 3] = float("nan")
    elif kind == "negative close":
        frame.iloc[2, 3] = -5.0
    elif kind == "huge close":
        frame.iloc[2, 3] = 1e308
    elif kind == "year 9999":
        frame.index = frame.index[:-1].append(pd.DatetimeIndex(["9999-01-04"])).rename("date")
    elif kind == "empty":
        frame = frame.iloc[:0]
    elif kind == "bad JSON":
        meta = b"{not json"
    elif kind == "metadata list":
        meta = ["SPY", "yahoo"]
    elif kind == "metadata missing":
        meta = b"null"
    elif kind == "unparsable date":
        meta["covered_end"] = "yesterday"
    elif kind == "date of wrong type":
        meta["covered_start"] = 20240102
    elif kind == "source not text":
        meta["source"] = {"name": "yahoo"}
    elif kind == "another ticker":
        meta["ticker"] = "QQQ"
    return frame, meta, index


DAMAGE = {
    "shuffled": "not in ascending order", "reversed": "not in ascending order", "repeated date": "each once",
    "wrong Close name": "columns are Open, High, Low, close, Volume", "no Close": "columns are", "extra column": "Dividends",
    "integer index": "not dates", "epoch integers as dates": "not dates", "string index": "not dates",
    "tz-aware index": "not dates", "booleans": "Close (bool) is not float64", "text values": "Close (str)",
    "integers": "Close (int64)", "NaN close": "Close on 2024-01-04 is nan", "negative close": "outside 1e-06 to 1e+09",
    "huge close": "Close is 1e+308", "year 9999": "9999-01-04 is in the future", "empty": "no rows",
    "bad JSON": "not valid JSON", "metadata list": "JSON list, not an object", "metadata missing": "JSON NoneType",
    "unparsable date": "covered_end is 'yesterday'", "date of wrong type": "covered_start is 20240102",
    "source not text": "source is {'name': 'yahoo'}, not text", "another ticker": "prices of 'QQQ', not SPY",
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_cache_file_is_refused_in_one_line_naming_it_and_the_fix(tmp_path, kind):
    frame, meta, index = _damage(kind)
    write_raw(tmp_path / "SPY.parquet", frame, meta, index)
    with pytest.raises(DataError) as caught:
        PriceCache(tmp_path).read("SPY")
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"price cache file {tmp_path / 'SPY.parquet'}: ")
    assert DAMAGE[kind] in message, message
    assert message.endswith("; delete it or run `theses data fetch SPY` again")


def test_an_undamaged_file_written_by_another_program_reads_back_exactly(tmp_path):
    frame, meta, index = _damage("none")
    write_raw(tmp_path / "SPY.parquet", frame, meta, index)
    entry = PriceCache(tmp_path).read("SPY")
    pd.testing.assert_frame_equal(entry.bars, good_frame(), check_freq=False)
    assert entry.covered_end == pd.Timestamp("2024-01-09") and entry.covered_start is None


def test_a_damaged_cache_file_fails_the_backtest_in_one_line_instead_of_wrong_numbers(tmp_path, monkeypatch):
    from tests.fuzz.helpers import assert_refused, run_cli

    monkeypatch.setenv("THESES_CACHE_DIR", str(tmp_path))
    for ticker in ("SPY", "RSP"):
        frame, meta, index = _damage("reversed")
        write_raw(tmp_path / f"{ticker}.parquet", frame, {**meta, "ticker": ticker}, index)
    outcome = run_cli(["backtest", "--weights", "SPY=1", "--source", "auto"])
    assert_refused(outcome, "SPY.parquet", "not in ascending order", "theses data fetch SPY")
    assert outcome.out == ""
    status = run_cli(["data", "status"])
    assert status.status == 2 and len(status.error_lines) == 2  # both files named on stderr


def test_concurrent_writers_and_a_reader_always_see_one_whole_file(tmp_path):
    """Two writers replace the file with self-consistent versions (every close = the version number, also
    in the metadata) while a reader reads: each read must be one version, data and metadata alike.

    Before the reader opened the file once, pyarrow read the metadata and the data through two opens and a
    rename in between mixed two versions (about 1% of reads in this race)."""
    import threading
    import time

    cache = PriceCache(tmp_path)
    index = pd.bdate_range("2020-01-02", periods=500, name="date")
    done = threading.Event()
    writes = [0, 0]

    def writer(offset: int) -> None:
        version = offset
        while not done.is_set():
            bars = pd.DataFrame({c: float(version) for c in ("Open", "High", "Low", "Close", "Volume")}, index=index)
            cache.write("SPY", bars, source=str(version))
            writes[offset - 2] += 1
            version += 2

    cache.write("SPY", pd.DataFrame({c: 1.0 for c in ("Open", "High", "Low", "Close", "Volume")}, index=index), "1")
    threads = [threading.Thread(target=writer, args=(k,)) for k in (2, 3)]
    for thread in threads:
        thread.start()
    reads = mixed = 0
    start = time.monotonic()
    try:  # at least 150 reads and 1.5 s (a busy machine is slower, not less thorough), at most 60 s
        while (reads < 150 or time.monotonic() - start < 1.5) and time.monotonic() - start < 60:
            entry = cache.read("SPY")
            reads += 1
            mixed += set(entry.bars["Close"]) != {float(entry.source)}
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert mixed == 0 and reads >= 150 and min(writes) > 10, (reads, mixed, writes)
