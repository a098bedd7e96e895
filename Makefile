# The two commands of the README:  make run  (set up + run the default study)  ·  make test
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
CORES ?= all
ARGS ?=

.PHONY: setup run report test dry-run lint clean

# The tested set of dependencies (envs/constraints.txt) within pyproject.toml's ranges.
$(VENV)/.installed: pyproject.toml envs/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c envs/constraints.txt -e '.[test]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/snakemake --cores $(CORES) $(ARGS)
	$(VENV)/bin/snakemake --report results/report.html $(ARGS)

dry-run: setup
	$(VENV)/bin/snakemake -n $(ARGS)

lint: setup
	$(VENV)/bin/snakemake --lint $(ARGS)

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf results logs .snakemake
