"""A plain vectorised numpy implementation of the engine's rules for a static book: the speed yardstick.

It covers the benchmark workload of ``bench_engine.py`` -- a fixed target traded on the first bar a target is
available (bar 1) and on calendar days, fees in bps of traded notional, no missing prices -- and computes what
``engine.backtest_batch`` returns: per-path terminal wealth, CAGR, maximum drawdown, turnover, costs and the
5/25/50/75/95 percentile bands of equity. Vectorised over paths, with one Python iteration per rebalance
segment: between trades every path holds fixed shares, so a segment's equity is one batched matrix product
(``prices[:, a:b] @ shares``, BLAS). It shares no code with the engine.
"""

from __future__ import annotations

import numpy as np

PERCENTILES = (5, 25, 50, 75, 95)


def static_book_reference(prices: np.ndarray, target: np.ndarray, trade_bars: np.ndarray, fee_rate: float,
                          initial_cash: float, periods_per_year: int = 252) -> dict[str, np.ndarray]:
    """The engine's outputs for ``target`` (N,) traded at ``trade_bars`` on ``prices`` (P, T, N).

    Parameters
    ----------
    prices : ``(P, T, N)`` closes, no NaN.
    target : ``(N,)`` weights (fractions of equity, shorts negative).
    trade_bars : ascending bars at which the book trades to ``target`` (the first is the initial entry).
    fee_rate : fees as a fraction of traded notional.
    initial_cash : starting cash of every path.
    periods_per_year : annualisation of CAGR and turnover.

    Returns
    -------
    dict
        ``equity (P, T)`` as a multiple of the initial cash, and per path ``terminal_wealth``, ``cagr``,
        ``max_drawdown``, ``turnover``, ``costs``; ``equity_bands (5, T)``.
    """
    n_paths, n_bars, _ = prices.shape
    equity = np.empty((n_paths, n_bars))
    cash = np.full(n_paths, float(initial_cash))
    shares = np.zeros((n_paths, prices.shape[2]))
    fees = np.zeros(n_paths)
    turnover = np.zeros(n_paths)
    ends = list(trade_bars[1:]) + [n_bars]
    equity[:, : trade_bars[0]] = initial_cash
    for start, end in zip(trade_bars, ends, strict=True):
        px = prices[:, start]
        value = cash + np.einsum("pn,pn->p", shares, px)
        new = target[None, :] * value[:, None] / px
        traded = np.abs(new - shares) * px
        fee = traded.sum(axis=1) * fee_rate
        cash = value - np.einsum("pn,pn->p", new, px) - fee
        fees += fee
        turnover += traded.sum(axis=1) / value
        shares = new
        equity[:, start:end] = cash[:, None] + np.matmul(prices[:, start:end], shares[:, :, None])[:, :, 0]
    equity /= initial_cash
    window = max(int(trade_bars[0]) - 1, 0)  # the bar before the first trade
    growth = equity[:, -1] / equity[:, window]
    years = (n_bars - 1 - window) / periods_per_year
    return {
        "equity": equity,
        "terminal_wealth": equity[:, -1],
        "cagr": np.where(growth > 0, np.abs(growth) ** (1 / years) - 1, -1.0),
        "max_drawdown": (equity[:, window:] / np.maximum.accumulate(equity[:, window:], axis=1)).min(axis=1) - 1,
        "turnover": turnover / (n_bars - 1 - window) * periods_per_year,
        "costs": fees / initial_cash,
        "equity_bands": np.percentile(equity, PERCENTILES, axis=0),
    }
