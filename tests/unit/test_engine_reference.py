"""The engine against a plain-Python reference loop written from the "Simulation rules" of ARCHITECTURE.md.

The reference uses Python floats and lists, one bar and one asset at a time, and computes calendar days
from the dates itself; it shares no code with ``engine.kernels``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from theses.engine import BacktestConfig, CostModel, RebalanceRule, backtest

PPY = 252


def reference_calendar_days(dates: pd.DatetimeIndex, calendar: str, anchor: str) -> list[bool]:
    """Calendar rebalance days, computed bar by bar from the dates."""
    def key(d: pd.Timestamp):
        if calendar == "daily":
            return d
        if calendar == "weekly":
            iso = d.isocalendar()
            return (iso[0], iso[1])
        if calendar == "monthly":
            return (d.year, d.month)
        if calendar == "quarterly":
            return (d.year, (d.month - 1) // 3)
        if calendar == "yearly":
            return d.year
        raise AssertionError(calendar)

    n = len(dates)
    if calendar == "none":
        return [False] * n
    days = []
    for t in range(n):
        if anchor == "first":
            days.append(t == 0 or key(dates[t]) != key(dates[t - 1]))
        else:
            days.append(t == n - 1 or key(dates[t]) != key(dates[t + 1]))
    return days


def reference_backtest(close, exec_px, weights, dates, *, calendar, anchor, band_abs, band_rel, policy,
                       fees_bps, slippage_bps, borrow_bps, cash_rate, initial_cash):
    """Rules 1-7 of ARCHITECTURE.md, literally. Returns a dict of per-bar lists."""
    n_bars, n = len(close), len(close[0])
    cal = reference_calendar_days(dates, calendar, anchor)
    cash = initial_cash
    shares = [0.0] * n
    last = [math.nan] * n
    target = None
    entered = False
    out = {k: [] for k in ("equity", "positions", "trades", "fees", "slippage", "borrow", "interest", "turnover")}
    for t in range(n_bars):
        fees = slip = borrow = interest = turn = 0.0
        trades = [0.0] * n
        if t >= 1:
            interest = max(cash, 0.0) * cash_rate / PPY
            cash += interest
            short_value = sum(-shares[i] * last[i] for i in range(n) if shares[i] < 0)
            borrow = short_value * borrow_bps / 1e4 / PPY
            cash -= borrow
            row = weights[t - 1]
            new_row = any(not math.isnan(w) for w in row)
            if new_row:
                target = [0.0 if math.isnan(w) else w for w in row]
            if target is not None:
                px = exec_px[t]
                tradable = [not math.isnan(px[i]) for i in range(n)]
                value = cash + sum(
                    shares[i] * (px[i] if tradable[i] else last[i]) for i in range(n) if shares[i] != 0
                )
                goal = list(target)
                if policy == "renormalize":
                    g_all = sum(abs(w) for w in target)
                    g_trad = sum(abs(target[i]) for i in range(n) if tradable[i])
                    if g_trad > 0:
                        goal = [w * g_all / g_trad for w in target]
                trade = (not entered) or cal[t] or (new_row and calendar == "none")
                if not trade and value > 0:
                    for i in range(n):
                        if not tradable[i]:
                            continue
                        drift = abs(shares[i] * px[i] / value - goal[i])
                        if band_abs is not None and drift > band_abs:
                            trade = True
                        if band_rel is not None and drift > band_rel * abs(goal[i]):
                            trade = True
                if trade and value > 0:
                    traded_value = 0.0
                    for i in range(n):
                        if not tradable[i]:
                            continue
                        new_shares = goal[i] * value / px[i]
                        qty = new_shares - shares[i]
                        trades[i] = qty
                        fees += abs(qty) * px[i] * fees_bps / 1e4
                        slip += abs(qty) * px[i] * slippage_bps / 1e4
                        cash -= qty * px[i]
                        traded_value += abs(qty * px[i])
                        shares[i] = new_shares
                    cash -= fees + slip
                    turn = traded_value / value
                    entered = True
        for i in range(n):
            if not math.isnan(close[t][i]):
                last[i] = close[t][i]
        equity = cash + sum(shares[i] * last[i] for i in range(n) if shares[i] != 0)
        for key, val in (("equity", equity), ("positions", list(shares)), ("trades", trades), ("fees", fees),
                         ("slippage", slip), ("borrow", borrow), ("interest", interest), ("turnover", turn)):
            out[key].append(val)
    return {k: np.array(v, dtype=float) for k, v in out.items()}


def random_market(seed: int, n_bars: int = 260, n: int = 6, dense: bool = False):
    """Prices with two late listings and a one-day gap, opens, and sparse long/short weight rows."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-11-18", periods=n_bars)
    tickers = [f"T{i}" for i in range(n)]
    close = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, (n_bars, n)), axis=0))
    opens = close * np.exp(rng.normal(0, 0.005, (n_bars, n)))
    close[: rng.integers(30, 120), 4] = np.nan  # late listings
    close[: rng.integers(60, 200), 5] = np.nan
    close[150, 3] = np.nan  # a gap after listing (no quote that day)
    opens[np.isnan(close)] = np.nan
    rows = rng.random(n_bars) < (1.0 if dense else 0.12)
    raw = rng.normal(0.1, 1.0, (n_bars, n))
    gross = rng.uniform(0.6, 2.2, (n_bars, 1))
    raw[rng.random((n_bars, n)) < 0.1] = np.nan  # NaN inside a row is a zero weight
    w = raw / np.nansum(np.abs(raw), axis=1, keepdims=True) * gross
    net = np.abs(np.nansum(w, axis=1, keepdims=True))
    w = np.where(net > 1.4, w * 1.4 / net, w)
    w[~rows] = np.nan
    w[5] = [0.5, 0.4, -0.3, 0.2, 0.3, 0.2]  # guarantees an early target that names the late listings
    prices = pd.DataFrame(close, index=dates, columns=tickers)
    open_prices = pd.DataFrame(opens, index=dates, columns=tickers)
    weights = pd.DataFrame(w, index=dates, columns=tickers)
    return prices, open_prices, weights


RULES = [
    dict(calendar="none"),
    dict(calendar="monthly", anchor="first"),
    dict(calendar="weekly", anchor="last", band_abs=0.03),
    dict(calendar="none", band_rel=0.15),
    dict(calendar="quarterly", anchor="last", band_abs=0.05, band_rel=0.25),
    dict(calendar="yearly", band_abs=0.02),
    dict(calendar="daily"),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("rule", RULES, ids=lambda r: "-".join(f"{k}={v}" for k, v in r.items()))
@pytest.mark.parametrize("policy", ["cash", "renormalize"])
@pytest.mark.parametrize("execution", ["close", "open"])
def test_engine_matches_reference_loop(seed, rule, policy, execution):
    prices, opens, weights = random_market(seed, dense=(seed == 3))
    costs = CostModel(fees_bps=7.0, slippage_bps=3.0, borrow_bps=80.0, cash_rate=0.03)
    config = BacktestConfig(initial_cash=25_000.0, costs=costs, rebalance=RebalanceRule(**rule),
                            missing_policy=policy, execution=execution)
    result = backtest(prices, weights, config, open_prices=opens)

    exec_px = (opens if execution == "open" else prices).to_numpy().tolist()
    ref = reference_backtest(
        prices.to_numpy().tolist(), exec_px, weights.to_numpy().tolist(), prices.index,
        calendar=rule["calendar"], anchor=rule.get("anchor", "first"), band_abs=rule.get("band_abs"),
        band_rel=rule.get("band_rel"), policy=policy, fees_bps=7.0, slippage_bps=3.0, borrow_bps=80.0,
        cash_rate=0.03, initial_cash=25_000.0,
    )
    scale = 25_000.0
    np.testing.assert_allclose(result.equity.to_numpy(), ref["equity"], rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(result.positions.to_numpy(), ref["positions"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(result.turnover.to_numpy(), ref["turnover"], rtol=1e-9, atol=1e-12)
    for col in ("fees", "slippage", "borrow", "interest"):
        np.testing.assert_allclose(result.costs[col].to_numpy(), ref[col], rtol=1e-9, atol=1e-9)
    # The trade list holds every non-zero fill of the reference, with its fee.
    ref_trades = ref["trades"]
    t_idx, i_idx = np.nonzero(ref_trades)
    assert len(result.trades) == len(t_idx)
    np.testing.assert_allclose(result.trades["shares"].to_numpy(), ref_trades[t_idx, i_idx], rtol=1e-9, atol=1e-9)
    assert result.trades["fee"].sum() == pytest.approx(ref["fees"].sum(), rel=1e-9)
    # The scenario is not degenerate: it trades more than once and holds shorts and the late listings.
    assert (ref["turnover"] > 0).sum() >= 2
    assert (ref["positions"] < 0).any()
    assert (ref["positions"][:, 4:] != 0).any()
    assert ref["borrow"].sum() > 0 and ref["interest"].sum() > 0


def test_late_listing_policies_differ_as_specified():
    """Before T4/T5 list, `cash` leaves their slice in cash; `renormalize` spreads it over what trades."""
    prices, _, weights = random_market(7)
    weights.iloc[:] = np.nan
    weights.iloc[0] = [0.2, 0.2, 0.1, 0.1, 0.2, 0.2]
    first_listed = int(np.flatnonzero(prices["T5"].notna())[0])
    assert first_listed > 3
    cash_run = backtest(prices, weights, BacktestConfig(missing_policy="cash"))
    renorm_run = backtest(prices, weights, BacktestConfig(missing_policy="renormalize"))
    t4_listed = int(np.flatnonzero(prices["T4"].notna())[0])
    bar = 1  # initial entry, before either listing
    assert bar < min(t4_listed, first_listed)
    assert cash_run.weights.iloc[bar, :4].sum() == pytest.approx(0.6, rel=1e-12)
    assert renorm_run.weights.iloc[bar, :4].sum() == pytest.approx(1.0, rel=1e-12)
    assert renorm_run.weights.iloc[bar, 0] == pytest.approx(0.2 / 0.6, rel=1e-12)
    assert (cash_run.positions.iloc[: t4_listed, 4] == 0).all()
