# The two commands of the README. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Tune a real model (MLP on scikit-learn's digits) with Optuna for two rounds and write a report.
demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all]"
	$(BIN)/hpviz demo --framework optuna --out demo-output

# Lint (ruff, with bugbear: an unasserted comparison is an error), then the whole test suite.
# Installs with the pinned versions of constraints.txt (the versions the suite was last run with), so
# CI is reproducible; `make test CONSTRAINTS=` tests against the newest releases instead.
CONSTRAINTS ?= constraints.txt

test: $(BIN)/python
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[all,test]"
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(BIN)/python
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) demo-output .pytest_cache build *.egg-info
