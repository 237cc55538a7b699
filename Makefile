# The README's two commands: `make demo` (the main job) and `make test` (the test suite).
# Both install whatever is missing first: Debian packages (as root or via sudo) and a
# .venv with the pinned Python dependencies of requirements.lock. Re-running is quick.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: demo test deps sysdeps bench clean

demo: deps
	$(VENV)/bin/lgn-hw demo

test: deps
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

deps: sysdeps $(STAMP)

sysdeps:
	@./scripts/install-system-deps.sh

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e '.[gpu,dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

bench: deps
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist sim_build .pytest_cache
