# geckoproject: `make run` starts everything, `make test` runs the whole suite.
# Both create the virtualenv and install requirements when needed.

VENV ?= .venv
PY := $(VENV)/bin/python
# QLib in a virtualenv of its own: pyqlib's dependencies conflict with requirements.txt's pins.
QLIB_VENV ?= .venv-qlib
PYTHON ?= python3
# make test's parallel runners (pytest-xdist): runner gwN gets the database <name>_gwN and
# REDIS_URL's Redis database minus N (tests/parallel.py); 3 keep 2 cores busy while tests wait.
TEST_RUNNERS ?= 3

.PHONY: run test test-fast test-chaos lint bench migrate preflight qlib-venv browser clean-venv help backup restore
.DEFAULT_GOAL := help

help:
	@echo "make run    install, migrate, start web + workers + beat + flower (Procfile)"
	@echo "make test   install and run the whole test suite against PostgreSQL and Redis,"
	@echo "           in TEST_RUNNERS (3) parallel runners"
	@echo "make test-fast   the tests that need no worker, beat or private server (~2 min)"
	@echo "make test-chaos  only the chaos run (4 workers, 20% API faults; also part of make test)"
	@echo "make lint   ruff"
	@echo "make bench  the benchmarks in bench/"
	@echo "make backup                       pg_dump to backups/geckoproject-<UTC>.dump"
	@echo "make restore FILE=x.dump CONFIRM=yes  replace the database with a backup"

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(QLIB_VENV)/.installed: requirements-qlib.txt
	test -x $(QLIB_VENV)/bin/python || $(PYTHON) -m venv $(QLIB_VENV)
	$(QLIB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(QLIB_VENV)/bin/python -m pip install --quiet -r requirements-qlib.txt
	touch $@

# The tests and bench/export.py load exports with QLib itself, run from this interpreter.
qlib-venv: $(QLIB_VENV)/.installed

# Local settings for this checkout: a random SECRET_KEY and admin password, never committed.
.env:
	@$(PYTHON) -c "import secrets; print(f'DEBUG=1\nSECRET_KEY={secrets.token_urlsafe(50)}\nADMIN_USER=admin\nADMIN_PASSWORD={secrets.token_urlsafe(12)}')" > $@
	@echo "Wrote .env (admin login: admin / see ADMIN_PASSWORD in .env)"

preflight: $(VENV)/.installed
	$(PY) -m geckoproject.preflight

migrate: preflight
	$(PY) manage.py migrate --noinput

# The API target (GECKO_API_URL from the environment, else .env's, else the simulator's) is
# written into .env first, so every process and any command from another shell calls one API.
# With the simulator's target (127.0.0.1:8765) the simulator starts too: no internet needed.
run: .env migrate
	$(PY) -m geckoproject.api_target .env
	set -a && . ./.env && set +a && $(PY) manage.py ensure_admin && $(PY) manage.py seed_schedules
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Admin: http://127.0.0.1:$${WEB_PORT:-8000}/admin/  Flower: http://127.0.0.1:$${FLOWER_PORT:-5555}/"
	set -a && . ./.env && set +a && procs="web worker_default worker_api beat flower" && \
	case "$$GECKO_API_URL" in *127.0.0.1:8765*) procs="simulator $$procs";; esac && \
	$(VENV)/bin/honcho start -f Procfile $$procs

# Debian's headless Chromium and its driver, for the admin's browser test (never a browser
# download of Selenium's own). Installed when missing and we are root with apt-get; otherwise the
# test skips, saying why (and fails in CI, where it must run).
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "browser: installing chromium and chromium-driver (Debian packages)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium chromium-driver >/dev/null; \
	else echo "browser: chromium not installed and cannot install it here (not root or no apt-get)"; \
	  echo "browser: tests/test_admin_browser.py will be skipped"; fi

# The whole suite in $(TEST_RUNNERS) runners. --dist loadgroup: the tests with private servers
# (the xdist group "private-servers", tests/marks.py) run on one runner, one after another.
test: preflight qlib-venv browser
	$(VENV)/bin/pytest -n $(TEST_RUNNERS) --dist loadgroup $(PYTEST_ARGS)

# The loop while coding: no Celery worker or beat, no private server (tests/marks.py fails
# collection on a test that starts one without the slow mark).
test-fast: preflight qlib-venv
	$(VENV)/bin/pytest -n $(TEST_RUNNERS) --dist loadgroup -m "not slow and not chaos" $(PYTEST_ARGS)

# The chaos run alone (issue 11; make test runs it too): 50 pools, 10 planner cycles, 20% API
# faults of every kind, 4 real worker processes and beat; a few minutes.
test-chaos: preflight
	$(VENV)/bin/pytest -m chaos tests/test_chaos.py $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: preflight qlib-venv
	@for script in bench/[!_]*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

backup: $(VENV)/.installed
	$(PY) manage.py backup

# Stop the workers and beat first: the restore replaces every table.
restore:
	@test -n "$(FILE)" || { echo "usage: make restore FILE=backups/geckoproject-....dump CONFIRM=yes"; exit 2; }
	$(PY) manage.py restore "$(FILE)" $(if $(filter yes,$(CONFIRM)),--yes)

clean-venv:
	rm -rf $(VENV) $(QLIB_VENV)
