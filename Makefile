# reflog's two entry points: `make lab` (the notebooks) and `make test` (everything CI runs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test lint pytest notebooks soak mutants system-deps venv clean docs docs-serve

# JupyterLab's defaults for this environment: no "get notified about Jupyter news?" prompt and
# no update check, so what a student sees first is the notebook.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json

venv: $(STAMP) $(LAB_OVERRIDES)

$(LAB_OVERRIDES): $(STAMP) Makefile
	mkdir -p $(dir $@)
	echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > $@

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "reflog needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[notebooks,dev,docs]'
	touch $(STAMP)

system-deps:
	bash scripts/system-deps.sh

lab: venv
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

lint: venv
	$(BIN)/ruff check reflog tests exercises benchmarks scripts notebooks docs
	$(BIN)/mypy --strict reflog

pytest: venv
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval \
		--nbval-sanitize-with notebooks/nbval-sanitize.cfg tests notebooks

test: venv system-deps lint pytest

# After editing a notebook (its notebooks/NN-name.py, or the .ipynb in a plain Jupyter): bring
# each pair's cells in line (the newer file wins) and rerun them to store fresh outputs.
# One notebook: make notebooks NB=notebooks/03-raft.py
NB ?= $(wildcard notebooks/*.py)
notebooks: venv
	$(BIN)/jupytext --sync $(NB)
	$(BIN)/python scripts/run_notebooks.py $(NB)
	touch $(NB)  # the source no older than its outputs, as jupytext expects of a pair

# The docs site (the chapters as a book, the reference, the chapters runnable in the browser)
# into docs/_build/html; the docs test builds it too (CI). `make docs-serve` builds it and serves
# it on 127.0.0.1 (JupyterLite needs http://, not file://).
DOCS_HTML ?= docs/_build/html
DOCS_PORT ?= 8000
docs: venv
	$(BIN)/sphinx-build -b html -E -q docs $(DOCS_HTML)  # -E: the generated pages are read afresh

docs-serve: docs
	@echo "reflog's docs: http://127.0.0.1:$(DOCS_PORT)/ (Ctrl-C stops the server)"
	$(BIN)/python -m http.server $(DOCS_PORT) --bind 127.0.0.1 --directory $(DOCS_HTML)

# Outside CI: thousands of randomized Raft and replication fault schedules (a failing seed
# is printed).
SOAK_SEEDS ?= 2000
soak: venv
	REFLOG_RAFT_SEEDS=$(SOAK_SEEDS) $(BIN)/python -m pytest -n 2 -q \
		tests/raft/test_raft_lab.py -k random_fault_schedule
	REFLOG_REPLICATION_SEEDS=$(SOAK_SEEDS) $(BIN)/python -m pytest -n 2 -q \
		tests/replication/test_replication_faults.py -k "acknowledged_record_is_lost"
	REFLOG_GROUP_SEEDS=$(SOAK_SEEDS) $(BIN)/python -m pytest -n 2 -q \
		tests/consumer/test_groups_in_simulation.py -k random_faults

# Outside CI (slow, an hour or more for every core): mutation testing of the pure cores, each
# mutant against its own area's tests; the survivors go to reports/mutants.md, and the run fails
# if one is neither killed nor explained in scripts/mutants_explained.toml.
# Some files: make mutants MUTATE="reflog/raft/core.py reflog/replication/partition.py"
MUTATE ?=
mutants: venv
	nice -n 19 $(BIN)/python scripts/mutants.py $(MUTATE)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis docs/_build docs/_generated
