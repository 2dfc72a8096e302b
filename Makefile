# Two commands for learners: `make lab` and `make test`. Each creates .venv, installs cplib and writes the default data.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cplib-installed
NBVAL := --nbval-lax --nbval-cell-timeout=900

.PHONY: lab test unit notebooks run data clean-cache

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

data: $(STAMP)
	$(PY) -m cplib data

lab: data
	$(PY) -m jupyter lab notebooks/

test: data
	$(PY) -m pytest tests notebooks $(NBVAL)

unit: data
	$(PY) -m pytest tests

notebooks: data
	$(PY) -m pytest notebooks $(NBVAL)

run: data
	$(PY) -m cplib series --out build

clean-cache:  # cached models and what killed runs left beside the default dataset (default.tmp-<pid> is the older name)
	rm -rf data/models data/.default.tmp-* data/.default.old-* data/default.tmp-*
