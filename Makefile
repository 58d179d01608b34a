# The README promises two commands on a fresh machine with Python 3.11+ and make:
#   make demo   installs into .venv and imports sample_data/ into the embedded BC sandbox
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
	@echo "== import the sample files into the embedded BC sandbox (exit 1 is expected: one file has"
	@echo "   deliberate errors); reports land in $(RUNS)/<run id>/"
	$(BIN)/payimport run sample_data/bank_statement.csv sample_data/remittance.xlsx \
		sample_data/payments_with_errors.csv; test $$? -le 1
	@echo "== the same files again: nothing is posted twice"
	$(BIN)/payimport run sample_data/bank_statement.csv sample_data/remittance.xlsx \
		sample_data/payments_with_errors.csv; test $$? -le 1

LINT_PATHS := pipeline schemas tests bench sample_data

lint: install
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/run.py

# About 5 minutes (BC's limits are emulated with real latency), so not part of `make bench`.
.PHONY: bench-posting
bench-posting: install
	$(BIN)/python bench/posting.py

# Never deletes a real tenant's ledger: .payimport/ledger.sqlite goes only when it records nothing
# but the embedded sandbox (pipeline.ledger.forget_if_sandbox_only, standard library only).
clean:
	rm -rf $(VENV) build dist *.egg-info $(RUNS) .payimport/sandbox bench/data
	@$(PYTHON) -c 'from pathlib import Path; from pipeline.ledger import forget_if_sandbox_only as forget; p = Path(".payimport/ledger.sqlite"); print(p, "removed (embedded sandbox only)" if forget(p) else "KEPT: it records imports into a real tenant (back it up; delete it by hand only on purpose)")'
