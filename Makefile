# The two commands a newcomer needs:  `make run`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run setup test venv lint format bench clean

run: setup ## set everything up (venv, migrate, demo data, demo admin) and serve on :8000
	@echo "Serving on http://127.0.0.1:8000  (admin: http://127.0.0.1:8000/admin/, API docs: /api/docs/)"
	@# A queue worker beside the web server (webhooks, "sync now"; docs/mirror.md), stopped with it.
	$(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/gunicorn -c config/gunicorn.py config.wsgi; \
	kill $$worker 2>/dev/null

setup: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py setup_demo

test: venv ## run every test (SQLite by default; DATABASE_URL=postgres://... for PostgreSQL)
	$(VENV)/bin/pytest

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock '.[dev]'
	touch $(STAMP)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3

BENCH_STAMP := $(VENV)/.bench-installed

bench: venv $(BENCH_STAMP) ## benchmark on PostgreSQL (DATABASE_URL): ours vs the floor and the usual approach
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
		|| { echo "make bench needs wrk (Debian: apt-get install wrk)"; exit 1; }
	$(PY) -m bench $(BENCH_ARGS)

$(BENCH_STAMP): $(STAMP) pyproject.toml requirements.lock
	$(PY) -m pip install -q -c requirements.lock '.[dev,bench]'
	touch $(BENCH_STAMP)
