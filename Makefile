# Elephant: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k import"`.
PYTEST_ARGS ?=
# The demo make run loads; simulated answers fill the analysis pages at once.
DEMO_ARGS ?= --simulate-participants 24

.PHONY: run test lint typecheck pytest bench install install-dev demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed-runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed-runtime
install-dev: $(VENV)/.installed-dev

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo --host http://$(HOST):$(PORT) $(DEMO_ARGS)

run: demo
	$(PY) manage.py runserver $(HOST):$(PORT)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	$(VENV)/bin/mypy .

pytest: install-dev
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest

bench: install-dev
	$(PY) -m bench.import
	$(PY) -m bench.training
	$(PY) -m bench.attribution
	$(PY) -m bench.hf_attribution
	$(PY) -m bench.scores
	$(PY) -m bench.analysis
	$(PY) -m bench.power
	$(PY) -m bench.participants
	$(PY) -m bench.diagnostics

clean:
	rm -rf var/db.sqlite3* var/models var/media
