# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# Each makes its own virtual environment in .venv and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: demo test serve clean chromium

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

test: $(VENV)/.installed-test chromium
	$(BIN)/python -m pytest $(ARGS)

# The terminal's browser test drives Debian's Chromium through Playwright; no browser is downloaded.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
		echo "The terminal's browser test needs Debian's Chromium at /usr/bin/chromium: sudo apt-get install chromium" >&2; \
	fi

serve: $(VENV)/.installed
	$(BIN)/sweep serve $(ARGS)

clean:
	rm -rf $(VENV) sweep-demo.db sweep-demo.db-wal sweep-demo.db-shm .pytest_cache
