# rds-certificate-override. `make` lists the targets. Every target bootstraps what it needs on first use:
# uv (pinned) in .tools/, then the locked environment in .venv/ (uv.lock).
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(CURDIR)/.tools/bin/uv
VENV_STAMP := .venv/.installed
RUN := $(UV) run --locked --no-sync

FUNCTION := RdsCertificateOverrideFunction
FUNCTION_DIR := .aws-sam/build/$(FUNCTION)
BUILD_STAMP := .aws-sam/build/.built
ZIP := dist/rds-certificate-override-function.zip
RUNTIME_SDK := build/lambda-runtime-sdk
RUNTIME_SDK_STAMP := $(RUNTIME_SDK)/.installed
# The Lambda runtime's Python (3.13), when this machine has it: bytecode for the artifact, and the demo's
# function processes. Without it the build skips bytecode and the demo runs the function with python3.
export RUNTIME_PYTHON ?= $(shell tools/runtime-python)
LAMBDA_SOURCES := $(wildcard lambda/*.py) lambda/requirements.txt lambda/Makefile

export UV_PYTHON_DOWNLOADS := never
export SAM_CLI_TELEMETRY := 0
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help install lock test lint format build demo deploy clean distclean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV_STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked
	touch $@

install: $(VENV_STAMP) ## Create .venv with the locked development dependencies

lock: | $(UV) ## Re-resolve uv.lock and lambda/requirements.txt after editing pyproject.toml
	$(UV) lock
	$(UV) export --frozen --only-group lambda --no-emit-project --no-header -o lambda/requirements.txt

$(BUILD_STAMP): $(LAMBDA_SOURCES) template.yaml $(VENV_STAMP)
	UV=$(UV) $(RUN) sam build --template template.yaml
	mkdir -p dist && rm -f $(ZIP)
	cd $(FUNCTION_DIR) && $(UV) run --project $(CURDIR) --locked --no-sync python -m zipfile -c $(CURDIR)/$(ZIP) *
	touch $@

build: $(BUILD_STAMP) ## Build the Lambda artifact offline (sam build, no Docker) and zip it into dist/
	@echo "artifact: $(FUNCTION_DIR) ($$(du -sk $(FUNCTION_DIR) | cut -f1) KiB), zip: $(ZIP) ($$(du -k $(ZIP) | cut -f1) KiB)"

$(RUNTIME_SDK_STAMP): uv.lock | $(VENV_STAMP)
	rm -rf $(RUNTIME_SDK)
	$(UV) export --frozen --only-group lambda-runtime --no-emit-project --no-header -o build/lambda-runtime.txt
	$(UV) pip install --quiet --require-hashes --target $(RUNTIME_SDK) -r build/lambda-runtime.txt
	touch $@

test: $(BUILD_STAMP) $(RUNTIME_SDK_STAMP) ## Run the whole test suite (unit, emulator, end to end)
	$(RUN) pytest

lint: $(VENV_STAMP) ## Run ruff, mypy, cfn-lint and sam validate --lint
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) cfn-lint template.yaml
	$(RUN) sam validate --lint --template template.yaml

format: $(VENV_STAMP) ## Format and auto-fix the Python code
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

demo: $(BUILD_STAMP) $(RUNTIME_SDK_STAMP) ## Play a stack's lifecycle against the local RDS emulator
	$(RUN) python tools/demo.py --artifact $(FUNCTION_DIR) --runtime-sdk $(RUNTIME_SDK)

deploy: $(BUILD_STAMP) ## Deploy template.yaml to your AWS account (sam deploy --guided)
	$(RUN) sam deploy --guided

clean: ## Remove build outputs
	rm -rf .aws-sam build dist cdk.out .pytest_cache .mypy_cache .ruff_cache

distclean: clean ## Also remove .venv and .tools
	rm -rf .venv .tools
