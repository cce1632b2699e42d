"""The `Strategy` record every thesis module and every user portfolio produces.

A strategy is data (name, universe, rebalance rule, parameters) plus one pure function from a price array
to a target-weights array. `Strategy.target_weights` is the pandas-facing wrapper used by the CLI;
`Strategy.target_weights_array` is the array entry point used for batches of simulated paths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from theses.strategies.errors import StrategyError

#: Rebalance calendars understood by the engine's ``RebalanceRule(calendar=...)``.
REBALANCE_RULES: tuple[str, ...] = ("none", "daily", "weekly", "monthly", "quarterly", "yearly")
#: How the engine treats a target on an asset that has no price yet.
MISSING_POLICIES: tuple[str, ...] = ("cash", "renormalize")

WeightsFn = Callable[[np.ndarray, Any, Sequence[str], Any], np.ndarray]


@dataclass(frozen=True)
class Strategy:
    """A named portfolio rule: which tickers, how often to rebalance, and how to compute target weights.

    Parameters
    ----------
    name : str
        Registry name (``theses backtest NAME``).
    description : str
        One line for ``theses list`` and reports.
    universe : tuple of str
        Tickers the strategy may hold (and whose prices its signal reads).
    rebalance : str
        One of :data:`REBALANCE_RULES`.
    benchmark : str
        Ticker the strategy is compared with (usually ``"SPY"``).
    params : Any
        The module's frozen parameter dataclass.
    weights_fn : callable
        ``(prices, dates, tickers, params) -> weights``; see :meth:`target_weights_array`.
    band_abs, band_rel : float or None
        Drift bands passed to the engine's rebalance rule.
    missing_policy : str
        One of :data:`MISSING_POLICIES`.
    fees_bps, slippage_bps, borrow_bps : float or None
        Cost overrides; only user TOML portfolios set them.
    """

    name: str
    description: str
    universe: tuple[str, ...]
    rebalance: str
    benchmark: str
    params: Any
    weights_fn: WeightsFn
    band_abs: float | None = None
    band_rel: float | None = None
    missing_policy: str = "cash"
    fees_bps: float | None = None
    slippage_bps: float | None = None
    borrow_bps: float | None = None

    def __post_init__(self) -> None:
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
        tickers = [str(t) for t in tickers]
        missing = [t for t in self.universe if t not in tickers]
        if missing:
            raise StrategyError(
                f"strategy {self.name!r} needs prices for {', '.join(missing)}; add them to the price data"
            )
        return self.weights_fn(np.asarray(prices, dtype=float), dates, tickers, self.params)

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
        values = prices[universe].to_numpy(dtype=float)
        weights = self.weights_fn(values, prices.index, universe, self.params)
        return pd.DataFrame(weights, index=prices.index, columns=universe)
