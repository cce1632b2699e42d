"""Settings of a backtest: costs, rebalancing rule and the run configuration.

All three are frozen dataclasses validated on construction: a bad value raises
:class:`engine.errors.EngineError` with one line naming the field and how to fix it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from theses.engine.errors import EngineError
from theses.util import CALENDARS, MISSING_POLICIES

ANCHORS = ("first", "last")
EXECUTIONS = ("close", "open")


def _check_number(owner: str, name: str, value: Any, *, minimum: float = 0.0, strict: bool = False) -> None:
    """Raise EngineError unless ``value`` is a finite real number >= ``minimum`` (> when ``strict``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EngineError(f"{owner}.{name}={value!r} is not a finite number; give a number such as 0 or 10")
    if value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise EngineError(f"{owner}.{name}={value!r} must be {relation} {minimum:g}; fix the setting")


def _check_choice(owner: str, name: str, value: Any, choices: tuple[str, ...]) -> None:
    """Raise EngineError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise EngineError(f"{owner}.{name}={value!r} is unknown; use one of {', '.join(choices)}")


@dataclass(frozen=True)
class CostModel:
    """What trading and holding cost.

    Attributes
    ----------
    fees_bps : commission per side, basis points of traded notional.
    slippage_bps : price impact per side, basis points of traded notional (charged like a fee).
    borrow_bps : annual short-borrow rate in basis points of short market value, charged daily (1/252 per bar).
    cash_rate : annual interest rate (fraction, e.g. 0.04) on positive cash, credited daily (1/252 per bar).
    """

    fees_bps: float = 0.0
    slippage_bps: float = 0.0
    borrow_bps: float = 0.0
    cash_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("fees_bps", "slippage_bps", "borrow_bps", "cash_rate"):
            _check_number("CostModel", name, getattr(self, name))


@dataclass(frozen=True)
class RebalanceRule:
    """When the portfolio is traded back to its target weights.

    Attributes
    ----------
    calendar : ``none`` (trade whenever a new target row arrives), ``daily``, ``weekly``, ``monthly``,
        ``quarterly`` or ``yearly``.
    anchor : ``first`` or ``last`` trading day of each calendar period (in the price index).
    band_abs : rebalance when any ``|weight - target| > band_abs`` (None: no absolute band).
    band_rel : rebalance when any ``|weight - target| > band_rel * |target|`` (None: no relative band).
    """

    calendar: str = "none"
    anchor: str = "first"
    band_abs: float | None = None
    band_rel: float | None = None

    def __post_init__(self) -> None:
        _check_choice("RebalanceRule", "calendar", self.calendar, CALENDARS)
        _check_choice("RebalanceRule", "anchor", self.anchor, ANCHORS)
        for name in ("band_abs", "band_rel"):
            if getattr(self, name) is not None:
                _check_number("RebalanceRule", name, getattr(self, name), strict=True)


@dataclass(frozen=True)
class BacktestConfig:
    """Everything that shapes a simulation besides prices and weights.

    Attributes
    ----------
    initial_cash : starting capital in currency units (> 0).
    costs : the :class:`CostModel`.
    rebalance : the :class:`RebalanceRule`.
    missing_policy : what a target weight on an asset with no price at the execution bar does:
        ``cash`` (that slice waits in cash) or ``renormalize`` (spread over the assets that trade).
    execution : ``close`` (trade at the execution bar's close) or ``open`` (its open; needs open prices).
    max_gross : largest allowed ``sum |w|`` of a target row.
    max_net : largest allowed ``|sum w|`` of a target row.
    risk_free : annual risk-free rate (fraction) used by Sharpe, Sortino and alpha.
    periods_per_year : bars per year used to annualise (252 for daily data).
    """

    initial_cash: float = 10_000.0
    costs: CostModel = field(default_factory=CostModel)
    rebalance: RebalanceRule = field(default_factory=RebalanceRule)
    missing_policy: str = "cash"
    execution: str = "close"
    max_gross: float = 3.0
    max_net: float = 1.5
    risk_free: float = 0.0
    periods_per_year: int = 252

    def __post_init__(self) -> None:
        _check_number("BacktestConfig", "initial_cash", self.initial_cash, strict=True)
        if not isinstance(self.costs, CostModel):
            raise EngineError(f"BacktestConfig.costs={self.costs!r} is not a CostModel; pass CostModel(...)")
        if not isinstance(self.rebalance, RebalanceRule):
            raise EngineError(
                f"BacktestConfig.rebalance={self.rebalance!r} is not a RebalanceRule; pass RebalanceRule(...)"
            )
        _check_choice("BacktestConfig", "missing_policy", self.missing_policy, MISSING_POLICIES)
        _check_choice("BacktestConfig", "execution", self.execution, EXECUTIONS)
        _check_number("BacktestConfig", "max_gross", self.max_gross, strict=True)
        _check_number("BacktestConfig", "max_net", self.max_net)
        _check_number("BacktestConfig", "risk_free", self.risk_free, minimum=-1.0)
        if isinstance(self.periods_per_year, bool) or not isinstance(self.periods_per_year, int) or (
            self.periods_per_year <= 0
        ):
            raise EngineError(
                f"BacktestConfig.periods_per_year={self.periods_per_year!r} must be a positive integer such as 252"
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain nested dictionary (for results and reports)."""
        return asdict(self)
