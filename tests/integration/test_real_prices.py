"""The real price CSVs: known closes of SPY, alignment of all 41 tickers, and `theses data status`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from theses.cli.main import main
from theses.data import CsvProvider, load_prices

pytestmark = pytest.mark.integration


def first_and_last_rows(path: Path) -> tuple[list[str], list[str], int]:
    """First and last data rows split by commas and the row count, read as plain text (no pandas)."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return lines[1].split(","), lines[-1].split(","), len(lines) - 1


def test_spy_first_and_last_close(real_data_dir: Path) -> None:
    prices = load_prices(["SPY"], source="csv", data_dir=real_data_dir)
    close = prices.close["SPY"]
    assert close.index[0] == pd.Timestamp("2015-01-02")
    assert close.iloc[0] == pytest.approx(169.26745, abs=1e-9)
    assert close.index[-1] == pd.Timestamp("2026-10-09")
    assert close.iloc[-1] == pytest.approx(778.57, abs=1e-9)
    assert prices.open["SPY"].iloc[0] == pytest.approx(170.050228, abs=1e-9)


def test_all_tickers_aligned(real_data_dir: Path) -> None:
    tickers = CsvProvider(real_data_dir).tickers()
    assert len(tickers) == 41
    prices = load_prices(tickers, start="2015-01-01", source="csv", data_dir=real_data_dir)
    close = prices.close
    # META, STLA, INFY, WIT and HMC end 2026-09-25: trim_end stops every ticker there.
    assert close.index[-1] == pd.Timestamp("2026-09-25")
    # Two weeks before the others' last date (2026-10-09): a warning naming the stale files.
    assert prices.warnings == [
        "warning: results end 2026-09-25, 14 days before the latest prices (2026-10-09), because the prices of "
        "HMC, INFY, META, STLA, WIT end there; update them (theses data fetch HMC INFY META STLA WIT) or leave "
        "them out"
    ]
    assert prices.late_starts == {
        "CRWV": pd.Timestamp("2025-03-28"),
        "DASH": pd.Timestamp("2020-12-09"),
        "PYPL": pd.Timestamp("2015-07-06"),
        "UBER": pd.Timestamp("2019-05-10"),
    }
    assert close.loc[: "2020-12-08", "DASH"].isna().all() and close.loc["2020-12-09":, "DASH"].notna().all()
    assert close.index.is_monotonic_increasing and close.index.is_unique
    assert np.isfinite(close.loc["2025-03-28":].to_numpy()).all()
    # The calendar is the union of the files' dates: SPY trades on every one of them up to the trim.
    spy_dates = pd.to_datetime(pd.read_csv(real_data_dir / "SPY.csv", usecols=["Date"])["Date"])
    assert list(close.index) == list(spy_dates[spy_dates <= "2026-09-25"])


def test_status_lists_every_ticker_with_its_range(
    real_data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["data", "status", "--data-dir", str(real_data_dir)]) == 0
    rows = {}
    for line in capsys.readouterr().out.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 5 and cells[4] == "csv":
            rows[cells[0]] = cells[1:4]
    files = sorted(real_data_dir.glob("*.csv"))
    assert len(files) == 41 and len(rows) == 41
    for path in files:
        first, last, count = first_and_last_rows(path)
        assert rows[path.stem] == [first[0], last[0], str(count)], path.stem
    assert rows["SPY"] == ["2015-01-02", "2026-10-09", "2960"]
    assert rows["META"][1] == "2026-09-25" and rows["DASH"][0] == "2020-12-09"
