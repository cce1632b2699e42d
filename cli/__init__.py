"""The ``theses`` command: parse the arguments, call one study, render its result."""
