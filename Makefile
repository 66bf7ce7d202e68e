# Trustline: `make run` starts everything with demo data, `make test` proves it.
# Needs only python3 (3.11+) on PATH; everything else is installed into .venv by these targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= 1
# Strict editable installs link each file; a new or removed module changes this stamp and reinstalls.
SOURCES_ID := $(shell find services shared -name '*.py' 2>/dev/null | sort | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(SOURCES_ID)

.PHONY: install tools run stop test lint typecheck unit integration chart-test dashboards bench bench-p1 bench-p2 bench-p3 \
	bench-p4 bench-p6 bench-h1 bench-p3-live clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found on PATH (Python 3.11+ is needed)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python 3.11+ is needed"; exit 1; }
	@echo "» installing Trustline and its tools into $(VENV) (first run takes a minute)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,local]' --config-settings editable_mode=strict
	@rm -f $(VENV)/.installed-*
	@touch $@

# promtool (Debian's prometheus package) checks the exporter; chromium runs the pages' browser tests; Pango
# draws the board report's PDF. Installing them needs root.
tools:
	@if command -v promtool >/dev/null && command -v chromium >/dev/null && ldconfig -p | grep -q libpangoft2; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "» installing Debian's prometheus (promtool), chromium and Pango for the exporter, browser and PDF tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    prometheus chromium libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; \
	else echo "note: promtool, chromium or Pango is missing and installing them needs root: those checks will be skipped"; fi

run: install
	$(BIN)/trustline run $(if $(filter 0 no false,$(DEMO)),--no-demo,--demo)

# Stops a running `make run` (it stops its components, then its servers) and what `dev up` started.
stop:
	@if [ -d $(VENV) ]; then $(MAKE) --no-print-directory install && $(BIN)/trustline dev down; \
	else echo "nothing to stop: $(VENV) is not installed"; fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q tests/unit

integration: install
	$(BIN)/pytest -q tests/integration

# The Helm chart: strict lint and render (helm-python-sdk, no helm binary) for every value file of
# tests/chart/values/, every object validated (kubernetes-validate), its properties and drift checked.
chart-test: install
	$(BIN)/pytest -q tests/chart

test: lint typecheck tools chart-test
	$(BIN)/pytest -q --ignore=tests/chart

# The Grafana boards and Prometheus rule files under grafana/, generated from Python (grafana/generator/).
dashboards: install
	$(BIN)/python -m grafana.generator

# Benchmarks (not tests): figures as ratios to a reference measured in the same run; see bench/README.md.
bench: bench-p1 bench-p2 bench-p3 bench-p3-live bench-p4 bench-p6 bench-h1

P1_EVENTS ?= 100000
bench-p1: install
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,local,bench]' --config-settings editable_mode=strict
	$(BIN)/python bench/p1_ingest.py --events $(P1_EVENTS)

bench-p2: install
	$(BIN)/python bench/p2_freshness.py

bench-p3: install
	$(BIN)/python bench/p3_aggregation.py

bench-p3-live: install
	$(BIN)/python bench/p3_live.py

bench-p4: install
	$(BIN)/python bench/p4_scrape.py

bench-p6: install
	$(BIN)/python bench/p6_backfill.py

H1_SNAPSHOTS ?= 200
bench-h1: install
	$(BIN)/python bench/h1_history.py --snapshots $(H1_SNAPSHOTS)

# As root the database lives outside the clone (/var/lib/trustline/pg-<hash>): `dev destroy` must run
# (installing first if needed) and a failure stops here rather than orphaning it.
clean:
	@if [ -d $(VENV) ] || [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory install && \
	  $(BIN)/trustline dev destroy --yes; fi
	rm -rf $(VENV) build var .mypy_cache .ruff_cache .pytest_cache
