"""Single-path backtest: prices and target weights (pandas) -> :class:`engine.result.BacktestResult`.

This module validates inputs, builds the rebalance masks, runs :func:`engine.kernels.simulate_path_nb`
and assembles frames and metrics. The simulation rules are those of ``docs/ARCHITECTURE.md``.

Window of the metrics
---------------------
The result covers the whole price index, but the metrics are computed over the *executed window*:
from the bar before the first trade (the last close before money was invested; equity there is the
initial cash) to the last bar. Benchmarks are bought and held over the same window, rebased at the
first execution bar's close, so with execution at the close and zero costs a buy-and-hold of SPY has
``total_return == SPY.close[end] / SPY.close[first execution bar] - 1`` and the same equity as the
SPY benchmark. With nothing ever traded the window is the whole index.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from theses.engine.config import BacktestConfig
from theses.engine.errors import EngineError
from theses.engine.kernel_types import SimParams
from theses.engine.result import COST_COLUMNS, TRADE_COLUMNS, BacktestResult
from theses.engine.schedule import rebalance_mask
from theses.util import interpreted_twin, prefer_interpreted

_EXPOSURE_TOLERANCE = 1e-9
#: Default of the delisting rule: a held asset without a close for this many bars in a row is closed.
DELIST_AFTER = 20


def _format_weights(row: pd.Series, limit: int = 12) -> str:
    """``{SPY: 0.6, TLT: -0.4, ...}`` of the non-zero weights of a row (at most ``limit`` shown)."""
    items = [(str(k), float(v)) for k, v in row.items() if pd.notna(v) and v != 0]
    shown = ", ".join(f"{k}: {v:.4g}" for k, v in items[:limit])
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return "{" + shown + more + "}"


def _check_prices(prices: Any, what: str = "prices") -> pd.DataFrame:
    """A float64 copy-free view of ``prices`` after checking its shape, index and values."""
    if not isinstance(prices, pd.DataFrame):
        raise EngineError(f"{what} is a {type(prices).__name__}, not a DataFrame; pass one column per ticker")
    if prices.empty:
        raise EngineError(f"{what} is empty; give at least one date and one ticker")
    if not isinstance(prices.index, pd.DatetimeIndex):
        raise EngineError(f"{what} index is not a DatetimeIndex; index the rows by trading date")
    if prices.index.tz is not None:
        raise EngineError(f"{what} index is tz-aware; make it tz-naive (index.tz_localize(None))")
    if not prices.index.is_monotonic_increasing or prices.index.has_duplicates:
        dup = prices.index[prices.index.duplicated()]
        where = f" (date {dup[0]:%Y-%m-%d} is repeated)" if len(dup) else ""
        raise EngineError(f"{what} index is not strictly ascending{where}; sort it and drop duplicate dates")
    if prices.columns.has_duplicates:
        raise EngineError(f"{what} has a repeated column {prices.columns[prices.columns.duplicated()][0]!r}")
    values = prices.to_numpy(dtype=np.float64)
    bad = ~np.isnan(values) & ~(values > 0) | np.isinf(values)
    if bad.any():
        t, i = np.argwhere(bad)[0]
        raise EngineError(
            f"{what}: {prices.columns[i]} on {prices.index[t]:%Y-%m-%d} is {float(values[t, i])!r}; "
            "prices must be positive and finite (NaN for no price)"
        )
    return prices.astype(np.float64)


def _align_weights(weights: Any, prices: pd.DataFrame) -> pd.DataFrame:
    """Weights on the price index and columns: missing dates are holds (NaN rows), missing tickers 0."""
    if isinstance(weights, pd.Series):
        raise EngineError("weights is a Series; pass a DataFrame with one column per ticker")
    if not isinstance(weights, pd.DataFrame):
        raise EngineError(f"weights is a {type(weights).__name__}, not a DataFrame; index it by date")
    unknown = [c for c in weights.columns if c not in prices.columns]
    if unknown:
        raise EngineError(
            f"weights column {unknown[0]!r} has no prices; add it to the prices or drop it from the weights"
        )
    if not isinstance(weights.index, pd.DatetimeIndex):
        raise EngineError("weights index is not a DatetimeIndex; index the weights by trading date")
    extra = weights.index.difference(prices.index)
    if len(extra):
        raise EngineError(
            f"weights date {extra[0]:%Y-%m-%d} is not a trading day of the prices; put targets on price dates"
        )
    if weights.index.has_duplicates:
        raise EngineError(f"weights date {weights.index[weights.index.duplicated()][0]:%Y-%m-%d} is repeated")
    aligned = weights.reindex(index=prices.index, columns=prices.columns).astype(np.float64)
    values = aligned.to_numpy()
    if np.isinf(values).any():
        t, i = np.argwhere(np.isinf(values))[0]
        raise EngineError(f"weights: {aligned.columns[i]} on {aligned.index[t]:%Y-%m-%d} is infinite")
    return aligned


def check_exposure(
    weights: np.ndarray, config: BacktestConfig, index: pd.DatetimeIndex, tickers: list[str] | tuple[str, ...]
) -> None:
    """Raise EngineError at the first target row over ``max_gross`` (sum |w|) or ``max_net`` (|sum w|).

    ``weights`` is ``(R, N)`` or ``(P, R, N)`` rows dated by ``index`` (NaN ignored; all-NaN rows are holds); the
    message names the
    date, the path when there are several, the exposure and limit breached, and the row's weights. A
    relative tolerance of 1e-9 absorbs rounding of the sums (:func:`engine.kernels.first_exposure_breach_nb`).
    """
    paths = weights if weights.ndim == 3 else weights[None]
    gross_limit, net_limit = exposure_limits(config)
    p, t, gross, net = kernels_for(paths.size).first_exposure_breach_nb(paths, gross_limit, net_limit)
    if p < 0:
        return
    if gross > gross_limit:
        what = f"gross exposure {gross:.4g} exceeds max_gross={config.max_gross:g}"
    else:
        what = f"net exposure {abs(net):.4g} exceeds max_net={config.max_net:g}"
    where = f" (path {p})" if paths.shape[0] > 1 else ""
    row = pd.Series(paths[p, t], index=list(tickers))
    raise EngineError(
        f"weights on {index[t]:%Y-%m-%d}{where}: {what}; weights {_format_weights(row)}; "
        "scale the row down or raise the limit in BacktestConfig"
    )


def kernels_for(work: int) -> Any:
    """``engine.kernels``, compiled, or its interpreted twin for a small job in a process without numba yet.

    The same source either way (``theses.util.interpreted_twin``): a single backtest of a few thousand bars
    runs faster as plain Python than numba's first dispatch takes (about a second), so ``theses backtest``
    starts quicker; once numba is loaded, or for larger work, the compiled kernels run.
    """
    if prefer_interpreted(work):
        return interpreted_twin("theses.engine.kernels")
    import theses.engine.kernels as kernels

    return kernels


def exposure_limits(config: BacktestConfig) -> tuple[float, float]:
    """``(gross, net)`` limits with the tolerance the kernels use."""
    return config.max_gross * (1.0 + _EXPOSURE_TOLERANCE), config.max_net * (1.0 + _EXPOSURE_TOLERANCE) + 1e-12


def check_delist_after(delist_after: int | None) -> int:
    """``delist_after`` as the kernels take it (0: never close); EngineError unless None or an integer >= 1."""
    if delist_after is None:
        return 0
    if isinstance(delist_after, bool) or not isinstance(delist_after, int | np.integer) or delist_after < 1:
        raise EngineError(f"delist_after={delist_after!r}: give a number of bars >= 1 (e.g. 20), or None to never "
                          "close a position for want of prices")
    return int(delist_after)


def sim_params(config: BacktestConfig, delist_after: int | None = DELIST_AFTER) -> SimParams:
    """The kernels' :class:`engine.kernel_types.SimParams` of a configuration and delisting rule."""
    rule = config.rebalance
    costs = config.costs
    ppy = config.periods_per_year
    gross_limit, net_limit = exposure_limits(config)
    return SimParams(
        trade_on_new_row=rule.calendar == "none",
        band_abs=float(rule.band_abs or 0.0),
        band_rel=float(rule.band_rel or 0.0),
        renormalize=config.missing_policy == "renormalize",
        fee_rate=costs.fees_bps / 1e4,
        slip_rate=costs.slippage_bps / 1e4,
        borrow_daily=costs.borrow_bps / 1e4 / ppy,
        interest_daily=costs.cash_rate / ppy,
        initial_cash=float(config.initial_cash),
        gross_limit=gross_limit,
        net_limit=net_limit,
        delist_after=check_delist_after(delist_after),
    )


def breach_error(config: BacktestConfig, date: pd.Timestamp, path: int | None = None,
                 detail: str = "") -> EngineError:
    """The error for a trade whose realised exposure (untradable holdings included) breaks the limits."""
    where = f" (path {path})" if path is not None else ""
    return EngineError(
        f"the trade on {date:%Y-%m-%d}{where} left realised exposure{detail} above max_gross={config.max_gross:g} "
        f"or max_net={config.max_net:g}: holdings without a price that day count in full; use "
        "missing_policy='renormalize', scale the weights down or raise the limits in BacktestConfig"
    )


def calendar_days(config: BacktestConfig, index: pd.DatetimeIndex) -> np.ndarray:
    """``(T,)`` bool: the calendar rebalance days of ``config``'s rule on ``index``."""
    return rebalance_mask(index, config.rebalance.calendar, config.rebalance.anchor)


def next_calendar_days(calendar: np.ndarray) -> np.ndarray:
    """``(T+1,)`` int64: for each bar, the first calendar day at or after it (``T`` when there is none)."""
    n = len(calendar)
    days = np.flatnonzero(calendar)
    return np.append(days, n)[np.searchsorted(days, np.arange(n + 1), side="left")].astype(np.int64)


def window_start(first_trade_bar: int) -> int:
    """First bar of the executed window: the bar before the first trade (0 when nothing traded)."""
    return max(int(first_trade_bar) - 1, 0)


def benchmark_curves(
    benchmarks: pd.DataFrame, first_trade_bar: int, initial_cash: float
) -> pd.DataFrame:
    """Buy-and-hold value of each benchmark, rebased to ``initial_cash`` at the first execution bar's close.

    NaN before the executed window; ``initial_cash`` from the window start until the benchmark's first
    price at or after the first execution bar; gaps are marked at the last close.
    """
    base_bar = max(int(first_trade_bar), 0)
    start = window_start(first_trade_bar)
    filled = benchmarks.ffill().to_numpy(dtype=np.float64)
    out = np.full(filled.shape, np.nan)
    for j in range(filled.shape[1]):
        col = benchmarks.iloc[base_bar:, j].to_numpy(dtype=np.float64)
        listed = np.flatnonzero(~np.isnan(col))
        if not len(listed):
            out[start:, j] = initial_cash
            continue
        first = base_bar + int(listed[0])
        out[start:first, j] = initial_cash
        out[first:, j] = initial_cash * filled[first:, j] / filled[first, j]
    return pd.DataFrame(out, index=benchmarks.index, columns=benchmarks.columns)


def invested_entry(weights: np.ndarray, turnover: np.ndarray, first_trade: int) -> int:
    """The bar of the initial entry: the first trade, or later when nothing of the first target had a price.

    A book whose every targeted ticker lists later (100% DASH before 2020-12-09) buys nothing at its first
    trade bar and sits in cash; its window starts at the first bar that buys something, so years of cash are
    not averaged into its CAGR. A first target of all cash (a trend filter that starts out) is a decision,
    and keeps its bar.
    """
    if first_trade < 0 or turnover[first_trade] > 0:
        return first_trade
    rows = np.flatnonzero(~np.isnan(weights[:first_trade]).all(axis=1))
    if not len(rows) or not np.nansum(np.abs(weights[rows[-1]])) > 0:
        return first_trade
    traded = np.flatnonzero(turnover[first_trade:] > 0)
    return first_trade + int(traded[0]) if len(traded) else first_trade


def late_listings(weights: pd.DataFrame, prices: pd.DataFrame, start: int) -> dict[str, str]:
    """Tickers given a non-zero target whose first price comes after the window's first bar -> that date."""
    targeted = weights.columns[(weights.fillna(0.0) != 0).any(axis=0).to_numpy()]
    out: dict[str, str] = {}
    for ticker in targeted:
        first = prices[ticker].first_valid_index()
        if first is not None and prices.index.get_loc(first) > start + 1:
            out[str(ticker)] = first.strftime("%Y-%m-%d")
    return out


def cost_turnover_metrics(
    costs: pd.DataFrame, turnover: pd.Series, window_equity: pd.Series, entry: int, config: BacktestConfig
) -> dict[str, float]:
    """Cost and turnover metrics over the window (see :func:`engine.metrics.cost_drag_bps` and
    :func:`engine.metrics.turnover_figures`), plus the totals over the initial cash."""
    from theses.engine.metrics import cost_drag_bps, turnover_figures

    window = turnover.reindex(window_equity.index).to_numpy()
    drag = cost_drag_bps(costs, window_equity, config.periods_per_year)
    totals = costs.loc[window_equity.index[0]:].sum(axis=0) / config.initial_cash
    n_returns = max(len(window_equity) - 1, 1)
    return {
        **turnover_figures(window, entry, config.periods_per_year),
        "cost_drag_bps": drag["total"],
        "fee_drag_bps": drag["fees"],
        "slippage_drag_bps": drag["slippage"],
        "borrow_drag_bps": drag["borrow"],
        # Kept for comparison with earlier figures: traded notional (both sides, the entry included) over
        # equity per year, and cost totals over the initial cash.
        "turnover": float(window[1:].sum() / n_returns * config.periods_per_year),
        "costs": float(totals["fees"] + totals["slippage"] + totals["borrow"]),
        "fees": float(totals["fees"]),
        "slippage": float(totals["slippage"]),
        "borrow": float(totals["borrow"]),
        "interest": float(totals["interest"]),
    }


def _performance(equity: pd.Series, bench: pd.Series | None, config: BacktestConfig) -> dict[str, Any]:
    from theses.engine.metrics import (
        performance_metrics,  # written alongside; imported here to keep import light
    )

    return dict(
        performance_metrics(
            equity,
            benchmark_equity=bench,
            risk_free=config.risk_free,
            periods_per_year=config.periods_per_year,
        )
    )


def trade_list(index: pd.DatetimeIndex, tickers: list[str], trades_a: np.ndarray, forced_a: np.ndarray,
               exec_price: np.ndarray, marks: np.ndarray, config: BacktestConfig) -> pd.DataFrame:
    """One row per fill: trades to targets at the execution price, then forced closes at the marks (no costs).

    Every non-zero change of shares is a row, however small, so positions are the running sum of the rows.
    """
    def rows(qty_a: np.ndarray, prices: np.ndarray, costly: bool) -> pd.DataFrame:
        t_idx, i_idx = np.nonzero(qty_a)
        qty = qty_a[t_idx, i_idx]
        notional = qty * prices[t_idx, i_idx]
        rate = (config.costs.fees_bps / 1e4, config.costs.slippage_bps / 1e4) if costly else (0.0, 0.0)
        return pd.DataFrame({
            "date": index[t_idx], "ticker": np.asarray(tickers, dtype=object)[i_idx], "shares": qty,
            "price": prices[t_idx, i_idx], "notional": notional, "fee": np.abs(notional) * rate[0],
            "slippage": np.abs(notional) * rate[1],
        }, columns=TRADE_COLUMNS)

    trades = rows(trades_a, exec_price, True)
    if not forced_a.any():
        return trades
    both = pd.concat([trades, rows(forced_a, marks, False)], ignore_index=True)
    return both.sort_values("date", kind="stable").reset_index(drop=True)


def event_notes(index: pd.DatetimeIndex, tickers: list[str], close: np.ndarray, forced_a: np.ndarray,
                marks: np.ndarray, equity: np.ndarray, ruin: int, delist_after: int) -> tuple[str, ...]:
    """One line per forced close: delistings (no close for ``delist_after`` bars) and the ruin."""
    notes = []
    missing = np.isnan(close)
    for t, i in zip(*np.nonzero(forced_a), strict=True):
        run = delist_after > 0 and t + 1 >= delist_after and missing[t + 1 - delist_after : t + 1, i].all()
        if run:
            quoted = np.flatnonzero(~missing[: t + 1, i])
            last = f"last {index[quoted[-1]]:%Y-%m-%d}" if len(quoted) else "never quoted"
            notes.append(f"{tickers[i]}: no close for {delist_after} bars ({last}); {-forced_a[t, i]:.6g} shares "
                         f"closed at the last close {marks[t, i]:.6g} on {index[t]:%Y-%m-%d}")
    if ruin >= 0:
        notes.append(f"ruined on {index[ruin]:%Y-%m-%d}: equity {equity[ruin]:,.2f} at or below zero; every "
                     "position closed at that day's marks, no trading after")
    return tuple(notes)


def backtest(
    prices: pd.DataFrame,
    weights: pd.DataFrame,
    config: BacktestConfig | None = None,
    *,
    open_prices: pd.DataFrame | None = None,
    benchmarks: pd.DataFrame | pd.Series | None = None,
    name: str = "",
    delist_after: int | None = DELIST_AFTER,
) -> BacktestResult:
    """Simulate target weights on one price history.

    Parameters
    ----------
    prices : adjusted closes, tz-naive ascending DatetimeIndex, one column per ticker, NaN before listing.
    weights : target weights (fractions of equity, shorts negative) on price dates and a subset of the
        price columns. A row with any number is a new target (a NaN inside it is 0); an all-NaN row, or
        a price date absent from ``weights``, means "hold". Row ``t`` is traded at bar ``t+1`` at the
        earliest (the engine applies the lag).
    config : :class:`BacktestConfig` (defaults when None).
    open_prices : opens on the same index and columns; needed for ``execution="open"``.
    benchmarks : benchmark closes (e.g. SPY, RSP columns) on the same index; each is bought and held
        over the executed window. The first column is the benchmark of the strategy's beta, alpha,
        tracking error and information ratio.
    name : strategy name stored in the result.
    delist_after : a held asset without a close for this many bars in a row is closed at its last close, with
        a note in the result (None: never; the position is then marked at its last close for good).

    Returns
    -------
    BacktestResult
        Curves over the whole index; metrics over the executed window (see the module docstring), plus
        ``turnover`` (mean per-bar turnover in the window x ``periods_per_year``), and ``costs`` (fees +
        slippage + borrow), ``fees``, ``slippage``, ``borrow``, ``interest`` as totals divided by the
        initial cash.

    Notes
    -----
    Besides the simulation rules of ``docs/ARCHITECTURE.md``: an asset is tradable at a bar when its
    execution price there is a number; an untradable holding keeps its shares and is valued at its last
    close (with ``renormalize`` it uses up part of the target gross); band checks look at tradable assets
    only; a portfolio whose value is not positive is not traded. A held asset without a close for
    ``delist_after`` bars is closed at its last close, and a book whose equity reaches zero or below is closed
    at the marks and trades no more (``ruin_date``); both leave a line in ``notes``. Trades are fractional
    shares, every one recorded however small; costs make post-trade weights differ slightly from the targets.

    Raises
    ------
    EngineError
        Bad prices or weights, an exposure-limit breach of a target row (naming the date and the weights) or
        of the realised exposure after a trade, missing opens.
    """
    config = BacktestConfig() if config is None else config
    if not isinstance(config, BacktestConfig):
        raise EngineError(f"config is a {type(config).__name__}; pass engine.BacktestConfig(...)")
    prices = _check_prices(prices)
    aligned = _align_weights(weights, prices)
    index = prices.index.rename("date")
    tickers = list(prices.columns)
    weight_values = np.ascontiguousarray(aligned.to_numpy())
    check_exposure(weight_values, config, index, tickers)
    close = np.ascontiguousarray(prices.to_numpy(dtype=np.float64))
    if config.execution == "open":
        if open_prices is None:
            raise EngineError('execution="open" needs open_prices; pass them or use execution="close"')
        opens = _check_prices(open_prices, "open_prices")
        missing = [c for c in tickers if c not in opens.columns]
        if missing or not opens.index.equals(index):
            raise EngineError(
                "open_prices must have the index and columns of prices"
                + (f" (missing {missing[0]!r})" if missing else " (dates differ)")
            )
        exec_price = np.ascontiguousarray(opens[tickers].to_numpy(dtype=np.float64))
    else:
        exec_price = close

    params = sim_params(config, delist_after)
    (equity_a, cash_a, positions_a, trades_a, forced_a, costs_a, turnover_a, first_trade, ruin,
     breach) = kernels_for(close.size).simulate_path_nb(close, exec_price, np.arange(len(index)), weight_values,
                                                        calendar_days(config, index), params)
    marks = prices.ffill().to_numpy()
    if breach >= 0:
        held = np.where(positions_a[breach] != 0.0, positions_a[breach] * marks[breach], 0.0)
        raise breach_error(config, index[breach], detail=f" (gross {np.abs(held).sum() / equity_a[breach]:.4g}, net "
                                                          f"{held.sum() / equity_a[breach]:.4g} at the close)")

    equity = pd.Series(equity_a, index=index, name="equity")
    returns = equity.pct_change().fillna(0.0).rename("returns")
    positions = pd.DataFrame(positions_a, index=index, columns=tickers)
    held = positions_a != 0.0
    values = np.where(held, positions_a * np.where(held, marks, 0.0), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        realised = values / equity_a[:, None]
    realised_weights = pd.DataFrame(realised, index=index, columns=tickers)
    turnover = pd.Series(turnover_a, index=index, name="turnover")
    costs = pd.DataFrame(costs_a, index=index, columns=COST_COLUMNS)
    trades = trade_list(index, tickers, trades_a, forced_a, exec_price, marks, config)
    notes = event_notes(index, tickers, close, forced_a, marks, equity_a, ruin, params.delist_after)

    entry = invested_entry(aligned.to_numpy(), turnover_a, first_trade)
    if benchmarks is not None:
        if isinstance(benchmarks, pd.Series):
            benchmarks = benchmarks.to_frame(name=benchmarks.name or "benchmark")
        benchmarks = _check_prices(benchmarks, "benchmarks")
        if not benchmarks.index.equals(index):
            raise EngineError("benchmarks must be on the index of prices; align them (e.g. .reindex(prices.index))")
        bench_equity = benchmark_curves(benchmarks, entry, config.initial_cash).set_axis(index)
    else:
        bench_equity = pd.DataFrame(index=index)

    start = window_start(entry)
    window_equity = equity.iloc[start:]
    first_bench = bench_equity.iloc[start:, 0] if bench_equity.shape[1] else None
    metrics = _performance(window_equity, first_bench, config)
    metrics.update(cost_turnover_metrics(costs, turnover, window_equity, entry - start if entry >= 0 else -1,
                                         config))
    benchmark_metrics = {
        str(col): _performance(bench_equity[col].iloc[start:], first_bench, config) for col in bench_equity
    }
    config_dict = config.to_dict()
    config_dict["window_start"] = index[start].strftime("%Y-%m-%d")
    config_dict["first_trade"] = index[entry].strftime("%Y-%m-%d") if entry >= 0 else None
    config_dict["late_listings"] = late_listings(aligned, prices, start)
    return BacktestResult(
        name=name,
        equity=equity,
        returns=returns,
        weights=realised_weights,
        positions=positions,
        trades=trades,
        turnover=turnover,
        costs=costs,
        metrics=metrics,
        benchmark_metrics=benchmark_metrics,
        benchmark_equity=bench_equity,
        config=config_dict,
        notes=notes,
        ruin_date=index[ruin] if ruin >= 0 else None,
    )
