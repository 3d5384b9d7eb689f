# `make run` serves the product on http://127.0.0.1:8000; `make test` runs the whole test suite.
# Both set up everything they need first (virtualenv, packages, embedded PostgreSQL).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup system-deps serve migrate demo lint bench clean-db

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first: anything else pulls several GB of CUDA wheels.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

# System packages the tests use, from the OS package manager, when missing and we may install:
# redis-server (Redis session store tests) and chromium (browser tests of the widget; never downloaded by Playwright).
SYSTEM_PACKAGES := redis-server:redis-server chromium:chromium
system-deps:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
		command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
		else echo "Install with your package manager:$$missing"; exit 1; fi; \
		echo "Installing$$missing"; \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

migrate: setup
	$(PY) manage.py migrate --noinput -v0

demo: migrate
	$(PY) manage.py ingest docs/guide --reference-base /docs/
	$(PY) manage.py ensure_admin

# One process on an event loop (uvicorn, ASGI): the default in-memory session store lives inside that process.
serve: setup
	$(PY) manage.py collectstatic --noinput -v0
	@echo "Serving on http://$(HOST):$(PORT)/ (admin at /admin/, API docs at /api/docs/). Ctrl-C stops."
	@$(PY) manage.py ingestion_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) -m chatbot_site.server --host $(HOST) --port $(PORT)

run: demo serve

test: setup system-deps
	$(PY) -m pytest
	@echo "The database tests once more, against a PostgreSQL server of their own through DATABASE_URL:"
	$(PY) -m tests.external_postgres tests/knowledge tests/chat tests/chatbot_site -q -m "not slow" -p no:cacheprovider

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
