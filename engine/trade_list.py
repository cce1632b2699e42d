"""Trade lists for real holdings: from what an account owns today and a strategy's target weights to orders.

Pure and array-based: the caller passes aligned arrays (one entry per ticker) of current shares, prices and
target weights plus the cash balance; nothing is read or written here.

Conventions (all stated in every output):

* ``equity`` is the account's value before trading: ``cash + sum(shares * price)``. Targets are fractions
  of this equity, shorts negative.
* A trade's ``notional`` is ``trade_shares * price``: positive means cash is spent (buy, cover), negative
  means cash comes in (sell, short). Short proceeds are credited to cash.
* The estimated fee is ``|notional| * fees_bps / 1e4`` and is paid from cash after the trades.
* Weights *after* the trades are measured on the pre-trade, pre-fee equity, so that in fractional mode
  they equal the targets (to rounding, 1e-12) whatever the fees; ``equity_after_fees`` is reported
  beside them.
* Cash after the trades never goes below the *cash floor*: 0, or the borrowing the targets themselves ask
  for when their net weight exceeds 1 (a leveraged book). When the buys cannot be funded (fees, skipped
  sells, or a negative starting balance) they are scaled down and a note says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from theses.engine.errors import EngineError

#: Basis points per unit.
BPS = 1e4
#: A fractional target within this relative distance of a whole number counts as that whole number, so
#: that float noise in ``w * equity / price`` never sells a share the account should keep.
_WHOLE_SNAP = 1e-9
#: A net target weight this close to 1 counts as fully invested (cash floor 0, not a tiny borrowing).
_NET_SNAP = 1e-9
#: In fractional mode, cash within this fraction of equity below the floor is float noise, not a shortfall.
_FLOOR_TOLERANCE = 1e-9
#: Single-share moves of the whole-share top-up at most (plus two per ticker); see ``_greedy_top_up``.
_MAX_TOP_UP_ROUNDS = 10_000
#: Buys scaled for lack of cash keep this relative margin so that rounding cannot leave cash at -1e-13.
_SCALE_MARGIN = 1e-12


@dataclass(frozen=True)
class TradeOptions:
    """How to turn targets into orders.

    Parameters
    ----------
    whole_shares : bool
        Integer positions (rounded toward zero, then topped up greedily; see :func:`build_trade_list`).
    min_trade : float
        Trades whose ``|notional|`` is below this many currency units are skipped (0 = keep all).
    band_abs : float or None
        Tickers whose ``|current weight - target weight| <= band_abs`` are not traded.
    fees_bps : float
        Estimated fee per trade, basis points of ``|notional|``.
    """

    whole_shares: bool = False
    min_trade: float = 0.0
    band_abs: float | None = None
    fees_bps: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_trade) and self.min_trade >= 0):
            raise EngineError(f"min trade {self.min_trade} must be a number >= 0 (currency units of notional)")
        if self.band_abs is not None and not (math.isfinite(self.band_abs) and self.band_abs >= 0):
            raise EngineError(f"band {self.band_abs} must be a weight >= 0, e.g. 0.02 for 2 percentage points")
        if not (math.isfinite(self.fees_bps) and 0 <= self.fees_bps < BPS):
            raise EngineError(f"fees {self.fees_bps} bps must be >= 0 and below 10000 (e.g. 1 for 0.01%)")


@dataclass(frozen=True)
class TradeList:
    """Orders that move an account from its holdings to a strategy's target weights.

    Every array has one entry per ticker, in the order of ``tickers``. Share counts are signed (shorts
    negative); ``notional`` is positive when cash is spent. Weights are fractions of ``equity`` (pre-trade,
    pre-fee).
    """

    tickers: tuple[str, ...]
    prices: np.ndarray
    current_shares: np.ndarray
    current_weights: np.ndarray
    target_weights: np.ndarray
    #: The ideal, fractional share count ``target_weight * equity / price``.
    target_shares: np.ndarray
    #: The trade before skip rules (whole shares in whole-share mode, before the greedy top-up).
    proposed_shares: np.ndarray
    trade_shares: np.ndarray
    notional: np.ndarray
    fees: np.ndarray
    shares_after: np.ndarray
    weights_after: np.ndarray
    #: ``weights_after - target_weights`` per ticker.
    weight_error: np.ndarray
    actions: tuple[str, ...]
    #: Why a trade was skipped (empty string when it was not).
    skip_reasons: tuple[str, ...]
    in_strategy: np.ndarray
    equity: float
    cash_before: float
    cash_after: float
    cash_floor: float
    total_fees: float
    gross_after: float
    net_after: float
    turnover: float
    #: Fraction of the planned buys kept (1.0 unless cash could not fund them); covers of shorts come first.
    buy_scale: float
    whole_shares: bool
    fees_bps: float
    min_trade: float
    band_abs: float | None
    notes: tuple[str, ...] = ()
    #: Fraction of the planned covers of shorts kept (1.0 unless cash could not fund even them).
    cover_scale: float = 1.0
    price_dates: tuple[Any, ...] | None = None
    cost_basis: np.ndarray | None = field(default=None)

    @property
    def equity_after_fees(self) -> float:
        """Account value right after the trades: ``equity - total_fees``."""
        return self.equity - self.total_fees

    @property
    def weight_error_total(self) -> float:
        """``sum |weights_after - target_weights|`` over tickers (the residual of rounding and skips)."""
        return float(np.abs(self.weight_error).sum())

    @property
    def skipped(self) -> np.ndarray:
        """Boolean mask of tickers whose trade was skipped."""
        return np.array([bool(reason) for reason in self.skip_reasons], dtype=bool)

    def to_frame(self) -> pd.DataFrame:
        """One row per ticker with every per-ticker figure (index = ticker)."""
        frame = pd.DataFrame(
            {
                "price": self.prices,
                "price_date": list(self.price_dates) if self.price_dates is not None else None,
                "current_shares": self.current_shares,
                "current_weight": self.current_weights,
                "target_weight": self.target_weights,
                "target_shares": self.target_shares,
                "action": list(self.actions),
                "trade_shares": self.trade_shares,
                "notional": self.notional,
                "fee": self.fees,
                "shares_after": self.shares_after,
                "weight_after": self.weights_after,
                "weight_error": self.weight_error,
                "in_strategy": self.in_strategy,
                "skip_reason": list(self.skip_reasons),
            },
            index=pd.Index(list(self.tickers), name="ticker"),
        )
        if self.price_dates is None:
            frame = frame.drop(columns="price_date")
        if self.cost_basis is not None:
            frame.insert(frame.columns.get_loc("current_weight") + 1, "cost_basis", self.cost_basis)
        return frame

    def totals(self) -> dict[str, Any]:
        """Account-level figures: equity, cash before/after, exposure after, turnover, fees, residual error."""
        return {
            "equity": self.equity,
            "cash_before": self.cash_before,
            "cash_after": self.cash_after,
            "cash_floor": self.cash_floor,
            "equity_after_fees": self.equity_after_fees,
            "gross_exposure_after": self.gross_after,
            "net_exposure_after": self.net_after,
            "turnover": self.turnover,
            "fees": self.total_fees,
            "fees_bps": self.fees_bps,
            "buy_scale": self.buy_scale,
            "cover_scale": self.cover_scale,
            "weight_error_total": self.weight_error_total,
            "whole_shares": self.whole_shares,
            "min_trade": self.min_trade,
            "band_abs": self.band_abs,
            "weights_measured_on": "equity before fees",
        }


# ------------------------------------------------------------------------------------------ helpers
def action_label(current: float, after: float) -> str:
    """Name the trade that takes a position from ``current`` to ``after`` shares.

    ``buy``/``sell`` for long positions, ``short``/``cover`` for short ones, ``sell+short`` and
    ``cover+buy`` for trades that cross zero, ``hold`` when nothing changes.
    """
    if after == current:
        return "hold"
    if after > current:
        if current >= 0:
            return "buy"
        return "cover" if after <= 0 else "cover+buy"
    if current <= 0:
        return "short"
    return "sell" if after >= 0 else "sell+short"


def cash_after_trades(cash: float, trade_shares: np.ndarray, prices: np.ndarray, fee_rate: float) -> float:
    """Cash after paying for ``trade_shares`` at ``prices`` and the fees (short proceeds are credited)."""
    notional = trade_shares * prices
    return float(cash - notional.sum() - fee_rate * np.abs(notional).sum())


def _as_vector(name: str, values: Any, n: int) -> np.ndarray:
    array = np.asarray(values, dtype=float).reshape(-1)
    if array.shape != (n,):
        raise EngineError(f"{name} has {array.size} entries for {n} tickers; pass one value per ticker")
    return array


def _list_tickers(tickers: Sequence[str], mask: np.ndarray) -> str:
    return ", ".join(t for t, bad in zip(tickers, mask, strict=True) if bad)


def _whole_targets(target_shares: np.ndarray) -> np.ndarray:
    """Round fractional targets toward zero, snapping values within float noise of a whole number."""
    nearest = np.round(target_shares)
    close = np.abs(target_shares - nearest) <= _WHOLE_SNAP * np.maximum(1.0, np.abs(target_shares))
    return np.where(close, nearest, np.trunc(target_shares))


def _greedy_top_up(
    shares: np.ndarray,
    current: np.ndarray,
    ideal: np.ndarray,
    prices: np.ndarray,
    movable: np.ndarray,
    cash: float,
    floor: float,
    fee_rate: float,
    min_trade: float,
) -> np.ndarray:
    """Move whole shares toward the ideal targets, largest weight shortfall first, while cash allows.

    A move adds or removes one share of one ticker in the direction of its ideal (fractional) target. It is
    made only when it brings the position closer to the ideal (the gap exceeds half a share), when the
    resulting trade is not below ``min_trade``, and when cash after all trades and fees stays >= ``floor``.
    Moves that bring cash in (shorting one more share) go first, since they can only make later buys
    affordable; then the ticker whose weight falls furthest short of its target gets the next share.
    """
    shares = shares.copy()
    blocked = ~movable.copy()
    # Each round moves one share or blocks a ticker; the cap makes termination certain even when cash
    # would allow millions of single-share moves (tiny prices), at the cost of leaving some cash unspent.
    for _ in range(_MAX_TOP_UP_ROUNDS + 2 * len(shares)):
        gap = ideal - shares
        candidates = (~blocked) & (np.abs(gap) > 0.5)
        if not candidates.any():
            return shares
        step = np.sign(gap)
        trade_now = shares - current
        trade_next = trade_now + step
        notional_next = np.abs(trade_next * prices)
        # A move may not create a trade smaller than the minimum (a trade of exactly zero is fine).
        too_small = (trade_next != 0) & (notional_next < min_trade)
        blocked |= candidates & too_small
        candidates &= ~too_small
        if not candidates.any():
            return shares
        cash_change = -step * prices - fee_rate * (np.abs(trade_next) - np.abs(trade_now)) * prices
        shortfall = np.abs(gap) * prices  # proportional to the weight shortfall (same equity for all)
        brings_cash = candidates & (cash_change >= 0)
        pool = brings_cash if brings_cash.any() else candidates
        order = np.argsort(-np.where(pool, shortfall, -np.inf), kind="stable")
        moved = False
        for i in order[: int(pool.sum())]:
            trial = shares.copy()
            trial[i] += step[i]
            if trial[i] == shares[i]:  # a count beyond 2**53 shares: one share is below float resolution
                blocked[i] = True
                continue
            # The exact formula used for the reported cash, so the check and the report agree.
            if cash_after_trades(cash, trial - current, prices, fee_rate) >= floor:
                shares = trial
                moved = True
                break
            blocked[i] = True  # cash only shrinks from here on among buys; this share stays unaffordable
        if not moved and pool is candidates:
            return shares
    return shares


def _fund_buys(
    current: np.ndarray,
    after: np.ndarray,
    prices: np.ndarray,
    cash: float,
    floor: float,
    fee_rate: float,
    whole_shares: bool,
) -> tuple[np.ndarray, float, float]:
    """Scale the cash-spending trades so that cash after trades and fees stays >= ``floor``.

    Covers of short positions (trades that only reduce a short) are funded first, since they reduce risk
    and close positions; the other buys (including the buy leg of a ``cover+buy``) share what is left,
    all scaled by one factor. In whole-share mode a scaled position is rounded down, never below the
    current position, so the rounding only adds cash.

    Returns
    -------
    after, cover_scale, buy_scale
    """
    trade = after - current
    spends = trade > 0
    covers = spends & (current < 0) & (after <= 0)
    buys = spends & ~covers
    cost = trade * prices * (1.0 + fee_rate)
    cover_cost = float(cost[covers].sum())
    buy_cost = float(cost[buys].sum())
    proceeds = float((-trade[~spends] * prices[~spends]).sum()) * (1.0 - fee_rate)
    available = cash + proceeds - floor
    if available >= cover_cost:
        cover_scale = 1.0
        buy_scale = min(1.0, max(0.0, (available - cover_cost) / buy_cost * (1.0 - _SCALE_MARGIN))) if buy_cost else 1.0
    else:
        buy_scale = 0.0 if buy_cost else 1.0
        cover_scale = max(0.0, available / cover_cost * (1.0 - _SCALE_MARGIN))
    scale = np.where(covers, cover_scale, np.where(buys, buy_scale, 1.0))
    scaled = current + scale * trade
    if whole_shares:
        scaled = np.maximum(np.floor(scaled), current)
    return np.where(spends, scaled, after), cover_scale, buy_scale


# ------------------------------------------------------------------------------------------ main API
def build_trade_list(
    tickers: Sequence[str],
    prices: Any,
    current_shares: Any,
    target_weights: Any,
    cash: float,
    options: TradeOptions = TradeOptions(),
    *,
    in_strategy: Any = None,
    price_dates: Sequence[Any] | None = None,
    cost_basis: Any = None,
) -> TradeList:
    """Orders that take an account from ``current_shares`` (+ ``cash``) to ``target_weights``.

    Parameters
    ----------
    tickers : sequence of str
        N tickers: the union of what is held and what the strategy holds.
    prices : array-like, shape (N,)
        Latest close of each ticker (finite, > 0 for every ticker held or targeted).
    current_shares : array-like, shape (N,)
        Shares held now, shorts negative.
    target_weights : array-like, shape (N,)
        Target fractions of equity, shorts negative; 0 for tickers to sell off.
    cash : float
        Cash balance before trading (negative = a margin loan).
    options : TradeOptions
        Whole shares, skip rules and fees.
    in_strategy : array-like of bool, shape (N,), optional
        False for held tickers the strategy does not hold (their target must be 0; they are flagged
        "not in strategy"). Default: all True.
    price_dates : sequence, optional
        The date of each price, carried to the output.
    cost_basis : array-like, shape (N,), optional
        Carried to the output (NaN where unknown); not used for sizing.

    Returns
    -------
    TradeList

    Notes
    -----
    Fractional mode: ``target_shares = w * equity / price`` and the trade is ``target - current``, so the
    weights after the trades (on pre-fee equity) equal the targets to 1e-12 unless a trade is skipped or
    buys had to be scaled.

    Whole-share mode: positions start at the fractional targets rounded toward zero (at or inside the
    target); then one share at a time is moved toward a target, largest weight shortfall first, while it
    brings that position closer to its target (the gap exceeds half a share) and cash stays above the
    floor; the rest stays in cash. The residual ``weight_error`` is reported per ticker and in total.

    Skip rules (``band_abs`` on weights, ``min_trade`` on the proposed trade's notional) leave a position
    unchanged and record why. If cash after the remaining trades and fees would fall below the cash floor,
    covers of shorts are funded first and the buys scaled down by one common factor so that it does not
    (and a note says so); only if even the covers cannot be funded are they scaled too.
    """
    tickers = tuple(str(t) for t in tickers)
    n = len(tickers)
    if n == 0:
        raise EngineError("no tickers to trade: the strategy and the holdings are both empty")
    if len(set(tickers)) != n:
        raise EngineError("a ticker appears twice in the trade inputs; give each ticker once")
    prices = _as_vector("prices", prices, n)
    current = _as_vector("current shares", current_shares, n)
    weights = _as_vector("target weights", target_weights, n)
    member = np.ones(n, dtype=bool) if in_strategy is None else np.asarray(in_strategy, dtype=bool).reshape(-1)
    if member.shape != (n,):
        raise EngineError(f"in_strategy has {member.size} entries for {n} tickers; pass one per ticker")
    basis = None if cost_basis is None else _as_vector("cost basis", cost_basis, n)
    if price_dates is not None and len(price_dates) != n:
        raise EngineError(f"price dates has {len(price_dates)} entries for {n} tickers; pass one per ticker")
    cash = float(cash)
    if not math.isfinite(cash):
        raise EngineError(f"cash {cash} is not a number; give the account's cash balance, e.g. --cash 2500")

    if not np.isfinite(current).all():
        raise EngineError(f"current shares of {_list_tickers(tickers, ~np.isfinite(current))} are not numbers")
    if not np.isfinite(weights).all():
        raise EngineError(f"target weights of {_list_tickers(tickers, ~np.isfinite(weights))} are not numbers")
    stray = ~member & (weights != 0)
    if stray.any():
        raise EngineError(f"{_list_tickers(tickers, stray)} are not in the strategy but have a target weight")
    bad_price = ~(np.isfinite(prices) & (prices > 0))
    if bad_price.any():
        raise EngineError(
            f"no usable price for {_list_tickers(tickers, bad_price)} (a price must be a positive number); "
            "check the price data or choose an earlier --as-of"
        )

    fee_rate = options.fees_bps / BPS
    market_value = current * prices
    equity = cash + float(market_value.sum())
    if not equity > 0:
        raise EngineError(
            f"account equity is {equity:.2f} (cash {cash:.2f} + holdings {market_value.sum():.2f}); "
            "weights need a positive equity: check the --cash amount and the share counts"
        )
    current_weights = market_value / equity
    ideal = weights * equity / prices
    net_target = float(weights.sum())
    # Borrowing is allowed only as far as the targets themselves ask for it (net weight above 1).
    cash_floor = 0.0 if net_target <= 1.0 + _NET_SNAP else equity * (1.0 - net_target)
    notes: list[str] = []

    planned = _whole_targets(ideal) if options.whole_shares else ideal.copy()
    # A position already at its target (to float noise) is left alone rather than traded by 1e-15 shares.
    planned = np.where(np.isclose(planned, current, rtol=1e-12, atol=0.0), current, planned)
    proposed = planned - current

    # Skip rules: the position stays as it is.
    reasons = [""] * n
    if options.band_abs is not None:
        drift = np.abs(current_weights - weights)
        for i in np.flatnonzero((drift <= options.band_abs) & (proposed != 0)):
            reasons[i] = (
                f"within band: |{current_weights[i]:.4f} - {weights[i]:.4f}| <= {options.band_abs:g}"
            )
    if options.min_trade > 0:
        small = (proposed != 0) & (np.abs(proposed * prices) < options.min_trade)
        for i in np.flatnonzero(small):
            if not reasons[i]:
                reasons[i] = f"below min trade: |{proposed[i] * prices[i]:.2f}| < {options.min_trade:g}"
    skipped = np.array([bool(r) for r in reasons], dtype=bool)
    for i in np.flatnonzero(skipped):
        verb = action_label(current[i], current[i] + proposed[i])
        reasons[i] = f"skipped {verb} {abs(proposed[i]):g} sh ({reasons[i]})"
    after = np.where(skipped, current, planned)

    # Fund the buys: if cash would end below the floor, scale buys down (covers of shorts are funded first).
    # Fractional sizing lands on the floor exactly in exact arithmetic; float noise (1e-13) below it is not a
    # funding gap. Whole shares are checked strictly: their cash must never be negative.
    tolerance = 0.0 if options.whole_shares else _FLOOR_TOLERANCE * equity
    buy_scale = cover_scale = 1.0
    if cash_after_trades(cash, after - current, prices, fee_rate) < cash_floor - tolerance:
        after, cover_scale, buy_scale = _fund_buys(
            current, after, prices, cash, cash_floor, fee_rate, options.whole_shares
        )
        if buy_scale < 1.0:
            notes.append(
                f"cash {cash:.2f} plus sales cannot fund the buys and fees: buys scaled to {buy_scale:.2%} "
                f"of plan so that cash stays >= {cash_floor:.2f}"
            )
        if cover_scale < 1.0:
            notes.append(f"covers of short positions scaled to {cover_scale:.2%} of plan for lack of cash")
        if cash_after_trades(cash, after - current, prices, fee_rate) < cash_floor - tolerance:
            notes.append(
                "cash stays below the floor even without buys: the account starts on margin; sell more to clear it"
            )

    if options.whole_shares:
        after = _greedy_top_up(
            after, current, ideal, prices, ~skipped & (weights != 0), cash, cash_floor, fee_rate, options.min_trade
        )

    trade = after - current
    notional = trade * prices
    fees = np.abs(notional) * fee_rate
    cash_after = cash_after_trades(cash, trade, prices, fee_rate)
    weights_after = after * prices / equity
    weights_after_error = weights_after - weights
    actions = tuple("skip" if skipped[i] else action_label(current[i], after[i]) for i in range(n))

    for i in np.flatnonzero(~member & (current != 0)):
        notes.append(f"{tickers[i]} is not in the strategy: {actions[i]} to close the position")
    if options.whole_shares:
        notes.append(
            "whole shares: targets rounded toward zero, then one more share where it helps most while cash "
            f"allows; residual weight error sum |w_after - w_target| = {np.abs(weights_after_error).sum():.4%}"
        )
    if np.any(after < 0):
        notes.append("short sale proceeds are credited to cash")

    return TradeList(
        tickers=tickers,
        prices=prices,
        current_shares=current,
        current_weights=current_weights,
        target_weights=weights,
        target_shares=ideal,
        proposed_shares=proposed,
        trade_shares=trade,
        notional=notional,
        fees=fees,
        shares_after=after,
        weights_after=weights_after,
        weight_error=weights_after_error,
        actions=actions,
        skip_reasons=tuple(reasons),
        in_strategy=member,
        equity=equity,
        cash_before=cash,
        cash_after=cash_after,
        cash_floor=cash_floor,
        total_fees=float(fees.sum()),
        gross_after=float(np.abs(weights_after).sum()),
        net_after=float(weights_after.sum()),
        turnover=float(np.abs(notional).sum() / equity),
        buy_scale=buy_scale,
        cover_scale=cover_scale,
        whole_shares=options.whole_shares,
        fees_bps=options.fees_bps,
        min_trade=options.min_trade,
        band_abs=options.band_abs,
        notes=tuple(notes),
        price_dates=None if price_dates is None else tuple(price_dates),
        cost_basis=basis,
    )
