# Abonent — two commands: `make demo` and `make test`. Needs only python3 (>= 3.11), make, git.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml 2>/dev/null | cksum | cut -d' ' -f1)
DEMO_DB := var/demo.db
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: demo test lint bench bench-tools venv fonts browser clean lock help

help:
	@echo "make demo   - install, migrate an SQLite database, load demo data, serve on http://$(HOST):$(PORT)"
	@echo "make test   - install what the tests need and run the whole suite"
	@echo "make lint   - ruff, mypy and the layer rules (import-linter)"
	@echo "make bench  - benchmarks against floors measured in the same run (needs PostgreSQL)"

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP) fonts

# PDF documents render Cyrillic with DejaVu Sans (Debian's fonts-dejavu-core).
fonts:
	@[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || { \
	  echo "installing Debian's fonts-dejavu-core for PDF documents"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-dejavu-core; }

demo: venv
	@mkdir -p var
	@rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	ABONENT_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/abonent db upgrade
	ABONENT_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/abonent demo load --seed 7 --host $(HOST) --port $(PORT) --with-worker
	ABONENT_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/abonent serve --host $(HOST) --port $(PORT) --with-worker

# Browser tests drive Debian's chromium through Playwright; browsers are never downloaded.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }
	@# axe-core (pinned in package-lock.json) is injected into pages by the accessibility checks.
	@[ -f node_modules/axe-core/axe.min.js ] || { \
	  command -v npm >/dev/null 2>&1 || { \
	    echo "installing Debian's npm for axe-core"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm; }; \
	  npm ci --no-audit --no-fund --silent; }

# Branch coverage of every run. The gates (the floor in pyproject.toml, and 100 % where money
# moves: .ci/coverage_gate.py) hold for the whole suite on both databases, so they apply when
# ABONENT_TEST_POSTGRES_URL is set (as .ci/run sets it) and PYTEST_ARGS names no subset.
test: venv browser
	@rm -f .coverage .coverage.*
	$(BIN)/python -m coverage run -m pytest $(PYTEST_ARGS)
	@$(BIN)/python -m coverage combine -q
	@if [ -n "$$ABONENT_TEST_POSTGRES_URL" ] && [ -z "$(strip $(PYTEST_ARGS))" ]; then \
	  $(BIN)/python -m coverage report && $(BIN)/python .ci/coverage_gate.py; \
	else \
	  $(BIN)/python -m coverage report --fail-under=0; \
	  echo "coverage gates not applied: they need the whole suite on SQLite and PostgreSQL"; \
	fi

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# wrk drives the HTTP benchmarks; pgbench (PostgreSQL's client tools) gives the write floor.
bench-tools:
	@command -v wrk >/dev/null 2>&1 && command -v pgbench >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk postgresql-client; }

bench: venv bench-tools
	ABONENT_BENCH_POSTGRES_URL=$${ABONENT_BENCH_POSTGRES_URL:-$(PG_URL)} $(BIN)/python bench/run_all.py

# Re-pin every dependency (run after changing pyproject.toml).
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^abonent' > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
