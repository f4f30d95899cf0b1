# Two commands matter (README.md): `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
WEB_PORT ?= 8000
export WEB_PORT

.PHONY: install run test bench lint format migrate demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

migrate: export DEBUG ?= true
migrate: install
	$(PY) manage.py migrate --noinput

demo: export DEBUG ?= true
demo: migrate
	$(PY) manage.py seed_demo

## Set up and run the whole platform (web, Celery worker + beat, MQTT broker, bridge, simulator).
## Development mode on a laptop: production (DEBUG off, SECRET_KEY required) is the default elsewhere.
run: export DEBUG ?= true
run: install
	$(PY) manage.py check_services
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	$(PY) manage.py setup_periodic_tasks
	@echo
	@echo "  Community Energy is starting: open http://127.0.0.1:$(WEB_PORT)/  (Ctrl-C stops everything)"
	@echo "  Log in as convenor / treasurer / operator / household1 with password energy-demo"
	@echo
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start -f Procfile

## Run the whole test suite.
test: install
	$(PY) -m pytest

## Run every benchmark in bench/ (one JSON line per size).
bench: export SECRET_KEY ?= bench-only-not-secret
bench: export DEBUG ?= true
bench: install
	$(PY) -m bench

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var/ staticfiles/ .pytest_cache/
