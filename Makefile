# Two commands matter: `make run` and `make test`. Both build .venv on first use, from the
# lock files (the exact versions tested); `make lock` refreshes them from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test workers per pass (pytest-xdist); CI machines have 2 cores.
WORKERS ?= 2

.PHONY: run test lint typecheck migrate i18n lock bench clean

$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot.i18n
	$(BIN)/python -m bot

# The whole suite: lint, types, then SQLite, then PostgreSQL + Redis (those tests skip with the
# reason when the servers are not reachable).
test: $(STAMP)
	$(BIN)/python -m bot.i18n
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(WORKERS)
	TEST_DATABASE_URL=$${TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test} \
	TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/0} \
		$(BIN)/python -m pytest -q -p no:cacheprovider -n $(WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

migrate: $(STAMP)
	$(BIN)/python -m bot migrate

# Refresh the ru/uk catalogs after changing texts (uk translations are then filled in).
i18n: $(STAMP)
	$(BIN)/python -m bot.i18n update

# Pin every dependency (and the tools) for Python 3.11 after changing pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra postgres --extra redis --universal \
		--python-version 3.11 --no-header -q -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal \
		--python-version 3.11 --no-header -q -o requirements-dev.lock

bench: $(STAMP)
	$(BIN)/python -m bench.notify_drain

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
