"""The fuzz cases give each CLI run 60 s before calling it a hang; numba's first compile of a kernel (a fresh
clone has no kernel cache) can take longer than that, and is not what the cases test. So each test process
compiles, or loads, the kernels the CLI runs once, before the first case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session", autouse=True)
def _kernels_ready() -> None:
    from theses.engine import (
        BacktestConfig,
        Book,
        RebalanceRule,
        backtest,
        backtest_batch,
        backtest_books_batch,
    )
    from theses.engine.kernels import scan_rows_nb
    from theses.studies.scenarios import simulate

    simulate(["index_beta", "bubble_watch", "jevons_dip"], scenarios="jetsons", paths=2, years=0.1, seed=1)
    dates = pd.bdate_range("2020-01-01", periods=30)
    prices = np.linspace(10.0, 12.0, 60).reshape(1, 30, 2)
    weights = np.full((30, 2), 0.5)
    config = BacktestConfig(rebalance=RebalanceRule("monthly", band_abs=0.1))
    backtest(pd.DataFrame(prices[0], index=dates, columns=["A", "B"]), pd.DataFrame(weights, index=dates,
                                                                                     columns=["A", "B"]), config)
    backtest_batch(prices, weights, config, index=dates, tickers=["A", "B"])
    backtest_books_batch(prices, [Book(["A", "B"], weights, config, "warm")], index=dates, tickers=["A", "B"])
    scan_rows_nb(weights[None])
