# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000
# The suite runs on every core (pytest-xdist), a test file per worker so its module fixtures are built once.
PYTEST_ARGS ?= -n auto --dist loadfile
AXE := tests/e2e/node_modules/axe-core/axe.min.js

.PHONY: run test lint test-sqlite test-postgres install migrate seed clean system-deps browser-deps bench bench-deps

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

# $(call apt_install,TEST,PACKAGES,PURPOSE): unless the shell TEST succeeds, install Debian PACKAGES
# (as root, with apt-get), or say which to install.
define apt_install
	@if ! $(1); then \
		if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
			echo "Installing $(2) for $(3)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
		else \
			echo "Debian packages needed for $(3): sudo apt-get install $(2)" >&2; \
		fi; \
	fi
endef

# WeasyPrint (PDF documents) needs Pango and a font from the system.
system-deps:
	$(call apt_install,ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so',libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core,PDF rendering)

# The browser tests (tests/e2e) drive Debian's Chromium, never a browser build downloaded by Playwright.
browser-deps: $(AXE)
	$(call apt_install,[ -x /usr/bin/chromium ],chromium,the browser tests)

# axe-core (accessibility rules) and oidc-provider (the real OpenID provider the sign-in tests start on loopback)
# from npm, at the versions the lock file pins.
$(AXE): tests/e2e/package.json tests/e2e/package-lock.json
	$(call apt_install,command -v npm >/dev/null,npm,the accessibility checks and the sign-in tests)
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

# Lint and type-check first (settings in pyproject.toml): any finding fails `make test`, and so CI.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check incidents tests bench
	$(BIN)/mypy

test: lint $(VENV)/.installed-test system-deps
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgres

# The benchmark (bench/) drives the app with wrk from Debian; a small run of it is part of the suite.
bench-deps:
	$(call apt_install,command -v wrk >/dev/null,wrk,the benchmark)

# The full benchmark: 100,000 incidents on SQLite (or on DATABASE_URL, a PostgreSQL database whose name
# contains "bench"), results in bench/results.md. BENCH_ARGS passes options, e.g. BENCH_ARGS="--duration 5".
bench: $(VENV)/.installed-test system-deps bench-deps
	$(BIN)/python -m bench.run $(BENCH_ARGS)

test-sqlite: $(VENV)/.installed-test browser-deps bench-deps
	@echo "== Test suite on SQLite (browser tests included)"
	$(BIN)/pytest $(PYTEST_ARGS)

# The sign-in tests run on both databases against the OpenID provider from npm.
test-postgres: $(VENV)/.installed-test bench-deps $(AXE)
	@if $(BIN)/python tests/pg_ready.py "$(PG_TEST_URL)"; then \
		echo "== Test suite on PostgreSQL"; \
		TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL does not answer at $(PG_TEST_URL); under CI the PostgreSQL suite must run." >&2; exit 1; \
	else \
		echo "== PostgreSQL not answering at $(PG_TEST_URL): PostgreSQL suite skipped (it is required when CI=true)."; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/e2e/node_modules
