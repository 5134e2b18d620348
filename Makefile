# Relance: `make demo` runs the local demo, `make test` runs every test. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
STAMP := $(VENV)/.installed

.PHONY: demo test install system-packages sam node-packages i18n docs bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# Debian's chromium drives the browser tests (never `playwright install`: it downloads a browser).
system-packages:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

# SAM CLI pins its own boto3, click and pydantic: it lives in its own virtualenv.
$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --upgrade pip
	$(SAM_VENV)/bin/pip install -q aws-sam-cli==1.170.0

sam: $(SAM_VENV)/bin/sam

# axe-core (pinned in package-lock.json) is injected into portal pages by the browser tests.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update -q && apt-get install -y -q npm; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node-packages: node_modules/.installed

demo: $(STAMP)
	$(BIN)/relance demo

test: $(STAMP) system-packages sam node-packages
	SAM_CLI_TELEMETRY=0 NO_MKDOCS_2_WARNING=1 $(BIN)/python -m pytest -n auto --dist loadscope

i18n: $(STAMP)
	$(BIN)/pybabel extract -F portal/relance_portal/babel.cfg -o portal/relance_portal/translations/messages.pot portal/relance_portal
	$(BIN)/pybabel update -i portal/relance_portal/translations/messages.pot -d portal/relance_portal/translations
	$(BIN)/pybabel compile -d portal/relance_portal/translations
	$(BIN)/pybabel extract -F portal/relance_backoffice/babel.cfg -o portal/relance_backoffice/translations/messages.pot portal/relance_backoffice
	$(BIN)/pybabel update -i portal/relance_backoffice/translations/messages.pot -d portal/relance_backoffice/translations
	$(BIN)/pybabel compile -d portal/relance_backoffice/translations

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a 127.0.0.1:8001

bench: $(STAMP)
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/dunning.py
	$(BIN)/python bench/portal.py
	$(BIN)/python bench/coldstart.py
	$(BIN)/python bench/import.py

clean:
	rm -rf $(VENV) $(SAM_VENV) node_modules .relance site .pytest_cache
