"""The ``theses`` command: parse the arguments, call one study, render its result."""

from theses import __version__

__all__ = ["__version__"]
