# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Every install takes the exact versions of uv.lock, through this pinned uv (bootstrapped with pip).
UV_VERSION := 0.13.9
UV_STAMP := $(VENV)/.uv-$(UV_VERSION)
# uv works on $(VENV) with its interpreter and never downloads one.
UV := UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never $(BIN)/uv
# --locked: fails, instead of installing, when uv.lock no longer matches pyproject.toml.
SYNC := $(UV) sync --locked --python $(BIN)/python

.PHONY: install lock run test lint typecheck pytest migrate messages clean

# A venv made by Python's venv module: uv sync keeps its pip and uv and removes what uv.lock lacks.
$(UV_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $(UV_STAMP)

$(STAMP): pyproject.toml uv.lock $(UV_STAMP)
	$(SYNC) --extra dev
	touch $(STAMP)

install: $(STAMP)

## Re-resolve uv.lock after changing a dependency in pyproject.toml; commit both files.
lock: $(UV_STAMP)
	$(UV) lock --python $(BIN)/python

migrate: install
	$(BIN)/python manage.py migrate --noinput

## Serve on http://localhost:$(PORT) with autoreload, on the embedded SQLite database by default
## (the platform's local setup expects `make run PORT=3001`; BASE_URL follows the port).
PORT ?= 8000
run: migrate
	BASE_URL=$${BASE_URL:-http://localhost:$(PORT)} $(BIN)/python manage.py runserver 0.0.0.0:$(PORT)

## Lint, format check, the layers contract, type check, then the whole test suite.
test: lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy .

pytest: install
	$(BIN)/pytest --durations=15

## Load benchmark against production-mode gunicorn on PostgreSQL (README: Benchmarks); `make bench BENCH_ARGS=--quick` for a smoke run.
.PHONY: bench
bench: install
	$(SYNC) --extra dev --extra bench
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## Refresh the German translations after changing page texts (needs GNU gettext).
messages: install
	$(BIN)/python manage.py makemessages -l de --no-location --ignore '.venv/*' --ignore 'tests/*' --ignore 'staticfiles/*'
	$(BIN)/python manage.py compilemessages -l de --ignore '.venv/*'

clean:
	rm -rf $(VENV) staticfiles .mypy_cache .pytest_cache .ruff_cache
