"""How a portfolio evolves and is measured: weights -> orders -> equity, costs, rebalancing, metrics.

Array kernels (``*_nb``, numba) are kept apart from the pandas-facing API. Knows nothing of strategies,
reports or the CLI.
"""

from engine._numba_cache import configure_numba_cache

configure_numba_cache()
