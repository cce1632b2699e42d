"""The scenario study's one-pass evaluation against the book-by-book batch backtest it replaced."""

from __future__ import annotations

import numpy as np
import pytest

from theses.engine import PickedRows
from theses.studies.scenarios import (
    BEAT_BENCHMARK,
    benchmark_terminal,
    book_weights,
    path_source,
    plan_chunks,
    resolve_scenarios,
    run_book,
    run_books,
    run_chunk,
    simulate,
)
from theses.studies.settings import DEFAULT_SETTINGS


@pytest.fixture(scope="module")
def chunk():
    specs = resolve_scenarios("jetsons")
    source = path_source(specs, years=1.0, seed=3)
    books = run_books(None)
    return specs[0], source, books, source.generator(specs[0]).generate(0, 150)


def test_book_weights_equal_the_strategy_on_the_whole_chunk(chunk):
    spec, source, books, prices = chunk
    tickers = list(spec.tickers)
    for book in books:
        columns = [tickers.index(t) for t in book.universe]
        direct = book.target_weights_array(prices[:, :, columns], source.index, list(book.universe))
        ours = book_weights(book, prices, tickers, source.index, slice_paths=64)
        if isinstance(ours, PickedRows):  # a switch book: a few shared rows, one pick per path and day
            assert direct.ndim == 3 and len(ours.palette) <= 4 and ours.picks.shape == direct.shape[:2], book.name
            np.testing.assert_array_equal(ours.bars, np.arange(len(source.index)))
            ours = ours.palette[ours.picks]
        shape = (len(prices), *direct.shape[-2:])
        np.testing.assert_array_equal(np.broadcast_to(ours, shape), np.broadcast_to(direct, shape), book.name)
        assert ours.ndim == direct.ndim, book.name  # shared weights stay one panel


def test_one_pass_equals_each_book_backtested_alone(chunk):
    spec, source, books, prices = chunk
    configs = {b.name: DEFAULT_SETTINGS.config_for(b) for b in books}
    task = plan_chunks([spec], 150, 150)[0]
    outcomes = run_chunk(task, books, configs, source)
    spy = run_book(next(b for b in books if b.name == BEAT_BENCHMARK), prices, spec.tickers, source.index,
                   configs[BEAT_BENCHMARK], keep_equity=True)
    for book in books:
        alone = run_book(book, prices, spec.tickers, source.index, configs[book.name])
        out = outcomes[book.name]
        for key in ("terminal_wealth", "cagr", "max_drawdown", "turnover", "costs"):
            np.testing.assert_array_equal(getattr(out, key), getattr(alone, key), f"{book.name} {key}")
        np.testing.assert_array_equal(out.benchmark_terminal, benchmark_terminal(spy.equity, alone), book.name)


def test_results_and_fan_bands_do_not_depend_on_the_chunk_size():
    a = simulate(["essay_book", "bubble_watch"], scenarios="jetsons", paths=130, years=1.0, seed=5, chunk_size=130)
    b = simulate(["essay_book", "bubble_watch"], scenarios="jetsons", paths=130, years=1.0, seed=5, chunk_size=64)
    assert a.to_dict() == b.to_dict()
    for name, result in a.results["jetsons"].items():
        other = b.results["jetsons"][name]
        np.testing.assert_array_equal(result.equity_bands, other.equity_bands)
        assert result.equity_bands.shape == (5, len(result.index))  # bands on the sampled (weekly) dates
        assert result.index[0] == a.index[0] and result.index[-1] == a.index[-1]
        assert len(result.index) == len(range(0, len(a.index), 5)) + (0 if (len(a.index) - 1) % 5 == 0 else 1)


def test_decision_bar_rows_replace_dense_weights_only_when_they_trade_the_same(chunk):
    """A monthly path-dependent book becomes TargetRows on its decision bars; with hold rows (NaN) it stays dense."""
    import dataclasses

    from theses.engine import TargetRows, backtest_batch, decision_bars
    from theses.strategies.combinators import TrendFilter

    spec, source, books, prices = chunk
    tickers = list(spec.tickers)
    trend = next(b for b in books if b.name == "bubble_watch")
    holds = dataclasses.replace(trend, name="trend_holds", rule=dataclasses.replace(trend.rule, buy_and_hold=True))
    assert isinstance(holds.rule, TrendFilter) and holds.rebalance == "monthly"
    for book, sparse in ((trend, True), (holds, False)):
        config = DEFAULT_SETTINGS.config_for(book)
        columns = [tickers.index(t) for t in book.universe]
        ours = book_weights(book, prices, tickers, source.index, config, slice_paths=64)
        direct = book.target_weights_array(prices[:, :, columns], source.index, list(book.universe))
        assert isinstance(ours, TargetRows) is sparse, book.name
        if sparse:
            np.testing.assert_array_equal(ours.bars, decision_bars(config, source.index))
            np.testing.assert_array_equal(ours.rows, direct[:, ours.bars])
        else:
            np.testing.assert_array_equal(ours, direct)
        a = backtest_batch(prices[:, :, columns], ours, config, index=source.index, tickers=list(book.universe))
        b = backtest_batch(prices[:, :, columns], direct, config, index=source.index, tickers=list(book.universe))
        np.testing.assert_array_equal(a.terminal_wealth, b.terminal_wealth, book.name)


def test_price_buffer_is_reused_per_thread_and_released(chunk):
    """Chunks of one shape share a thread's buffer; other threads get their own; a simulation frees it."""
    import threading

    from theses.studies import scenarios

    spec, source, _, prices = chunk
    generator = source.generator(spec)
    shape = (150, len(source.index), len(spec.tickers))
    first = scenarios.price_buffer(shape)
    assert scenarios.price_buffer(shape) is first
    np.testing.assert_array_equal(generator.generate(0, 150, out=first), prices)  # the same paths, in place
    other = []
    thread = threading.Thread(target=lambda: other.append(scenarios.price_buffer(shape)))
    thread.start()
    thread.join()
    assert other[0] is not first
    assert scenarios.price_buffer((10, *shape[1:])).shape[0] == 10  # a new shape replaces it
    simulate(["essay_book"], scenarios="jetsons", paths=70, years=1.0, seed=5, chunk_size=64)
    assert getattr(scenarios._BUFFERS, "prices", None) is None
    with pytest.raises(ValueError, match="C-contiguous float32"):
        generator.generate(0, 150, out=np.empty(shape))  # float64


def test_primed_switch_books_read_the_whole_chunk_as_the_direct_call(chunk):
    """The primed trend and drawdown books (whole_chunk: the chunk in one call, every column read in place)
    give the dense weights of the direct call as picks: on the decision bars, or on every bar (a band)."""
    from theses.engine import decision_bars
    from theses.studies.scenarios import prime_books

    spec, source, books, prices = chunk
    tickers = list(spec.tickers)
    primed, _ = prime_books([b for b in books if b.name in ("bubble_watch", "jevons_dip")], source)
    for book in primed:
        assert book.rule.whole_chunk, book.name
        config = DEFAULT_SETTINGS.config_for(book)
        columns = [tickers.index(t) for t in book.universe]
        direct = book.target_weights_array(prices[:, :, columns], source.index, list(book.universe))
        ours = book_weights(book, prices, tickers, source.index, config)
        assert isinstance(ours, PickedRows), book.name
        if book.name == "jevons_dip":  # a band: every bar
            np.testing.assert_array_equal(ours.bars, np.arange(len(source.index)))
        else:  # monthly: the decision bars alone
            np.testing.assert_array_equal(ours.bars, decision_bars(config, source.index))
        np.testing.assert_array_equal(ours.palette[ours.picks], direct[:, ours.bars])
        assert len(np.unique(direct[..., list(book.universe).index("SPY")])) >= 2, book.name  # it switches
