"""Return attribution by sleeve: how much each named part of a book added to its total return.

Definitions (one backtest result, over its executed window, from bar ``w`` = the window start):

- A ticker's profit and loss on bar t is the change in its position's value less the cash paid for its
  trades that bar: ``pnl_i,t = V_i,t - V_i,t-1 - notional_i,t`` (``V = shares x mark``, the engine's
  marks). It holds for execution at the close or the open, and for shorts (a short's value is negative).
- Costs and cash: ``interest_t - borrow_t - fees_t - slippage_t``. With the tickers' P&L it adds up to the
  change in equity: ``E_t - E_t-1 = sum_i pnl_i,t + cash_t``.
- **Linking** ("geometric cumulative contribution"): sleeve k's contribution to the return from the window
  start to bar t is its summed P&L over the starting capital, ``C_k(t) = sum_{w<s<=t} pnl_k,s / E_w``,
  which is its daily arithmetic contribution ``pnl_k,s / E_s-1`` weighted by the book's growth up to the
  day before, ``E_s-1 / E_w``. The contributions of all sleeves and of costs-and-cash add up exactly to
  the total return ``E_t / E_w - 1``, with no residual to smooth (unlike Carino's or Menchero's linking
  of arithmetic contributions, which scale each day's contributions to fit).
- A period's contribution (a calendar year): ``(C_k(end) - C_k(start)) / (1 + R(start))``, the sleeve's P&L
  in the period over the equity at its start; they add up to the period's return.

Only the result is read (its realised weights, equity, trades and costs), so a result read back from JSON
gives the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from theses.engine.errors import EngineError
from theses.engine.result import BacktestResult

COSTS_AND_CASH = "costs and cash"
TOTAL = "total"


def ticker_pnl(result: BacktestResult) -> pd.DataFrame:
    """Each ticker's profit and loss per bar, in currency (see the module docstring); the first bar is 0."""
    equity = result.equity.to_numpy(dtype=float)
    weights = result.weights.to_numpy(dtype=float)
    values = np.where(np.isfinite(weights), weights, 0.0) * equity[:, None]
    values[result.positions.to_numpy(dtype=float) == 0.0] = 0.0
    notional = np.zeros_like(values)
    trades = result.trades
    if len(trades):
        rows = result.equity.index.get_indexer(pd.DatetimeIndex(trades["date"]))
        cols = result.weights.columns.get_indexer(trades["ticker"])
        np.add.at(notional, (rows, cols), trades["notional"].to_numpy(dtype=float))
    pnl = np.zeros_like(values)
    pnl[1:] = values[1:] - values[:-1] - notional[1:]
    return pd.DataFrame(pnl, index=result.equity.index, columns=result.weights.columns)


def cash_pnl(result: BacktestResult) -> pd.Series:
    """Interest less borrow, fees and slippage per bar, in currency."""
    costs = result.costs
    return (costs["interest"] - costs["borrow"] - costs["fees"] - costs["slippage"]).rename(COSTS_AND_CASH)


def _window_start(result: BacktestResult) -> int:
    start = result.config.get("window_start")
    return int(result.equity.index.get_loc(pd.Timestamp(start))) if start else 0


def sleeve_contributions(result: BacktestResult, sleeves: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Cumulative contribution of each sleeve (and of costs and cash) to the return since the window start.

    Parameters
    ----------
    result : a single-path backtest.
    sleeves : ``{sleeve: tickers}``; every ticker of the result with a position must be in one sleeve.

    Returns
    -------
    DataFrame
        One row per bar of the executed window (0 on its first bar), one column per sleeve plus
        ``"costs and cash"``; at every bar the row sums to ``equity / equity[window start] - 1``.
    """
    pnl = ticker_pnl(result)
    owner = {t: name for name, members in sleeves.items() for t in members}
    held = pnl.columns[(result.positions != 0.0).any(axis=0).to_numpy()]
    unowned = [str(t) for t in held if t not in owner]
    if unowned:
        raise EngineError(f"sleeves of {result.name}: {', '.join(unowned)} held but in no sleeve; add them to one")
    start = _window_start(result)
    base = float(result.equity.iloc[start])
    if not base > 0:
        raise EngineError(f"{result.name}: equity at the window start is {base}; nothing to attribute")
    by_sleeve = {name: pnl[[t for t in members if t in pnl.columns]].sum(axis=1) for name, members in sleeves.items()}
    frame = pd.DataFrame(by_sleeve, index=pnl.index)
    frame[COSTS_AND_CASH] = cash_pnl(result)
    window = frame.iloc[start:].copy()
    window.iloc[0] = 0.0
    return window.cumsum() / base


def period_contributions(cumulative: pd.DataFrame, freq: str = "YE") -> pd.DataFrame:
    """Each sleeve's contribution to each period's return (rows: sleeves and ``"total"``, columns: periods).

    ``cumulative`` is :func:`sleeve_contributions`; a period's contribution is its change in cumulative
    contribution over the growth up to the period's start, so the sleeves add up to the period's return. A
    last column ``"whole window"`` holds the cumulative contributions at the end.
    """
    ends = cumulative.groupby(cumulative.index.to_period(freq[0])).tail(1)
    before = pd.concat([cumulative.iloc[:1] * 0.0, ends.iloc[:-1]])
    growth = 1.0 + before.sum(axis=1).to_numpy()[:, None]
    periods = (ends.to_numpy() - before.to_numpy()) / growth
    table = pd.DataFrame(periods.T, index=cumulative.columns, columns=[str(p) for p in ends.index.to_period(freq[0])])
    table["whole window"] = cumulative.iloc[-1].to_numpy()
    table.loc[TOTAL] = table.sum(axis=0)
    return table
