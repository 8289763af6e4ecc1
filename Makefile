# Oasis: every target creates the virtual environment itself from the lock file.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock setup.py | sha256sum | cut -c1-12)

.PHONY: venv demo test lint bench golden golden-messages services clean celery-proof

$(STAMP): requirements.lock setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

## The main job: simulate a world, serve it from the carrier sandbox, run the real DAG.
demo: venv
	$(BIN)/oasis demo

## Every test (SQLite and PostgreSQL; PostgreSQL and MariaDB are started if down).
test: venv services
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Pipeline stages on a 100k-order world, carrier parse throughput, sends/s (tables + JSON).
bench: venv
	$(BIN)/python -m bench
	$(BIN)/python -m bench.parse
	$(BIN)/python -m bench.send

## Scale-out proof: PostgreSQL metadata + CeleryExecutor + Redis (127.0.0.1:6379/11), two
## workers; fails on any duplicate send (docs/deploy.md). Several minutes; not part of CI.
celery-proof: venv services
	$(BIN)/python scripts/celery_proof.py

## Rewrite every golden file (carrier parses and rendered messages); review the diff.
golden: venv golden-messages
	$(BIN)/python -m tests.golden

golden-messages: venv
	$(BIN)/python -m tests.test_render --regen

services:
	@bash scripts/services.sh

clean:
	rm -rf .oasis
