"""YahooProvider with ``yfinance.download`` replaced by fakes (there is no network in tests)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
import yfinance
import yfinance.exceptions

from theses.data import DataError, YahooProvider
from theses.data.yahoo_provider import frames_by_ticker

DATES = pd.DatetimeIndex(["2024-03-01", "2024-03-04", "2024-03-05"])
FIELDS = ["Close", "High", "Low", "Open", "Volume"]


def bars_for(ticker: str, base: float) -> dict[str, list[float]]:
    """Distinct, hand-checkable numbers per ticker: Close = base + day, Open = Close - 0.5."""
    close = [base + 1, base + 2, base + 3]
    return {
        "Close": close,
        "High": [c + 1 for c in close],
        "Low": [c - 1 for c in close],
        "Open": [c - 0.5 for c in close],
        "Volume": [1000.0, 2000.0, 3000.0],
    }


BASES = {"AAA": 10.0, "BBB": 100.0, "CCC": 50.0, "DDD": 70.0, "EEE": 5.0, "META": 300.0}


def yahoo_frame(tickers: list[str], layout: str, tz: str | None = "America/New_York") -> pd.DataFrame:
    """A frame shaped like yfinance's: (field, ticker), (ticker, field) or flat columns."""
    index = DATES.tz_localize(tz) if tz else DATES
    index = index.rename("Date")
    if layout == "flat":
        return pd.DataFrame(bars_for(tickers[0], BASES[tickers[0]]), index=index)
    data = {}
    for ticker in tickers:
        for field, values in bars_for(ticker, BASES[ticker]).items():
            data[(field, ticker) if layout == "column" else (ticker, field)] = values
    frame = pd.DataFrame(data, index=index)
    names = ["Price", "Ticker"] if layout == "column" else ["Ticker", "Price"]
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=names)
    return frame


class FakeDownload:
    """Records calls; each call pops the next behaviour (a frame, an exception, or a callable)."""

    def __init__(self, *behaviours: Any) -> None:
        self.behaviours = list(behaviours)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, tickers: Any, **kwargs: Any) -> pd.DataFrame:
        self.calls.append({"tickers": tickers, **kwargs})
        behaviour = self.behaviours.pop(0) if len(self.behaviours) > 1 else self.behaviours[0]
        if isinstance(behaviour, BaseException):
            raise behaviour
        if callable(behaviour):
            return behaviour(tickers, **kwargs)
        return behaviour


def provider(**kwargs: Any) -> tuple[YahooProvider, list[float]]:
    sleeps: list[float] = []
    options = {"sleep": sleeps.append, "is_online": lambda: True, **kwargs}
    return YahooProvider(**options), sleeps


@pytest.mark.parametrize("layout", ["column", "ticker"])
def test_multiindex_layouts_give_the_same_bars(monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    fake = FakeDownload(yahoo_frame(["AAA", "BBB"], layout))
    monkeypatch.setattr(yfinance, "download", fake)
    yahoo, _ = provider()
    found = yahoo.fetch(["aaa", "BBB"], start="2024-03-01", end="2024-03-05")
    assert sorted(found) == ["AAA", "BBB"]
    bbb = found["BBB"]
    assert list(bbb.columns) == ["Open", "High", "Low", "Close", "Volume"]
    assert bbb.index.tz is None and bbb.index.name == "date"
    assert list(bbb.index) == list(DATES)
    assert bbb["Close"].tolist() == [101.0, 102.0, 103.0]
    assert bbb["Open"].tolist() == [100.5, 101.5, 102.5]
    assert found["AAA"]["High"].tolist() == [12.0, 13.0, 14.0]
    call = fake.calls[0]
    assert call["auto_adjust"] is True and call["progress"] is False
    assert call["timeout"] == 10.0 and call["interval"] == "1d"
    # yfinance's end is exclusive: the inclusive end 2024-03-05 is sent as 2024-03-06.
    assert call["start"] == "2024-03-01" and call["end"] == "2024-03-06"


def test_flat_single_ticker_layout_and_naive_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yfinance, "download", FakeDownload(yahoo_frame(["CCC"], "flat", tz=None)))
    yahoo, _ = provider()
    found = yahoo.fetch("CCC")
    assert found["CCC"]["Close"].tolist() == [51.0, 52.0, 53.0]
    assert found["CCC"]["Low"].tolist() == [50.0, 51.0, 52.0]


def test_no_start_asks_for_the_whole_history(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDownload(yahoo_frame(["CCC"], "column"))
    monkeypatch.setattr(yfinance, "download", fake)
    provider()[0].fetch("CCC")
    assert fake.calls[0]["period"] == "max" and "start" not in fake.calls[0]


def test_adj_close_column_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = yahoo_frame(["CCC"], "flat", tz=None)
    frame["Adj Close"] = frame["Close"] / 2  # factor 0.5
    monkeypatch.setattr(yfinance, "download", FakeDownload(frame))
    bars = provider()[0].fetch("CCC")["CCC"]
    assert bars["Close"].tolist() == [25.5, 26.0, 26.5]
    assert bars["Open"].tolist() == [25.25, 25.75, 26.25]


def test_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer(tickers: Any, **_: Any) -> pd.DataFrame:
        names = [tickers] if isinstance(tickers, str) else list(tickers)
        return yahoo_frame(names, "column")

    fake = FakeDownload(answer)
    monkeypatch.setattr(yfinance, "download", fake)
    yahoo, _ = provider(batch_size=2)
    done: list[str] = []
    found = yahoo.fetch(["AAA", "BBB", "CCC", "DDD", "EEE"], progress=done.append)
    assert [call["tickers"] for call in fake.calls] == [["AAA", "BBB"], ["CCC", "DDD"], "EEE"]
    assert sorted(found) == ["AAA", "BBB", "CCC", "DDD", "EEE"]
    assert done == ["AAA", "BBB", "CCC", "DDD", "EEE"]
    assert found["EEE"]["Close"].tolist() == [6.0, 7.0, 8.0]


def test_retries_with_exponential_backoff_after_raised_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDownload(
        requests.exceptions.ConnectionError("connection reset"),
        yfinance.exceptions.YFRateLimitError(),
        yahoo_frame(["AAA"], "column"),
    )
    monkeypatch.setattr(yfinance, "download", fake)
    yahoo, sleeps = provider(retries=3, backoff=0.5, rate_limit_backoff=30.0)
    found = yahoo.fetch("AAA")
    assert len(fake.calls) == 3
    assert sleeps == [0.5, 60.0]  # after the rate limit: the longer backoff (30 s, doubled on the 2nd retry)
    assert found["AAA"]["Close"].tolist() == [11.0, 12.0, 13.0]


def test_only_the_empty_tickers_are_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    # yfinance does not raise for a failed ticker: its columns come back all NaN.
    first = yahoo_frame(["AAA", "BBB"], "column")
    first.loc[:, (slice(None), "BBB")] = np.nan
    fake = FakeDownload(first, yahoo_frame(["BBB"], "column"))
    monkeypatch.setattr(yfinance, "download", fake)
    yahoo, sleeps = provider()
    found = yahoo.fetch(["AAA", "BBB"])
    assert fake.calls[1]["tickers"] == "BBB"
    assert sleeps == [1.0]
    assert found["BBB"]["Close"].tolist() == [101.0, 102.0, 103.0]


def test_rows_without_close_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = yahoo_frame(["AAA", "BBB"], "column")
    frame.loc[DATES[1].tz_localize("America/New_York"), ("Close", "AAA")] = np.nan
    monkeypatch.setattr(yfinance, "download", FakeDownload(frame))
    found = provider()[0].fetch(["AAA", "BBB"])
    assert list(found["AAA"].index) == [DATES[0], DATES[2]]
    assert len(found["BBB"]) == 3


def empty_and_log(reason: str):
    """What yfinance does for a failed ticker: log '['XYZ']: reason' and return an empty frame."""

    def answer(tickers: Any, **_: Any) -> pd.DataFrame:
        names = [tickers] if isinstance(tickers, str) else list(tickers)
        logging.getLogger("yfinance").error("\n%d Failed download:", len(names))
        logging.getLogger("yfinance").error(f"{names}: {reason}")
        return pd.DataFrame()

    return answer


def test_unknown_ticker_is_one_line_and_nothing_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(yfinance, "download", FakeDownload(empty_and_log("possibly delisted; no price data found")))
    yahoo, sleeps = provider()
    with pytest.raises(DataError) as info:
        yahoo.fetch("XYZQ")
    message = str(info.value)
    assert message.startswith("Yahoo Finance does not know XYZQ (unknown or delisted symbol; yfinance says: ")
    assert "possibly delisted; no price data found" in message and "\n" not in message
    assert "did you mean" not in message
    assert sleeps == [1.0, 2.0]  # online: retried twice
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_offline_is_one_line_and_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    # Offline, yfinance also says "possibly delisted"; the network probe decides.
    fake = FakeDownload(empty_and_log("possibly delisted; no timezone found"))
    monkeypatch.setattr(yfinance, "download", fake)
    yahoo, sleeps = provider(is_online=lambda: False)
    with pytest.raises(DataError) as info:
        yahoo.fetch(["META"])
    assert str(info.value) == (
        "could not download META from Yahoo Finance (no network?): use --data-dir DIR with CSV files, "
        "or retry when online"
    )
    assert len(fake.calls) == 1 and sleeps == []


def test_connection_error_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDownload(requests.exceptions.ConnectionError("Failed to resolve host"))
    monkeypatch.setattr(yfinance, "download", fake)
    yahoo, sleeps = provider(retries=2)
    found, failed = yahoo.fetch_partial(["AAA", "BBB"])
    assert found == {} and set(failed) == {"AAA", "BBB"}
    assert "ConnectionError: Failed to resolve host" in failed["AAA"]
    assert len(fake.calls) == 3 and sleeps == [1.0, 2.0]
    with pytest.raises(DataError, match=r"could not download AAA, BBB from Yahoo Finance \(no network\?\)"):
        yahoo.fetch(["AAA", "BBB"])


def test_alias_is_resolved_before_download(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDownload(yahoo_frame(["META"], "column"))
    monkeypatch.setattr(yfinance, "download", fake)
    yahoo, _ = provider()
    found = yahoo.fetch(["fb"])
    assert fake.calls[0]["tickers"] == "META"
    assert list(found) == ["META"]
    assert yahoo.notes == ["FB was renamed META; its prices are listed under META"]


def test_nonpositive_price_from_yahoo_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = yahoo_frame(["AAA"], "column", tz=None)
    frame.loc[DATES[2], ("Low", "AAA")] = 0.0
    monkeypatch.setattr(yfinance, "download", FakeDownload(frame))
    with pytest.raises(DataError, match="Yahoo Finance AAA: low on 2024-03-05 is 0.0"):
        provider()[0].fetch("AAA")


def test_flat_layout_for_several_tickers_is_refused() -> None:
    with pytest.raises(DataError, match="flat columns"):
        frames_by_ticker(yahoo_frame(["AAA"], "flat"), ["AAA", "BBB"])


def test_prices_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yfinance, "download", FakeDownload(yahoo_frame(["AAA", "BBB"], "ticker")))
    close = provider()[0].prices(["AAA", "BBB"])
    assert close.index.name == "date"
    assert close.loc["2024-03-04"].tolist() == [12.0, 102.0]


def test_a_share_class_with_a_dot_suggests_yahoos_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yfinance, "download", FakeDownload(empty_and_log("possibly delisted; no price data found")))
    with pytest.raises(DataError) as info:
        provider()[0].fetch("BRK.B")
    message = str(info.value)
    assert message.startswith("Yahoo Finance does not know BRK.B (unknown or delisted symbol")
    assert "did you mean BRK-B? (Yahoo writes share classes with a dash)" in message


def test_a_rate_limit_has_its_own_message_and_a_longer_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # Raised (newer yfinance) or logged for the ticker (download() catches it): the same answer.
    for behaviour in (yfinance.exceptions.YFRateLimitError(),
                      empty_and_log("YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')")):
        monkeypatch.setattr(yfinance, "download", FakeDownload(behaviour))
        yahoo, sleeps = provider(retries=2, rate_limit_backoff=15.0, is_online=lambda: False)
        with pytest.raises(DataError) as info:
            yahoo.fetch(["AAA", "BBB"])
        assert str(info.value) == (
            "could not download AAA, BBB: Yahoo Finance is rate-limiting this address (YFRateLimitError, too many "
            "requests); wait a few minutes and retry, or use --data-dir DIR with CSV files"
        )
        assert sleeps == [15.0, 30.0]  # retried although the host probe failed: a rate limit is not "offline"


def test_every_argument_passed_to_download_exists_in_the_installed_yfinance(monkeypatch: pytest.MonkeyPatch) -> None:
    import inspect

    fake = FakeDownload(yahoo_frame(["AAA"], "column"))
    monkeypatch.setattr(yfinance, "download", fake)
    provider()[0].fetch("AAA", start="2024-03-01", end="2024-03-05")
    monkeypatch.undo()
    accepted = set(inspect.signature(yfinance.download).parameters)
    assert set(fake.calls[0]) - {"tickers"} <= accepted
