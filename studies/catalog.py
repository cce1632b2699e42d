"""What the project offers: the registered strategies and the shipped scenarios, for listings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StrategyInfo:
    """One line of ``theses list``."""

    name: str
    description: str
    universe: tuple[str, ...]
    rebalance: str
    benchmark: str


def strategy_catalog() -> list[StrategyInfo]:
    """Every registered strategy, in the order of THESES.md (drift bands are shown beside the calendar)."""
    from theses.strategies import list_strategies

    out = []
    for strategy in list_strategies():
        rebalance = strategy.rebalance
        if strategy.band_abs is not None:
            rebalance += f" + band {strategy.band_abs:g}"
        out.append(StrategyInfo(strategy.name, strategy.description, tuple(strategy.universe), rebalance,
                                strategy.benchmark))
    return out


def scenario_names() -> list[str]:
    """The shipped scenarios' names."""
    from theses.data.scenario_spec import list_scenarios

    return list_scenarios()
