"""Signals with a look-back start warm on simulated paths: they read real closes before the paths' first day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.unit.test_cli_compare import write_csvs, write_portfolio
from theses.data.calibration import calibrate
from theses.data.load import load_prices
from theses.data.scenario_spec import parse_scenario
from theses.studies.scenarios import path_source, prime_books, simulate
from theses.studies.settings import resolve_strategy

SPEC = ('[groups]\nindex = ["SPY", "RSP"]\nother = ["AAA", "BBB"]\n'
        '[phases.all]\nstart = 2020-01-01\nmarket_drift = 0.05\n')


@pytest.fixture
def setup(tmp_path):
    write_csvs(tmp_path / "prices", days=400)
    book = write_portfolio(tmp_path, "trend", {"AAA": 1.0})
    text = book.read_text() + '[trend_filter]\nbasket = ["AAA"]\nwindow = 60\nfallback = "SPY"\n'
    book.write_text(text)
    close = load_prices(["SPY", "RSP", "AAA", "BBB"], source="csv", data_dir=tmp_path / "prices").close
    spec = parse_scenario(SPEC, source="two.toml", name="two")
    return {"prices": tmp_path / "prices", "book": resolve_strategy(str(book)), "spec": spec,
            "calibration": calibrate(close, min_obs=100), "close": close}


def test_primed_weights_equal_the_strategy_on_history_joined_to_the_path(setup):
    source = path_source([setup["spec"]], years=0.5, seed=4, data_dir=str(setup["prices"]),
                         calibration=setup["calibration"])
    (primed,), notes = prime_books([setup["book"]], source)
    assert primed.lookback == 0 and "read the real closes the paths start from" in notes[0]
    tickers = list(setup["spec"].tickers)
    prices = source.generator(setup["spec"]).generate(0, 3).astype(np.float64)
    universe = list(setup["book"].universe)
    columns = [tickers.index(t) for t in universe]
    warm = primed.target_weights_array(prices[..., columns], source.index, universe)
    # Independent: the real closes (which the paths continue from) followed by each path, the plain strategy.
    history = setup["close"][universe].to_numpy()
    dates = setup["close"].index.append(source.index)
    warm_paths = np.broadcast_to(warm, (3, *warm.shape[-2:]))
    for p in range(3):
        joined = np.concatenate([history, prices[p][:, columns]])
        plain = setup["book"].target_weights_array(joined, dates, universe)[len(history):]
        np.testing.assert_array_equal(warm_paths[p], plain)
    cold = setup["book"].target_weights_array(prices[..., columns], source.index, universe)
    assert not np.array_equal(np.broadcast_to(cold, warm_paths.shape), warm_paths)  # a cold start differs


def test_simulate_primes_look_back_books_and_says_so(setup):
    run = simulate([setup["book"]], scenarios=[setup["spec"]], paths=32, years=0.5, seed=2,
                   data_dir=str(setup["prices"]), calibration=setup["calibration"])
    assert any("the signals of trend read" in note for note in run.notes)
    assert run.request.books[0].lookback == 0  # primed once; a rerun on another seed does not prime again


def test_without_real_history_a_signal_starts_cold_and_the_notes_say_so(setup):
    source = path_source([setup["spec"]], years=0.5, seed=4, calibration=setup["calibration"],
                         start=pd.Timestamp("2027-01-04"))
    (same,), notes = prime_books([setup["book"]], source)  # AAA is not in the embedded sample
    assert same is setup["book"] and "start cold" in notes[0]
