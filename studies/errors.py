"""User-facing errors of the `studies` package.

A StudyError carries one line that names the bad input and says how to fix it; the CLI prints it without a
traceback and exits with status 2. Studies also let the lanes' own errors (DataError, StrategyError,
EngineError) through unchanged.
"""


class StudyError(ValueError):
    """A mistake in user input handled by `studies` (not a bug in the program)."""


def user_error_types() -> tuple[type[ValueError], ...]:
    """Every lane's user-error class (the CLI prints these as one line; imported only when needed)."""
    from theses.data.errors import DataError
    from theses.engine.errors import EngineError
    from theses.strategies.errors import StrategyError

    return (StudyError, DataError, EngineError, StrategyError)
