"""User-facing errors of the `data` package.

A DataError carries one line that names the bad input and says how to fix it; the CLI prints it
without a traceback and exits with status 2.
"""


class DataError(ValueError):
    """A mistake in user input handled by `data` (not a bug in the program)."""
