"""Meta as the single stock to own for five years.

Thesis (source A, the December 2024 scenario essay): if forced to hold one stock through the AI
transition, Meta -- cheap LLMs help its small-business advertisers and consumer products, which
supports the core ads business. Held as 100% META, bought once and never rebalanced.

Buy and hold: the target is emitted only on the first row on which META has a price and every later
row is NaN ("no new target"), so with ``rebalance="none"`` the engine enters once, one bar later, and
never trades again.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy
from theses.strategies.combinators import StaticBook


@dataclass(frozen=True)
class MetaSinglePickParams:
    """Parameters of :mod:`strategies.meta_single_pick`.

    Attributes
    ----------
    ticker : str
        The single stock held at 100%.
    """

    ticker: str = "META"


def make_strategy(params: MetaSinglePickParams = MetaSinglePickParams()) -> Strategy:
    """The strategy record for ``params``."""
    return Strategy(
        name="meta_single_pick",
        description=f"100% {params.ticker}, bought once and held (the essay's one stock for five years)",
        rebalance="none",
        benchmark="SPY",
        params=params,
        rule=StaticBook({params.ticker: 1.0}, buy_and_hold=True),
    )


STRATEGY = make_strategy()
