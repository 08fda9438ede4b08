# HMS. `make run` sets everything up and serves the demo on SQLite; `make test` sets up and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
VENDOR := static/vendor
BUNDLE := static/bundle
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-fast setup dev db browser lint format clean translations screens

run: db
	@echo "HMS is at http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(FLASK) run --host $(HOST) --port $(PORT)

db: setup
	$(FLASK) db upgrade
	$(FLASK) hms seed-demo

# Tests run on every core (pytest-xdist; TEST_WORKERS=0 runs them in this process), each worker with a
# database of its own; the browser tests stay together on one worker (tests/conftest.py).
TEST_WORKERS ?= auto
XDIST = -n $(TEST_WORKERS)

test: setup dev browser
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# The inner loop: SQLite, no browser, stop at the first failure (PYTEST_ARGS narrows it to a file or test).
test-fast: setup dev
	$(BIN)/python -m pytest $(XDIST) -x -m "not e2e" $(PYTEST_ARGS)

# The README's screenshots of each role's first page at 390 and 1,280 px (docs/screens/), from the demo data.
screens: setup dev browser
	$(BIN)/python -m scripts.screens

lint: setup dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

setup: $(VENV)/.installed $(VENDOR)/.installed $(BUNDLE)/.built catalogs

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The tests' tools (pytest, Playwright, ruff, …): only `make test`, `make lint` and friends need them.
dev: $(VENV)/.dev-installed
$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The files copied are listed once, in package.json's "vendor" script (the Dockerfile runs it too).
$(VENDOR)/.installed: node_modules/.installed
	npm run --silent vendor
	touch $@

# Each page loads one CSS and one JS file: Pico + our CSS, htmx + our JS, with .br/.gz copies (hms/assets.py).
$(BUNDLE)/.built: $(VENDOR)/.installed $(VENV)/.installed hms/assets.py static/css/app.css static/js/app.js $(wildcard static/img/*)
	$(BIN)/python -m hms.assets
	touch $@

# Compiled catalogs (.mo) are built from the committed .po files, never committed.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
catalogs: $(CATALOGS)
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d translations -l $* >/dev/null

# After changing user-facing text: re-extract, merge into every language, then translate the new entries.
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -k lazy_gettext --no-location --sort-output --no-wrap \
	  --project HMS -o translations/messages.pot .
	sed -i '/^"POT-Creation-Date: /d' translations/messages.pot  # no timestamp: branches merge without conflict
	$(BIN)/pybabel update --no-wrap --ignore-obsolete --no-fuzzy-matching --ignore-pot-creation-date -i translations/messages.pot -d translations
	$(MAKE) catalogs

# The browser tests drive Debian's Chromium; Playwright cannot download one here.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium'" >&2; exit 1; fi; \
	fi

clean:
	rm -rf $(VENV) node_modules $(VENDOR) $(BUNDLE) instance/hms.sqlite3 translations/*/LC_MESSAGES/*.mo
