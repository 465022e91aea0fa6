# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# Each makes its own virtual environment in .venv and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: demo test serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/sweep demo $(ARGS)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(ARGS)

serve: $(VENV)/.installed
	$(BIN)/sweep serve $(ARGS)

clean:
	rm -rf $(VENV) sweep-demo.db sweep-demo.db-wal sweep-demo.db-shm .pytest_cache
