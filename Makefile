# Two commands: `make run` (install, migrate, demo data, serve on http://127.0.0.1:8000) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
EMBEDDED_DB = sqlite+aiosqlite:///var/linli.db

.PHONY: run test install clean

$(BIN)/linli: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/linli

run: install
	LINLI_DATABASE_URL=$(EMBEDDED_DB) $(BIN)/linli migrate
	LINLI_DATABASE_URL=$(EMBEDDED_DB) $(BIN)/linli demo
	LINLI_DATABASE_URL=$(EMBEDDED_DB) $(BIN)/linli serve --host 127.0.0.1 --port 8000

test: install
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
