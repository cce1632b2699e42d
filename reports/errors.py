"""User-facing errors of the `reports` package.

A ReportError carries one line that names the bad input and says how to fix it; the CLI prints it
without a traceback and exits with status 2.
"""


class ReportError(ValueError):
    """A mistake in user input handled by `reports` (not a bug in the program)."""
