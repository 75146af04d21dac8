SHELL := /bin/bash
VENV ?= .venv
# Lambda runs Python 3.13: the suites that run function code run there too, in their own virtualenv.
VENV313 ?= .venv313
SUITES_313 := tests/unit tests/functions tests/e2e tests/sim
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTEST := $(VENV)/bin/pytest
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_HOME := $(CURDIR)/.cdk
export AWS_EC2_METADATA_DISABLED := true

.PHONY: install local test test-default test-py313 test-unit test-functions test-infra test-e2e test-sim lint format synth preflight deploy destroy bench mutate mutate-again clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt lambdas/requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

local: install
	$(PY) -m local

test: test-default test-py313

test-default: install lint
	$(PYTEST)

# Skipped with a notice, never silently, where no Python 3.13 exists (.ci/python313 finds python3.13 or pyenv's).
test-py313: install
	@python313="$$(.ci/python313)"; \
	if [ -z "$$python313" ]; then \
		echo "NOTICE: no Python 3.13 interpreter on this machine (python3.13 or a pyenv 3.13.x):"; \
		echo "NOTICE: SKIPPED the Python 3.13 run of $(SUITES_313)."; \
		exit 0; \
	fi; \
	$(MAKE) --no-print-directory $(VENV313)/.installed PYTHON313="$$python313" && \
	echo "Python 3.13 run ($$python313): $(SUITES_313)" && \
	$(VENV313)/bin/pytest $(SUITES_313)

$(VENV313)/.installed: requirements.txt requirements-dev.txt lambdas/requirements.txt pyproject.toml
	$(PYTHON313) -m venv $(VENV313)
	$(VENV313)/bin/pip install --quiet --upgrade pip
	$(VENV313)/bin/pip install --quiet -r requirements-dev.txt
	$(VENV313)/bin/pip install --quiet --no-deps -e .
	touch $@

test-unit test-functions test-infra test-e2e test-sim: install
	$(PYTEST) tests/$(subst test-,,$@)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

synth: install
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH npx cdk synth -q --no-notices

# Read-only checks of the target account and Region (your AWS credentials and Region); make deploy runs them first.
preflight: install
	$(PY) -m infra.preflight

deploy: install
	@if [ -z "$(SKIP_PREFLIGHT)" ]; then $(PY) -m infra.preflight; fi
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH npx cdk deploy --no-notices

destroy: install
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH npx cdk destroy --no-notices

bench: install
	$(PY) -m bench

# MODULES="converse errors" to test some modules only; WORKERS=1 on a busy machine.
mutate: install
	$(PY) -m tests.mutation --workers $(or $(WORKERS),2) $(MODULES)

# After a full run: test only its survivors against the current tests (the module's code unchanged).
mutate-again: install
	$(PY) -m tests.mutation --again --workers $(or $(WORKERS),2) $(MODULES)

clean:
	rm -rf .mutmut cdk.out .build .pytest_cache .ruff_cache
