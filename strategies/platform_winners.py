"""Platform winners: the big-tech platforms best placed to sell AI to businesses and consumers.

Thesis (source A, the December 2024 scenario essay, with the hyperscaler list of source C): Microsoft is
best placed for business AI and the displacement of outsourced white-collar work; Amazon benefits
passively through AWS, its Anthropic stake and later robotics; Meta gains from cheap LLMs for its
advertisers; Oracle could do well from the build-out. Google has the worst risk/reward of big tech
(third in cloud, search at risk), so it is held at 0 by default. Weights META 40, MSFT 30, AMZN 20,
ORCL 10, rebalanced quarterly.

Missing prices: a fixed target on every row; before a ticker lists its slice follows the engine's
missing-asset policy (cash by default). All default names trade from 2015.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy
from theses.strategies.combinators import StaticBook


@dataclass(frozen=True)
class PlatformWinnersParams:
    """Parameters of :mod:`strategies.platform_winners`.

    Attributes
    ----------
    weights : tuple of (ticker, fraction)
        Long book; a 0 weight leaves the ticker out of the universe.
    """

    weights: tuple[tuple[str, float], ...] = (
        ("META", 0.40),
        ("MSFT", 0.30),
        ("AMZN", 0.20),
        ("ORCL", 0.10),
        ("GOOGL", 0.0),
    )

    def held(self) -> dict[str, float]:
        """The non-zero weights as a dict."""
        return {t: w for t, w in self.weights if w != 0.0}


def make_strategy(params: PlatformWinnersParams = PlatformWinnersParams()) -> Strategy:
    """The strategy record for ``params``."""
    book = ", ".join(f"{t} {w:.0%}" for t, w in params.held().items())
    return Strategy(
        name="platform_winners",
        description=f"AI platform leaders: {book} (GOOGL underweight)",
        rebalance="quarterly",
        benchmark="SPY",
        params=params,
        rule=StaticBook(params.held()),
    )


STRATEGY = make_strategy()
