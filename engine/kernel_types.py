"""The contract of the numba kernels: their parameters and per-path state as NamedTuples.

Numba compiles a NamedTuple into a plain struct, so passing one costs nothing over separate scalars, while
a signature such as ``step_nb(t, close_row, exec_row, weights, calendar_day, params, state, shares,
last_close, trade_buf) -> state`` says what goes in and what comes out (the layout of vectorbt's
``enums.py``). The step returns one flat NamedTuple rather than a (state, outcome) pair: numba's parallel
array analysis rejects a tuple of tuples unpacked inside a ``prange`` loop. The ``(N,)`` arrays stay separate
arguments: a tuple of arrays hides from the parallel compiler that they do not alias (measured ~15% slower).
Field order is part of the compiled signature.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class SimParams(NamedTuple):
    """Scalar settings of one book's simulation, fixed for the whole run."""

    trade_on_new_row: bool
    """Trade whenever a new target row arrives (calendar ``none``)."""
    band_abs: float
    """Rebalance when any ``|weight - target| > band_abs``; ``<= 0`` means no absolute band."""
    band_rel: float
    """Rebalance when any ``|weight - target| > band_rel * |target|``; ``<= 0`` means no relative band."""
    renormalize: bool
    """Missing-price policy ``renormalize`` (else ``cash``)."""
    fee_rate: float
    """Fees, fraction of traded notional."""
    slip_rate: float
    """Slippage, fraction of traded notional."""
    borrow_daily: float
    """Borrow charged per bar on short market value."""
    interest_daily: float
    """Interest credited per bar on positive cash."""
    initial_cash: float
    """Starting cash."""
    gross_limit: float
    """Largest realised ``sum |position value| / V`` after a trade (tolerance included); a trade above it is
    reported as a breach."""
    net_limit: float
    """Largest realised ``|sum position value| / V`` after a trade (tolerance included)."""
    delist_after: int
    """A held asset without a close for this many bars in a row is closed at its last close (0: never)."""


class PathState(NamedTuple):
    """The scalar state of one path after a bar: what carries to the next bar, then what the bar did.

    The step reads only the first five fields; it returns all of them. The arrays of the state (shares
    held, last known closes, bars without a close, shares traded at the bar) are passed beside it and updated
    in place.
    """

    cash: float
    """Cash after the bar."""
    target_row: int
    """Index of the weights row in force (-1: no target yet)."""
    next_row: int
    """Index of the first weights row not read yet (rows are dated by ``bars``; see ``step_nb``)."""
    entered: bool
    """Whether the initial entry has happened."""
    ruined: bool
    """Whether equity has reached zero or below at some mark: the book is closed and never trades again."""
    equity: float
    """Cash plus holdings marked at the last known close, end of bar."""
    traded: bool
    """Whether the bar traded to a target."""
    forced: bool
    """Whether the bar closed positions by force (a delisting or the ruin)."""
    breach: bool
    """Whether the bar's trade left realised exposure above ``gross_limit`` / ``net_limit``."""
    fee: float
    """Fees paid at the bar."""
    slippage: float
    """Slippage paid at the bar."""
    borrow: float
    """Borrow charged at the bar."""
    interest: float
    """Interest credited at the bar."""
    turnover: float
    """Traded notional / portfolio value before trading."""


#: Columns of the per-path outcome array of ``simulate_books_nb`` (equity values are / initial cash).
OUTCOME_FIELDS = ("terminal", "window_base", "max_drawdown", "min_wealth", "fees", "slippage", "borrow",
                  "interest", "turnover_sum", "first_trade", "bench_terminal", "bench_base", "ruin_bar", "breach_bar")


def sim_params_row(params: SimParams) -> np.ndarray:
    """A :class:`SimParams` as one float64 row in field order (for ``simulate_books_nb``'s table)."""
    return np.array([float(v) for v in params], dtype=np.float64)
