"""Name -> Strategy for the twelve thesis strategies, in the order of THESES.md."""

from __future__ import annotations

from types import MappingProxyType

from theses.strategies import (
    autonomy_doordash,
    bubble_watch,
    compute_buildout,
    concentration_unwind,
    essay_book,
    index_beta,
    jevons_dip,
    meta_single_pick,
    obvious_losers_short,
    platform_winners,
    semis_barbell,
    short_legacy_autos,
)
from theses.strategies.base import Strategy
from theses.strategies.errors import StrategyError
from theses.util import did_you_mean

_MODULES = (
    index_beta,
    meta_single_pick,
    platform_winners,
    autonomy_doordash,
    short_legacy_autos,
    semis_barbell,
    obvious_losers_short,
    compute_buildout,
    concentration_unwind,
    bubble_watch,
    jevons_dip,
    essay_book,
)

#: Read-only view: name -> Strategy.
REGISTRY: MappingProxyType[str, Strategy] = MappingProxyType({m.STRATEGY.name: m.STRATEGY for m in _MODULES})


def list_strategies() -> list[Strategy]:
    """Every registered strategy, in the order of THESES.md."""
    return list(REGISTRY.values())


def get_strategy(name: str) -> Strategy:
    """The registered strategy called ``name``.

    Raises
    ------
    StrategyError
        For an unknown name, suggesting the closest registered one and listing them all.
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise StrategyError(
            f"unknown strategy {name!r}; {did_you_mean(name, REGISTRY)}known strategies: {', '.join(REGISTRY)} "
            f"(or give a path to a .toml portfolio)"
        ) from None
