"""The essay's combined scenario-3 ("Jetsons world") book.

Thesis (source A, the December 2024 scenario essay): the author puts most weight on a world where AI
does median white-collar work with slow, large gains, and builds one book for it -- index beta as the
core, the platform winners, the autonomy bet, a fading Nvidia and a durable TSMC, and a small short in
the legacy carmakers. Longs SPY 40, META 15, MSFT 10, AMZN 10, DASH 10, NVDA 5, TSM 10 (100%); shorts
F, GM, STLA -10% in total (equal); net 90%, gross 110%; rebalanced monthly.

Sleeves (for attribution): index beta (SPY), platform winners (META, MSFT, AMZN), autonomy (DASH), semis
(NVDA, TSM), legacy-auto shorts (F, GM, STLA) -- the essay's own table of positions.

Missing prices: a fixed target on every row; before a ticker lists (DASH until 2020-12-09) its slice
follows the engine's missing-asset policy -- with the default "cash" policy that 10% waits in cash.
"""

from __future__ import annotations

from dataclasses import dataclass

from theses.strategies.base import Strategy, held_sleeves
from theses.strategies.combinators import StaticBook
from theses.strategies.signals import equal_weights


@dataclass(frozen=True)
class EssayBookParams:
    """Parameters of :mod:`strategies.essay_book`.

    Attributes
    ----------
    longs : tuple of (ticker, fraction)
        The long book.
    shorts : tuple of str
        Shorted in equal weight.
    short_total : float
        Total short as a fraction of equity (positive number; the shorts sum to ``-short_total``).
    sleeves : tuple of (name, tickers)
        The parts of the book reports attribute return to.
    """

    longs: tuple[tuple[str, float], ...] = (
        ("SPY", 0.40),
        ("META", 0.15),
        ("MSFT", 0.10),
        ("AMZN", 0.10),
        ("DASH", 0.10),
        ("NVDA", 0.05),
        ("TSM", 0.10),
    )
    shorts: tuple[str, ...] = ("F", "GM", "STLA")
    short_total: float = 0.10
    sleeves: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("index beta", ("SPY",)),
        ("platform winners", ("META", "MSFT", "AMZN")),
        ("autonomy", ("DASH",)),
        ("semis", ("NVDA", "TSM")),
        ("legacy-auto shorts", ("F", "GM", "STLA")),
    )

    def book(self) -> dict[str, float]:
        """All weights (shorts negative) as a dict."""
        book = dict(self.longs)
        for ticker, weight in equal_weights(self.shorts, -self.short_total).items():
            book[ticker] = book.get(ticker, 0.0) + weight
        return book


def make_strategy(params: EssayBookParams = EssayBookParams()) -> Strategy:
    """The strategy record for ``params``."""
    longs = " ".join(f"{t} {w * 100:g}" for t, w in params.longs)
    return Strategy(
        name="essay_book",
        description=f"Essay's scenario-3 book: {longs}; short {' '.join(params.shorts)} {-params.short_total * 100:g} in all",
        rebalance="monthly",
        benchmark="SPY",
        params=params,
        rule=StaticBook(params.book()),
        sleeves=held_sleeves(params.sleeves, params.book()),
    )


STRATEGY = make_strategy()
