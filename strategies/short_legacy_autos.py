"""Short legacy autos: the old carmakers lose in the autonomy (and EV / China) transition.

Thesis (source A, the December 2024 scenario essay): legacy carmakers do badly when cars drive
themselves and Chinese EV makers compete on price -- though shorting is hard, so the short is hedged.
Short F, GM and STLA in equal weight (together -100% of equity by default), long SPY of the same
notional (+100%), rebalanced monthly so the hedge is equal in notional at every rebalance.

Missing prices: a short without a price drops out and the others carry the short book, so the hedge
matches the shorts held (:class:`~strategies.combinators.HedgedShort`). All default names trade from 2015.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy
from theses.strategies.combinators import HedgedShort


@dataclass(frozen=True)
class ShortLegacyAutosParams:
    """Parameters of :mod:`strategies.short_legacy_autos`.

    Attributes
    ----------
    shorts, hedge, short_size
        The :class:`~strategies.combinators.HedgedShort` book: ``shorts`` in equal weight summing to
        ``-short_size`` of equity, ``hedge`` held long at ``+short_size``.
    """

    shorts: tuple[str, ...] = ("F", "GM", "STLA")
    hedge: str = "SPY"
    short_size: float = 1.0


def make_strategy(params: ShortLegacyAutosParams = ShortLegacyAutosParams()) -> Strategy:
    """The strategy record for ``params``."""
    return Strategy(
        name="short_legacy_autos",
        description=f"Short {', '.join(params.shorts)} equally, hedged long {params.hedge} of equal notional",
        rebalance="monthly",
        benchmark="SPY",
        params=params,
        rule=HedgedShort(params.shorts, params.hedge, params.short_size),
    )


STRATEGY = make_strategy()
