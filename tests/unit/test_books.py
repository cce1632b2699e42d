"""Several books in one pass (backtest_books_batch) against backtest_batch book by book and backtest path by path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theses.engine import (
    BacktestConfig,
    Book,
    CostModel,
    EngineError,
    RebalanceRule,
    TargetRows,
    backtest,
    backtest_batch,
    backtest_books_batch,
    concat_outcomes,
    sample_bands,
)

P, T, M = 6, 300, 9
TICKERS = [f"A{i}" for i in range(M)]


def _market(seed: int = 1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-01-01", periods=T)
    prices = 60 * np.exp(np.cumsum(rng.normal(0.0002, 0.02, (P, T, M)), axis=1))
    prices[:, :40, 7] = np.nan  # a late listing on every path
    prices[:, 120, 2] = np.nan  # a missing quote on every path
    return prices.astype(dtype), dates, rng


def _books(rng):
    """Four books over different column subsets: static, path-dependent, long/short with costs, buy-and-hold."""
    static = np.tile([0.3, 0.3, 0.2, 0.2], (T, 1))
    trend = np.full((P, T, 3), np.nan)
    trend[:, ::7] = rng.uniform(0.1, 0.5, (P, len(range(0, T, 7)), 3))  # path-dependent rows, weekly-ish
    trend[:, 0] = [0.3, 0.3, 0.3]
    long_short = np.tile([0.6, 0.5, -0.3, -0.2], (T, 1))
    hold = np.full((T, 1), np.nan)
    hold[0] = 1.0
    costs = CostModel(fees_bps=8.0, slippage_bps=2.0, borrow_bps=90.0, cash_rate=0.02)
    return [
        Book(["A0", "A1", "A2", "A3"], static, BacktestConfig(costs=CostModel(fees_bps=5.0),
                                                              rebalance=RebalanceRule("monthly")), "static"),
        Book(["A4", "A5", "A7"], trend, BacktestConfig(costs=costs, rebalance=RebalanceRule("none"),
                                                       missing_policy="renormalize"), "trend"),
        Book([2, 3, 8, 6], long_short, BacktestConfig(costs=costs, rebalance=RebalanceRule(
            "weekly", anchor="last", band_abs=0.05)), "long_short"),
        Book(["A8"], hold, BacktestConfig(), "hold"),
    ]


def _batch(prices, dates, book):
    cols = [TICKERS.index(c) if isinstance(c, str) else c for c in book.columns]
    return backtest_batch(prices[..., cols], book.weights, book.config, index=dates,
                          tickers=[TICKERS[c] for c in cols], keep_equity=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_books_equal_backtest_batch_book_by_book(dtype):
    prices, dates, rng = _market(1, dtype)
    books = _books(rng)
    outcomes = backtest_books_batch(prices, books, index=dates, tickers=TICKERS, benchmark="hold", sample_every=5)
    bench = _batch(prices, dates, books[3])
    for book, out in zip(books, outcomes, strict=True):
        ref = _batch(prices, dates, book)
        assert out.name == book.name
        assert (out.first_trade == 1).all()  # every path first trades on bar 1: the two windows agree
        np.testing.assert_array_equal(out.terminal_wealth, ref.terminal_wealth)
        np.testing.assert_array_equal(out.cagr, ref.cagr)
        np.testing.assert_array_equal(out.max_drawdown, ref.max_drawdown)
        np.testing.assert_array_equal(out.turnover, ref.turnover)
        np.testing.assert_array_equal(out.costs, ref.costs)
        np.testing.assert_array_equal(out.min_wealth, ref.equity.min(axis=1))
        np.testing.assert_array_equal(out.equity_samples, ref.equity[:, out_bars(out, dates)].astype(np.float32))
        np.testing.assert_array_equal(out.benchmark_terminal, bench.equity[:, -1] / bench.equity[:, 0])
    assert outcomes[2].borrow.min() > 0 and outcomes[1].interest.min() > 0 and outcomes[0].fees.min() > 0
    assert outcomes[3].turnover.max() < outcomes[2].turnover.min()  # the buy-and-hold trades once


def out_bars(outcome, dates):
    return dates.get_indexer(outcome.sample_index)


def test_each_path_has_its_own_window_and_chunks_do_not_matter():
    prices, dates, rng = _market(2)
    weights = np.full((P, T, 2), np.nan)
    for p in range(P):  # the first target arrives on a different bar on each path
        weights[p, 10 + 13 * p :: 21] = [0.5, 0.4]
    config = BacktestConfig(costs=CostModel(fees_bps=3.0, cash_rate=0.03), rebalance=RebalanceRule("none"))
    book = Book(["A0", "A1"], weights, config, "late")
    whole = backtest_books_batch(prices, [book], index=dates, tickers=TICKERS)[0]
    parts = [backtest_books_batch(prices[lo:hi], [book._replace(weights=weights[lo:hi])], index=dates,
                                  tickers=TICKERS)[0] for lo, hi in ((0, 2), (2, 3), (3, P))]
    merged = concat_outcomes(parts)
    for name in ("terminal_wealth", "cagr", "max_drawdown", "turnover", "costs", "equity_samples"):
        np.testing.assert_array_equal(getattr(merged, name), getattr(whole, name))
    assert len(set(whole.first_trade.tolist())) == P
    for p in range(P):  # the per-path window is that of a single backtest of the path
        single = backtest(pd.DataFrame(prices[p, :, :2], index=dates, columns=["A0", "A1"]),
                          pd.DataFrame(weights[p], index=dates, columns=["A0", "A1"]), config)
        assert whole.cagr[p] == pytest.approx(single.metrics["cagr"], rel=1e-12)
        assert whole.max_drawdown[p] == pytest.approx(single.metrics["max_drawdown"], rel=1e-12)
        assert whole.turnover[p] == pytest.approx(single.metrics["turnover"], rel=1e-12)
        # Interest is credited from bar 0 (the window starts the bar before the first trade).
        assert whole.interest[p] == pytest.approx(single.costs["interest"].sum() / 10_000, rel=1e-12)
        assert whole.window_base[p] == pytest.approx(single.equity.iloc[whole.first_trade[p] - 1] / 10_000, rel=1e-15)


def test_target_rows_equal_dense_weights():
    prices, dates, rng = _market(3)
    dense = np.full((P, T, 3), np.nan)
    month_ends = np.flatnonzero(np.diff(dates.month) != 0)
    dense[:, month_ends] = rng.uniform(0.1, 0.4, (P, len(month_ends), 3))
    dense[:, 0] = 0.3
    sparse = TargetRows.from_dense(dense)
    assert len(sparse.bars) == len(month_ends) + 1
    config = BacktestConfig(costs=CostModel(fees_bps=10.0), rebalance=RebalanceRule("monthly"))
    a, b = backtest_books_batch(prices, [Book(["A0", "A1", "A2"], dense, config, "dense"),
                                         Book(["A0", "A1", "A2"], sparse, config, "sparse")],
                                index=dates, tickers=TICKERS)
    for name in ("terminal_wealth", "cagr", "max_drawdown", "turnover", "costs", "equity_samples"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    batch = backtest_batch(prices[..., :3], sparse, config, index=dates, tickers=TICKERS[:3])
    np.testing.assert_array_equal(batch.terminal_wealth, a.terminal_wealth)


def test_sample_bands_are_exact_percentiles_of_the_samples():
    prices, dates, rng = _market(4)
    out = backtest_books_batch(prices, _books(rng)[:1], index=dates, tickers=TICKERS, sample_every=10)[0]
    assert out.sample_index[0] == dates[0] and out.sample_index[-1] == dates[-1]
    assert len(out.sample_index) == len(range(0, T, 10)) + 1
    bands = sample_bands(out)
    np.testing.assert_allclose(bands.to_numpy(), np.percentile(out.equity_samples.astype(float), [5, 25, 50, 75, 95],
                                                               axis=0).T, rtol=0, atol=0)


def test_books_refuse_bad_input_naming_the_book():
    prices, dates, rng = _market(5)
    books = _books(rng)
    with pytest.raises(EngineError, match=r"book 'x': 'ZZZ' is not one of the simulated tickers"):
        backtest_books_batch(prices, [Book(["ZZZ"], np.ones((T, 1)), None, "x")], index=dates, tickers=TICKERS)
    too_big = books[0]._replace(weights=np.tile([1.0, 1.0, 1.0, 0.5], (T, 1)))
    with pytest.raises(EngineError, match=r"book 'static': weights on 2019-01-01: gross exposure 3\.5 exceeds"):
        backtest_books_batch(prices, [too_big], index=dates, tickers=TICKERS)
    with pytest.raises(EngineError, match=r"benchmark 'SPY' is not one of the books"):
        backtest_books_batch(prices, books, index=dates, tickers=TICKERS, benchmark="SPY")
    with pytest.raises(EngineError, match=r"bars must be strictly increasing"):
        backtest_batch(prices[..., :1], TargetRows(np.array([3, 2]), np.ones((2, 1))), index=dates, tickers=["A0"])


@pytest.mark.parametrize("calendar", ["weekly", "monthly", "quarterly"])
def test_decision_bar_rows_trade_exactly_as_the_dense_array(calendar):
    """A calendar book without bands: its rows on the decision bars alone give the same results, bit for bit."""
    from theses.engine import decision_bars

    prices, dates, rng = _market(4)
    dense = rng.uniform(-0.1, 0.2, (P, T, M))  # a new, different target on every bar and path
    config = BacktestConfig(costs=CostModel(fees_bps=3, slippage_bps=2, borrow_bps=40),
                            rebalance=RebalanceRule(calendar))
    bars = decision_bars(config, dates)
    periods = dates.to_period({"weekly": "W", "monthly": "M", "quarterly": "Q"}[calendar])
    calendar_bars = np.flatnonzero(periods[1:] != periods[:-1]) + 1  # first trading day of each new period
    np.testing.assert_array_equal(bars, np.union1d([0], calendar_bars - 1))  # row t-1 for each calendar day t
    assert len(bars) < T / 4
    full = backtest_batch(prices, dense, config, index=dates, tickers=TICKERS, keep_equity=True)
    sparse = backtest_batch(prices, TargetRows(bars, dense[:, bars]), config, index=dates, tickers=TICKERS,
                            keep_equity=True)
    np.testing.assert_array_equal(sparse.equity, full.equity)
    shifted = backtest_batch(prices, TargetRows(bars[1:] + 1, dense[:, bars[1:] + 1]), config, index=dates,
                             tickers=TICKERS, keep_equity=True)
    assert np.abs(shifted.equity - full.equity).max() > 1e-6  # rows one bar late trade other targets


@pytest.mark.parametrize("rule", [RebalanceRule("none"), RebalanceRule("monthly", band_abs=0.05),
                                  RebalanceRule("monthly", band_rel=0.2)])
def test_every_row_matters_without_a_calendar_or_with_a_band(rule):
    from theses.engine import decision_bars

    assert decision_bars(BacktestConfig(rebalance=rule), pd.bdate_range("2020-01-01", periods=50)) is None


def test_hold_rows_are_dropped_and_trade_nothing():
    """All-NaN rows (holds) on every path leave the row list; a book with no row at all never trades."""
    from theses.engine.batch import target_rows

    prices, dates, rng = _market(6)
    dense = np.full((P, T, M), np.nan)
    dense[:, 0] = 1.0 / M  # buy and hold: one row, then holds
    dense[2, 150] = 0.5 / M  # a new target on one path only: a row every path keeps (NaN elsewhere: a hold)
    bars, rows = target_rows(dense, P, dates, TICKERS)
    np.testing.assert_array_equal(bars, [0, 150])
    assert np.isnan(rows[0, 1]).all() and (rows[2, 1] == 0.5 / M).all()
    config = BacktestConfig(rebalance=RebalanceRule("none"), costs=CostModel(fees_bps=5))
    full = backtest_batch(prices, dense, config, index=dates, tickers=TICKERS, keep_equity=True)
    for p in (0, 2):
        alone = backtest(pd.DataFrame(prices[p], index=dates, columns=TICKERS),
                         pd.DataFrame(dense[p], index=dates, columns=TICKERS), config)
        np.testing.assert_allclose(full.equity[p] * config.initial_cash, alone.equity.to_numpy(), rtol=1e-12)
    no_second = dense.copy()
    no_second[2, 150] = np.nan
    held = backtest_batch(prices, no_second, config, index=dates, tickers=TICKERS, keep_equity=True)
    np.testing.assert_array_equal(held.equity[:, :151], full.equity[:, :151])  # the same up to bar 150...
    assert np.abs(held.equity[2, 151:] - full.equity[2, 151:]).max() > 1e-6  # ...then path 2 trades its new target
    others = [p for p in range(P) if p != 2]
    np.testing.assert_array_equal(held.equity[others], full.equity[others])  # a NaN row there: a hold
    empty = backtest_batch(prices, np.full((T, M), np.nan), config, index=dates, tickers=TICKERS, keep_equity=True)
    np.testing.assert_array_equal(empty.equity, 1.0)


@pytest.mark.parametrize("policy", ["cash", "renormalize"])
@pytest.mark.parametrize("band", [dict(band_abs=0.04), dict(band_rel=0.12), dict(band_abs=0.05, band_rel=0.3)])
def test_band_books_in_quiet_stretches_equal_the_bar_by_bar_backtest(policy, band):
    """A band book's quiet stretches are marked four bars at a time with the band checked on each bar; crossings
    inside a group are stepped. Equal to the single-path engine, which steps every bar (rule 2(d))."""
    prices, dates, rng = _market(7)
    switch = rng.random((P, T)) < 0.01  # path-dependent regimes, switched now and then: dense rows
    state = np.cumsum(switch, axis=1) % 2 == 1
    on, off = np.array([0.5, 0.4, -0.2, 0.1]), np.array([0.2, 0.3, 0.1, 0.3])
    dense = np.where(state[..., None], on, off)
    columns = ["A0", "A1", "A7", "A3"]  # A7 lists late: its target waits (cash) or is shared (renormalize)
    config = BacktestConfig(costs=CostModel(fees_bps=4.0, slippage_bps=1.0, borrow_bps=70.0, cash_rate=0.02),
                            rebalance=RebalanceRule("quarterly", **band), missing_policy=policy)
    out = backtest_books_batch(prices, [Book(columns, dense, config, "band")], index=dates, tickers=TICKERS,
                               sample_every=1)[0]
    off_calendar_trades = 0
    quarter_starts = set(dates[np.r_[True, dates.quarter[1:] != dates.quarter[:-1]]])
    for p in range(P):
        cols = [TICKERS.index(c) for c in columns]
        single = backtest(pd.DataFrame(prices[p][:, cols], index=dates, columns=columns),
                          pd.DataFrame(dense[p], index=dates, columns=columns), config)
        np.testing.assert_allclose(out.equity_samples[p], (single.equity / 10_000).to_numpy(np.float32), rtol=1e-6)
        assert out.terminal_wealth[p] == pytest.approx(single.equity.iloc[-1] / 10_000, rel=1e-13)
        assert out.turnover[p] == pytest.approx(single.metrics["turnover"], rel=1e-12)
        assert out.fees[p] == pytest.approx(single.costs["fees"].sum() / 10_000, rel=1e-12)
        traded = pd.DatetimeIndex(single.trades["date"].unique()) if len(single.trades) else []
        off_calendar_trades += sum(d not in quarter_starts for d in traded[1:])
    assert off_calendar_trades >= 3  # bands were crossed between calendar days: the groups were undone and stepped


@pytest.mark.parametrize("policy", ["cash", "renormalize"])
def test_shared_band_book_over_a_column_subset_equals_the_bar_by_bar_backtest(policy):
    """A shared band book's rows are cut to those that change; while the first row of a quiet stretch is in
    force, its bands are checked on the held assets only (mapped to the book's columns). A weighted asset that
    lists inside a stretch (not held until then) is checked the full way, so the book buys it on that bar."""
    prices, dates, _ = _market(9)
    prices[:, 40:137, 7] = np.nan  # A7 relists on bar 137, inside a month
    columns = [2, 3, 8, 7, 6]
    rows = np.tile([0.35, -0.2, 0.25, 0.3, 0.0], (T, 1))
    rows[150:] = [0.2, -0.3, 0.4, 0.3, 0.1]
    config = BacktestConfig(costs=CostModel(fees_bps=6.0, borrow_bps=60.0, cash_rate=0.01),
                            rebalance=RebalanceRule("monthly", band_abs=0.03), missing_policy=policy)
    out = backtest_books_batch(prices, [Book(columns, rows, config, "band")], index=dates, tickers=TICKERS,
                               sample_every=1)[0]
    month_starts = set(dates[np.r_[True, dates.month[1:] != dates.month[:-1]]])
    off_calendar = 0
    for p in range(P):
        single = backtest(pd.DataFrame(prices[p][:, columns], index=dates, columns=[TICKERS[c] for c in columns]),
                          pd.DataFrame(rows, index=dates, columns=[TICKERS[c] for c in columns]), config)
        assert out.terminal_wealth[p] == pytest.approx(single.equity.iloc[-1] / 10_000, rel=1e-13)
        np.testing.assert_allclose(out.equity_samples[p], (single.equity / 10_000).to_numpy(np.float32), rtol=1e-6)
        assert out.turnover[p] == pytest.approx(single.metrics["turnover"], rel=1e-12)
        traded = pd.DatetimeIndex(single.trades["date"].unique())
        assert dates[137] in traded  # bought A7 as it relisted (its drift from the target crossed the band)
        off_calendar += sum(d not in month_starts for d in traded[1:])
    assert off_calendar >= 2 * P


def test_scan_rows_finds_holds_and_the_first_infinite_weight():
    from theses.engine.batch import rows_with_numbers, target_rows
    from theses.engine.kernels import scan_rows_nb

    rng = np.random.default_rng(5)
    rows = rng.normal(size=(4, 30, 3))
    rows[rng.random((4, 30, 3)) < 0.5] = np.nan
    rows[:, 7] = np.nan  # a hold on every path
    p, r, i, numbers = scan_rows_nb(rows)
    assert (p, r, i) == (-1, -1, -1)
    np.testing.assert_array_equal(numbers, ~np.isnan(rows).all(axis=-1).all(axis=0))
    np.testing.assert_array_equal(rows_with_numbers(rows), np.flatnonzero(numbers))
    rows[2, 11, 1] = np.inf
    rows[3, 4, 0] = -np.inf
    assert scan_rows_nb(rows)[:3] == (2, 11, 1)  # C order, as np.argwhere(np.isinf(rows))[0]
    dates = pd.bdate_range("2020-01-01", periods=30)
    with pytest.raises(EngineError, match=r"B on 2020-01-16 is infinite"):
        target_rows(rows, 4, dates, ["A", "B", "C"])


@pytest.mark.parametrize("rule", [RebalanceRule("monthly", band_abs=0.06), RebalanceRule("none"),
                                  RebalanceRule("weekly", anchor="last")])
def test_picked_rows_trade_exactly_as_their_dense_rows(rule):
    """PickedRows (a palette and one pick per path and bar) against the dense palette[picks], bit for bit:
    per-path picks with a hold row in the palette, and picks shared by every path."""
    from theses.engine import PickedRows

    prices, dates, rng = _market(8)
    palette = np.array([[0.5, 0.3, 0.2], [0.1, -0.2, 0.6], [np.nan, np.nan, np.nan], [0.3, np.nan, 0.3]])
    picks = np.where(np.cumsum(rng.random((P, T)) < 0.03, axis=1) % 2 == 1, 1, 0)
    picks[:, 0] = 0
    picks[rng.random((P, T)) < 0.05] = 2  # holds here and there
    picks[3, 200:] = 3  # a row with a NaN (weight 0) on one path
    config = BacktestConfig(costs=CostModel(fees_bps=5.0, slippage_bps=2.0, borrow_bps=60.0), rebalance=rule)
    columns = ["A0", "A4", "A7"]
    shared = picks[0]
    books = [Book(columns, PickedRows(np.arange(T), palette, picks), config, "picked"),
             Book(columns, palette[picks], config, "dense"),
             Book(columns, PickedRows(np.arange(T), palette, shared), config, "shared"),
             Book(columns, palette[shared], config, "shared dense")]
    picked, dense, one, one_dense = backtest_books_batch(prices, books, index=dates, tickers=TICKERS)
    for name in ("terminal_wealth", "cagr", "max_drawdown", "turnover", "costs", "equity_samples", "first_trade"):
        np.testing.assert_array_equal(getattr(picked, name), getattr(dense, name))
        np.testing.assert_array_equal(getattr(one, name), getattr(one_dense, name))
    assert len(np.unique(np.round(picked.terminal_wealth, 9))) == P  # the paths trade differently
    batch = backtest_batch(prices[..., [0, 4, 7]], PickedRows(np.arange(T), palette, picks), config, index=dates,
                           tickers=columns)
    np.testing.assert_array_equal(batch.terminal_wealth, picked.terminal_wealth)


def test_picked_rows_are_checked():
    from theses.engine import PickedRows

    prices, dates, _ = _market(9)
    palette = np.array([[0.5, 0.5], [2.5, 1.0]])
    picks = np.zeros((P, T), dtype=np.int64)
    config = BacktestConfig(rebalance=RebalanceRule("monthly"))

    def run(weights):
        return backtest_books_batch(prices, [Book(["A0", "A1"], weights, config, "b")], index=dates, tickers=TICKERS)

    with pytest.raises(EngineError, match=r"picks must lie in 0\.\.1"):
        run(PickedRows(np.arange(T), palette, picks + 2))
    with pytest.raises(EngineError, match="picks must be integers"):
        run(PickedRows(np.arange(T), palette, picks.astype(float)))
    with pytest.raises(EngineError, match=r"picks shape \(6, 299\) does not fit"):
        run(PickedRows(np.arange(T), palette, picks[:, 1:]))
    with pytest.raises(EngineError, match=r"palette shape \(2, 3\)"):
        run(PickedRows(np.arange(T), np.ones((2, 3)), picks))
    with pytest.raises(EngineError, match="A1 in palette row 0 is infinite"):
        run(PickedRows(np.arange(T), np.array([[0.5, np.inf]]), picks))
    breach = picks.copy()
    breach[4, 57:] = 1  # gross 3.5 > 3: the first path and date that pick the row are named
    with pytest.raises(EngineError, match=r"book 'b': weights on 2019-03-21 \(path 4\): gross exposure 3\.5"):
        run(PickedRows(np.arange(T), palette, breach))


@pytest.mark.parametrize("seed", range(4))
def test_sample_bands_equal_numpy_percentile_bit_for_bit(seed):
    """The sorted-float32 path of sample_bands against np.percentile on the float64 samples: many path counts,
    ties, the extreme percentiles, and a NaN (numpy's own path)."""
    import dataclasses

    from theses.engine.books import _linear_percentiles

    rng = np.random.default_rng(seed)
    for n in (2, 3, 4, 5, 7, 19, 20, 21, 100, 1001):
        values = rng.lognormal(0.0, 0.4, size=(n, 9)).astype(np.float32)
        if n % 2:
            values = np.round(values, 1)  # ties
        for q in ([5, 25, 50, 75, 95], [0.0, 1.0, 33.3, 50.0, 99.9, 100.0]):
            ours = _linear_percentiles(np.sort(values.T, axis=1), np.asarray(q, dtype=float))
            np.testing.assert_array_equal(ours, np.percentile(values.astype(np.float64), q, axis=0).T)
    prices, dates, _ = _market(4)
    out = backtest_books_batch(prices, _books(rng)[:1], index=dates, tickers=TICKERS, sample_every=10)[0]
    gap = out.equity_samples.copy()
    gap[2, 3] = np.nan
    bands = sample_bands(dataclasses.replace(out, equity_samples=gap)).to_numpy()
    np.testing.assert_array_equal(bands, np.percentile(gap.astype(float), [5, 25, 50, 75, 95], axis=0).T)
    assert np.isnan(bands[3]).all() and not np.isnan(bands[4]).any()


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (200, 700), (1001, 257)])
def test_sorted_by_date_is_each_dates_sort(shape):
    """sorted_by_date (dates transposed and sorted in threads, block by block) equals np.sort of the transpose."""
    from theses.engine.batch import sorted_by_date

    rng = np.random.default_rng(shape[0])
    for dtype in (np.float32, np.float64):
        values = np.round(rng.lognormal(0.0, 0.5, size=shape), 2).astype(dtype)  # ties
        ours = sorted_by_date(values)
        assert ours.dtype == dtype and ours.flags.c_contiguous
        np.testing.assert_array_equal(ours, np.sort(values.T, axis=1))
    assert not np.array_equal(ours, values.T) or shape[0] == 1  # sorting did something


def _sorted_in_child(values: np.ndarray, queue) -> None:
    from theses.engine.batch import sorted_by_date

    queue.put(sorted_by_date(values))


def test_sort_threads_are_kept_and_a_forked_child_starts_its_own():
    """The sort's threads outlive a call (one pool per process), and a child forked after they started does not
    wait on its parent's threads, which it does not have: it sorts with a pool of its own."""
    import multiprocessing

    from theses.engine import batch

    values = np.random.default_rng(3).normal(size=(50, 300))
    batch.sorted_by_date(values)
    pool = batch.sort_threads()
    assert batch.sort_threads() is pool
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("this platform cannot fork")
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_sorted_in_child, args=(values, queue))
    child.start()
    try:
        result = queue.get(timeout=60)  # a child using the parent's pool would never answer
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    np.testing.assert_array_equal(result, np.sort(values.T, axis=1))
    assert batch.sort_threads() is pool  # the parent's pool is untouched
