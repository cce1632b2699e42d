"""Jevons dip: hold the compute basket beside SPY, and buy more of it when an efficiency shock knocks it down.

Thesis (source B, the DeepSeek-shock comments of early 2025, with the compute basket of source C): cheaper
intelligence raises the demand for it (Jevons' paradox), so chip demand keeps rising; an efficiency shock
that sells the chip makers off -- NVDA fell 17% on 2025-01-27, when DeepSeek's cheap model came out -- is a
chance to buy, not a reason to leave.

Book: the compute basket (NVDA, AVGO, AMD, MU, TSM, ANET, MRVL, equal weight) at ``base_weight`` with SPY
holding the rest. When the basket's equal-weight index falls ``enter`` (15%) or more below its high of the
last ``window`` (126, six months of) trading days, the basket goes to ``dip_weight`` (and SPY to the rest);
once the basket is back within ``leave`` (5%) of its recent high, it scales back to ``base_weight``. Both
thresholds are on closes up to the signal day (a :class:`~strategies.combinators.DrawdownSwitch`), and the
engine trades one bar later: the signal is daily; the calendar is monthly with a drift band (``switch_band``)
that only a switch breaches, so a switch trades on the next bar and the book is otherwise rebalanced monthly.
2025-01-27's close put the basket 16.5% below its high, so the book bought on 2025-01-28's close.

Sleeves (for attribution): index (SPY), compute basket.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy
from theses.strategies.combinators import DrawdownSwitch, StaticBook
from theses.strategies.signals import equal_weights


@dataclass(frozen=True)
class JevonsDipParams:
    """Parameters of :mod:`strategies.jevons_dip`.

    Attributes
    ----------
    basket : tuple of str
        The compute names, held in equal weight (source C's compute basket).
    index : str
        What holds the rest of the book.
    base_weight, dip_weight : float
        The basket's share of equity normally and while it is in a dip.
    window : int
        Trading days over which the recent high is taken (the signal's look-back).
    enter, leave : float
        Falls below the recent high that start (``enter``) and end (``leave``) a dip; ``leave < enter``.
    switch_band : float
        ``band_abs`` of the rebalance rule: the index weight moves by ``dip_weight - base_weight`` at a switch,
        more than this band, so a switch trades on the next bar.
    """

    basket: tuple[str, ...] = ("NVDA", "AVGO", "AMD", "MU", "TSM", "ANET", "MRVL")
    index: str = "SPY"
    base_weight: float = 0.30
    dip_weight: float = 0.60
    window: int = 126
    enter: float = 0.15
    leave: float = 0.05
    switch_band: float = 0.15

    def book(self, basket_weight: float) -> dict[str, float]:
        """``basket_weight`` split equally over the basket, the rest in the index."""
        return {self.index: 1.0 - basket_weight, **equal_weights(self.basket, basket_weight)}


def make_strategy(params: JevonsDipParams = JevonsDipParams()) -> Strategy:
    """The strategy record for ``params``."""
    return Strategy(
        name="jevons_dip",
        description=(
            f"Compute basket {params.base_weight:.0%} beside {params.index}, {params.dip_weight:.0%} while it is "
            f"{params.enter:.0%}+ below its {params.window}-day high (until back within {params.leave:.0%})"
        ),
        rebalance="monthly",
        benchmark="SPY",
        params=params,
        rule=DrawdownSwitch(
            basket=params.basket,
            window=params.window,
            enter=params.enter,
            leave=params.leave,
            on=StaticBook(params.book(params.dip_weight)),
            off=StaticBook(params.book(params.base_weight)),
        ),
        band_abs=params.switch_band,
        sleeves=(("index", (params.index,)), ("compute basket", params.basket)),
    )


STRATEGY = make_strategy()
