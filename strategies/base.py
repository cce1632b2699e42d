"""The `Strategy` record every thesis module and every user portfolio produces.

A strategy is data (name, rebalance rule, parameters) plus a *rule* built from the combinators of
:mod:`strategies.combinators`, which gives its universe, its look-back and its target weights.
`Strategy.target_weights` is the pandas-facing entry point; `Strategy.target_weights_array` is the array
entry point used for batches of simulated paths. Both check their inputs once here, so no rule has to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from theses.strategies.combinators import Rule
from theses.strategies.errors import StrategyError
from theses.strategies.signals import check_inputs
from theses.util import CALENDARS, MISSING_POLICIES

if TYPE_CHECKING:  # pandas is imported where it is used, so listing strategies stays fast
    import pandas as pd

#: Rebalance calendars understood by the engine's ``RebalanceRule(calendar=...)`` (``theses.util.CALENDARS``).
REBALANCE_RULES: tuple[str, ...] = CALENDARS
#: Named parts of a book: (sleeve, tickers) pairs.
Sleeves = tuple[tuple[str, tuple[str, ...]], ...]
#: The sleeve of the tickers a strategy's sleeves do not name.
OTHER_SLEEVE = "other"


def held_sleeves(sleeves: Sleeves, held: Sequence[str] | Mapping[str, float]) -> Sleeves:
    """``sleeves`` restricted to the tickers in ``held`` (a sleeve left empty is dropped), for books whose
    parameters may leave a default sleeve's ticker out."""
    kept = ((name, tuple(t for t in members if t in held)) for name, members in sleeves)
    return tuple((name, members) for name, members in kept if members)


def check_sleeves(name: str, sleeves: Sleeves | Mapping[str, Sequence[str]], universe: Sequence[str]) -> Sleeves:
    """Sleeves as (name, tickers) pairs after checking every ticker is in the universe and in one sleeve only."""
    pairs = sleeves.items() if isinstance(sleeves, Mapping) else sleeves
    out: list[tuple[str, tuple[str, ...]]] = []
    seen: dict[str, str] = {}
    for sleeve, members in pairs:
        tickers = (members,) if isinstance(members, str) else tuple(str(t) for t in members)
        if not str(sleeve).strip() or not tickers or str(sleeve) == OTHER_SLEEVE:
            raise StrategyError(f"strategy {name!r}: sleeve {sleeve!r} needs a name other than {OTHER_SLEEVE!r} "
                                "and at least one ticker")
        for ticker in tickers:
            if ticker not in universe:
                raise StrategyError(f"strategy {name!r}: sleeve {sleeve!r} names {ticker}, which the strategy "
                                    f"does not hold; use tickers of {', '.join(universe)}")
            if ticker in seen:
                raise StrategyError(f"strategy {name!r}: {ticker} is in sleeves {seen[ticker]!r} and {sleeve!r}; "
                                    "put each ticker in one sleeve")
            seen[ticker] = str(sleeve)
        out.append((str(sleeve), tickers))
    return tuple(out)


@dataclass(frozen=True)
class Strategy:
    """A named portfolio rule: which rule computes its target weights, and how often to rebalance.

    Parameters
    ----------
    name : str
        Registry name (``theses backtest NAME``).
    description : str
        One line for ``theses list`` and reports.
    rebalance : str
        One of :data:`REBALANCE_RULES`.
    benchmark : str
        Ticker the strategy is compared with (usually ``"SPY"``).
    params : Any
        The module's frozen parameter dataclass (what a sweep varies; ``make_strategy(params)`` rebuilds).
    rule : Rule
        The combinator that computes the weights (see :mod:`strategies.combinators`).
    band_abs, band_rel : float or None
        Drift bands passed to the engine's rebalance rule.
    missing_policy : str
        One of :data:`MISSING_POLICIES`.
    fees_bps, slippage_bps, borrow_bps : float or None
        Cost overrides; only user TOML portfolios set them.
    sleeves : mapping or tuple of (name, tickers) pairs
        Named parts of the book (e.g. ``{"index beta": ("SPY",)}``) that reports attribute return to; each
        ticker in one sleeve at most, every ticker in the universe. Tickers in no sleeve form the sleeve
        ``"other"`` (see :meth:`sleeve_map`). Empty (the default): no attribution.

    Attributes
    ----------
    universe : tuple of str
        Tickers the strategy may hold or whose prices its signal reads (``rule.universe``).
    lookback : int
        Trading days of history the rule's signal needs before the first day it trades
        (``rule.lookback``: 0 for static books and glides, the window of a trend filter).
    """

    name: str
    description: str
    rebalance: str
    benchmark: str
    params: Any
    rule: Rule
    band_abs: float | None = None
    band_rel: float | None = None
    missing_policy: str = "cash"
    fees_bps: float | None = None
    slippage_bps: float | None = None
    borrow_bps: float | None = None
    sleeves: Sleeves | Mapping[str, Sequence[str]] = ()
    universe: tuple[str, ...] = field(init=False)
    lookback: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "universe", tuple(self.rule.universe))
        object.__setattr__(self, "lookback", int(self.rule.lookback))
        object.__setattr__(self, "sleeves", check_sleeves(self.name, self.sleeves, self.universe))
        if self.rebalance not in REBALANCE_RULES:
            raise StrategyError(
                f"strategy {self.name!r}: rebalance {self.rebalance!r} is not one of {', '.join(REBALANCE_RULES)}"
            )
        if self.missing_policy not in MISSING_POLICIES:
            raise StrategyError(
                f"strategy {self.name!r}: missing_policy {self.missing_policy!r} is not one of "
                f"{', '.join(MISSING_POLICIES)}"
            )
        if not self.universe:
            raise StrategyError(f"strategy {self.name!r}: empty universe; give it at least one ticker")

    def sleeve_map(self) -> dict[str, tuple[str, ...]]:
        """``{sleeve: tickers}``, with the universe's tickers in no sleeve as ``"other"``; {} without sleeves."""
        if not self.sleeves:
            return {}
        named = dict(self.sleeves)
        rest = tuple(t for t in self.universe if not any(t in members for members in named.values()))
        return named | ({OTHER_SLEEVE: rest} if rest else {})

    def _weights(self, prices: np.ndarray, dates: Any, tickers: Sequence[str]) -> np.ndarray:
        """The rule's weights after the one check of shapes, dates and tickers."""
        stamps = check_inputs(prices, dates, tickers)
        return self.rule.weights(prices, stamps, tickers)

    def target_weights_array(self, prices: np.ndarray, dates: Any, tickers: Sequence[str]) -> np.ndarray:
        """Target weights for a price array.

        Parameters
        ----------
        prices : ndarray
            ``(T, N)`` closes, or ``(P, T, N)`` for P paths (paths first); NaN before a ticker lists.
        dates : array-like of datetime
            The T dates of the time axis.
        tickers : sequence of str
            The N column names; must contain the whole universe (extra columns get weight 0).

        Returns
        -------
        ndarray
            ``(T, N)`` when the weights do not depend on the path, ``(P, T, N)`` when they do; either way
            broadcastable to ``prices``. Row t uses closes up to and including t; an all-NaN row means
            "no new target".
        """
        tickers = self._checked_tickers(tickers)
        return self._weights(self._float_prices(prices), dates, tickers)

    def target_rows_array(self, prices: np.ndarray, dates: Any, tickers: Sequence[str],
                          rows: Sequence[int]) -> np.ndarray | None:
        """``target_weights_array(...)[..., rows, :]`` computed on those rows only, where the rule can.

        For a book traded on calendar days without bands only the rows of its decision bars matter; a rule with
        ``weights_at`` (the trend and drawdown switches, primed or not) then skips the others. Returns None when
        the rule cannot (no ``weights_at``, or a row left out could matter): call ``target_weights_array``.
        """
        at = getattr(self.rule, "weights_at", None)
        if at is None:
            return None
        tickers = self._checked_tickers(tickers)
        stamps = check_inputs(prices, dates, tickers)
        return at(self._float_prices(prices), stamps, tickers, np.asarray(rows, dtype=np.intp))

    def target_picks(self, prices: np.ndarray, dates: Any, tickers: Sequence[str]
                     ) -> tuple[np.ndarray, np.ndarray] | None:
        """``(palette (Q, N), picks (P, T))``: ``palette[picks]`` is ``target_weights_array(...)``, where the rule
        can say so (the trend and drawdown switches between path-independent books); None otherwise.

        A switch's dense weights are ``(P, T, N)`` float64; its picks are one integer per path and day and a
        palette of a few rows, read by the engine as :class:`theses.engine.PickedRows`.
        """
        picks_of = getattr(self.rule, "picks", None)
        if picks_of is None:
            return None
        tickers = self._checked_tickers(tickers)
        stamps = check_inputs(prices, dates, tickers)
        return picks_of(self._float_prices(prices), stamps, tickers)

    def _checked_tickers(self, tickers: Sequence[str]) -> list[str]:
        """``tickers`` as strings, once the universe is known to be among them."""
        tickers = [str(t) for t in tickers]
        missing = [t for t in self.universe if t not in tickers]
        if missing:
            raise StrategyError(
                f"strategy {self.name!r} needs prices for {', '.join(missing)}; add them to the price data"
            )
        return tickers

    def _float_prices(self, prices: np.ndarray) -> np.ndarray:
        """``prices`` as float64, unless the rule takes float32 as it is (``reads_float32``)."""
        prices = np.asarray(prices)
        if prices.dtype == np.float32 and getattr(self.rule, "reads_float32", False):
            return prices
        return np.asarray(prices, dtype=float)

    def target_weights(self, prices: pd.DataFrame) -> pd.DataFrame:
        """Target weights on the price index and the strategy's universe columns.

        Parameters
        ----------
        prices : DataFrame
            Closes, DatetimeIndex ascending, one column per ticker (extra columns are ignored).

        Returns
        -------
        DataFrame
            Index = ``prices.index``, columns = ``self.universe``.
        """
        missing = [t for t in self.universe if t not in prices.columns]
        if missing:
            raise StrategyError(
                f"strategy {self.name!r} needs prices for {', '.join(missing)}; "
                f"load them too (columns given: {', '.join(map(str, prices.columns)) or 'none'})"
            )
        universe = list(self.universe)
        weights = self._weights(prices[universe].to_numpy(dtype=float), prices.index, universe)
        import pandas as pd

        return pd.DataFrame(weights, index=prices.index, columns=universe)
