"""Compute build-out: the chip and networking suppliers of the data-centre boom, equal weight.

Thesis (source C, the semiconductor-analyst interview, with the picks-and-shovels view of source B):
scaling is not over -- hyperscalers keep building multi-gigawatt campuses, so whoever sells the
compute wins whether or not model makers have a moat. Nvidia leads; Broadcom (Google's TPU partner)
is the most mature alternative; AMD competes on memory per dollar; Marvell builds Amazon's Trainium;
HBM turns memory (Micron) into a differentiated product; TSMC makes all of it; Arista networks it.
Equal weight NVDA, AVGO, AMD, MU, TSM, ANET, MRVL, rebalanced monthly.

Missing prices: a fixed target on every row; before a ticker lists its slice follows the engine's
missing-asset policy (cash by default). All default names trade from 2015.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy
from theses.strategies.combinators import StaticBook
from theses.strategies.signals import equal_weights


@dataclass(frozen=True)
class ComputeBuildoutParams:
    """Parameters of :mod:`strategies.compute_buildout`.

    Attributes
    ----------
    tickers : tuple of str
        The basket, held in equal weight.
    """

    tickers: tuple[str, ...] = ("NVDA", "AVGO", "AMD", "MU", "TSM", "ANET", "MRVL")


def make_strategy(params: ComputeBuildoutParams = ComputeBuildoutParams()) -> Strategy:
    """The strategy record for ``params``."""
    return Strategy(
        name="compute_buildout",
        description=f"Compute picks and shovels, equal weight: {', '.join(params.tickers)}",
        rebalance="monthly",
        benchmark="SPY",
        params=params,
        rule=StaticBook(equal_weights(params.tickers)),
    )


STRATEGY = make_strategy()
