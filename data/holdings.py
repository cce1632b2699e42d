"""Read and validate a holdings file: what an account owns today.

Format (CSV, UTF-8, header required, column names case-insensitive)::

    ticker,shares,cost_basis
    SPY,12,5400.00
    META,3.5,
    F,-100,-1150

* ``ticker``: the symbol as the price data names it (``BRK-B``, ``^GSPC`` style allowed); upper-cased.
* ``shares``: signed share count, shorts negative; fractions allowed.
* ``cost_basis`` (optional column, cells may be empty): the total cost of the position in the account
  currency; shown in the output, never used for sizing.

Blank lines and lines starting with ``#`` are ignored. A file with only the header means "no positions"
(an all-cash account). Every problem is a :class:`data.errors.DataError` naming the file and the line.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from theses.data.errors import DataError

#: Columns a holdings file may have; the first two are required.
REQUIRED_COLUMNS: tuple[str, ...] = ("ticker", "shares")
OPTIONAL_COLUMNS: tuple[str, ...] = ("cost_basis",)
#: Letters, digits and the punctuation Yahoo symbols use (BRK-B, BF.B, ^GSPC, EURUSD=X).
TICKER_PATTERN = re.compile(r"^[A-Z0-9^][A-Z0-9.\-=^]{0,19}$")
_HEADER_HINT = "the header must be ticker,shares[,cost_basis]"


@dataclass(frozen=True)
class Holdings:
    """Positions read from a holdings file.

    Attributes
    ----------
    tickers : tuple of str
        Upper-case symbols in file order, each once.
    shares : ndarray of float
        Signed share counts (shorts negative), aligned with ``tickers``.
    cost_basis : ndarray of float
        Total cost per position, NaN where the file gives none.
    path : str
        The file read (as given), for messages.
    lines : tuple of int
        The file line of each position, for messages.
    """

    tickers: tuple[str, ...]
    shares: np.ndarray
    cost_basis: np.ndarray
    path: str
    lines: tuple[int, ...]

    def shares_of(self, ticker: str) -> float:
        """Shares held of ``ticker`` (0 when not held)."""
        try:
            return float(self.shares[self.tickers.index(ticker)])
        except ValueError:
            return 0.0

    def as_dict(self) -> dict[str, float]:
        """``{ticker: shares}`` in file order."""
        return {t: float(s) for t, s in zip(self.tickers, self.shares, strict=True)}


def _number(text: str, where: str, column: str, *, allow_empty: bool) -> float:
    """Parse one numeric cell, or raise a DataError saying where and what was found."""
    cell = text.strip()
    if not cell:
        if allow_empty:
            return math.nan
        raise DataError(f"{where}: {column} is empty; give a number (shorts negative)")
    try:
        if "_" in cell:  # float() accepts 1_000; a CSV number never has underscores
            raise ValueError(cell)
        value = float(cell)
    except ValueError:
        raise DataError(f"{where}: {column} {cell!r} is not a number; write e.g. 12 or -3.5") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {column} {cell!r} is not a finite number; write e.g. 12 or -3.5")
    return value


def parse_holdings(text: str, path: str = "holdings.csv") -> Holdings:
    """Parse the text of a holdings file (see the module docstring for the format).

    Parameters
    ----------
    text : str
        The file's contents.
    path : str
        Name used in error messages.

    Returns
    -------
    Holdings

    Raises
    ------
    DataError
        Empty file, missing or unknown column, wrong number of fields, bad ticker, non-numeric or
        non-finite shares/cost basis, duplicate ticker. The message names ``path`` and the line.
    """
    text = text.lstrip("\ufeff")  # a byte-order mark from spreadsheet exports
    rows = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not rows:
        raise DataError(f"{path} is empty; write a header line ticker,shares[,cost_basis] and one row per position")

    header_line, header_text = rows[0]
    header = [cell.strip().lower() for cell in next(csv.reader([header_text]))]
    for column in REQUIRED_COLUMNS:
        if column not in header:
            raise DataError(f"{path} line {header_line}: missing column {column!r}; {_HEADER_HINT}")
    for column in header:
        if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            raise DataError(f"{path} line {header_line}: unknown column {column!r}; {_HEADER_HINT}")
    if len(set(header)) != len(header):
        raise DataError(f"{path} line {header_line}: a column is named twice; {_HEADER_HINT}")
    position = {name: header.index(name) for name in header}

    tickers: list[str] = []
    shares: list[float] = []
    basis: list[float] = []
    lines: list[int] = []
    first_seen: dict[str, int] = {}
    for number, line in rows[1:]:
        where = f"{path} line {number}"
        cells = next(csv.reader(io.StringIO(line)))
        if len(cells) != len(header):
            raise DataError(
                f"{where}: expected {len(header)} fields ({','.join(header)}), found {len(cells)}; "
                "one position per line"
            )
        ticker = cells[position["ticker"]].strip().upper()
        if not TICKER_PATTERN.match(ticker):
            raise DataError(
                f"{where}: ticker {cells[position['ticker']].strip()!r} is not a valid symbol; "
                "use letters, digits and . - ^ = only (e.g. SPY, BRK-B)"
            )
        if ticker in first_seen:
            raise DataError(
                f"{where}: ticker {ticker} is already on line {first_seen[ticker]}; merge the two rows into one"
            )
        first_seen[ticker] = number
        tickers.append(ticker)
        shares.append(_number(cells[position["shares"]], where, "shares", allow_empty=False))
        cost = math.nan
        if "cost_basis" in position:
            cost = _number(cells[position["cost_basis"]], where, "cost_basis", allow_empty=True)
        basis.append(cost)
        lines.append(number)

    return Holdings(
        tickers=tuple(tickers),
        shares=np.asarray(shares, dtype=float),
        cost_basis=np.asarray(basis, dtype=float),
        path=path,
        lines=tuple(lines),
    )


def read_holdings(path: str | Path) -> Holdings:
    """Read and validate a holdings CSV file.

    Parameters
    ----------
    path : str or Path
        The file (``ticker,shares[,cost_basis]``).

    Returns
    -------
    Holdings

    Raises
    ------
    DataError
        The file is missing, unreadable or malformed (the message names the file and line).
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"holdings file {name} not found; check the --holdings path") from None
    except IsADirectoryError:
        raise DataError(f"holdings file {name} is a directory; give the CSV file itself") from None
    except UnicodeDecodeError:
        raise DataError(f"holdings file {name} is not UTF-8 text; save it as CSV (UTF-8)") from None
    except OSError as exc:
        raise DataError(f"cannot read holdings file {name}: {exc.strerror}") from None
    return parse_holdings(text, name)
