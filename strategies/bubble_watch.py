"""Bubble watch: own the AI names while their trend holds, step back into the index when it breaks.

Thesis (source D, the mid-2024 bubble-and-concentration discussion, answering the build-out optimism of
sources B and C): AI capex far exceeds AI revenue (the "$600B hole"), so the boom may end as railroads
and broadband did -- but nobody knows when. Stay in the platform and compute names while their basket
trends up, and retreat to SPY when the trend breaks.

Signal: the basket is a NaN-aware equal-weight daily-return index of the platform+compute names (names
join the day after their first close). It is "on" on day t when its level is strictly above its
200-day simple average, both computed from closes up to and including t; with fewer than 200
observations the average is undefined and the book holds SPY. On: equal weight over the basket names
that have a close on day t (the names the signal measures -- this differs from the static books, which
keep a target on unlisted names). Off: 100% SPY. The engine executes row t one bar later.

Rebalance: monthly, as the thesis table says: a switch decided on day t is traded on the first trading
day of the next month (never before t+1). ``switch_band`` (off by default) sets a drift band that only a
regime switch can breach (every basket weight is ~9%), so a switch trades on the bar after the crossing
instead -- faster, but a whipsawing 200-day signal then trades many times a year.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy
from theses.strategies.combinators import ListedEqualWeight, StaticBook, TrendFilter


@dataclass(frozen=True)
class BubbleWatchParams:
    """Parameters of :mod:`strategies.bubble_watch`.

    Attributes
    ----------
    basket : tuple of str
        The platform (META, MSFT, AMZN, ORCL) and compute (NVDA, AVGO, AMD, MU, TSM, ANET, MRVL) names.
    window : int
        Days in the simple moving average of the basket level.
    fallback : str
        Held at 100% while the trend is off (and before the average exists).
    switch_band : float or None
        ``band_abs`` of the rebalance rule; set (e.g. 0.25) to trade a regime switch on the next bar
        rather than at the next monthly rebalance. None (default): monthly only.
    """

    basket: tuple[str, ...] = (
        "META", "MSFT", "AMZN", "ORCL",
        "NVDA", "AVGO", "AMD", "MU", "TSM", "ANET", "MRVL",
    )  # fmt: skip
    window: int = 200
    fallback: str = "SPY"
    switch_band: float | None = None


def make_strategy(params: BubbleWatchParams = BubbleWatchParams()) -> Strategy:
    """The strategy record for ``params``."""
    return Strategy(
        name="bubble_watch",
        description=(
            f"AI platform+compute basket while above its {params.window}-day average, else {params.fallback}"
        ),
        rebalance="monthly",
        benchmark="SPY",
        params=params,
        rule=TrendFilter(
            basket=params.basket,
            window=params.window,
            on=ListedEqualWeight(params.basket),
            off=StaticBook({params.fallback: 1.0}),
        ),
        band_abs=params.switch_band,
    )


STRATEGY = make_strategy()
