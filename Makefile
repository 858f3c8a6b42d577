# Two commands do everything on a fresh machine with Python 3.11:
#   make demo   set up, generate demo data and reconcile it end to end (DuckDB)
#   make test   set up and run every check: lint (ruff, SQLFluff) and the test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
DEMO_MONTH ?= 2026-10

export DBT_PROFILES_DIR := $(CURDIR)/profiles
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: install browser office demo test lint format pytest screenshot lock clean evaluate

# uv installs the pinned set in under a minute where pip took three or four (a fresh
# machine, or CI's clean clone); the lock is the same file either way.
UV_VERSION := 0.13.9

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/recon demo --month $(DEMO_MONTH)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p target
	RECON_DUCKDB_PATH=target/sqlfluff.duckdb $(BIN)/sqlfluff lint models tests snapshots --processes 2
	# every model described (grain first), keyed, layered and named (recon/manifest_check.py)
	RECON_DUCKDB_PATH=target/sqlfluff.duckdb $(BIN)/dbt parse --quiet --target-path target/manifest_check
	$(BIN)/python -m recon.manifest_check target/manifest_check/manifest.json

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	mkdir -p target
	RECON_DUCKDB_PATH=target/sqlfluff.duckdb $(BIN)/sqlfluff fix models tests snapshots --processes 2

# dbt-labs' dbt-project-evaluator on a scratch copy of the project (recon_testkit/evaluate.py);
# never part of make test: it needs local copies of the two packages, named by
# RECON_EVALUATOR_DIR and RECON_DBT_UTILS_DIR (folders or bare git mirrors), and data/raw.
evaluate: install
	$(BIN)/python -m recon_testkit.evaluate

# The dashboard's browser test drives Debian's Chromium (never a downloaded browser).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo "installing Debian's chromium and chromium-driver for the dashboard's browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

# The workbook's print test converts it to PDF with Debian's LibreOffice Calc (headless) and
# reads the pages with poppler-utils (pdftotext, pdfinfo).
office:
	@if { [ ! -x /usr/bin/soffice ] && [ ! -x /usr/bin/libreoffice ]; } || [ ! -x /usr/bin/pdftotext ]; then \
		echo "installing Debian's libreoffice-calc and poppler-utils for the workbook's print test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc poppler-utils; \
	fi

pytest: install browser office
	$(BIN)/python -m pytest

test: lint pytest

# The README's picture (docs/img/dashboard.png), from the demo's published marts: run on
# purpose after `make demo`; the test suite never writes it.
screenshot: install browser
	$(BIN)/recon screenshot --month $(DEMO_MONTH)

# Re-pin every package after changing a direct dependency in pyproject.toml.
lock: install
	(head -1 requirements.lock; $(BIN)/python -m pip freeze --exclude-editable | grep -v "^provider-recon") > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf target logs data reports $(VENV)
