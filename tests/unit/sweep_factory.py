"""Small inputs for sweep tests: seeded price CSVs in the layout of the price files, portfolio files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

BUBBLE_TICKERS = ("META", "MSFT", "AMZN", "ORCL", "NVDA", "AVGO", "AMD", "MU", "TSM", "ANET", "MRVL", "SPY", "RSP")


def write_csvs(folder: Path, tickers: Sequence[str] = BUBBLE_TICKERS, days: int = 900, start: str = "2019-01-02",
               seed: int = 5, drifts: Mapping[str, np.ndarray] | None = None, vol: float = 0.012) -> Path:
    """Seeded random walks, one ``TICKER.csv`` each; ``drifts[ticker]`` gives that ticker's daily drift per day."""
    folder.mkdir(parents=True, exist_ok=True)
    index = pd.bdate_range(start, periods=days)
    rng = np.random.default_rng(seed)
    for i, ticker in enumerate(tickers):
        drift = (drifts or {}).get(ticker, np.full(days, 0.0004))
        close = 50.0 * (1 + i) * np.cumprod(1 + drift + rng.normal(0.0, vol, days))
        frame = pd.DataFrame({"Date": index.strftime("%Y-%m-%d"), "Open": close, "High": close * 1.01,
                              "Low": close * 0.99, "Close": close, "Volume": 1_000_000})
        frame.to_csv(folder / f"{ticker}.csv", index=False)
    return folder


def write_portfolio(folder: Path, text: str, name: str = "book.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path
