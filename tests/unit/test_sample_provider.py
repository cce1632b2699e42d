"""The embedded sample of closes: what it holds, and that ``source="auto"`` falls back to it only offline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theses.data import DataError, load_prices
from theses.data.sample_provider import SAMPLE_FILE, SampleProvider, read_sample

ESSAY_TICKERS = ("SPY", "RSP", "META", "MSFT", "AMZN", "ORCL", "GOOGL", "DASH", "NVDA", "TSM", "AVGO", "AMD",
                 "MU", "ANET", "MRVL", "F", "GM", "STLA", "INFY", "CRM", "VGK", "INTC", "TSLA")


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.delenv("THESES_DATA_DIR", raising=False)
    monkeypatch.setattr("theses.data.yahoo_provider.yahoo_resolves", lambda *a: False)
    import yfinance

    monkeypatch.setattr(yfinance, "download", lambda *a, **k: pd.DataFrame())


def test_the_sample_is_compact_and_holds_every_essay_ticker():
    sample = read_sample()
    assert SAMPLE_FILE.stat().st_size < 1.5e6
    assert set(ESSAY_TICKERS) <= set(sample.closes.columns)
    assert sample.closes.index.is_monotonic_increasing and not sample.closes.index.has_duplicates
    assert sample.closes["DASH"].first_valid_index() == pd.Timestamp("2020-12-09")  # listed late: NaN before
    assert "public GitHub" in sample.provenance


@pytest.mark.integration
def test_the_sample_equals_the_reference_csvs_to_float32_precision(real_data_dir):
    from theses.data import read_price_csv

    sample = read_sample()
    for ticker in ("SPY", "NVDA", "DASH", "F"):
        close = read_price_csv(real_data_dir / f"{ticker}.csv")["Close"]
        column = sample.closes[ticker].dropna()
        assert column.index.equals(close.index)
        assert np.max(np.abs(column.to_numpy() / close.to_numpy() - 1)) < 1e-6


def test_offline_auto_falls_back_to_the_sample_with_a_note(offline):
    data = load_prices(["SPY", "NVDA"], start="2024-12-02")
    assert data.source.startswith("sample:")
    assert data.open is None  # closes only
    assert any("embedded sample" in note and "SPY, NVDA" in note for note in data.notes)
    assert data.close.index[0] == pd.Timestamp("2024-12-02")


def test_a_csv_folder_wins_over_the_sample(offline, tmp_path):
    from tests.unit.test_cli_compare import write_csvs

    write_csvs(tmp_path)
    data = load_prices(["SPY"], data_dir=tmp_path)
    assert data.source.startswith("csv:")


def test_a_ticker_not_in_the_sample_is_one_clear_error(offline):
    with pytest.raises(DataError, match="not in the embedded sample"):
        load_prices(["ZZZZ"])
    with pytest.raises(DataError, match="not in the embedded price sample"):
        SampleProvider().bars("ZZZZ")


def test_source_sample_reads_only_the_sample():
    data = load_prices(["SPY"], source="sample", end="2016-01-04")
    assert data.source.startswith("sample:") and data.close.index[-1] == pd.Timestamp("2016-01-04")
