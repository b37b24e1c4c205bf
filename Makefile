# The two commands of the README's quick start. Each installs what it needs first.
PYTHON ?= python3
# make serve PORT=8080 RECEIVER_PORT=8011: the UI/API port and the reference platform's port.
PORT ?= 8000
RECEIVER_PORT ?= 8001
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test install install-test

$(BIN)/tradesys: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/tradesys

install: $(BIN)/tradesys

# Start the system on the embedded default (SQLite under ./var/) with a demo tender loaded.
serve: install
	bash scripts/pdf-deps || echo "opening-record PDFs will lack Chinese fonts until these are installed" >&2
	$(BIN)/tradesys serve --demo --host 127.0.0.1 --port $(PORT) --receiver-port $(RECEIVER_PORT)

# Run the whole test suite on SQLite and PostgreSQL (and the browser tests in chromium), one
# pytest-xdist worker per core (make test TEST_WORKERS=1 for one process). A test file stays on
# one worker, so a module's browser or server is started once; each worker has its own template
# databases and temporary folders (tests/conftest.py).
TEST_WORKERS ?= auto
test: install
	bash scripts/test-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile
