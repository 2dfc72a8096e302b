# Two commands for learners: `make lab` and `make test`. Each creates .venv, installs cplib and writes the default data.
# Installs use the exact tested set in constraints.txt (`make pins` rewrites it from .venv); pyproject.toml keeps lower bounds.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cplib-installed
CONSTRAINTS := constraints.txt
NBVAL := --nbval-lax --nbval-cell-timeout=2400

.PHONY: lab test test-portable test-fast unit lint notebooks run data pins clean-cache

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev,cluster]"
	touch $(STAMP)

# After upgrading a package in .venv and passing `make test` and `make run`: record .venv's exact set (setuptools included, pip not).
pins: $(STAMP)
	{ echo "# The exact tested set, written by \`make pins\` (pip freeze of .venv); make installs with pip install -c $(CONSTRAINTS)."; \
	  $(PY) -m pip freeze --all --exclude-editable --exclude pip; } > $(CONSTRAINTS)
	touch $(STAMP)

data: $(STAMP)
	$(PY) -m cplib data

lab: data
	$(PY) -m jupyter lab notebooks/

test: data
	@$(PY) tests/e2e/skips.py
	$(PY) -m pytest --doctest-modules cplib -q
	$(PY) -m pytest tests notebooks $(NBVAL)

# The notebooks as another machine runs them: MACHINE is one of cplib.experiments.machines.EMULATED (threads-1: one thread; avx2 or avx:
# oneDNN's AVX2 or AVX kernels, so fp32; fp32: no bfloat16), with a model cache of its own in build/machines/MACHINE.
# An emulation this CPU already is (avx2 on an AVX2 CPU, fp32 without native bfloat16) is named as such when it starts.
MACHINE ?= threads-1
test-portable: data
	env $$($(PY) -m cplib.experiments.machines $(MACHINE)) $(PY) -m pytest notebooks $(NBVAL)

# Lint and format check (ruff, pinned in constraints.txt; settings in pyproject.toml).
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Day-to-day: lint, then the unit tests, without the browser test, the installed-wheel test and the notebooks.
test-fast: lint data
	$(PY) -m pytest --doctest-modules cplib -q
	$(PY) -m pytest tests --ignore=tests/test_browser.py -m "not install"

unit: test-fast

notebooks: data
	$(PY) -m pytest notebooks $(NBVAL)

run: data
	$(PY) -m cplib series --out build

clean-cache:  # cached models and what killed runs left beside the default dataset (default.tmp-<pid> is the older name)
	rm -rf data/models data/.default.tmp-* data/.default.old-* data/default.tmp-*
