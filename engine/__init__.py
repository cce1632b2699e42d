"""How a portfolio evolves and is measured: weights -> orders -> equity, costs, rebalancing, metrics.

Array kernels (``*_nb``, numba) are kept apart from the pandas-facing API. Knows nothing of strategies,
reports or the CLI.
"""

from theses.engine.backtest import backtest
from theses.engine.batch import BatchResult, PickedRows, TargetRows, backtest_batch, decision_bars
from theses.engine.books import Book, BookOutcome, backtest_books_batch, concat_outcomes, sample_bands
from theses.engine.config import BacktestConfig, CostModel, RebalanceRule
from theses.engine.errors import EngineError
from theses.engine.result import BacktestResult

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "BatchResult",
    "Book",
    "BookOutcome",
    "CostModel",
    "EngineError",
    "RebalanceRule",
    "PickedRows",
    "TargetRows",
    "decision_bars",
    "backtest",
    "backtest_batch",
    "backtest_books_batch",
    "concat_outcomes",
    "sample_bands",
]

from theses.engine.metrics import path_metrics, performance_metrics, scenario_blend, scenario_summary  # noqa: E402

__all__ += ["path_metrics", "performance_metrics", "scenario_blend", "scenario_summary"]
