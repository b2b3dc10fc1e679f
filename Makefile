# NN Canvas: every target sets up what it needs, then does its job.
#   make run    the app           (installs the project into .venv)
#   make test   the import contracts, ruff, then the test suite
#               (installs the project + test tools into .venv)
#   make bench  the benchmarks    (installs the project + PyTorch CPU into .venv)
#   make clean  removes .venv and caches

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test bench clean system-deps

run: system-deps $(VENV)/.installed-run
	$(BIN)/nncanvas

test: system-deps $(VENV)/.installed-test
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check --no-cache .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench

# Debian packages Qt needs (shared libraries, a font); installs them when run as root.
system-deps:
	@bash tools/ensure_system_deps.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files: a changed pyproject.toml makes the next target reinstall.
# The test and bench installs include everything `run` needs, so they stamp it too.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[test]'
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[test,bench]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
