"""Thesis strategies: one module per thesis, user portfolios from TOML text, and the registry.

Every strategy is a :class:`Strategy` around a rule built from the combinators of
:mod:`strategies.combinators` (static book, glide, hedged short, trend filter, drawdown switch). Pure functions from prices
to target weights; no I/O and nothing imported from the other packages but ``theses.util``.
"""

from theses.strategies.base import MISSING_POLICIES, REBALANCE_RULES, Strategy
from theses.strategies.combinators import (
    DrawdownSwitch,
    Glide,
    HedgedShort,
    ListedEqualWeight,
    Rule,
    StaticBook,
    TrendFilter,
)
from theses.strategies.errors import StrategyError
from theses.strategies.registry import REGISTRY, get_strategy, list_strategies
from theses.strategies.user_portfolio import strategy_from_toml

__all__ = [
    "MISSING_POLICIES",
    "REBALANCE_RULES",
    "REGISTRY",
    "DrawdownSwitch",
    "Glide",
    "HedgedShort",
    "ListedEqualWeight",
    "Rule",
    "StaticBook",
    "Strategy",
    "StrategyError",
    "TrendFilter",
    "get_strategy",
    "list_strategies",
    "strategy_from_toml",
]
