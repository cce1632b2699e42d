"""Build ``closes.parquet``, the embedded sample of adjusted closes, from a folder of price CSVs.

Usage (from the repository root)::

    .venv/bin/python data/sample/build_sample.py ../shared/data/prices

Reads every ``TICKER.csv`` the data layer accepts (``theses.data.read_price_csv``: checked and adjusted), keeps
the Close column only, stores it as float32 (seven significant digits, far below a price tick's relative size
at these prices) in one parquet file with zstd compression, and records the source folder's provenance file and
each ticker's last date in the file's metadata. The result is about 1 MB and ships inside the package, so a
machine with no price files and no network still has history (``source="sample"``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from theses.data import read_price_csv
from theses.data.sample_provider import METADATA_KEY, SAMPLE_FILE

PROVENANCE = (
    "Daily total-return adjusted closes (yfinance auto_adjust=True convention) of the essay's tickers, taken from "
    "the project's reference price folder, whose SOURCES.md documents every number as coming from data files "
    "committed to public GitHub repositories (no live download). Closes only; float32."
)


def build(folder: Path, out: Path = SAMPLE_FILE) -> Path:
    """Write the sample parquet from every CSV in ``folder``; returns its path."""
    closes = {}
    for path in sorted(folder.glob("*.csv")):
        closes[path.stem.upper()] = read_price_csv(path)["Close"]
    if not closes:
        raise SystemExit(f"{folder}: no CSV files")
    frame = pd.DataFrame(closes).sort_index().astype(np.float32)
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    meta = {
        "built": datetime.now(UTC).strftime("%Y-%m-%d"),
        "provenance": PROVENANCE,
        "last_dates": {t: str(frame[t].last_valid_index().date()) for t in frame.columns},
        "first_dates": {t: str(frame[t].first_valid_index().date()) for t in frame.columns},
    }
    table = pa.Table.from_pandas(frame, preserve_index=True)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta)})
    pq.write_table(table, out, compression="zstd", compression_level=19)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="folder of TICKER.csv files")
    parser.add_argument("--out", type=Path, default=SAMPLE_FILE)
    args = parser.parse_args()
    path = build(args.folder, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
