"""ai-theses: put an investment thesis about the AI economy to the test before you put money on it.

The public Python API, for notebooks and scripts (each call is one study of :mod:`theses.studies`)::

    import theses
    result = theses.backtest("essay_book", start="2024-12-02")
    result.metrics["cagr"], result.equity, result.weights, result.trades

    table = theses.compare(["essay_book", "bubble_watch"], since_essay=True)
    run = theses.simulate(["essay_book"], scenarios="all", paths=2000, seed=7)
    decision = theses.decide(paths=2000)          # which book to hold: .verdict, .scoreboard, .mix
    trades = theses.rebalance("essay_book", holdings="holdings.csv", cash=2500)
    tracked = theses.track(data_dir="prices/")   # the essay's scenarios against what happened since
    grid = theses.sweep("bubble_watch", grid="window=100:300:50", on="scenarios", paths=500, workers=2)
    theses.report(result, "my-report/")

The packages: ``theses.data`` (prices, scenarios), ``theses.strategies`` (what to hold), ``theses.engine``
(how a portfolio evolves and is measured), ``theses.studies`` (the questions users ask), ``theses.reports``
(how results are shown), ``theses.cli`` (the ``theses`` command). Attributes are imported on first use, so
``import theses`` stays instant.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Public name -> module that defines it (imported lazily by ``__getattr__``).
_API = {
    "backtest": "theses._api",
    "compare": "theses._api",
    "simulate": "theses._api",
    "decide": "theses._api",
    "rebalance": "theses._api",
    "track": "theses._api",
    "sweep": "theses._api",
    "report": "theses._api",
    "list_strategies": "theses.strategies",
    "get_strategy": "theses.strategies",
    "list_scenarios": "theses.data.scenario_spec",
    "load_scenario": "theses.data.scenario_spec",
}

__all__ = ["__version__", *_API]


def _installed_version() -> str:
    """The installed distribution's version (importlib.metadata: about 60 ms, so read on first use)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ai-theses")
    except PackageNotFoundError:  # a source tree that was not installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    """Import a public function on first use (PEP 562); ``__version__`` is read on first use too."""
    if name == "__version__":
        globals()[name] = value = _installed_version()
        return value
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'theses' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
