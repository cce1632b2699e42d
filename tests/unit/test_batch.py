"""The batch kernel against the single-path backtest, path by path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from theses.engine import BacktestConfig, CostModel, EngineError, RebalanceRule, backtest, backtest_batch

P, T, N = 5, 400, 7


def _panel(seed: int, dtype=np.float64):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2018-01-01", periods=T)
    tickers = [f"A{i}" for i in range(N)]
    prices = 80 * np.exp(np.cumsum(rng.normal(0.0002, 0.018, (P, T, N)), axis=1))
    prices[:, :90, 5] = np.nan  # a late listing on every path
    prices[2, :250, 6] = np.nan  # and one on a single path
    weights = np.full((P, T, N), np.nan)
    rows = rng.random(T) < 0.2
    base = rng.normal(0.05, 1.0, (T, N))
    base = base / np.abs(base).sum(axis=1, keepdims=True) * 1.4
    weights[:, rows] = base[rows] * rng.uniform(0.7, 1.0, (P, 1, 1))  # path-dependent sizes
    weights[:, 3] = [0.4, 0.3, 0.2, -0.2, -0.1, 0.2, 0.2]
    return prices.astype(dtype), weights, dates, tickers


CONFIGS = [
    BacktestConfig(costs=CostModel(fees_bps=10.0), rebalance=RebalanceRule("monthly")),
    BacktestConfig(
        initial_cash=5_000.0,
        costs=CostModel(fees_bps=5.0, slippage_bps=4.0, borrow_bps=120.0, cash_rate=0.02),
        rebalance=RebalanceRule("weekly", anchor="last", band_abs=0.04, band_rel=0.3),
        missing_policy="renormalize",
    ),
    BacktestConfig(costs=CostModel(fees_bps=2.0, borrow_bps=50.0), rebalance=RebalanceRule(band_rel=0.2)),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["monthly", "weekly-bands-renorm", "none-band"])
def test_batch_equals_single_path_backtest(config):
    prices, weights, dates, tickers = _panel(1)
    batch = backtest_batch(prices, weights, config, index=dates, tickers=tickers, keep_equity=True)
    for p in range(P):
        single = backtest(pd.DataFrame(prices[p], index=dates, columns=tickers),
                          pd.DataFrame(weights[p], index=dates, columns=tickers), config)
        # Bit for bit: the batch kernel marks quiet stretches four bars at a time with the step's arithmetic.
        np.testing.assert_array_equal(batch.equity[p], single.equity.to_numpy() / config.initial_cash)
        assert batch.turnover[p] == pytest.approx(single.metrics["turnover"], rel=1e-12)
        assert batch.costs[p] == pytest.approx(single.metrics["costs"], rel=1e-12)
        assert batch.terminal_wealth[p] == pytest.approx(single.equity.iloc[-1] / config.initial_cash, rel=1e-12)
        assert batch.cagr[p] == pytest.approx(single.metrics["cagr"], rel=1e-9)
        assert batch.max_drawdown[p] == pytest.approx(single.metrics["max_drawdown"], rel=1e-9)
    np.testing.assert_allclose(batch.equity_bands, np.percentile(batch.equity, [5, 25, 50, 75, 95], axis=0),
                               rtol=1e-14)
    assert batch.summary["paths"] == P
    assert batch.costs.min() > 0



def test_the_batch_kernel_writes_equity_into_the_callers_buffer():
    """The (P, T) equity is allocated by the caller (numpy's large allocations are reused, a kernel's are faulted
    in afresh on every call) and written in place, whatever it held before."""
    from theses.engine import batch as engine_batch
    from theses.engine.kernels import simulate_batch_nb

    prices, weights, dates, tickers = _panel(2)
    config = engine_batch.check_config(CONFIGS[1])
    bars, rows = engine_batch.target_rows(weights, P, dates, tickers)
    calendar = engine_batch.calendar_days(config, dates)
    args = (prices, prices, bars, rows, calendar, engine_batch.next_calendar_days(calendar),
            engine_batch.sim_params(config, engine_batch.DELIST_AFTER), True)
    buffer = np.full((P, T), -7.0)
    equity = simulate_batch_nb(*args, buffer)[0]
    assert np.shares_memory(equity, buffer) and not (buffer == -7.0).any()
    expected = backtest_batch(prices, weights, CONFIGS[1], index=dates, tickers=tickers, keep_equity=True).equity
    np.testing.assert_array_equal(buffer, expected)
    with pytest.raises(ValueError, match="equity must be"):
        simulate_batch_nb(*args, np.empty((P, T - 1)))

def test_shared_weights_equal_tiled_weights_and_float32_input():
    prices, weights, dates, tickers = _panel(2, dtype=np.float32)
    shared = weights[:1]
    config = CONFIGS[1]
    a = backtest_batch(prices, shared, config, index=dates, tickers=tickers, keep_equity=True)
    b = backtest_batch(prices, np.repeat(shared, P, axis=0), config, index=dates, tickers=tickers,
                       keep_equity=True)
    np.testing.assert_array_equal(a.equity, b.equity)
    d = backtest_batch(prices, np.broadcast_to(shared, (P, T, N)), config, index=dates, tickers=tickers,
                       keep_equity=True)
    np.testing.assert_array_equal(a.equity, d.equity)
    # float32 prices give exactly the float64 run on the same (widened) values.
    c = backtest_batch(prices.astype(np.float64), shared[0], config, index=dates, tickers=tickers,
                       keep_equity=True)
    np.testing.assert_allclose(a.equity, c.equity, rtol=1e-13)
    assert a.equity.dtype == np.float64
    assert a.to_dict()["summary"]["paths"] == P


def test_batch_exposure_breach_names_date_and_path():
    prices, weights, dates, tickers = _panel(3)
    weights[4, 10] = [1.0, 1.0, 1.0, 0.5, 0.0, 0.0, 0.0]
    with pytest.raises(EngineError, match=r"weights on 2018-01-15 \(path 4\): gross exposure 3\.5 exceeds max_gross=3; weights \{A0: 1, A1: 1, A2: 1, A3: 0\.5\}"):
        backtest_batch(prices, weights, BacktestConfig(), index=dates, tickers=tickers)


def test_batch_handles_delisting_and_ruin_exactly_as_single_paths():
    rng = np.random.default_rng(11)
    dates = pd.bdate_range("2020-01-01", periods=T)
    prices = 50 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (P, T, 3)), axis=1))
    prices[1, 200:, 2] = np.nan  # delisted on path 1
    prices[3, 100:, 0] *= np.linspace(1.0, 5.0, T - 100)  # the short quintuples on path 3: ruin
    weights = np.full((T, 3), np.nan)
    weights[0] = [-0.8, 0.6, 0.4]
    weights[250] = [-0.4, 0.6, 0.4]
    config = BacktestConfig(costs=CostModel(fees_bps=5.0, borrow_bps=50.0), rebalance=RebalanceRule("none"))
    tickers = ["A", "B", "C"]
    batch = backtest_batch(prices, weights, config, index=dates, tickers=tickers, keep_equity=True)
    assert batch.ruin_bar[3] > 100 and (np.delete(batch.ruin_bar, 3) == -1).all()
    for p in range(P):
        single = backtest(pd.DataFrame(prices[p], index=dates, columns=tickers),
                          pd.DataFrame(weights, index=dates, columns=tickers), config)
        np.testing.assert_array_equal(batch.equity[p], single.equity.to_numpy() / config.initial_cash)
        assert (single.ruin_date is not None) == (p == 3)
    assert np.isfinite(batch.cagr).all() and batch.cagr[3] == -1.0


def test_batch_realised_exposure_breach_names_date_and_path():
    prices, weights, dates, tickers = _panel(4)
    prices[2, 60:80, 0] = np.nan  # path 2 cannot sell A for a while
    w = np.full((T, N), np.nan)
    w[0] = [1.0, 0, 0, 0, 0, 0, 0]
    w[65] = [0, 1.0, 0, 0, 0, 0, 0]
    with pytest.raises(EngineError, match=rf"the trade on {dates[66]:%Y-%m-%d} \(path 2\) left realised exposure"):
        backtest_batch(prices, w, BacktestConfig(max_gross=1.5), index=dates, tickers=tickers)


@pytest.mark.parametrize("calendar", ["weekly", "monthly", "quarterly"])
def test_shared_rows_are_cut_to_the_ones_in_force_and_trade_the_same(calendar, monkeypatch):
    """in_force_rows keeps the first row and, per calendar day, the last row dated before it (a plain loop
    says which); the engine gives the same results bit for bit as with every row, on dense and sparse rows."""
    import theses.engine.batch as batch
    from theses.engine import TargetRows
    from theses.engine.backtest import calendar_days

    rng = np.random.default_rng(7)
    index = pd.bdate_range("2021-01-04", periods=300)
    prices = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, (6, 300, 3)), axis=1))
    config = BacktestConfig(costs=CostModel(fees_bps=5, borrow_bps=40), rebalance=RebalanceRule(calendar))
    sparse_bars = np.arange(3, 300, 7)
    sparse = TargetRows(bars=sparse_bars, rows=rng.uniform(-0.3, 0.6, (len(sparse_bars), 3)))
    dense = np.repeat(rng.uniform(-0.3, 0.6, (1, 3)), 300, axis=0) + rng.normal(0, 0.01, (300, 3))
    calendar_bars = np.flatnonzero(calendar_days(config, index))
    for weights, bars in ((dense, np.arange(300)), (sparse, sparse_bars)):
        rows = np.asarray(weights.rows if isinstance(weights, TargetRows) else weights)[None]
        kept, _ = batch.in_force_rows(bars, rows, config, index)
        expected = {bars[0]} | {max(b for b in bars if b <= t - 1) for t in calendar_bars if t >= 1 and bars[0] <= t - 1}
        assert list(kept) == sorted(expected) and len(kept) < (len(bars) if len(bars) < 300 else len(bars) / 4)
        cut = backtest_batch(prices, weights, config, index=index, tickers=["A", "B", "C"], keep_equity=True)
        with monkeypatch.context() as m:
            m.setattr(batch, "in_force_rows", lambda bars, rows, config, index: (bars, rows))
            every = backtest_batch(prices, weights, config, index=index, tickers=["A", "B", "C"], keep_equity=True)
        for key in ("equity", "turnover", "costs", "terminal_wealth", "max_drawdown"):
            np.testing.assert_array_equal(getattr(cut, key), getattr(every, key), key)
        assert every.turnover.min() > 0
    banded = BacktestConfig(rebalance=RebalanceRule(calendar, band_abs=0.05))
    for rule_config in (banded, BacktestConfig(rebalance=RebalanceRule("none"))):
        assert len(batch.in_force_rows(np.arange(300), dense[None], rule_config, index)[0]) == 300
    assert len(batch.in_force_rows(np.arange(300), np.repeat(dense[None], 2, axis=0), config, index)[0]) == 300


def _random_book(seed: int):
    """Prices with gaps (held and unheld assets), shared rows that repeat for weeks (zeros, NaN = 0, a late
    listing with a weight), and a random calendar book with or without bands, borrow, interest, renormalising."""
    rng = np.random.default_rng(seed)
    p, t, n = 4, 320, 6
    dates = pd.bdate_range("2019-01-01", periods=t)
    prices = 60 * np.exp(np.cumsum(rng.normal(0.0002, 0.02, (p, t, n)), axis=1))
    prices[:, :70, 4] = np.nan  # lists late, with a weight: not held before (the quick band check is off)
    for path in range(p):  # a held asset misses a few closes: its stretch breaks and the bars are stepped
        gap = rng.integers(30, t - 10)
        prices[path, gap:gap + rng.integers(1, 4), rng.integers(0, 3)] = np.nan
    prices[1, 200:, 5] = np.nan  # an asset without a weight stops quoting on path 1
    blocks = np.repeat(rng.integers(0, 4, t // 40 + 1), 40)[:t]
    palette = rng.uniform(-0.25, 0.45, (4, n))
    palette[:, 5] = 0.0
    palette[1, 3] = np.nan
    palette[2, 0] = -0.0
    rows = palette[blocks]
    bands = [{}, dict(band_abs=0.03), dict(band_rel=0.25), dict(band_abs=0.05, band_rel=0.4)][seed % 4]
    config = BacktestConfig(
        costs=CostModel(fees_bps=float(rng.uniform(0, 10)), borrow_bps=float(rng.choice([0.0, 80.0])),
                        cash_rate=float(rng.choice([0.0, 0.03]))),
        rebalance=RebalanceRule(["weekly", "monthly", "quarterly"][seed % 3], **bands),
        missing_policy=["cash", "renormalize"][seed % 2])
    return prices, rows, dates, [f"A{i}" for i in range(n)], config


@pytest.mark.parametrize("seed", range(8))
def test_quiet_stretches_and_kept_rows_equal_the_bar_by_bar_backtest(seed):
    """Quiet stretches (sums over the held assets, marks moved once at the end, bands checked on the held assets
    while the first row is in force) and the rows kept by in_force_rows give the single-path engine's equity
    bit for bit; the single path steps every bar and reads every row."""
    import theses.engine.batch as batch
    from theses.engine.backtest import calendar_days

    prices, rows, dates, tickers, config = _random_book(seed)
    kept, _ = batch.in_force_rows(np.arange(len(dates)), rows[None], config, dates)
    if config.rebalance.band_abs is not None or config.rebalance.band_rel is not None:
        # A plain loop: the first row and each row that is not bit for bit the one before it.
        expected = [0] + [r for r in range(1, len(rows)) if rows[r].tobytes() != rows[r - 1].tobytes()]
        assert list(kept) == expected and len(kept) < 12
    out = backtest_batch(prices, rows, config, index=dates, tickers=tickers, keep_equity=True)
    calendar = set(dates[calendar_days(config, dates)])
    trade_days = off_calendar = 0
    for path in range(len(prices)):
        single = backtest(pd.DataFrame(prices[path], index=dates, columns=tickers),
                          pd.DataFrame(rows, index=dates, columns=tickers), config)
        np.testing.assert_array_equal(out.equity[path], single.equity.to_numpy() / config.initial_cash)
        assert out.turnover[path] == pytest.approx(single.metrics["turnover"], rel=1e-12)
        assert out.costs[path] == pytest.approx(single.metrics["costs"], rel=1e-12)
        traded = pd.DatetimeIndex(single.trades["date"].unique())
        trade_days += len(traded)
        off_calendar += sum(day not in calendar for day in traded[1:])
    assert trade_days >= len(prices) * len(kept)  # every path trades on its calendar days (at least)
    banded = config.rebalance.band_abs is not None or config.rebalance.band_rel is not None
    assert (off_calendar > 0) == banded  # bands were crossed inside quiet stretches


@pytest.mark.parametrize("rule", [dict(band_abs=0.05), dict(band_rel=0.3), dict(band_abs=0.1, band_rel=0.5)])
def test_the_held_band_check_answers_as_the_full_one_on_a_band_edge(rule):
    """An asset a few units in the last place from its band's edge, the others on their targets: the quick check
    (weights as products with 1 / value) must defer to the division, and say what band_breached_nb says."""
    from theses.engine import kernels
    from theses.engine.backtest import sim_params

    rng = np.random.default_rng(5)
    params = sim_params(BacktestConfig(rebalance=RebalanceRule("monthly", **rule)))
    n = 3
    cols = np.arange(n)
    answers = []
    for _ in range(400):
        close = rng.uniform(20, 80, (1, n))
        value = float(rng.uniform(1e3, 1e6))
        target = rng.normal(0.1, 0.3, n)
        limit = min(x for x in (rule.get("band_abs"), rule.get("band_rel", 0) * abs(target[0])) if x)
        edge = target[0] + rng.choice([-1.0, 1.0]) * limit
        for _ in range(int(rng.integers(-3, 4))):
            edge = np.nextafter(edge, np.inf)
        shares = np.r_[edge, target[1:]] * value / close[0]
        held = np.empty((3, n), dtype=np.int64)
        targets = np.empty((3, n))
        n_held = kernels.held_lists_nb(cols, shares, held)
        assert kernels.band_targets_nb(target, shares, held, n_held, params, targets)
        products = shares[held[0, :n_held]] * close[0, held[1, :n_held]]
        full = kernels.band_breached_nb(close, cols, 0, target, shares, value, params)
        assert kernels.held_band_breached_nb(products[None], 0, n_held, targets, value, params) == full
        answers.append(full)
    assert 0.2 < np.mean(answers) < 0.8  # both answers, many times each: the edge is really met


@pytest.mark.parametrize("policy", ["cash", "renormalize"])
def test_the_held_band_check_answers_as_the_full_one(policy):
    """held_band_breached_nb (held assets only, targets prepared once by band_targets_nb, the weights taken as
    products with 1 / value) says what band_breached_nb says, on random books over a column subset, whenever
    band_targets_nb lets it run; and
    band_targets_nb declines when an asset with a weight is not held."""
    from theses.engine import kernels
    from theses.engine.backtest import sim_params

    rng = np.random.default_rng(21)
    n, m = 6, 9
    answers = set()
    for case in range(300):
        cols = rng.permutation(m)[:n]
        shares = np.where(rng.random(n) < 0.3, 0.0, rng.normal(0, 40, n))
        target = np.where(shares != 0.0, rng.normal(0.1, 0.3, n), rng.choice([0.0, np.nan], n))
        close = rng.uniform(20, 80, (3, m))
        close[rng.random((3, m)) < 0.1] = np.nan
        close[:, cols[shares != 0.0]] = rng.uniform(20, 80, (3, int((shares != 0.0).sum())))  # held: quoted
        rule = RebalanceRule("monthly", **[dict(band_abs=0.05), dict(band_rel=0.3), dict(band_abs=0.1, band_rel=0.5)][case % 3])
        params = sim_params(BacktestConfig(rebalance=rule, missing_policy=policy))
        held = np.empty((3, n), dtype=np.int64)
        targets = np.empty((3, n))
        n_held = kernels.held_lists_nb(cols, shares, held)
        assert list(held[0, :n_held]) == list(np.flatnonzero(shares != 0.0))
        assert list(held[1, :n_held]) == list(cols[shares != 0.0])
        assert kernels.band_targets_nb(target, shares, held, n_held, params, targets)
        for t in range(3):
            value = float(rng.choice([-5.0, 1.0, 1e4])) + float(np.nansum(shares * close[t, cols]))
            full = kernels.band_breached_nb(close, cols, t, target, shares, value, params)
            products = np.zeros((4, n))
            products[t, :n_held] = shares[held[0, :n_held]] * close[t, held[1, :n_held]]
            assert kernels.held_band_breached_nb(products, t, n_held, targets, value, params) == full
            answers.add(full)
        unheld = np.flatnonzero(shares == 0.0)
        if len(unheld):
            target[unheld[0]] = 0.2
            assert not kernels.band_targets_nb(target, shares, held, n_held, params, targets)
    assert answers == {True, False}


def _outcome_by_division(equity: np.ndarray, initial_cash: float, first_trade: int) -> tuple:
    """path_outcome_nb's figures, every bar's ratio divided out: a plain loop of the definition."""
    x = equity / initial_cash
    peak, lowest_ratio = np.nan, np.inf
    for value in x:
        if not (peak >= value) and value == value:
            peak = value
        ratio = value / peak
        if ratio < lowest_ratio:
            lowest_ratio = ratio
    start = first_trade - 1 if first_trade > 0 else 0
    drawdown = lowest_ratio - 1.0 if lowest_ratio < np.inf else np.nan
    lowest = min((v for v in x if v == v), default=np.inf)
    return x, (x[-1], x[start], drawdown, lowest)


def _outcome_of(kernels, equity: np.ndarray, initial_cash: float, first_trade: int) -> tuple:
    wealth = equity.copy()
    kernels.to_multiples_nb(wealth, initial_cash)
    return wealth, kernels.path_outcome_nb(wealth, first_trade, np.empty(0, dtype=np.int64), np.empty(0))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf / inf, as the kernel does
def test_the_path_outcome_divides_only_where_a_new_low_can_be_and_answers_as_dividing_every_bar():
    """Equity curves with new lows a few units in the last place either side of the running low (the bound's
    edge), NaN, zero, negative and infinite marks: path_outcome_nb's figures equal, bit for bit, those of a loop
    that divides every bar. Without the bound's lift (ROUNDING_LIFT = 1) the same cases give another answer."""
    from theses import util
    from theses.engine import kernels

    twin = util.interpreted_twin("theses.engine.kernels")
    rng = np.random.default_rng(8)
    cases = []
    for _ in range(4000):
        peak, later_peak = np.sort(rng.uniform(1.0, 3.0, 2))
        low = float(rng.uniform(0.3, 0.99)) * peak  # sets the running low to fl(low / peak) ...
        edge = later_peak * (low / peak)  # ... and, after a new peak, the bound's product, rounded
        for _ in range(int(rng.integers(-2, 3))):
            edge = np.nextafter(edge, np.inf)
        cases.append(np.array([1.0, peak, low, later_peak, edge, edge * 1.01]))
    for special in ([1.0, np.nan, 0.9, np.nan, 1.2, 0.0, -0.5, 2.0], [1.0, np.inf, 0.5, np.inf], [np.nan, np.nan],
                    [-1.0, -2.0, -0.5], [1.0, 0.0, 1.0, 1e-300, 1.0]):
        cases.append(np.array(special))
    lifted = []
    for equity in cases:
        for cash in (1.0, 10_000.0):  # 1: the marks are the multiples, exactly on the edge
            expected_wealth, expected = _outcome_by_division(equity * cash, cash, 2)
            for module in (kernels, twin):
                wealth, figures = _outcome_of(module, equity * cash, cash, 2)
                np.testing.assert_array_equal(wealth, expected_wealth)
                np.testing.assert_array_equal(np.array(figures), np.array(expected))
        lifted.append(_outcome_of(twin, equity, 1.0, 2)[1][2])
    try:
        twin.ROUNDING_LIFT = 1.0
        unlifted = [_outcome_of(twin, equity, 1.0, 2)[1][2] for equity in cases]
    finally:
        twin.ROUNDING_LIFT = kernels.ROUNDING_LIFT
    differ = ~((np.array(unlifted) == np.array(lifted)) | np.isnan(lifted))
    assert 0 < differ.sum() < len(cases) / 2


def test_the_batch_kernel_scales_equity_in_place_to_multiples_of_the_initial_cash():
    """simulate_batch_nb's equity is the curve divided by the initial cash (each bar's own division), and its
    outcome the path's figures from that curve."""
    from theses.engine import kernels

    prices, weights, dates, tickers = _panel(3)
    config = CONFIGS[1]
    result = backtest_batch(prices, weights, config, index=dates, tickers=tickers, keep_equity=True)
    for p in range(P):
        single = backtest(pd.DataFrame(prices[p], index=dates, columns=tickers),
                          pd.DataFrame(weights[p], index=dates, columns=tickers), config)
        curve = single.equity.to_numpy()
        np.testing.assert_array_equal(result.equity[p], curve / config.initial_cash)
    samples = np.empty(2)
    figures = kernels.path_outcome_nb(result.equity[0], 0, np.array([0, T - 1]), samples)
    np.testing.assert_array_equal(samples, result.equity[0, [0, -1]])
    assert figures[0] == result.equity[0, -1] and figures[1] == result.equity[0, 0] == 1.0
    assert figures[2] == result.max_drawdown[0] and figures[3] == result.equity[0].min()


def _tail_bars(calendar: np.ndarray, first_stretch: int) -> list[list[int]]:
    """The last 1-3 bars of each quiet stretch (a stretch: the bars after a calendar day up to the next one) that
    four-bar groups leave over, which the batch loop marks with a last group overlapping the one before."""
    days = [first_stretch - 1, *np.flatnonzero(calendar[first_stretch:]) + first_stretch, len(calendar)]
    tails = []
    for day, next_day in zip(days[:-1], days[1:], strict=True):
        start, length = day + 1, next_day - day - 1
        if length >= 4 and length % 4:
            tails.append(list(range(start + length // 4 * 4, next_day)))
    return tails


@pytest.mark.parametrize("cash_rate", [0.0, 0.03])
def test_a_ruin_or_a_missing_close_on_a_stretchs_last_bars_equals_the_bar_by_bar_backtest(cash_rate):
    """A plain monthly book ruined on the first, second or third of a stretch's left-over bars, or missing a held
    close on one of them: the batch loop's overlapping last group gives the single-path engine's equity, ruin bar
    and totals bit for bit."""
    from theses.engine.backtest import calendar_days

    n_paths, n_bars = 8, 260
    rng = np.random.default_rng(17)
    dates = pd.bdate_range("2021-01-01", periods=n_bars)
    tickers = ["S", "L1", "L2"]
    config = BacktestConfig(costs=CostModel(fees_bps=5.0, borrow_bps=80.0, cash_rate=cash_rate),
                            rebalance=RebalanceRule("monthly"))
    tails = _tail_bars(calendar_days(config, dates), 2)
    three = [tail for tail in tails if len(tail) == 3]
    assert len(three) >= 2 and {len(tail) for tail in tails} == {1, 2, 3}
    prices = 40 * np.exp(np.cumsum(rng.normal(0.0, 0.01, (n_paths, n_bars, 3)), axis=1))
    ruin_at = [three[0][0], three[0][1], three[1][2], [t for t in tails if len(t) == 1][0][0]]
    for path, bar in enumerate(ruin_at):
        prices[path, bar:, 0] *= 40.0  # the short jumps: ruin on that bar
    prices[4, three[0][1], 1] = np.nan  # a held close missing on a left-over bar
    prices[5, three[1][0] - 1, 2] = np.nan  # ... and on the bar before the left-over ones
    weights = np.tile([-0.9, 1.0, 0.9], (n_bars, 1))
    out = backtest_batch(prices, weights, config, index=dates, tickers=tickers, keep_equity=True)
    assert list(out.ruin_bar[:4]) == ruin_at and (out.ruin_bar[4:] == -1).all()
    for path in range(n_paths):
        single = backtest(pd.DataFrame(prices[path], index=dates, columns=tickers),
                          pd.DataFrame(weights, index=dates, columns=tickers), config)
        np.testing.assert_array_equal(out.equity[path], single.equity.to_numpy() / config.initial_cash)
        assert out.costs[path] == pytest.approx(single.metrics["costs"], rel=1e-13)
