"""Index beta: hold the S&P 500 and nothing else.

Thesis (source A, the December 2024 scenario essay): whatever the AI transition does, owning the broad
S&P 500 "won't go far wrong" -- a cap-weighted index is insulated beta that captures the winners without
having to pick them. Held as 100% SPY, bought once and never rebalanced.

Buy and hold: the target is emitted only on the first row on which the ticker has a price (row 0 on a
normal frame) and every later row is NaN ("no new target"), so with ``rebalance="none"`` the engine enters
once, one bar later, and never trades again.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy
from theses.strategies.combinators import StaticBook


@dataclass(frozen=True)
class IndexBetaParams:
    """Parameters of :mod:`strategies.index_beta`.

    Attributes
    ----------
    ticker : str
        The index fund held at 100%.
    """

    ticker: str = "SPY"


def make_strategy(params: IndexBetaParams = IndexBetaParams()) -> Strategy:
    """The strategy record for ``params``."""
    return Strategy(
        name="index_beta",
        description=f"100% {params.ticker}, bought once and held (broad-index beta)",
        rebalance="none",
        benchmark="SPY",
        params=params,
        rule=StaticBook({params.ticker: 1.0}, buy_and_hold=True),
    )


STRATEGY = make_strategy()
