# Quick start on a fresh Debian machine:  make run   |   make test
VENV    ?= .venv
PYTHON  ?= python3
OUT     ?=
PYTEST_ARGS ?=

.PHONY: run test setup setup-test host lint format unit integration bench selftest clean

$(VENV)/.base: pyproject.toml
	scripts/bootstrap-python $(PYTHON) $(VENV)
	$(VENV)/bin/pip install -q -e .
	touch $@

# host packages and daemons first: the vm extra compiles against libvirt-dev
$(VENV)/.test: $(VENV)/.base .host
	$(VENV)/bin/pip install -q -e '.[test,vm,remote,driver,triage]'
	touch $@

.host: scripts/setup-host $(wildcard scripts/setup.d/*)
	scripts/setup-host
	touch $@

setup: $(VENV)/.base

setup-test: $(VENV)/.test

## make run: set up, then run the suite on the built-in simulator; reports go to a new
## out/run-ID (out/latest points at it), or to OUT=DIR (a new or empty directory)
run: setup
	$(VENV)/bin/harness run $(if $(OUT),--out $(OUT))

## make test: set up everything the tests need, lint, type-check, run unit + integration,
## and last check that the tree is formatted (`make format` formats it)
test: setup-test
	scripts/setup-host --services
	$(VENV)/bin/ruff check harness tests bench
	$(VENV)/bin/mypy harness
	$(VENV)/bin/pytest tests -m "not lab" $(PYTEST_ARGS)
	$(VENV)/bin/ruff format --check harness tests bench

lint: setup-test
	$(VENV)/bin/ruff check harness tests bench
	$(VENV)/bin/mypy harness

## make format: apply the one formatter to the whole tree
format: setup-test
	$(VENV)/bin/ruff format harness tests bench

unit: setup-test
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

integration: setup-test
	scripts/setup-host --services
	$(VENV)/bin/pytest tests/integration -m integration $(PYTEST_ARGS)

selftest: setup
	$(VENV)/bin/harness selftest

bench: setup-test
	for b in bench/bench_*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .host out build drivers/dist
