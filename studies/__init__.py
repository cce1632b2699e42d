"""One module per question a user asks; the only place that combines data, strategies and engine.

- :mod:`theses.studies.history`: strategies on real history (``backtest``, ``compare``).
- :mod:`theses.studies.scenarios`: strategies on simulated scenario paths (``simulate``).
- :mod:`theses.studies.decide`: which book to hold across the scenarios (``decide``, ``analyse``).
- :mod:`theses.studies.rebalance`: a trade list from real holdings to target weights.
- :mod:`theses.studies.calibration`, :mod:`theses.studies.prices`, :mod:`theses.studies.catalog`,
  :mod:`theses.studies.demo`: the calibration file, price files, listings, the demo.

Typed keyword functions returning result objects; no printing, no argparse. Errors are
:class:`theses.studies.errors.StudyError` or the lanes' own.
"""
