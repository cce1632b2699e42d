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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from theses.strategies.base import Strategy
from theses.strategies.signals import check_inputs, equal_weights, static_weights


@dataclass(frozen=True)
class ComputeBuildoutParams:
    """Parameters of :mod:`strategies.compute_buildout`.

    Attributes
    ----------
    tickers : tuple of str
        The basket, held in equal weight.
    """

    tickers: tuple[str, ...] = ("NVDA", "AVGO", "AMD", "MU", "TSM", "ANET", "MRVL")


def weights(
    prices: np.ndarray, dates: Any, tickers: Sequence[str], params: ComputeBuildoutParams
) -> np.ndarray:
    """Equal weight over the basket on every row; ``(T, N)``."""
    check_inputs(prices, dates, tickers)
    return static_weights(prices.shape[-2], tickers, equal_weights(params.tickers))


def make_strategy(params: ComputeBuildoutParams = ComputeBuildoutParams()) -> Strategy:
    """The strategy record for ``params``."""
    return Strategy(
        name="compute_buildout",
        description=f"Compute picks and shovels, equal weight: {', '.join(params.tickers)}",
        universe=tuple(params.tickers),
        rebalance="monthly",
        benchmark="SPY",
        params=params,
        weights_fn=weights,
    )


STRATEGY = make_strategy()
