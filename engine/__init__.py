"""How a portfolio evolves and is measured: weights -> orders -> equity, costs, rebalancing, metrics.

Array kernels (``*_nb``, numba) are kept apart from the pandas-facing API. Knows nothing of strategies,
reports or the CLI.
"""

from theses.engine._numba_cache import configure_numba_cache

configure_numba_cache()

from theses.engine.backtest import backtest  # noqa: E402
from theses.engine.batch import BatchResult, backtest_batch  # noqa: E402
from theses.engine.config import BacktestConfig, CostModel, RebalanceRule  # noqa: E402
from theses.engine.errors import EngineError  # noqa: E402
from theses.engine.result import BacktestResult  # noqa: E402

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "BatchResult",
    "CostModel",
    "EngineError",
    "RebalanceRule",
    "backtest",
    "backtest_batch",
]

from theses.engine.metrics import path_metrics, performance_metrics, scenario_blend, scenario_summary  # noqa: E402

__all__ += ["path_metrics", "performance_metrics", "scenario_blend", "scenario_summary"]
