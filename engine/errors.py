"""User-facing errors of the `engine` package.

A EngineError carries one line that names the bad input and says how to fix it; the CLI prints it
without a traceback and exits with status 2.
"""


class EngineError(ValueError):
    """A mistake in user input handled by `engine` (not a bug in the program)."""
