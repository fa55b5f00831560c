# Two commands on a fresh machine: `make demo` (the main job) and `make test` (the suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Tests always run against real PostgreSQL and Redis (started by bin/services if not running).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/inspection
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install demo test test-fast up services lock clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

demo: install
	$(PY) manage.py demo

test: install
	bin/services
	bin/system-packages
	bin/ops-tools
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest

# Everything but the end-to-end and chaos tests that start real workers.
test-fast: install
	bin/services
	bin/system-packages
	bin/ops-tools
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -m "not e2e and not chaos"

up: install
	$(PY) manage.py serve

services:
	bin/services

# Re-pin requirements.txt from requirements.in in a throwaway virtual environment.
lock:
	rm -rf /tmp/inspection-lock && $(PYTHON) -m venv /tmp/inspection-lock
	/tmp/inspection-lock/bin/pip install --quiet -r requirements.in
	{ echo "# Pinned lock of requirements.in (regenerate: make lock). Generated from a clean .venv."; \
	  /tmp/inspection-lock/bin/pip freeze | grep -viE '^(pip|setuptools|wheel)=='; } > requirements.txt

clean:
	rm -rf var/ .pytest_cache
