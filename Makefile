# The two commands: `make run` (the whole system on loopback) and `make test` (every check CI runs).
# Both set up their own virtual environment from pyproject.toml on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
# Lambda runs python3.13; the suite also runs on it when this machine has one (deploy/Makefile finds it, for the
# bytecode it compiles too: python3.13 on PATH or pyenv's, one that really runs).
PY313 ?=
PY313 := $(or $(PY313),$(shell $(MAKE) -s --no-print-directory -C deploy python313))
VENV313 := .venv313

.PHONY: run test lint typecheck unit functional e2e py313 template smoke bench load build clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# SAM CLI pins its own dependency versions, so it lives in a virtual environment of its own.
$(SAM): requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.txt
	touch $(SAM)

run: $(STAMP)
	$(BIN)/edge-router local $(ARGS)

test: lint typecheck unit functional e2e py313 template smoke

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

functional: $(STAMP)
	$(BIN)/pytest tests/functional -q

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e -q

py313:
ifeq ($(PY313),)
	@echo "py313: no python3.13 on this machine; the Python 3.13 run is skipped"
else
	test -x $(VENV313)/bin/pytest || ($(PY313) -m venv $(VENV313) && $(VENV313)/bin/pip install --quiet --upgrade pip \
		&& $(VENV313)/bin/pip install --quiet -e '.[dev]')
	$(VENV313)/bin/pytest tests/unit tests/functional -q -p no:cacheprovider
endif

template: $(STAMP) $(SAM)
	PATH="$(CURDIR)/$(BIN):$$PATH" SAM="$(CURDIR)/$(SAM)" bash scripts/check-template.sh

smoke: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/ci-smoke.sh

bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(ARGS)

load: $(STAMP)
	$(BIN)/python scripts/load.py $(ARGS)

build: $(SAM)
	$(SAM) build

clean:
	rm -rf $(VENV) $(SAM_VENV) $(VENV313) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
