"""Ticker renames: an old symbol maps to the one its price history is listed under today.

Only renames where Yahoo Finance keeps the whole history under the new symbol belong here (a merger
into another company's history does not).
"""

from __future__ import annotations

from collections.abc import Sequence

# old symbol -> current symbol
TICKER_ALIASES: dict[str, str] = {
    "FB": "META",  # Facebook -> Meta Platforms
    "ANTM": "ELV",  # Anthem -> Elevance Health
    "SQ": "XYZ",  # Square -> Block
    "FLT": "CPAY",  # FleetCor -> Corpay
    "PKI": "RVTY",  # PerkinElmer -> Revvity
    "WLTW": "WTW",  # Willis Towers Watson
    "TOT": "TTE",  # Total -> TotalEnergies (ADR)
    "UTX": "RTX",  # United Technologies -> Raytheon Technologies (RTX)
    "VIAC": "PARA",  # ViacomCBS -> Paramount Global
    "KORS": "CPRI",  # Michael Kors -> Capri Holdings
}


def resolve_aliases(tickers: Sequence[str]) -> tuple[list[str], list[str]]:
    """Replace renamed tickers by their current symbol.

    Parameters
    ----------
    tickers
        Upper-case symbols.

    Returns
    -------
    names, notes
        The symbols with renames applied (de-duplicated, order kept) and one note per rename.
    """
    names: list[str] = []
    notes: list[str] = []
    for ticker in tickers:
        if ticker in TICKER_ALIASES:
            current = TICKER_ALIASES[ticker]
            notes.append(f"{ticker} was renamed {current}; its prices are listed under {current}")
            ticker = current
        if ticker not in names:
            names.append(ticker)
    return names, notes
