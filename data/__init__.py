"""Prices: CSV and Yahoo Finance providers, a parquet cache, and ``load_prices`` to align them.

Scenario specs, calibration and path generators live in their own modules of this package.
"""

from theses.data.aliases import TICKER_ALIASES, resolve_aliases
from theses.data.cache import CacheEntry, CacheUpdateError, PriceCache, default_cache_dir
from theses.data.csv_provider import CsvProvider, read_price_csv
from theses.data.errors import DataError
from theses.data.load import PriceData, align_bars, default_data_dir, load_prices
from theses.data.validate import BAR_COLUMNS, normalize_tickers
from theses.data.yahoo_provider import YahooProvider

__all__ = [
    "BAR_COLUMNS",
    "CacheEntry",
    "CacheUpdateError",
    "CsvProvider",
    "DataError",
    "PriceCache",
    "PriceData",
    "TICKER_ALIASES",
    "YahooProvider",
    "align_bars",
    "default_cache_dir",
    "default_data_dir",
    "load_prices",
    "normalize_tickers",
    "read_price_csv",
    "resolve_aliases",
]
