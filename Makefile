# Quick start on a fresh Debian machine:  make run   |   make test
VENV    ?= .venv
PYTHON  ?= python3
OUT     ?=
PYTEST_ARGS ?=
# test processes for make test (pytest-xdist, one test file per process at a time): the
# integration tests mostly wait on guests, so three processes on two cores halve the wall time
PYTEST_JOBS ?= 3

.PHONY: run test setup setup-test host lint format unit integration bench selftest clean

$(VENV)/.base: pyproject.toml
	scripts/bootstrap-python $(PYTHON) $(VENV)
	$(VENV)/bin/pip install -q -e .
	touch $@

# The build machine is set up as every lab hypervisor is: the ansible role `hypervisor` on
# localhost (scripts/setup-host; it installs ansible into the venv first). The role installs
# the packages, starts the daemons and installs the test extras into the venv; a converge with
# nothing to do still takes 15-70 s on a loaded 2-core host, so it runs again only when the
# role, the local inventory or pyproject.toml changed (this stamp). `make test` starts the
# daemons every time (tag services, 5-12 s): CI has no systemd.
HOST_ROLE := $(shell find ansible/ansible.cfg ansible/playbooks/hypervisors.yml \
                  ansible/inventories/local ansible/roles/hypervisor -type f \
                  -not -path '*/molecule/*' -not -name '*.pyc' 2>/dev/null)
.host: scripts/setup-host $(HOST_ROLE) pyproject.toml $(VENV)/.base
	VENV=$(VENV) scripts/setup-host
	touch $@

$(VENV)/.test: .host
	touch $@

setup: $(VENV)/.base

setup-test: $(VENV)/.test

## make run: set up, then run the suite on the built-in simulator; reports go to a new
## out/run-ID (out/latest points at it), or to OUT=DIR (a new or empty directory)
run: setup
	$(VENV)/bin/harness run $(if $(OUT),--out $(OUT))

## make test: set up everything the tests need, lint, check that the tree is formatted
## (`make format` formats it), type-check, build the drivers (once, before the test
## processes share them), run unit + integration
test: setup-test
	VENV=$(VENV) scripts/setup-host --services
	$(VENV)/bin/ruff check harness tests bench
	$(VENV)/bin/ruff format --check harness tests bench
	$(VENV)/bin/mypy harness
	cd ansible && PATH=$(abspath $(VENV))/bin:$$PATH ansible-lint --profile production --nocolor -q
	$(MAKE) -s -C drivers all linux
	$(VENV)/bin/pytest tests -m "not lab" -n $(PYTEST_JOBS) --dist loadfile $(PYTEST_ARGS)

lint: setup-test
	$(VENV)/bin/ruff check harness tests bench
	$(VENV)/bin/mypy harness
	cd ansible && PATH=$(abspath $(VENV))/bin:$$PATH ansible-lint --profile production --nocolor -q

## make format: apply the one formatter to the whole tree
format: setup-test
	$(VENV)/bin/ruff format harness tests bench

unit: setup-test
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

integration: setup-test
	VENV=$(VENV) scripts/setup-host --services
	$(MAKE) -s -C drivers all linux
	$(VENV)/bin/pytest tests/integration -m integration -n $(PYTEST_JOBS) --dist loadfile $(PYTEST_ARGS)

selftest: setup
	$(VENV)/bin/harness selftest

bench: setup-test
	for b in bench/bench_*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .host out build drivers/dist
