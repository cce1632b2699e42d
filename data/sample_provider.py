"""The embedded sample: adjusted closes of the essay's tickers shipped inside the package.

The last resort of ``load_prices(source="auto")`` (after the cache, a CSV folder and Yahoo Finance) and
available on its own as ``source="sample"``, so history runs on a machine with no price files and no network.
Closes only (no open prices, so ``execution="open"`` needs another source); built by
``data/sample/build_sample.py``, which records the provenance in the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from theses.data.errors import DataError
from theses.data.validate import BAR_COLUMNS, normalize_ticker

SAMPLE_FILE = Path(__file__).resolve().parent / "sample" / "closes.parquet"
METADATA_KEY = b"ai-theses-sample"


@dataclass(frozen=True)
class Sample:
    """The sample's closes (one column per ticker, NaN before a listing) and its metadata."""

    closes: pd.DataFrame
    built: str
    provenance: str

    @property
    def source(self) -> str:
        """The tag ``PriceData.source`` shows: ``sample:<built date>``."""
        return f"sample:{self.built}"

    @property
    def last_date(self) -> pd.Timestamp:
        return self.closes.index[-1]


@lru_cache(maxsize=1)
def read_sample(path: Path = SAMPLE_FILE) -> Sample:
    """The shipped sample (read once per process); a missing or damaged file is a one-line DataError."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"embedded price sample {path} cannot be read ({type(exc).__name__}); reinstall the "
                        "package or pass --data-dir DIR") from None
    meta = json.loads((table.schema.metadata or {}).get(METADATA_KEY, b"{}"))
    closes = table.to_pandas()
    closes.index = pd.DatetimeIndex(closes.index, name="date")
    values = closes.to_numpy(dtype=np.float64)
    if not closes.index.is_monotonic_increasing or closes.index.has_duplicates or (values[np.isfinite(values)] <= 0).any():
        raise DataError(f"embedded price sample {path} is damaged (dates out of order or prices <= 0); reinstall")
    return Sample(closes.astype(np.float64), str(meta.get("built", "unknown")), str(meta.get("provenance", "")))


class SampleProvider:
    """Bars (Close only) of the tickers in the embedded sample."""

    def __init__(self, path: Path = SAMPLE_FILE) -> None:
        self.sample = read_sample(path)

    @property
    def source(self) -> str:
        return self.sample.source

    def tickers(self) -> list[str]:
        return list(self.sample.closes.columns)

    def has(self, ticker: str) -> bool:
        return normalize_ticker(ticker) in self.sample.closes.columns

    def bars(self, ticker: str) -> pd.DataFrame:
        """The bars frame of one ticker: Close from the sample, Open/High/Low/Volume NaN."""
        name = normalize_ticker(ticker)
        if name not in self.sample.closes.columns:
            raise DataError(f"{name} is not in the embedded price sample (it has {', '.join(self.tickers())}); "
                            "pass --data-dir DIR or fetch it with `theses data fetch`")
        close = self.sample.closes[name].dropna()
        bars = pd.DataFrame({column: np.nan for column in BAR_COLUMNS}, index=close.index)
        bars["Close"] = close
        return bars
