"""Thesis strategies: one module per thesis, user portfolios from TOML text, and the registry.

Pure functions from prices to target weights; no I/O and nothing imported from the other packages.
"""

from theses.strategies.base import MISSING_POLICIES, REBALANCE_RULES, Strategy
from theses.strategies.errors import StrategyError
from theses.strategies.registry import REGISTRY, get_strategy, list_strategies
from theses.strategies.user_portfolio import strategy_from_toml

__all__ = [
    "MISSING_POLICIES",
    "REBALANCE_RULES",
    "REGISTRY",
    "Strategy",
    "StrategyError",
    "get_strategy",
    "list_strategies",
    "strategy_from_toml",
]
