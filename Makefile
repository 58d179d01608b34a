# The README promises two commands on a fresh machine with Python 3.11+ and make:
#   make demo   installs into .venv and runs the main job on sample_data/
#   make test   installs into .venv and runs ruff, mypy (strict) and pytest
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
RUNS   := payimport-runs

.PHONY: install demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	@echo "== validate every sample file (exit 1 is expected: one file has deliberate errors)"
	$(BIN)/payimport validate sample_data/bank_statement.csv sample_data/remittance.xlsx \
		sample_data/payments_with_errors.csv --errors-out $(RUNS)/demo; test $$? -le 1
	@echo "== dry run: the customerPayment rows the bank statement would create"
	$(BIN)/payimport validate --show-payments --no-errors-out sample_data/bank_statement.csv

lint: install
	$(BIN)/ruff check pipeline schemas tests bench sample_data

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info $(RUNS) bench/data
