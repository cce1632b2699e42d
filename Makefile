# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast bench lint clean

# The venv is rebuilt only when pyproject.toml changes (idempotent).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Real price CSVs beside the checkout, when present, let the demo compare the strategies on history too.
SHARED_PRICES := $(abspath $(wildcard ../shared/data/prices))

demo: venv
	THESES_DATA_DIR="$${THESES_DATA_DIR:-$(SHARED_PRICES)}" $(BIN)/theses demo

test: venv
	$(BIN)/python -m pytest -q -n 2

test-fast: venv
	$(BIN)/python -m pytest -q -n 2 -m "not integration and not browser"

bench: venv
	THESES_DATA_DIR="$${THESES_DATA_DIR:-$(SHARED_PRICES)}" $(BIN)/python bench/run_all.py

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
