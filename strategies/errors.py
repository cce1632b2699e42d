"""User-facing errors of the `strategies` package.

A StrategyError carries one line that names the bad input and says how to fix it; the CLI prints it
without a traceback and exits with status 2.
"""


class StrategyError(ValueError):
    """A mistake in user input handled by `strategies` (not a bug in the program)."""
