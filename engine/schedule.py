"""Calendar rebalancing days from a trading-day index.

A calendar rule marks the first (or last) trading day *present in the index* of each week, month,
quarter or year. Vectorised: the period of every bar is computed once and compared with its neighbour.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from theses.engine.config import ANCHORS, CALENDARS
from theses.engine.errors import EngineError


def period_keys(index: pd.DatetimeIndex, calendar: str) -> np.ndarray:
    """An integer per bar that is equal for bars of the same calendar period.

    Parameters
    ----------
    index : trading days, ascending.
    calendar : ``daily``, ``weekly``, ``monthly``, ``quarterly`` or ``yearly``.

    Returns
    -------
    numpy.ndarray of int64, shape ``(len(index),)``.
    """
    if calendar == "daily":
        return np.arange(len(index), dtype=np.int64)
    years = index.year.to_numpy().astype(np.int64)
    if calendar == "yearly":
        return years
    if calendar == "quarterly":
        return years * 4 + (index.month.to_numpy() - 1) // 3
    if calendar == "monthly":
        return years * 12 + index.month.to_numpy() - 1
    if calendar == "weekly":
        # Days since a Monday (1970-01-05), floor-divided by 7: ISO weeks, robust across year ends.
        days = index.to_numpy().astype("datetime64[D]").astype(np.int64)
        return (days - 4) // 7
    raise EngineError(f"calendar {calendar!r} is unknown; use one of {', '.join(CALENDARS)}")


def rebalance_mask(index: pd.DatetimeIndex, calendar: str, anchor: str = "first") -> np.ndarray:
    """Boolean mask of calendar rebalance days.

    Parameters
    ----------
    index : tz-naive trading days, ascending.
    calendar : ``none``, ``daily``, ``weekly``, ``monthly``, ``quarterly`` or ``yearly``.
    anchor : ``first`` or ``last`` trading day of each period in ``index``.

    Returns
    -------
    numpy.ndarray of bool, shape ``(len(index),)``; all False for ``none``.

    Notes
    -----
    Periods are those of the index: with ``first`` the index's first bar is a rebalance day (it opens a
    period) and with ``last`` its final bar is one, even when the period is cut by the index's ends.
    """
    if anchor not in ANCHORS:
        raise EngineError(f"anchor {anchor!r} is unknown; use one of {', '.join(ANCHORS)}")
    if not isinstance(index, pd.DatetimeIndex):
        raise EngineError("prices index is not a DatetimeIndex; index the prices by trading date")
    n = len(index)
    if calendar == "none":
        return np.zeros(n, dtype=bool)
    keys = period_keys(index, calendar)
    mask = np.ones(n, dtype=bool)
    if n > 1:
        changes = keys[1:] != keys[:-1]
        if anchor == "first":
            mask[1:] = changes
        else:
            mask[:-1] = changes
    return mask
