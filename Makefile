# Two commands matter: `make site` builds the sample site, `make test` runs every test.
# Each creates .venv and installs what it needs there.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SITE_STAMP := $(VENV)/.site-installed
TEST_STAMP := $(VENV)/.test-installed

.PHONY: site test check linkcheck serve bench bench-smoke clean help

help:
	@echo "make site       build the shipped sample site into build/"
	@echo "make test       run the whole test suite"
	@echo "make check      check the sample site's sources"
	@echo "make linkcheck  check every link of build/"
	@echo "make serve      serve the sample site with live reload"
	@echo "make bench      run the benchmarks (bench/RESULTS.md)"
	@echo "make clean      remove build/, .venv/ and caches"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "devrel-site needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(SITE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[search]'
	@touch $@

$(TEST_STAMP): pyproject.toml tests/package.json | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix tests --no-audit --no-fund --silent; \
	else echo "npm not found: the accessibility and CommonMark tests will fail without tests/node_modules"; fi
	@touch $@ $(SITE_STAMP)

site: $(SITE_STAMP)
	$(BIN)/devrel-site build

test: $(TEST_STAMP)
	$(BIN)/python -m pytest

check: $(SITE_STAMP)
	$(BIN)/devrel-site check

linkcheck: site
	$(BIN)/devrel-site linkcheck

serve: $(SITE_STAMP)
	$(BIN)/devrel-site serve

bench: $(TEST_STAMP)
	$(BIN)/python bench/run.py

bench-smoke: $(TEST_STAMP)
	$(BIN)/python bench/run.py --smoke

clean:
	rm -rf build .venv .devrel-cache .pytest_cache .hypothesis
