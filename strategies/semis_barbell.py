"""Semis barbell: Nvidia now, TSMC for longer.

Thesis (source A, the December 2024 scenario essay, with the compute view of sources B and C): Nvidia
stays king of AI chips for a few more years, but its monopoly will not last; the foundry (TSMC) that
makes everyone's chips is the more durable franchise. So the book glides from mostly NVDA to mostly TSM:
the NVDA weight falls and the TSM weight rises linearly in calendar time from 2025-01-01 (80% NVDA /
20% TSM) to 2028-01-01 (20% NVDA / 80% TSM), constant before and after. The essay's optional Intel
comeback (~2027) is a parameter, 0 by default. Rebalanced monthly, so the glide is stepped monthly.

Weights depend only on dates, never on prices. Missing prices: a target on every row; before a ticker
lists its slice follows the engine's missing-asset policy (both trade from 2015).
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy
from theses.strategies.combinators import Glide


@dataclass(frozen=True)
class SemisBarbellParams:
    """Parameters of :mod:`strategies.semis_barbell`.

    Attributes
    ----------
    fading, growing : str
        The ticker whose weight falls and the one whose weight rises.
    glide_start, glide_end : str
        ISO dates between which the weights move linearly.
    fading_start, fading_end : float
        Weight of ``fading`` at (and before) ``glide_start`` and at (and after) ``glide_end``; ``growing``
        holds the rest of ``1 - intc_weight``.
    intc_weight : float
        Constant optional weight in INTC (the essay's "Intel maybe back ~2027"); 0 leaves it out.
    """

    fading: str = "NVDA"
    growing: str = "TSM"
    glide_start: str = "2025-01-01"
    glide_end: str = "2028-01-01"
    fading_start: float = 0.8
    fading_end: float = 0.2
    intc_weight: float = 0.0


def glide(params: SemisBarbellParams) -> Glide:
    """The glide of ``params``: ``fading`` along the line, ``growing`` holding the rest of the sleeve."""
    sleeve = 1.0 - params.intc_weight
    intel = {"INTC": params.intc_weight} if params.intc_weight else {}

    def book(fading: float) -> dict[str, float]:
        return {params.fading: fading * sleeve, params.growing: sleeve - fading * sleeve, **intel}

    return Glide(book(params.fading_start), book(params.fading_end), params.glide_start, params.glide_end,
                 rest=params.growing)


def make_strategy(params: SemisBarbellParams = SemisBarbellParams()) -> Strategy:
    """The strategy record for ``params``."""
    return Strategy(
        name="semis_barbell",
        description=(
            f"{params.fading}->{params.growing} glide: {params.fading} {params.fading_start:.0%} -> "
            f"{params.fading_end:.0%} linearly {params.glide_start} to {params.glide_end}"
        ),
        rebalance="monthly",
        benchmark="SPY",
        params=params,
        rule=glide(params),
    )


STRATEGY = make_strategy()
