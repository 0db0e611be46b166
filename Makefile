# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest migrate messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

## Serve on http://localhost:8000 with autoreload, on the embedded SQLite database by default.
run: migrate
	$(BIN)/python manage.py runserver 0.0.0.0:8000

## Lint, format check, type check, then the whole test suite.
test: lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

pytest: install
	$(BIN)/pytest

## Load benchmark against production-mode gunicorn on PostgreSQL (README: Benchmarks); `make bench BENCH_ARGS=--quick` for a smoke run.
.PHONY: bench
bench: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## Refresh the German translations after changing page texts (needs GNU gettext).
messages: install
	$(BIN)/python manage.py makemessages -l de --no-location --ignore '.venv/*' --ignore 'tests/*' --ignore 'staticfiles/*'
	$(BIN)/python manage.py compilemessages -l de --ignore '.venv/*'

clean:
	rm -rf $(VENV) staticfiles .mypy_cache .pytest_cache .ruff_cache
