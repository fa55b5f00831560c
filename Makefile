# Two commands on a fresh machine: `make demo` (the main job) and `make test` (the suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCKS := $(addprefix requirements/,runtime.txt dev.txt lab.txt dev-nodeps.txt)
# Locks for CPython 3.11 on x86_64 Linux (this machine, CI, the Docker images).
LOCK = ../$(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" $(LOCK_ARGS)

# Tests always run against real PostgreSQL and Redis (started by bin/services if not running).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/inspection
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install demo lint test test-fast up services lock clean

install: $(STAMP)

# Every lock is complete and hashed, so pip installs exactly what they list (--no-deps): the
# runtime set, then development and tests, then the model lab (README, "Dependencies").
$(STAMP): requirements.txt $(LOCKS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements.txt \
		-r requirements/dev-nodeps.txt
	touch $(STAMP)

demo: install
	$(PY) manage.py demo

# The gates: lint, formatting and types (pyproject.toml configures all three). `make test` runs
# them first, so CI fails on any of them.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The fast tier, under a minute on 2 cores: no browser, no tool outside Python, no model lab,
# no real worker or server process, nothing over about a second (pytest.ini lists the tiers).
# Its tests share nothing: they run on up to 4 workers, each with its own databases.
FAST_TIER := not (e2e or chaos or browser or external or training or slow)

# Everything: the fast tier on xdist workers, the rest one test at a time, the chaos tier beside
# them (bin/test-suite says why).
test: install lint
	bin/services
	bin/system-packages
	bin/ops-tools
	bin/test-suite $(PY) $(TEST_DATABASE_URL) $(TEST_REDIS_URL) "$(FAST_TIER)"

test-fast: install
	bin/services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest \
		-m "$(FAST_TIER)" -n auto --maxprocesses 4 -q

up: install
	$(PY) manage.py serve

services:
	bin/services

# Re-lock every layer from its .in file with hashes (uv, from the dev set). Versions already
# locked are kept; `make lock LOCK_ARGS=--upgrade` (or --upgrade-package NAME) moves them.
lock: install
	cd requirements && $(LOCK) --override runtime-overrides.txt -o runtime.txt runtime.in
	cd requirements && $(LOCK) -o dev.txt dev.in
	cd requirements && $(LOCK) --no-deps -o dev-nodeps.txt dev-nodeps.in
	cd requirements && $(LOCK) -o lab.txt lab.in

clean:
	rm -rf var/ .pytest_cache
