"""User-facing errors of the `cli` package.

A CliError carries one line that names the bad input and says how to fix it; the CLI prints it
without a traceback and exits with status 2.
"""


class CliError(ValueError):
    """A mistake in user input handled by `cli` (not a bug in the program)."""
