# The verbs people type. Everything installs itself on first use: a fresh machine needs only
# Python 3.11+. `make test` installs the system packages in scripts/system-deps.sh itself when it
# runs as root or with passwordless sudo, and otherwise stops at once naming the command to run.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_DIR := tests/conformance/node
NODE_STAMP := $(NODE_DIR)/node_modules/.package-lock.json
PYTEST_ARGS ?=

.PHONY: help venv demo run test lint bench system-deps ensure-system-deps lock image-test clean

help:
	@echo "make demo         run the whole service offline against the sandbox"
	@echo "make run          run the service (needs configuration, see README)"
	@echo "make test         run the test suite (SQLite and PostgreSQL)"
	@echo "make lint         ruff + mypy"
	@echo "make bench        benchmarks, printed as ratios against same-run baselines"
	@echo "make system-deps  install the system packages the tests need (Debian, as root)"
	@echo "make image-test   build the Docker image and run it on a real engine (installs docker.io)"
	@echo "make lock         refresh requirements.lock (UPGRADE=1 or UPGRADE=package to move pins)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(STAMP)

# npm comes with the system packages, so they are ensured first (order-only: cheap when present).
$(NODE_STAMP): $(NODE_DIR)/package-lock.json | ensure-system-deps
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error

demo: venv
	$(BIN)/airdate demo

run: venv
	$(BIN)/airdate migrate
	$(BIN)/airdate serve

test: ensure-system-deps venv $(NODE_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: venv
	$(BIN)/python -m bench

system-deps:
	bash scripts/system-deps.sh

ensure-system-deps:
	@bash scripts/ensure-system-deps.sh

# Not part of `make test`: it takes minutes and needs a container engine (started if none answers).
image-test: venv
	bash scripts/image-deps.sh
	AIRDATE_IMAGE_TEST=1 $(BIN)/python -m pytest -s tests/image $(PYTEST_ARGS)

lock:
	bash scripts/lock.sh

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules tests/conformance/.build .pytest_cache .mypy_cache .ruff_cache \
	    .wheelhouse build
