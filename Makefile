# queueadmin: `make run` starts the demo, `make test` runs the suite.
# Both create the virtualenv (.venv) on first use with a Python >= 3.12.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run serve test screenshots lint format venv clean

# Looks on PATH first, then in pyenv's and the usual install locations.
define FIND_PYTHON
ok() { "$$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; }; \
for c in python3 python3.14 python3.13 python3.12 python; do \
  p=$$(command -v "$$c" 2>/dev/null) && ok "$$p" && { echo "$$p"; exit 0; }; \
done; \
root=$${PYENV_ROOT:-$$(pyenv root 2>/dev/null || echo "$$HOME/.pyenv")}; \
for p in $$(ls -d "$$root"/versions/3.*/bin/python 2>/dev/null | sort -t/ -k1,1 -rV) \
         /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9] /opt/python*/bin/python3; do \
  [ -x "$$p" ] && ok "$$p" && { echo "$$p"; exit 0; }; \
done; exit 1
endef

venv: $(STAMP)

$(STAMP): pyproject.toml
	@python=$$( $(FIND_PYTHON) ) || { \
	  echo "queueadmin needs Python 3.12 or newer and found none on PATH or under pyenv."; \
	  echo "Install one, e.g. 'pyenv install 3.13' or 'apt-get install python3.13 python3.13-venv',"; \
	  echo "then run make again."; exit 1; }; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	  echo "Creating $(VENV) with $$python ($$($$python --version))"; \
	  rm -rf $(VENV) && $$python -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The dashboard and a worker side by side; Ctrl-C stops both.
run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_demo_user
	$(PY) manage.py enqueue_demo --base-url http://$(HOST):$(PORT)
	@echo "queueadmin at http://$(HOST):$(PORT)/ (Django admin: http://$(HOST):$(PORT)/admin/)"
	@$(PY) manage.py runworker --queue '*' --concurrency 4 & worker=$$!; \
	  trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(PY) manage.py runserver --noreload $(HOST):$(PORT)

# The production setup, locally: DEBUG=0, gunicorn, WhiteNoise and a worker beside it.
# Plain HTTP on this machine, so the HTTPS-only settings are off here (keep them on in
# production; see README "Deploying"). SECRET_KEY is a fresh random one unless set.
serve: $(STAMP)
	@export DEBUG=0 SECURE_SSL_REDIRECT=0 SECURE_COOKIES=0 SECURE_HSTS_SECONDS=0; \
	  export SECRET_KEY="$${SECRET_KEY:-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')}"; \
	  $(PY) manage.py migrate --noinput && $(PY) manage.py collectstatic --noinput -v 0 || exit 1; \
	  echo "queueadmin (DEBUG=0, gunicorn) at http://$(HOST):$(PORT)/"; \
	  echo "No login yet? Create one: $(PY) manage.py createsuperuser"; \
	  $(PY) manage.py runworker --queue '*' & worker=$$!; \
	  trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	  $(VENV)/bin/gunicorn queueadmin.wsgi --bind $(HOST):$(PORT) --workers 2 \
	    --access-logfile - --graceful-timeout 30

# The browser tests' npm packages (React, esbuild: package-lock.json), installed when npm
# is here and node_modules is missing or older than the lock file. Without them
# tests/browser/test_react.py is skipped (and fails under CI).
NODE_STAMP := node_modules/.package-lock.json
NPM := $(shell command -v npm 2>/dev/null)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $(NODE_STAMP)

test: $(STAMP) $(if $(NPM),$(NODE_STAMP))
	$(PY) -m pytest $(PYTEST_ARGS)

# Retake the README's dashboard screenshots (docs/screenshots/) with the browser tests.
screenshots: $(STAMP)
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/browser/test_dashboard.py -k screenshot

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache node_modules
