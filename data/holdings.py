"""Read and validate a holdings file: what an account owns today, as brokers export it.

The simplest file is::

    ticker,shares,cost_basis
    SPY,12,5400.00
    META,3.5,
    F,-100,-1150

and the positions exports of the big brokers (Fidelity, Schwab, Vanguard, Interactive Brokers) are read as
they are downloaded:

* **Columns** by name, case and punctuation aside: the ticker from ``ticker`` / ``symbol``, the share count
  from ``shares`` / ``quantity`` / ``qty`` / ``position``, optionally ``cost basis`` / ``cost basis total`` /
  ``total cost`` (the position's total cost) and ``market value`` / ``mkt val`` / ``current value`` /
  ``total value``. Other columns are ignored, and a note names them. Lines above the header (a title, the
  account and date) and text below the table (disclaimers, "date downloaded") are skipped with a note; a
  second table below the first (Vanguard's transactions) ends the positions.
* **Numbers** as brokers write them: ``$1,234.50``, ``(1,234.50)`` and ``-$1,234.50`` for negatives, ``--``
  or ``n/a`` for none; in a semicolon file ``1.234,50`` (decimal comma) too.
* **Tickers** upper-cased; share classes ``BRK.B`` / ``BRK/B`` become Yahoo's ``BRK-B``; Fidelity's ``**``
  marks are dropped.
* **Cash**: rows named ``CASH``, ``Cash & Cash Investments``, ``USD``, ``Core Position``, and money-market
  sweep funds (``SPAXX``, ``FDRXX``, ``SWVXX``, ``VMFXX`` ... see :data:`CASH_SYMBOLS`) are cash: their market
  value (else their share count, at a $1 price) is added to :attr:`Holdings.cash`. ``Account Total`` and
  ``Pending Activity`` rows are skipped with a note.
* The same ticker in several accounts (a file with an account column) is summed, with a note; without an
  account column a repeated ticker is an error.

Bounds: a file larger than :data:`MAX_BYTES` or with more than :data:`MAX_ROWS` rows, something other than a
file or a pipe (``/dev/zero``), a share count beyond :data:`MAX_SHARES` or an amount beyond
:data:`MAX_AMOUNT` is refused at once. Every problem is one :class:`data.errors.DataError` line naming the
file and the line. ``cost_basis`` and ``market_value`` are shown in the output, never used for sizing.
"""

from __future__ import annotations

import csv
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from theses.data.errors import DataError

#: Columns a holdings file must have, by their canonical names.
REQUIRED_COLUMNS: tuple[str, ...] = ("ticker", "shares")
OPTIONAL_COLUMNS: tuple[str, ...] = ("cost_basis", "market_value")
#: Header names (normalised: lower case, parenthesised parts and punctuation removed) of each column.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "ticker": ("ticker", "symbol", "ticker symbol", "security symbol"),
    "shares": ("shares", "quantity", "qty", "position", "units", "share quantity", "shares held"),
    "cost_basis": ("cost basis", "cost basis total", "cost basis ($)", "total cost", "total cost basis", "cost"),
    "market_value": ("market value", "mkt val", "current value", "total value", "value", "market val",
                     "position value"),
}
#: Columns naming an account: files holding several accounts sum a ticker over them.
ACCOUNT_COLUMNS = ("account", "account number", "account name", "account id")
#: Money-market sweep funds and cash lines counted as cash (Fidelity, Schwab, Vanguard, IBKR, generic).
CASH_SYMBOLS = frozenset({
    "CASH", "USD", "CORE", "FCASH", "SPAXX", "FDRXX", "FZFXX", "SPRXX", "FZDXX", "FTEXX", "FMPXX",
    "SWVXX", "SNVXX", "SNOXX", "SNSXX", "SWGXX", "SNAXX", "VMFXX", "VMRXX", "VUSXX", "VMMXX", "VYFXX",
    "TTTXX", "QACDS",
})
CASH_NAMES = ("cash", "cash & cash investments", "cash and cash investments", "cash & sweep", "core position",
              "cash & money market", "money market", "sweep", "cash balance", "total cash")
SKIP_NAMES = ("account total", "total", "totals", "grand total", "pending activity", "pending")
#: Letters, digits and the punctuation Yahoo symbols use (BRK-B, BF.B, ^GSPC, EURUSD=X).
TICKER_PATTERN = re.compile(r"^[A-Z0-9^][A-Z0-9.\-=^]{0,19}$")
SHARE_CLASS = re.compile(r"^([A-Z]{1,5})[./ ]([A-Z])$")

MAX_BYTES = 5 * 2**20
MAX_ROWS = 20_000
MAX_SHARES = 1e10
MAX_AMOUNT = 1e13
_HEADER_HINT = "the header must name a ticker (ticker or symbol) and a share count (shares or quantity)"
_EMPTY_CELLS = ("", "-", "--", "n/a", "na", "none", "null")
_DECIMAL_COMMA = re.compile(r"(^|;)\s*[\"']?[-(]?\$?\s*[\d.]*\d,\d+\)?[\"']?\s*(;|$)")


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
    market_value : ndarray of float
        The broker's market value of each position, NaN where the file gives none.
    cash : float
        Cash and money-market rows, summed (their market value, else their share count at $1).
    notes : tuple of str
        What was read differently from a plain file: skipped lines, ignored columns, cash rows, sums.
    """

    tickers: tuple[str, ...]
    shares: np.ndarray
    cost_basis: np.ndarray
    path: str
    lines: tuple[int, ...]
    market_value: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cash: float = 0.0
    notes: tuple[str, ...] = ()

    def shares_of(self, ticker: str) -> float:
        """Shares held of ``ticker`` (0 when not held)."""
        try:
            return float(self.shares[self.tickers.index(ticker)])
        except ValueError:
            return 0.0

    def as_dict(self) -> dict[str, float]:
        """``{ticker: shares}`` in file order."""
        return {t: float(s) for t, s in zip(self.tickers, self.shares, strict=True)}


# ------------------------------------------------------------------------------------------------ cells
def normalise_header(cell: str) -> str:
    """A header cell as compared with :data:`COLUMN_ALIASES`: lower case, no ``(...)``, no punctuation."""
    text = re.sub(r"\([^)]*\)", " ", cell.lower().replace("\ufeff", ""))
    return " ".join(re.sub(r"[^a-z0-9&]+", " ", text).split())


def parse_amount(text: str, where: str, column: str, *, european: bool = False) -> float:
    """A number as brokers write it (``$1,234.50``, ``(1,234.50)``, ``1.234,50`` with ``european``); NaN if none.

    Raises DataError for text that is not a number, a non-finite number, or one beyond :data:`MAX_AMOUNT`.
    """
    cell = text.strip()
    if cell.lower() in _EMPTY_CELLS:
        return math.nan
    negative = False
    body = cell
    if body.startswith("(") and body.endswith(")"):
        negative, body = True, body[1:-1].strip()
    if body.endswith("-") and not body.startswith("-"):
        negative, body = True, body[:-1].strip()
    if body.startswith(("-", "+")):
        negative, body = negative ^ (body[0] == "-"), body[1:].strip()
    body = body.replace("$", "").replace("USD", "").replace("\u00a0", "").replace(" ", "").strip()
    if european:
        body = body.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d*)?", body):
        body = body.replace(",", "")
    if not re.fullmatch(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", body):
        if body.lower() in ("nan", "inf", "infinity"):
            raise DataError(f"{where}: {column} {cell!r} is not a finite number; write e.g. 12 or -3.5")
        raise DataError(f"{where}: {column} {cell!r} is not a number; write e.g. 12, -3.5 or $1,234.50")
    value = -float(body) if negative else float(body)
    limit = MAX_SHARES if column == "shares" else MAX_AMOUNT
    if not math.isfinite(value):
        raise DataError(f"{where}: {column} {cell!r} is not a finite number; write e.g. 12 or -3.5")
    if abs(value) > limit:
        raise DataError(f"{where}: {column} {cell!r} is beyond {limit:,.0f}, not a plausible position; "
                        "check the column and the number")
    return value


def canonical_ticker(text: str) -> str:
    """Upper case, Fidelity's ``**`` marks dropped, share classes in Yahoo's form (``BRK.B`` -> ``BRK-B``)."""
    ticker = text.strip().upper().rstrip("*").strip()
    match = SHARE_CLASS.match(ticker)
    return f"{match.group(1)}-{match.group(2)}" if match else ticker


def is_cash(symbol: str) -> bool:
    """A cash line or money-market sweep fund (see :data:`CASH_SYMBOLS`, :data:`CASH_NAMES`)."""
    return canonical_ticker(symbol) in CASH_SYMBOLS or " ".join(symbol.lower().rstrip("*").split()) in CASH_NAMES


# ------------------------------------------------------------------------------------------------ layout
@dataclass
class _Layout:
    """Where the header is and which column holds what."""

    line: int
    width: int
    columns: dict[str, int]
    account: int | None
    ignored: list[str]
    european: bool
    delimiter: str
    section: str = ""  # the header's first cell, a section label in files of several tables (IBKR statements)
    discriminator: int | None = None  # IBKR's DataDiscriminator column: only "Summary" rows are positions


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def _delimiter(lines: list[tuple[int, str]]) -> str:
    """``;`` or tab when the file's lines use it more than commas, else ``,``."""
    sample = "\n".join(text for _, text in lines[:30])
    counts = {d: sample.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _columns_of(cells: list[str], where: str) -> dict[str, int] | None:
    """Canonical column -> position when ``cells`` is a header (names a ticker and a share count)."""
    names = [normalise_header(c) for c in cells]
    found: dict[str, int] = {}
    for canonical, aliases in COLUMN_ALIASES.items():
        hits = [i for i, name in enumerate(names) if name in aliases or name == canonical.replace("_", " ")]
        if len(hits) > 1 and canonical in REQUIRED_COLUMNS:
            raise DataError(f"{where}: columns {cells[hits[0]].strip()!r} and {cells[hits[1]].strip()!r} both give "
                            f"the {canonical.replace('_', ' ')}; keep one")
        if hits:
            found[canonical] = hits[0]
    return found if all(c in found for c in REQUIRED_COLUMNS) else None


def _layout(rows: list[tuple[int, str]], path: str) -> tuple[_Layout, list[str]]:
    """Find the header line (the first naming a ticker and a share count); lines above it are skipped."""
    delimiter = _delimiter(rows)
    notes: list[str] = []
    for k, (number, text) in enumerate(rows[:50]):
        cells = _split(text, delimiter)
        columns = _columns_of(cells, f"{path} line {number}")
        if columns is None:
            continue
        if k:
            notes.append(f"skipped {k} line{'s' if k > 1 else ''} above the header (line {number})")
        names = [normalise_header(c) for c in cells]
        used = set(columns.values())
        account = next((i for i, n in enumerate(names) if n in ACCOUNT_COLUMNS), None)
        ignored = [c.strip() for i, c in enumerate(cells) if i not in used and i != account and c.strip()]
        european = delimiter == ";" and any(_DECIMAL_COMMA.search(t) for _, t in rows[k + 1 : k + 200])
        discriminator = next((i for i, n in enumerate(names) if n == "datadiscriminator"), None)
        following = _split(rows[k + 1][1], delimiter) if k + 1 < len(rows) else []
        section = cells[0].strip() if following and following[0].strip() == cells[0].strip() else ""
        if section:  # the section label and IBKR's "Header" marker are not columns
            ignored = [c for c in ignored if c not in (section, "Header")]
        layout = _Layout(number, len(cells), columns, account, ignored, european, delimiter, section, discriminator)
        return layout, notes
    number, text = rows[0]
    names = {normalise_header(c) for c in _split(text, delimiter)}
    missing = next(c for c in REQUIRED_COLUMNS if not names & set(COLUMN_ALIASES[c]) and c not in names)
    raise DataError(f"{path} line {number}: missing column {missing!r}; {_HEADER_HINT}")


# ------------------------------------------------------------------------------------------------ rows
@dataclass
class _Book:
    """Positions gathered so far (summed over accounts when the file has an account column)."""

    order: list[str] = field(default_factory=list)
    shares: dict[str, float] = field(default_factory=dict)
    basis: dict[str, float] = field(default_factory=dict)
    value: dict[str, float] = field(default_factory=dict)
    line: dict[str, int] = field(default_factory=dict)
    cash: float = 0.0
    cash_rows: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    summed: set[str] = field(default_factory=set)
    footer: int = 0

    def add(self, ticker: str, number: int, shares: float, basis: float, value: float, summing: bool) -> None:
        if ticker in self.line:
            if not summing:
                raise DataError(f"line {number}: ticker {ticker} is already on line {self.line[ticker]}; "
                                "merge the two rows into one")
            self.summed.add(ticker)
            self.shares[ticker] += shares
            self.basis[ticker] = _nansum(self.basis[ticker], basis)
            self.value[ticker] = _nansum(self.value[ticker], value)
            return
        self.order.append(ticker)
        self.line[ticker], self.shares[ticker], self.basis[ticker], self.value[ticker] = number, shares, basis, value


def _nansum(a: float, b: float) -> float:
    return a if math.isnan(b) else b if math.isnan(a) else a + b


def _read_row(book: _Book, layout: _Layout, number: int, cells: list[str], where: str) -> None:
    """One data row into ``book``: a position, cash, or a skipped total / pending line."""
    col = layout.columns
    symbol = cells[col["ticker"]].strip() if col["ticker"] < len(cells) else ""
    label = " ".join(symbol.lower().split())
    shares_cell = cells[col["shares"]].strip() if col["shares"] < len(cells) else ""
    blank_total = not symbol and shares_cell.lower() in _EMPTY_CELLS  # IBKR's total rows: no symbol, no quantity
    if blank_total or label in SKIP_NAMES or label.startswith(("account total", "total ")):
        book.skipped.append(symbol or f"a total row (line {number})")
        return

    def amount(name: str) -> float:
        i = col.get(name)
        return math.nan if i is None or i >= len(cells) else parse_amount(cells[i], where, name, european=layout.european)

    value = amount("market_value")
    if is_cash(symbol):
        shares = amount("shares")
        cash = value if not math.isnan(value) else shares
        if math.isnan(cash):
            raise DataError(f"{where}: cash row {symbol!r} has no amount; give its market value or quantity")
        book.cash += cash
        book.cash_rows.append(canonical_ticker(symbol) if canonical_ticker(symbol) in CASH_SYMBOLS else symbol)
        return
    ticker = canonical_ticker(symbol)
    if not TICKER_PATTERN.match(ticker):
        raise DataError(f"{where}: ticker {symbol!r} is not a valid symbol; use letters, digits and . - ^ = only "
                        "(e.g. SPY, BRK-B)")
    shares = amount("shares")
    if math.isnan(shares):
        raise DataError(f"{where}: shares is empty; give a number (shorts negative)")
    try:
        book.add(ticker, number, shares, amount("cost_basis"), value, layout.account is not None)
    except DataError as exc:
        raise DataError(f"{where.rsplit(' line ', 1)[0]} {exc}") from None


def _is_footer(cells: list[str], layout: _Layout) -> bool:
    """Text under the table: fewer cells than the header and no ticker-like first cell, or a long sentence."""
    filled = [c for c in cells if c.strip()]
    if not filled:
        return True
    first = filled[0].strip()
    sentence = len(first) > 40 and " " in first
    return sentence or (len(cells) < len(layout.columns) and not TICKER_PATTERN.match(canonical_ticker(first)))


def parse_holdings(text: str, path: str = "holdings.csv") -> Holdings:
    """Parse the text of a holdings file (see the module docstring for the formats read).

    Raises
    ------
    DataError
        Empty file, no header, bad ticker, non-numeric, non-finite or implausible numbers, a repeated ticker
        in a one-account file, more fields than the header. The message names ``path`` and the line.
    """
    text = text.lstrip("\ufeff")  # a byte-order mark from spreadsheet exports
    rows = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise DataError(f"{path} is empty; write a header line ticker,shares[,cost_basis] and one row per position")
    if len(rows) > MAX_ROWS:
        raise DataError(f"{path} has {len(rows):,} lines, more than {MAX_ROWS:,}; a holdings file has one line per position")
    layout, notes = _layout(rows, path)
    delimiter = layout.delimiter
    book = _Book()
    for number, line in (r for r in rows if r[0] > layout.line):
        where = f"{path} line {number}"
        cells = _split(line, delimiter)
        if _columns_of(cells, where) is not None or (layout.section and cells and cells[0].strip() != layout.section):
            notes.append(f"line {number}: a second table starts; only the positions above it were read")
            break
        if layout.discriminator is not None and len(cells) > layout.discriminator:
            if cells[layout.discriminator].strip().lower() not in ("summary", ""):
                continue  # per-lot detail rows repeat the summary row's position
        if len(cells) > layout.width and any(c.strip() for c in cells[layout.width:]):
            raise DataError(f"{where}: expected {layout.width} fields, found {len(cells)}; one position per line")
        if _is_footer(cells, layout):
            book.footer += 1
            continue
        if len(cells) < len(layout.columns):
            raise DataError(f"{where}: expected {layout.width} fields, found {len(cells)}; one position per line")
        _read_row(book, layout, number, cells, where)
    notes += _notes(book, layout)
    n = len(book.order)
    return Holdings(
        tickers=tuple(book.order),
        shares=np.array([book.shares[t] for t in book.order], dtype=float).reshape(n),
        cost_basis=np.array([book.basis[t] for t in book.order], dtype=float).reshape(n),
        path=path,
        lines=tuple(book.line[t] for t in book.order),
        market_value=np.array([book.value[t] for t in book.order], dtype=float).reshape(n),
        cash=float(book.cash),
        notes=tuple(f"{path}: {note}" for note in notes),
    )


def _notes(book: _Book, layout: _Layout) -> list[str]:
    notes = []
    if layout.ignored:
        notes.append(f"ignored column{'s' if len(layout.ignored) > 1 else ''} {', '.join(layout.ignored)}")
    if book.cash_rows:
        notes.append(f"cash {book.cash:,.2f} from {', '.join(book.cash_rows)} (added to the cash)")
    if book.skipped:
        notes.append(f"skipped {', '.join(book.skipped)}")
    if book.summed:
        notes.append(f"summed over accounts: {', '.join(sorted(book.summed))}")
    if book.footer:
        notes.append(f"ignored {book.footer} line{'s' if book.footer > 1 else ''} of text below the table")
    return notes


def _read_bounded(path: Path, name: str) -> str:
    """The file's text, refusing devices (``/dev/zero``), files over :data:`MAX_BYTES` and non-UTF-8 bytes."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"holdings file {name} not found; check the --holdings path") from None
    except OSError as exc:
        raise DataError(f"cannot read holdings file {name}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"holdings file {name} is a directory; give the CSV file itself")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        raise DataError(f"holdings file {name} is not a regular file (a device?); give the CSV file itself")
    if stat.S_ISREG(info.st_mode) and info.st_size > MAX_BYTES:
        raise DataError(f"holdings file {name} is {info.st_size / 2**20:,.1f} MB, more than {MAX_BYTES // 2**20} MB; "
                        "a holdings file has one line per position")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise DataError(f"cannot read holdings file {name}: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise DataError(f"holdings file {name} is more than {MAX_BYTES // 2**20} MB; a holdings file has one line "
                        "per position")
    if b"\x00" in data:
        raise DataError(f"holdings file {name} holds binary data (NUL bytes), not CSV text; export it as CSV")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"holdings file {name} is not UTF-8 text; save it as CSV (UTF-8)") from None


def read_holdings(path: str | Path) -> Holdings:
    """Read and validate a holdings CSV file (see the module docstring).

    Raises
    ------
    DataError
        The file is missing, not a file, too large, unreadable or malformed (the message names the file and
        line).
    """
    name = str(path)
    return parse_holdings(_read_bounded(Path(path), name), name)


__all__ = ["CASH_SYMBOLS", "Holdings", "canonical_ticker", "is_cash", "parse_amount", "parse_holdings",
           "read_holdings"]
