# The two commands of the README. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# Empty: torch comes from the configured indexes (on these machines a CPU build on local disk). Elsewhere set
# TORCH_INDEX to a CPU wheel index, or pip takes the multi-GB CUDA build.
TORCH_INDEX ?=

.PHONY: demo test lint clean browser-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Tune two model families (an MLP and a logistic regression on scikit-learn's digits) with Optuna, two rounds each;
# write their reports and the multi-model report (demo-output/models.html).
demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all]"
	$(BIN)/hpviz demo --framework optuna --out demo-output

# Lint (ruff, with bugbear: an unasserted comparison is an error), then the whole test suite, with every
# framework the adapters' tests run. Installs with the pinned versions of constraints.txt (the versions the
# suite was last run with), so CI is reproducible; `make test CONSTRAINTS=` tests against the newest releases
# instead. Ax needs torch: its CPU build goes first (alone: its dependencies come with the next install), else
# the ax extra pulls a multi-GB CUDA build; the vizier extra carries the jax<0.6 pin Vizier needs.
CONSTRAINTS ?= constraints.txt

test: $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-deps "torch==$(TORCH_VERSION)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[all,ax,vizier,test]"
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The HTML report in a real headless Chromium (every image loads, text panels are text, no sideways scrolling at
# 1280 px or 500 px). Installs Debian's chromium when missing (about 90 s, root needed), so it is not part of `test`;
# without chromium, tests/test_browser.py skips and says why.
browser-check: $(BIN)/python
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[all,test]"
	$(BIN)/python -m pytest tests/test_browser.py -rs

lint: $(BIN)/python
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) demo-output .pytest_cache build *.egg-info
