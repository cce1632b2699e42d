"""Short the obvious losers of AI: legacy autos, Europe, outsourcing and large SaaS.

Thesis (source A, the December 2024 scenario essay; the SaaS doubt echoes the sceptics of source B):
some losers look obvious -- outsourced white-collar work (Infosys) is what AI replaces first, large
seat-priced SaaS (Salesforce) loses seats, Europe has little AI industry, and legacy carmakers lose the
autonomy race -- even if the essay finds it "easier to back the winners". Short INFY, CRM, VGK, F and GM
in equal weight (together -100% of equity by default), hedged long SPY of the same notional, rebalanced
monthly so the hedge is equal in notional at every rebalance.

Missing prices: a short without a price drops out and the others carry the short book, so the hedge
matches the shorts held (:class:`~strategies.combinators.HedgedShort`). All default names trade from 2015.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy
from theses.strategies.combinators import HedgedShort


@dataclass(frozen=True)
class ObviousLosersShortParams:
    """Parameters of :mod:`strategies.obvious_losers_short`.

    Attributes
    ----------
    shorts, hedge, short_size
        The :class:`~strategies.combinators.HedgedShort` book: ``shorts`` in equal weight summing to
        ``-short_size`` of equity, ``hedge`` held long at ``+short_size``.
    """

    shorts: tuple[str, ...] = ("INFY", "CRM", "VGK", "F", "GM")
    hedge: str = "SPY"
    short_size: float = 1.0


def make_strategy(params: ObviousLosersShortParams = ObviousLosersShortParams()) -> Strategy:
    """The strategy record for ``params``."""
    return Strategy(
        name="obvious_losers_short",
        description=f"Short {', '.join(params.shorts)} equally, hedged long {params.hedge} of equal notional",
        rebalance="monthly",
        benchmark="SPY",
        params=params,
        rule=HedgedShort(params.shorts, params.hedge, params.short_size),
    )


STRATEGY = make_strategy()
