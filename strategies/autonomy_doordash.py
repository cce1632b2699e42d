"""Autonomy through DoorDash: the delivery network that wins whoever builds the self-driving cars.

Thesis (source A, the December 2024 scenario essay): the essay's favourite autonomous-vehicle bet is
DoorDash -- with about 65% of US delivery it gains whichever AV maker wins, could be worth 3-5x its
enterprise value in an autonomy scenario, but over about ten years (4x in 10 years is roughly a 15% IRR).
Held as 100% DASH (optionally 50/50 with SPY via ``spy_weight``), rebalanced quarterly.

Missing prices: DASH lists on 2020-12-09. Its target is kept before then, so with the engine's default
"cash" policy the book sits in cash until DASH trades and is bought at the first rebalance after.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy
from theses.strategies.combinators import StaticBook


@dataclass(frozen=True)
class AutonomyDoordashParams:
    """Parameters of :mod:`strategies.autonomy_doordash`.

    Attributes
    ----------
    dash_weight : float
        Fraction in DASH.
    spy_weight : float
        Fraction in SPY (0.5 with ``dash_weight=0.5`` gives the 50/50 variant).
    """

    dash_weight: float = 1.0
    spy_weight: float = 0.0

    def held(self) -> dict[str, float]:
        """The non-zero weights as a dict."""
        return {t: w for t, w in (("DASH", self.dash_weight), ("SPY", self.spy_weight)) if w != 0.0}


def make_strategy(params: AutonomyDoordashParams = AutonomyDoordashParams()) -> Strategy:
    """The strategy record for ``params``."""
    book = ", ".join(f"{t} {w:.0%}" for t, w in params.held().items())
    return Strategy(
        name="autonomy_doordash",
        description=f"Autonomy via the delivery network: {book}",
        rebalance="quarterly",
        benchmark="SPY",
        params=params,
        rule=StaticBook(params.held()),
    )


STRATEGY = make_strategy()
