# The two commands a newcomer needs:  `make run`  and  `make test`  (`make help` lists the rest).
# Python 3.11, 3.12 or 3.13: `PYTHON=python3.12 make run` picks the interpreter for the venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUPPORTED := import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else 1)
VERSION := import sys; print("%d.%d" % sys.version_info[:2])

.DEFAULT_GOAL := help
.PHONY: help run setup test venv lint format bench clean check-bind bench-history

help: ## list the targets (start with `make run`, then `make test`)
	@echo "Salesdesk: the two commands are 'make run' (set up and serve) and 'make test'."
	@echo "Python 3.11-3.13 ($(PYTHON) by default; PYTHON=python3.12 make run picks another)."
	@echo
	@grep -hE '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) \
		| awk -F':.*## ' '{ order = ($$1 == "run") ? 0 : ($$1 == "test") ? 1 : 2; \
			printf "%d  make %-8s %s\n", order, $$1, $$2 }' | sort -s -k1,1n | cut -c4-

run: setup check-bind ## set everything up (venv, migrate, demo data, demo admin) and serve (GUNICORN_BIND, default 127.0.0.1:8000)
	@$(PY) -m common.serving banner
	@# A queue worker beside the web server (webhooks, "sync now"; docs/mirror.md), stopped with it.
	@$(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/gunicorn -c config/gunicorn.py config.wsgi; \
	kill $$worker 2>/dev/null

check-bind: venv
	@$(PY) -m common.serving check

setup: venv check-bind
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py setup_demo

test: venv ## run every test (SQLite by default; DATABASE_URL=postgres://... for PostgreSQL)
	$(VENV)/bin/pytest

# A .venv made by a missing, unsupported or (with PYTHON=...) different interpreter is
# rebuilt: otherwise it would stay stuck, failing the same way on every run.
venv: ## create .venv with the pinned dependencies (rebuilt when its Python is wrong)
	@if [ -e $(VENV) ] && ! $(PY) -c '$(SUPPORTED)' 2>/dev/null; then \
		echo "$(VENV) was made by a missing or unsupported Python ($$($(PY) -V 2>&1 | head -1)): rebuilding it with $(PYTHON)."; \
		rm -rf $(VENV); \
	elif [ -e $(VENV) ] && [ "$(origin PYTHON)" != file ] \
		&& [ "$$($(PY) -c '$(VERSION)')" != "$$($(PYTHON) -c '$(VERSION)' 2>/dev/null)" ]; then \
		echo "$(VENV) has Python $$($(PY) -c '$(VERSION)'), PYTHON=$(PYTHON) asks for another: rebuilding it."; \
		rm -rf $(VENV); \
	fi
	@if [ ! -e $(VENV) ]; then \
		command -v $(PYTHON) >/dev/null || { echo "No '$(PYTHON)' here. Install Python 3.11, 3.12 or 3.13, then e.g. PYTHON=python3.12 make run"; exit 1; }; \
		$(PYTHON) -c '$(SUPPORTED)' || { echo "$(PYTHON) is Python $$($(PYTHON) -c '$(VERSION)'); this project needs 3.11, 3.12 or 3.13: e.g. PYTHON=python3.12 make run"; exit 1; }; \
	fi
	@$(MAKE) --no-print-directory $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock '.[dev]'
	touch $(STAMP)

lint: venv ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv ## ruff fix and format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: ## remove .venv, staticfiles and the SQLite database
	rm -rf $(VENV) staticfiles db.sqlite3

BENCH_STAMP := $(VENV)/.bench-installed

bench: venv $(BENCH_STAMP) ## benchmark on PostgreSQL (DATABASE_URL): ours vs the floor and the usual approach
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
		|| { echo "make bench needs wrk (Debian: apt-get install wrk)"; exit 1; }
	$(PY) -m bench $(BENCH_ARGS)

bench-history: venv ## time the largest allowed sales history in-process (DATABASE_URL, migrated)
	LOG_LEVEL=ERROR $(PY) -m bench.history_cap

$(BENCH_STAMP): $(STAMP) pyproject.toml requirements.lock
	$(PY) -m pip install -q -c requirements.lock '.[dev,bench]'
	touch $(BENCH_STAMP)
