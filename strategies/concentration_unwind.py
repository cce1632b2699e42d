"""Concentration unwind: bet that the equal-weight S&P 500 catches up with the cap-weighted one.

Thesis (source D, the mid-2024 bubble-and-concentration discussion): a handful of mega-caps drive the
index, and cap-weighted has beaten equal-weighted by a spread last seen in March 2000. If that
concentration unwinds, the equal-weight index outperforms. Long RSP, short SPY, dollar neutral
(+100% / -100%), rebalanced monthly so the two legs stay equal in notional.

Missing prices: both ETFs trade from 2015; a fixed target on every row.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy
from theses.strategies.combinators import StaticBook


@dataclass(frozen=True)
class ConcentrationUnwindParams:
    """Parameters of :mod:`strategies.concentration_unwind`.

    Attributes
    ----------
    long_ticker, short_ticker : str
        Equal-weight index held long, cap-weighted index held short.
    size : float
        Notional of each leg as a fraction of equity (+size long, -size short).
    """

    long_ticker: str = "RSP"
    short_ticker: str = "SPY"
    size: float = 1.0


def make_strategy(params: ConcentrationUnwindParams = ConcentrationUnwindParams()) -> Strategy:
    """The strategy record for ``params``."""
    return Strategy(
        name="concentration_unwind",
        description=f"Long {params.long_ticker} / short {params.short_ticker}, dollar neutral (equal weight beats cap weight)",
        rebalance="monthly",
        benchmark="SPY",
        params=params,
        rule=StaticBook({params.long_ticker: params.size, params.short_ticker: -params.size}),
    )


STRATEGY = make_strategy()
