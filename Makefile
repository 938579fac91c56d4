# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint messages clean-var

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

## Start the hub: embedded PostgreSQL/Redis when DATABASE_URL/REDIS_URL are unset,
## migrate, first admin, demo data, then web + worker + beat until Ctrl-C.
run: $(VENV)/.installed
	$(PY) -m hub.launcher

## The whole suite, browser tests included, against real PostgreSQL and Redis.
test: $(VENV)/.installed-dev
	@./tests/install-chromium.sh
	@command -v prometheus >/dev/null || ./tests/install-prometheus.sh
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Recompile translations after editing locale/*/LC_MESSAGES/django.po
messages: $(VENV)/.installed
	$(PY) manage.py compilemessages --ignore .venv

## Stop the embedded services and delete their data (asks first).
clean-var:
	@read -p "Delete var/ (embedded database, Redis, secret key)? [y/N] " answer && [ "$$answer" = y ]
	$(PY) -c "from hub import embedded; embedded.stop(['redis', 'postgres'])"
	rm -rf var
