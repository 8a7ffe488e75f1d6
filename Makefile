# Two commands: `make run` (install, migrate, demo data, serve on http://127.0.0.1:8000) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
EMBEDDED_DB = sqlite+aiosqlite:///var/linli.db
# The demo runs in development mode (login codes over HTTP, the payment simulator), on loopback only.
RUN_ENV = LINLI_DATABASE_URL=$(EMBEDDED_DB) LINLI_DEV_MODE=1

# The suite's tests are independent (each process has its own PostgreSQL database): spread them over the cores.
TEST_WORKERS ?= 2

.PHONY: run test install clean

$(BIN)/linli: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/linli

run: install
	$(RUN_ENV) $(BIN)/linli migrate
	$(RUN_ENV) $(BIN)/linli demo
	$(RUN_ENV) $(BIN)/linli serve --host 127.0.0.1 --port 8000

test: install
	$(BIN)/pytest -n $(TEST_WORKERS)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
