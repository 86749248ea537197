# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000
AXE := tests/e2e/node_modules/axe-core/axe.min.js

.PHONY: run test test-sqlite test-postgres install migrate seed clean system-deps browser-deps bench bench-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed system-deps

# WeasyPrint (PDF documents) needs Pango and a font from the system.
system-deps:
	@if ! ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so'; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "Installing Pango and fonts for PDF rendering"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; \
		else \
			echo "PDF rendering needs Pango: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core" >&2; \
		fi; \
	fi

# The browser tests (tests/e2e) drive Debian's Chromium, never a browser build downloaded by Playwright.
browser-deps: $(AXE)
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "Installing Chromium for the browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "The browser tests need Chromium at /usr/bin/chromium: sudo apt-get install chromium" >&2; \
		fi; \
	fi

# axe-core (accessibility rules) from npm, at the version the lock file pins.
$(AXE): tests/e2e/package.json tests/e2e/package-lock.json
	@if ! command -v npm >/dev/null && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing npm for the accessibility checks"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	fi
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "The accessibility checks need axe-core from npm: install Node.js and npm, then npm ci --prefix tests/e2e" >&2; \
	fi

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-demo

# The reminder scheduler runs as its own process, started once here (never under the reloader).
run: seed
	@echo "Serving http://$(HOST):$(PORT) with the reminder scheduler (Ctrl-C stops both)"
	@$(FLASK) scheduler run & scheduler=$$!; \
	trap 'kill -TERM $$scheduler 2>/dev/null; wait $$scheduler' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT) --debug

test: $(VENV)/.installed-test system-deps
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgres

# The benchmark (bench/) drives the app with wrk from Debian; a small run of it is part of the suite.
bench-deps:
	@if ! command -v wrk >/dev/null; then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "Installing wrk for the benchmark"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
		else \
			echo "The benchmark needs wrk: sudo apt-get install wrk" >&2; \
		fi; \
	fi

# The full benchmark: 100,000 incidents on SQLite (or on DATABASE_URL, a PostgreSQL database whose name
# contains "bench"), results in bench/results.md. BENCH_ARGS passes options, e.g. BENCH_ARGS="--duration 5".
bench: $(VENV)/.installed-test system-deps bench-deps
	$(BIN)/python -m bench.run $(BENCH_ARGS)

test-sqlite: $(VENV)/.installed-test browser-deps bench-deps
	@echo "== Test suite on SQLite (browser tests included)"
	$(BIN)/pytest

test-postgres: $(VENV)/.installed-test bench-deps
	@if $(BIN)/python tests/pg_ready.py "$(PG_TEST_URL)"; then \
		echo "== Test suite on PostgreSQL"; \
		TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/pytest; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL does not answer at $(PG_TEST_URL); under CI the PostgreSQL suite must run." >&2; exit 1; \
	else \
		echo "== PostgreSQL not answering at $(PG_TEST_URL): PostgreSQL suite skipped (it is required when CI=true)."; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache tests/e2e/node_modules
