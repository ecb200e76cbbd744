# nodepipe developer entry points. The README documents the two that matter:
#   make app    build everything, create the demo workspace, start nodepipe on the embedded store
#   make test   run every check and the whole test suite (starts its own PostgreSQL on loopback)

VENV      := .venv
BIN       := $(VENV)/bin
# The real interpreter behind pyenv's shim (a shim costs ~0.2 s per launch).
PYTHON    ?= $(shell python3.11 -c 'import sys; print(sys.executable)' 2>/dev/null || python3 -c 'import sys; print(sys.executable)')
STAMP     := $(VENV)/.installed
DEMO_DIR  ?= demo-workspace
PYTEST_ARGS ?=

.PHONY: app install test lint system-tools bench bench-quick bench-full clean web

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,ray,conda]'
	touch $(STAMP)

# The web app: npm ci when the lock changes, a Vite build into the package when a source does.
WEB_STAMP := web/node_modules/.installed
WEB_BUILD := src/nodepipe/api/static/index.html
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/eslint.config.js

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

$(WEB_BUILD): $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npm run build

web: $(WEB_BUILD)

install: $(STAMP) web
	# PYTHONDONTWRITEBYTECODE is set on these machines: compile once so no launch recompiles.
	$(BIN)/python -m compileall -q src

app: install
	$(BIN)/nodepipe demo $(DEMO_DIR)
	$(BIN)/nodepipe -w $(DEMO_DIR) serve

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# Browser tests and bench_browser drive Debian's Chromium (never a downloaded browser); the
# durability tests read system calls with strace. CI runs as root.
system-tools:
	test -x /usr/bin/chromium -a -x /usr/bin/strace || (apt-get update && apt-get install -y chromium strace)

test: install lint system-tools
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# make bench: every target of the performance issue at its full size (bench_startup; bench_runs;
# bench_scale at 10,000 nodes, whose first run launches every node: minutes on two cores; Ray;
# the web app at 10,000 nodes). make bench-quick: the quick set (bench_scale at 1,000 nodes).
# make bench-full: make bench and every other benchmark.
BENCH_QUICK := bench_startup bench_nodes bench_runs bench_scale
BENCH_OTHER := bench_nodes bench_envs bench_bundles bench_packages bench_api bench_conda \
	bench_external_code bench_remote bench_browser

bench: install system-tools
	set -e; for b in bench_startup bench_runs; do echo "== $$b"; $(BIN)/python -m tests.bench.$$b; done
	echo "== bench_scale --nodes 10000"; $(BIN)/python -m tests.bench.bench_scale --nodes 10000
	echo "== bench_ray"; $(BIN)/python -m tests.bench.bench_ray
	echo "== bench_browser --nodes 10000 --no-run"; $(BIN)/python -m tests.bench.bench_browser --nodes 10000 --no-run

bench-quick: install
	set -e; for b in $(BENCH_QUICK); do echo "== $$b"; $(BIN)/python -m tests.bench.$$b; done

bench-full: bench
	set -e; for b in $(BENCH_OTHER); do echo "== $$b"; $(BIN)/python -m tests.bench.$$b; done

clean:
	rm -rf $(VENV) $(DEMO_DIR) test-artifacts
