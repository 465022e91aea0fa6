# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
# Each makes its own virtual environment in .venv and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: demo test check serve clean chromium cluster-deps cluster

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

# The linter and the type checker; their settings are in pyproject.toml (mypy: strict on
# optimize, simulate and field).
check: $(VENV)/.installed-test
	$(BIN)/ruff check sweep tests bench scripts
	$(BIN)/mypy

# The terminal's browser test drives Debian's Chromium through Playwright; no browser is downloaded.
# The report's PDF needs a CJK font for its Chinese (fonts-noto-cjk), and its test reads the PDF's
# fonts with pdffonts (poppler-utils).
chromium:
	@if [ -x /usr/bin/chromium ] && [ -n "$$(fc-list :lang=zh family 2>/dev/null)" ] && command -v pdffonts >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk poppler-utils; \
	else \
		echo "The browser test and the PDF report need Debian's Chromium, a CJK font and pdffonts: sudo apt-get install chromium fonts-noto-cjk poppler-utils" >&2; \
	fi

serve: $(VENV)/.installed
	$(BIN)/sweep serve $(ARGS)

clean:
	rm -rf $(VENV) sweep-demo.db sweep-demo.db-wal sweep-demo.db-shm .pytest_cache .mypy_cache .ruff_cache

# bench/cluster.py: HAProxy in front of servers in network namespaces (iproute2), a PostgreSQL
# standby made with pg_basebackup. Debian's packages, installed here as root when missing.
cluster-deps:
	@missing=""; \
	[ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	[ -x /usr/sbin/ip ] || [ -x /bin/ip ] || missing="$$missing iproute2"; \
	[ -x /usr/bin/pg_basebackup ] || missing="$$missing postgresql"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else \
		echo "The cluster benchmark needs Debian's$$missing: sudo apt-get install$$missing" >&2; exit 1; \
	fi

cluster: $(VENV)/.installed-test cluster-deps
	$(BIN)/python bench/cluster.py $(ARGS)
