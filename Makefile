# The two commands of the README: `make up` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: up test setup system-deps translations clean

up: setup  ## set up and run the app with the demo province on SQLite
	$(BIN)/postal up --demo

test: setup system-deps  ## install everything and run the whole suite (SQLite, then PostgreSQL)
	bash scripts/test.sh

setup: $(VENV)/.installed node_modules/.installed translations

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d translations --use-fuzzy >/dev/null
	$(BIN)/pybabel compile -d translations -D wtforms >/dev/null

system-deps:  ## Chromium for the browser tests, poppler for the PDF checks (Debian packages)
	@bash scripts/system-deps.sh

clean:
	rm -rf $(VENV) node_modules instance test-output
