# The README's commands. `make run` and `make test` both start with `make install`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/kpiboard
TEST_BROKER_URL ?= redis://127.0.0.1:6379/14

.PHONY: install run test screenshots lint format bench messages demo clean

install: $(VENV)/.installed
	@scripts/system-deps.sh

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo
	@echo "  kpiboard is served on http://127.0.0.1:8000"
	@echo "  Log in as demo / demo (admin of both demo organizations) or viewer / viewer (viewer only)."
	@echo
	$(PY) manage.py runserver 127.0.0.1:8000

test: install
	@scripts/ensure-services.sh
	@# Models vs migrations only: an empty in-memory database (the test one may not exist yet).
	DATABASE_URL=sqlite:///:memory: LOG_LEVEL=WARNING $(PY) manage.py makemigrations --check --dry-run > /dev/null || \
		{ echo "Models and migrations differ: run manage.py makemigrations."; exit 1; }
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	@# Tasks run inline in the test process; the worker tests start real workers on TEST_BROKER_URL.
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_BROKER_URL=$(TEST_BROKER_URL) \
		$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# The browser tests again, saving a full-page screenshot of every page they visit, in both
# languages and both widths, under test-artifacts/ for a person to look at.
screenshots: install
	@scripts/ensure-services.sh
	SCREENSHOTS=1 DATABASE_URL=$(TEST_DATABASE_URL) TEST_BROKER_URL=$(TEST_BROKER_URL) \
		$(PY) -m pytest -m browser -n 2 --dist loadgroup $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

messages:
	$(PY) manage.py makemessages -l fr --no-location --no-obsolete --ignore=.venv --ignore=bench --ignore=tests --ignore=static --ignore=staticfiles --ignore=test-artifacts --ignore=docs
	$(PY) manage.py compilemessages -l fr --ignore=.venv

bench: install
	@scripts/system-deps.sh wrk
	@scripts/ensure-services.sh
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m bench

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
