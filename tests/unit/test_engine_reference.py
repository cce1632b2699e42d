"""The engine against a plain-Python reference loop written from the "Simulation rules" of ARCHITECTURE.md.

The reference uses Python floats and lists, one bar and one asset at a time, and computes calendar days
from the dates itself; it shares no code with ``engine.kernels``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from theses.engine import BacktestConfig, CostModel, EngineError, RebalanceRule, backtest

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
                       fees_bps, slippage_bps, borrow_bps, cash_rate, initial_cash, delist_after=20,
                       max_gross=3.0, max_net=1.5):
    """Rules 1-9 of ARCHITECTURE.md, literally. Returns a dict of per-bar lists plus the ruin and breach bars."""
    n_bars, n = len(close), len(close[0])
    cal = reference_calendar_days(dates, calendar, anchor)
    cash = initial_cash
    shares = [0.0] * n
    last = [math.nan] * n
    stale = [0] * n
    target = None
    entered = ruined = False
    ruin_bar = breach_bar = -1
    out = {k: [] for k in ("equity", "positions", "trades", "forced", "fees", "slippage", "borrow", "interest",
                           "turnover")}
    for t in range(n_bars):
        fees = slip = borrow = interest = turn = 0.0
        trades = [0.0] * n
        forced = [0.0] * n
        new_row = False
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
        # Rule 8: delisting.
        for i in range(n):
            if not math.isnan(close[t][i]):
                stale[i] = 0
            elif not math.isnan(last[i]):
                stale[i] += 1
                if delist_after and stale[i] >= delist_after and shares[i] != 0:
                    cash += shares[i] * last[i]
                    forced[i] -= shares[i]
                    shares[i] = 0.0
        if target is not None and not ruined:
            px = exec_px[t]
            tradable = [not math.isnan(px[i]) for i in range(n)]
            value = cash + sum(shares[i] * (px[i] if tradable[i] else last[i]) for i in range(n) if shares[i] != 0)
            frozen = sum(abs(shares[i] * last[i]) for i in range(n) if shares[i] != 0 and not tradable[i])
            goal = list(target)
            if policy == "renormalize":
                g_all = sum(abs(w) for w in target)
                g_trad = sum(abs(target[i]) for i in range(n) if tradable[i])
                if frozen > 0 and value > 0:
                    g_all = max(g_all - frozen / value, 0.0)  # untradable holdings use part of the gross
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
                held = [shares[i] * (px[i] if tradable[i] else last[i]) for i in range(n) if shares[i] != 0]
                gross, net = sum(abs(v) for v in held) / value, abs(sum(held)) / value
                if breach_bar < 0 and (gross > max_gross * (1 + 1e-9) or net > max_net * (1 + 1e-9) + 1e-12):
                    breach_bar = t
        for i in range(n):
            if not math.isnan(close[t][i]):
                last[i] = close[t][i]
        equity = cash + sum(shares[i] * last[i] for i in range(n) if shares[i] != 0)
        if equity <= 0 and not ruined:  # Rule 9: ruin
            for i in range(n):
                if shares[i] != 0:
                    forced[i] -= shares[i]
                    shares[i] = 0.0
            cash = equity
            ruined = True
            ruin_bar = t
        for key, val in (("equity", equity), ("positions", list(shares)), ("trades", trades), ("forced", forced),
                         ("fees", fees), ("slippage", slip), ("borrow", borrow), ("interest", interest),
                         ("turnover", turn)):
            out[key].append(val)
    result = {k: np.array(v, dtype=float) for k, v in out.items()}
    result.update(ruin_bar=ruin_bar, breach_bar=breach_bar)
    return result


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
    # max_net 3: with policy "cash" a late-listed short's slice waits in cash, so the realised net exposure of
    # these random rows can exceed their target's 1.4 (that check has its own test).
    config = BacktestConfig(initial_cash=25_000.0, costs=costs, rebalance=RebalanceRule(**rule),
                            missing_policy=policy, execution=execution, max_net=3.0)
    result = backtest(prices, weights, config, open_prices=opens)

    exec_px = (opens if execution == "open" else prices).to_numpy().tolist()
    ref = reference_backtest(
        prices.to_numpy().tolist(), exec_px, weights.to_numpy().tolist(), prices.index,
        calendar=rule["calendar"], anchor=rule.get("anchor", "first"), band_abs=rule.get("band_abs"),
        band_rel=rule.get("band_rel"), policy=policy, fees_bps=7.0, slippage_bps=3.0, borrow_bps=80.0,
        cash_rate=0.03, initial_cash=25_000.0, max_net=3.0,
    )
    assert ref["breach_bar"] == -1 and ref["ruin_bar"] == -1
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


# --- Missing prices, delistings, ruin and tiny trades: each rule against the reference loop -----------------
def _run_both(prices, weights, config, delist_after=20, **reference_kwargs):
    result = backtest(prices, weights, config, delist_after=delist_after)
    ref = reference_backtest(
        prices.to_numpy().tolist(), prices.to_numpy().tolist(), weights.to_numpy().tolist(), prices.index,
        calendar=config.rebalance.calendar, anchor=config.rebalance.anchor, band_abs=config.rebalance.band_abs,
        band_rel=config.rebalance.band_rel, policy=config.missing_policy, fees_bps=config.costs.fees_bps,
        slippage_bps=config.costs.slippage_bps, borrow_bps=config.costs.borrow_bps, cash_rate=config.costs.cash_rate,
        initial_cash=config.initial_cash, delist_after=delist_after, max_gross=config.max_gross,
        max_net=config.max_net, **reference_kwargs)
    np.testing.assert_allclose(result.equity.to_numpy(), ref["equity"], rtol=1e-9)
    np.testing.assert_allclose(result.positions.to_numpy(), ref["positions"], rtol=1e-9, atol=1e-9)
    # Every change of shares is a row of the trade list, forced closes included.
    np.testing.assert_allclose(result.positions.diff().fillna(result.positions).to_numpy(),
                               ref["trades"] + ref["forced"], rtol=1e-9, atol=1e-12)
    per_bar = result.trades.groupby(["date", "ticker"])["shares"].sum().unstack(fill_value=0.0)
    per_bar = per_bar.reindex(index=prices.index, columns=prices.columns, fill_value=0.0)
    np.testing.assert_allclose(per_bar.to_numpy(), ref["trades"] + ref["forced"], rtol=1e-9, atol=1e-12)
    return result, ref


def _walk(n_bars: int, n: int, seed: int, vol: float = 0.01) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=n_bars)
    return pd.DataFrame(40 * np.exp(np.cumsum(rng.normal(0.0003, vol, (n_bars, n)), axis=0)), index=dates,
                        columns=[f"S{i}" for i in range(n)])


def test_renormalize_counts_held_untradable_value_in_the_scale():
    prices = _walk(120, 3, 1)
    prices.iloc[40:46, 0] = np.nan  # S0 held, no quote for six bars; a monthly rebalance falls inside
    weights = pd.DataFrame(np.tile([0.5, 0.3, 0.2], (120, 1)), index=prices.index, columns=prices.columns)
    config = BacktestConfig(costs=CostModel(fees_bps=5.0), rebalance=RebalanceRule("monthly"),
                            missing_policy="renormalize")
    result, _ = _run_both(prices, weights, config)
    bar = int(np.flatnonzero(result.turnover.to_numpy()[40:46] > 0)[0]) + 40  # the rebalance in the gap
    marks = prices.ffill().to_numpy()[bar]
    gross = np.abs(result.positions.iloc[bar].to_numpy() * marks).sum() / result.equity.iloc[bar]
    assert gross == pytest.approx(1.0, abs=2e-3)  # the frozen S0 counts: not 0.5 + 1.0 as before
    held = result.positions.iloc[bar].to_numpy() * marks / result.equity.iloc[bar]
    assert held[1] / held[2] == pytest.approx(0.3 / 0.2, rel=1e-9)  # the rest split as the targets say


def test_realised_exposure_over_the_limit_is_an_error():
    prices = _walk(60, 2, 2)
    prices.iloc[20:, 0] = np.nan  # S0's prices stop while it is held
    weights = pd.DataFrame(np.nan, index=prices.index, columns=prices.columns)
    weights.iloc[0] = [1.0, 0.0]
    weights.iloc[24] = [0.0, 1.0]  # switch to S1 while S0 cannot be sold
    config = BacktestConfig(max_gross=1.5)
    with pytest.raises(EngineError, match=r"the trade on 2021-02-08 left realised exposure \(gross 2"):
        backtest(prices, weights, config, delist_after=None)
    ref = reference_backtest(prices.to_numpy().tolist(), prices.to_numpy().tolist(), weights.to_numpy().tolist(),
                             prices.index, calendar="none", anchor="first", band_abs=None, band_rel=None,
                             policy="cash", fees_bps=0.0, slippage_bps=0.0, borrow_bps=0.0, cash_rate=0.0,
                             initial_cash=10_000.0, delist_after=None, max_gross=1.5)
    assert prices.index[ref["breach_bar"]] == pd.Timestamp("2021-02-08")
    # Renormalising leaves S1 only the gross S0 does not already use: no breach.
    _run_both(prices, weights, BacktestConfig(max_gross=1.5, missing_policy="renormalize"), delist_after=None)


def test_delisted_position_is_closed_at_its_last_close_after_n_bars():
    prices = _walk(150, 3, 3)
    prices.iloc[70:, 1] = np.nan  # S1 is delisted after bar 69
    weights = pd.DataFrame(np.tile([0.4, 0.3, 0.3], (150, 1)), index=prices.index, columns=prices.columns)
    config = BacktestConfig(costs=CostModel(fees_bps=10.0), rebalance=RebalanceRule("quarterly"))
    result, ref = _run_both(prices, weights, config, delist_after=20)
    closed = 70 + 20 - 1  # the 20th bar without a close
    assert (result.positions.iloc[closed:, 1] == 0).all() and result.positions.iloc[closed - 1, 1] > 0
    fill = result.trades[(result.trades.ticker == "S1") & (result.trades.date == prices.index[closed])]
    assert len(fill) == 1 and fill.price.iloc[0] == prices.iloc[69, 1] and fill.fee.iloc[0] == 0
    assert any(n.startswith("S1: no close for 20 bars (last 2021-04-09)") for n in result.notes)
    # Value-neutral: equity at the close-out bar is what it is when the position is kept.
    kept, _ = _run_both(prices, weights, config, delist_after=None)
    assert result.equity.iloc[closed] == pytest.approx(kept.equity.iloc[closed], rel=1e-12)
    assert (kept.positions.iloc[-1, 1] > 0) and kept.notes == ()


def test_ruined_book_stops_trading_with_finite_metrics():
    prices = _walk(200, 2, 4, vol=0.005)
    prices.iloc[80:, 0] *= np.linspace(1.0, 4.0, 120)  # the shorted S0 quadruples
    weights = pd.DataFrame(np.nan, index=prices.index, columns=prices.columns)
    weights.iloc[0] = [-1.0, 0.5]  # entered once, never rebalanced: the short grows until it eats the book
    weights.iloc[150] = [-0.5, 0.5]  # a target that would trade after the ruin
    config = BacktestConfig(costs=CostModel(fees_bps=5.0, borrow_bps=100.0), rebalance=RebalanceRule("none"))
    result, ref = _run_both(prices, weights, config)
    ruin = ref["ruin_bar"]
    assert 80 < ruin < 150 and result.ruin_date == prices.index[ruin]
    assert result.equity.iloc[ruin] <= 0 and (result.equity.iloc[ruin:] == result.equity.iloc[ruin]).all()
    assert (result.positions.iloc[ruin:] == 0).all().all()
    assert (result.trades.date <= prices.index[ruin]).all()
    assert result.notes[-1].startswith(f"ruined on {prices.index[ruin]:%Y-%m-%d}: equity")
    for key in ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "turnover"):
        assert np.isfinite(result.metrics[key]), key
    assert result.metrics["cagr"] == -1.0 and result.metrics["max_drawdown"] <= -1.0
    assert result.metrics["total_return"] == pytest.approx(result.equity.iloc[-1] / 10_000 - 1, rel=1e-12)


def test_tiny_trades_are_recorded():
    dates = pd.bdate_range("2021-01-04", periods=30)
    prices = pd.DataFrame({"A": 50.0, "B": 20.0}, index=dates)
    prices.iloc[15:, 0] = 50.0 * (1 + 1e-13)  # a move of one part in 1e13 before the second rebalance
    weights = pd.DataFrame(np.nan, index=dates, columns=["A", "B"])
    weights.iloc[[0, 19]] = [0.5, 0.5]
    result, _ = _run_both(prices, weights, BacktestConfig())
    second = result.trades[result.trades.date == dates[20]]
    assert len(second) == 2 and 0 < second.shares.abs().max() < 1e-10
