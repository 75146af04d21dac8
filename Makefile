SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTEST := $(VENV)/bin/pytest
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_HOME := $(CURDIR)/.cdk
export AWS_EC2_METADATA_DISABLED := true

.PHONY: install local test test-unit test-functions test-infra test-e2e test-sim lint format synth deploy destroy bench mutate clean

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

test: install lint
	$(PYTEST)

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

deploy: install
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH npx cdk deploy --no-notices

destroy: install
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH npx cdk destroy --no-notices

bench: install
	$(PY) -m bench

# MODULES="converse errors" to test some modules only; WORKERS=1 on a busy machine.
mutate: install
	$(PY) -m tests.mutation --workers $(or $(WORKERS),2) $(MODULES)

clean:
	rm -rf .mutmut cdk.out .build .pytest_cache .ruff_cache
