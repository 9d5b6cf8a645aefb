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
# The Lambda runtime's Python (template.yaml's Runtime), when this machine has it: bytecode for the artifact and the demo's
# function processes. Without it the build skips bytecode and the demo runs the function with python3.
export RUNTIME_VERSION := $(shell sed -n 's/^ *Runtime: python//p' template.yaml)
export RUNTIME_PYTHON ?= $(shell tools/runtime-python $(RUNTIME_VERSION))
LAMBDA_SOURCES := $(wildcard lambda/*.py) lambda/requirements.txt lambda/Makefile
# The CDK construct (cdk/) ships the SAM build output as its Lambda asset: one build for both.
CDK_ASSET := cdk/src/rds_certificate_override/function
CDK_OUT := cdk/cdk.out
STACKSET_DIR := dist/stackset

export UV_PYTHON_DOWNLOADS := never
# Compile bytecode at install, as pip does: where PYTHONDONTWRITEBYTECODE is set (it is on CI), every run
# would otherwise recompile aws_cdk, botocore and moto from source (seconds per synth).
export UV_COMPILE_BYTECODE := 1
export SAM_CLI_TELEMETRY := 0
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help install lock unit test lint format build demo bench deploy cdk-asset synth cdk-wheel stackset simulate-org clean distclean

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
	# Compiled by the runtime's Python, as the Lambda runtime's own boto3 is: cold starts compare fairly.
	$(UV) pip install --quiet --require-hashes --target $(RUNTIME_SDK) -r build/lambda-runtime.txt \
		$(if $(RUNTIME_PYTHON),--python $(RUNTIME_PYTHON) --compile-bytecode)
	touch $@

unit: $(VENV_STAMP) ## Run the pure unit tests (no build, seconds)
	$(RUN) pytest tests/unit

test: $(BUILD_STAMP) $(RUNTIME_SDK_STAMP) $(CDK_ASSET)/index.py ## Run the whole test suite (unit, emulator, end to end, CDK)
	$(RUN) pytest

# cfn-lint's W3005 (a DependsOn also implied by a GetAtt) is CDK's doing: it always makes a Function depend
# on its role. checkov pins its own boto3, so it runs from its own locked environment (tools/scanners);
# --skip-download keeps it offline. Every finding it has on these templates is skipped inline, with the reason.
lint: $(VENV_STAMP) synth stackset ## Run ruff, mypy, bandit, cfn-lint, sam validate --lint and checkov (SAM, CDK, StackSet)
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) cfn-lint template.yaml
	$(RUN) cfn-lint --ignore-checks W3005 -- $(CDK_OUT)/*.template.json
	$(RUN) cfn-lint $(STACKSET_DIR)/template.json
	$(RUN) sam validate --lint --template template.yaml
	$(RUN) bandit --quiet --recursive lambda
	$(UV) run --project tools/scanners --locked checkov --quiet --compact --skip-download \
		--framework cloudformation --file template.yaml $(addprefix --file ,$(wildcard $(CDK_OUT)/*.template.json)) \
		--file $(STACKSET_DIR)/template.json

format: $(VENV_STAMP) ## Format and auto-fix the Python code
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

demo: $(BUILD_STAMP) $(RUNTIME_SDK_STAMP) ## Play a stack's lifecycle against the local RDS emulator
	$(RUN) python -m rds_override_tools.demo --artifact $(FUNCTION_DIR) --runtime-sdk $(RUNTIME_SDK)

bench: $(BUILD_STAMP) $(RUNTIME_SDK_STAMP) $(CDK_ASSET)/index.py ## Measure cold start, per-event time and RDS calls, artifact size, synth time
	$(RUN) python tools/bench.py

# The operator's command (src/rds_override_tools), e.g. make status ARGS="--organization --role-name Audit --json"
.PHONY: status bench-status
status: $(VENV_STAMP) ## Fleet report: per account and region, the RDS default CA against the ledger (ARGS=...)
	$(RUN) rds-certificate-override status $(ARGS)

bench-status: $(VENV_STAMP) ## Time `status` over 50 accounts x 17 regions on the emulator (median of 3)
	$(RUN) python tools/bench_status.py $(ARGS)

deploy: $(BUILD_STAMP) ## Deploy template.yaml to your AWS account (sam deploy --guided)
	$(RUN) sam deploy --guided

# index.py stands for the whole copy; cp gives it a fresh mtime, newer than the build stamp.
$(CDK_ASSET)/index.py: $(BUILD_STAMP)
	rm -rf $(CDK_ASSET)
	cp -R $(FUNCTION_DIR) $(CDK_ASSET)

cdk-asset: $(CDK_ASSET)/index.py ## Copy the built function into the CDK package (cdk/) as its Lambda asset

synth: $(CDK_ASSET)/index.py ## Synthesize the example CDK app (cdk/app.py) into cdk/cdk.out, offline
	rm -rf $(CDK_OUT)
	CDK_OUTDIR=$(CDK_OUT) $(RUN) python cdk/app.py
	@echo "synthesized: $$(ls $(CDK_OUT)/*.template.json)"

# REGIONS: the regions each stack instance manages, e.g. REGIONS="eu-west-1 eu-central-1" (default: the
# regions every account has enabled); PARTITION for aws-cn, aws-us-gov... Checked against the SDK's list.
stackset: $(BUILD_STAMP) ## Write dist/stackset/: a template a service-managed StackSet accepts, and the function zip
	$(RUN) python -m rds_override_tools.stackset --regions "$(REGIONS)" \
		--partition "$(or $(PARTITION),aws)" --zip $(ZIP) --out $(STACKSET_DIR)

# ACCOUNTS (50) accounts, each managing the first REGIONS (17) of the default regions: here REGIONS is a count.
simulate-org: $(BUILD_STAMP) $(RUNTIME_SDK_STAMP) ## Play an Organization rollout on the emulator (ACCOUNTS x REGIONS) and check it
	$(RUN) python -m rds_override_tools.simulate --accounts $(or $(ACCOUNTS),50) --regions $(or $(REGIONS),17)

cdk-wheel: $(CDK_ASSET)/index.py ## Build the CDK package's wheel (asset included) into dist/
	$(UV) build --wheel --out-dir dist cdk

clean: ## Remove build outputs
	rm -rf .aws-sam build dist cdk.out $(CDK_OUT) $(CDK_ASSET) .pytest_cache .mypy_cache .ruff_cache

distclean: clean ## Also remove .venv and .tools
	rm -rf .venv .tools
