# Two commands matter: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint migrate i18n bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot.i18n
	$(BIN)/python -m bot

# The whole suite: lint, then SQLite, then PostgreSQL + Redis (skipped with a reason when absent).
test: $(STAMP)
	$(BIN)/python -m bot.i18n
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -p no:cacheprovider
	TEST_DATABASE_URL=$${TEST_POSTGRES_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test} \
	TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/0} \
		$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .

migrate: $(STAMP)
	$(BIN)/python -m bot migrate

# Refresh the ru/uk catalogs after changing texts (uk translations are then filled in).
i18n: $(STAMP)
	$(BIN)/python -m bot.i18n update

bench: $(STAMP)
	$(BIN)/python -m bench.notify_drain

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
