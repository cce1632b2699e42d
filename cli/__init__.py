"""The ``theses`` command: the one place that wires data -> strategies -> engine -> reports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ai-theses")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
