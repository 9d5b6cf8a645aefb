# rds-certificate-override. `make` lists the targets. Every target bootstraps what it needs on first use:
# uv (pinned) in .tools/, then the locked environment in .venv/ (uv.lock). Steps print one `==>` line each;
# the output of the noisy ones (pip, uv, sam build) goes to build/logs/ and is shown only when they fail.
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
LAMBDA_SOURCES := $(wildcard lambda/*.py lambda/rds_override_ledger/*.py) lambda/requirements.txt lambda/Makefile
# The CDK construct (cdk/) ships the SAM build output as its Lambda asset: one build for both.
CDK_ASSET := cdk/src/rds_certificate_override/function
CDK_OUT := cdk/cdk.out
STACKSET_DIR := dist/stackset
# The member accounts' roles for `status` and `rotate` (--role-name): kept by hand, shipped as it is.
MEMBER_ROLES := member-roles.yaml
MEMBER_ROLES_DIR := dist/member-roles
# The Guard Hook (policy/guard-hook.yaml) and its data refresh function: the operator package, no dependencies.
POLICY_HOOK_DIR := dist/policy-hook
POLICY_FUNCTION := build/policy-hook/function

export UV_PYTHON_DOWNLOADS := never
# Compile bytecode at install, as pip does: where PYTHONDONTWRITEBYTECODE is set (it is on CI), every run
# would otherwise recompile aws_cdk, botocore and moto from source (seconds per synth).
export UV_COMPILE_BYTECODE := 1
export SAM_CLI_TELEMETRY := 0
# jsii's Node prints an end-of-life banner on every CDK run, which jsii's Python runtime passes on as bytes
# literals (b'!!  Node 20 is end-of-life ...': aws/jsii#4065). Silenced for the Node on PATH, whatever its major.
ifndef JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
endif

LOGS := build/logs
# $(call logged,NAME,COMMAND): run COMMAND with its output in $(LOGS)/NAME.log, shown only if it fails.
logged = mkdir -p $(LOGS) && { $(2); } > $(LOGS)/$(1).log 2>&1 \
	|| { cat $(LOGS)/$(1).log; echo "==> failed: the output above is in $(LOGS)/$(1).log" >&2; exit 1; }

STACK_NAME ?= rds-certificate-override

.PHONY: help install lock unit test lint format build demo invoke bench status status-demo bench-status rotate \
	bench-rotate check-trust-store trust-store-demo bench-trust-store deploy deploy-check outputs delete release \
	cdk-asset synth cdk-wheel stackset member-roles policy-hook simulate-org mutate explore docs clean distclean

# The descriptions start in one column, after the longest target name.
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} \
		{name[NR] = $$1; text[NR] = $$2; if (length($$1) > width) width = length($$1)} \
		END {for (i = 1; i <= NR; i++) printf "  %-" width "s  %s\n", name[i], text[i]}'

$(UV):
	@echo "==> installing uv $(UV_VERSION) into .tools/"
	@$(call logged,uv,$(PYTHON) -m venv .tools && .tools/bin/pip install --disable-pip-version-check uv==$(UV_VERSION))

$(VENV_STAMP): pyproject.toml local/pyproject.toml uv.lock lambda/version.py | $(UV)
	@echo "==> installing the development environment into .venv/ (uv.lock; the first time takes a few minutes)"
	@$(UV) sync --locked --quiet
	@touch $@

install: $(VENV_STAMP) ## Create .venv with the locked development dependencies

lock: | $(UV) ## Re-resolve uv.lock and lambda/requirements.txt after editing pyproject.toml
	$(UV) lock
	$(UV) export --frozen --only-group lambda --no-emit-project --no-header -o lambda/requirements.txt

$(BUILD_STAMP): $(LAMBDA_SOURCES) template.yaml $(VENV_STAMP)
	@echo "==> building the function (sam build, no Docker)"
	@$(call logged,sam-build,UV=$(UV) $(RUN) sam build --template template.yaml)
	@mkdir -p dist && rm -f $(ZIP)
	@$(RUN) python tools/function_zip.py $(FUNCTION_DIR) $(ZIP)
	@touch $@

build: $(BUILD_STAMP) ## Build the Lambda artifact offline (sam build, no Docker) and zip it into dist/
	@echo "artifact: $(FUNCTION_DIR) ($$(du -sk $(FUNCTION_DIR) | cut -f1) KiB), zip: $(ZIP) ($$(du -k $(ZIP) | cut -f1) KiB)"

# Compiled by the runtime's Python, as the Lambda runtime's own boto3 is: cold starts compare fairly.
$(RUNTIME_SDK_STAMP): uv.lock | $(VENV_STAMP)
	@echo "==> installing boto3 beside the function, as the Lambda runtime provides it ($(RUNTIME_SDK))"
	@rm -rf $(RUNTIME_SDK)
	@$(UV) export --quiet --frozen --only-group lambda-runtime --no-emit-project --no-header \
		-o build/lambda-runtime.txt
	@$(UV) pip install --quiet --require-hashes --target $(RUNTIME_SDK) -r build/lambda-runtime.txt \
		$(if $(RUNTIME_PYTHON),--python $(RUNTIME_PYTHON) --compile-bytecode)
	@touch $@

unit: $(VENV_STAMP) ## Run the pure unit tests (no build, seconds)
	$(RUN) pytest tests/unit

test: $(BUILD_STAMP) $(RUNTIME_SDK_STAMP) $(CDK_ASSET)/index.py ## Run the whole test suite (unit, emulator, end to end, CDK)
	$(RUN) pytest

# The function's code (lambda/) is importable through PYTHONPATH, as under pytest (pyproject's pythonpath).
explore: $(VENV_STAMP) ## Explore 10,000 schedules of concurrent events under faults (ARGS="--seed N" replays one)
	@PYTHONPATH=lambda $(RUN) python -m rds_override_local.explorer $(ARGS)

# cfn-lint's W3005 (a DependsOn also implied by a GetAtt) is CDK's doing: it always makes a Function depend
# on its role. checkov pins its own boto3, so it runs from its own locked environment (tools/scanners);
# --skip-download keeps it offline. Every finding it has on these templates is skipped inline, with the reason.
# bandit only warns (exit 0) about a `# nosec` comment it cannot parse: any output of it fails the lint.
lint: $(VENV_STAMP) synth stackset ## Run ruff, mypy, bandit, cfn-lint, sam validate --lint and checkov (SAM, CDK, StackSet, roles)
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) cfn-lint template.yaml
	$(RUN) cfn-lint --ignore-checks W3005 -- $(CDK_OUT)/*.template.json
	$(RUN) cfn-lint $(STACKSET_DIR)/template.json
	$(RUN) cfn-lint $(MEMBER_ROLES)
	$(RUN) cfn-lint policy/guard-hook.yaml
	$(RUN) sam validate --lint --template template.yaml
	$(RUN) bandit --quiet --recursive lambda 2>&1 | { ! grep .; }
	$(UV) run --quiet --project tools/scanners --locked checkov --quiet --compact --skip-download \
		--framework cloudformation --file template.yaml $(addprefix --file ,$(wildcard $(CDK_OUT)/*.template.json)) \
		--file $(STACKSET_DIR)/template.json --file $(MEMBER_ROLES) --file policy/guard-hook.yaml

format: $(VENV_STAMP) ## Format and auto-fix the Python code
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

demo: $(BUILD_STAMP) $(RUNTIME_SDK_STAMP) ## Play a stack's lifecycle against the local RDS emulator
	@echo "==> playing the demo"
	@$(RUN) python -m rds_override_local.demo --artifact $(FUNCTION_DIR) --runtime-sdk $(RUNTIME_SDK)

invoke: $(BUILD_STAMP) $(RUNTIME_SDK_STAMP) ## Play one event on the emulator: make invoke EVENT=events/create.json
	@test -n "$(EVENT)" || { echo "EVENT is required, e.g. make invoke EVENT=events/create.json" \
		"(samples: $(wildcard events/*.json))" >&2; exit 2; }
	@$(RUN) python -m rds_override_local.play_event $(EVENT) --artifact $(FUNCTION_DIR) --runtime-sdk $(RUNTIME_SDK) \
		$(if $(OVERRIDE),--override $(OVERRIDE))

# Material for MkDocs prints a banner about MkDocs 2 on every build: NO_MKDOCS_2_WARNING silences it.
docs: $(VENV_STAMP) ## Build the documentation site (docs/, mkdocs.yml) into build/site; strict: any warning fails
	@NO_MKDOCS_2_WARNING=1 $(RUN) mkdocs build --strict
	@echo "site: build/site/index.html"

mutate: $(VENV_STAMP) ## Mutation run (mutmut) of the ledger, lock and handler (slow); ARGS=--listed: the known changes
	$(RUN) python tools/mutate.py $(ARGS)

bench: $(BUILD_STAMP) $(RUNTIME_SDK_STAMP) $(CDK_ASSET)/index.py ## Measure cold start, per-event time and RDS calls, artifact size, synth time
	$(RUN) python tools/bench.py

# The operator's command (src/rds_override_tools), e.g. make status ARGS="--organization --role-name RdsCertificateOverrideAudit --json"
status: $(VENV_STAMP) ## Fleet report: per account and region, the RDS default CA against the ledger (ARGS=...)
	$(RUN) rds-certificate-override status $(ARGS)

status-demo: $(VENV_STAMP) ## Show `status` on the emulator, a few regions arranged (drift, stale, undeclared)
	@$(RUN) python -m rds_override_local.status_demo $(ARGS)

bench-status: $(VENV_STAMP) ## Time `status` over 50 accounts x 17 regions on the emulator (median of 3)
	$(RUN) python tools/bench_status.py $(ARGS)

rotate: $(VENV_STAMP) ## Plan (or --apply) the move of every database to its region's CA (ARGS=...)
	$(RUN) rds-certificate-override rotate $(ARGS)

bench-rotate: $(VENV_STAMP) ## Time `rotate`'s plan over 50 accounts x 17 regions x 10 databases; measure --max-concurrent
	$(RUN) python tools/bench_rotate.py $(ARGS)

check-trust-store: $(VENV_STAMP) ## Does a client trust store hold each region's RDS root? (ARGS="PATH --regions ... --to CA")
	$(RUN) rds-certificate-override check-trust-store $(ARGS)

trust-store-demo: $(VENV_STAMP) ## Show `check-trust-store` on the emulator: a ready store beside a stale one
	@$(RUN) python -m rds_override_local.trust_store_demo $(ARGS)

bench-trust-store: $(VENV_STAMP) ## Time `check-trust-store` (500 certificates x 17 regions) against one `status`; count reads
	$(RUN) python tools/bench_trust_store.py $(ARGS)

# Credentials and region are checked first (one STS call), before the build and sam's questions.
deploy-check: $(VENV_STAMP)
	@$(RUN) python -m rds_override_tools.stack_region --target deploy --check-credentials >/dev/null

deploy: deploy-check $(BUILD_STAMP) ## Deploy template.yaml to your AWS account (sam deploy --guided; REGION=...)
	@region="$$($(RUN) python -m rds_override_tools.stack_region --target deploy)" \
		&& $(RUN) sam deploy --guided --region "$$region"

# The stack's region, for outputs and delete: REGION=..., else AWS_REGION, AWS_DEFAULT_REGION, the region
# `make deploy` saved in samconfig.toml, the AWS profile's; rds_override_tools.stack_region says so when
# there is none.
outputs: $(VENV_STAMP) ## Show the deployed stack's outputs and the region's default CA for new DB instances
	@region="$$($(RUN) python -m rds_override_tools.stack_region --target outputs)" \
		&& $(RUN) sam list stack-outputs --stack-name $(STACK_NAME) --region "$$region" --output table \
		&& $(RUN) python -c 'import sys, boto3; print("DefaultCertificateForNewLaunches =", \
			boto3.client("rds", region_name=sys.argv[1]).describe_certificates()["DefaultCertificateForNewLaunches"])' \
			"$$region"

delete: $(VENV_STAMP) ## Delete the stack (sam delete): STACK_NAME=rds-certificate-override, REGION=...
	@region="$$($(RUN) python -m rds_override_tools.stack_region --target delete)" \
		&& echo "==> sam delete --stack-name $(STACK_NAME) --region $$region" \
		&& $(RUN) sam delete --stack-name $(STACK_NAME) --region "$$region"

# index.py stands for the whole copy; cp gives it a fresh mtime, newer than the build stamp.
$(CDK_ASSET)/index.py: $(BUILD_STAMP)
	@rm -rf $(CDK_ASSET)
	@cp -R $(FUNCTION_DIR) $(CDK_ASSET)

cdk-asset: $(CDK_ASSET)/index.py ## Copy the built function into the CDK package (cdk/) as its Lambda asset

synth: $(CDK_ASSET)/index.py ## Synthesize the example CDK app (cdk/app.py) into cdk/cdk.out, offline
	@rm -rf $(CDK_OUT)
	@CDK_OUTDIR=$(CDK_OUT) $(RUN) python cdk/app.py
	@echo "synthesized: $$(ls $(CDK_OUT)/*.template.json)"

# REGIONS: the regions each stack instance manages, e.g. REGIONS="eu-west-1 eu-central-1" (default: the
# regions every account has enabled); PARTITION for aws-cn, aws-us-gov... Checked against the SDK's list.
stackset: $(BUILD_STAMP) ## Write dist/stackset/: a template a service-managed StackSet accepts, and the function zip
	$(RUN) python -m rds_override_tools.stackset --regions "$(REGIONS)" \
		--partition "$(or $(PARTITION),aws)" --zip $(ZIP) --out $(STACKSET_DIR)

$(MEMBER_ROLES_DIR)/template.yaml: $(MEMBER_ROLES)
	@mkdir -p $(MEMBER_ROLES_DIR) && cp $< $@

member-roles: $(MEMBER_ROLES_DIR)/template.yaml ## Write dist/member-roles/template.yaml: the member accounts' roles for status and rotate
	@echo "member roles: $<"

# The function is the operator package without its dependencies (boto3 is the runtime's; tqdm is the CLI's):
# its console script and install record are dropped (they would name this build's paths), and uv's .lock.
policy-hook: $(VENV_STAMP) ## Write dist/policy-hook/: the CA policy Guard Hook template and its data refresh function's zip
	@rm -rf $(POLICY_FUNCTION) && mkdir -p $(POLICY_FUNCTION) $(POLICY_HOOK_DIR)
	@$(call logged,policy-hook,UV_COMPILE_BYTECODE=0 $(UV) pip install --no-deps --target $(POLICY_FUNCTION) .)
	@rm -rf $(POLICY_FUNCTION)/bin $(POLICY_FUNCTION)/*.dist-info $(POLICY_FUNCTION)/.lock
	@$(RUN) python tools/function_zip.py $(POLICY_FUNCTION) $(POLICY_HOOK_DIR)/policy-data-function.zip
	@cp policy/guard-hook.yaml $(POLICY_HOOK_DIR)/template.yaml
	@echo "policy hook: $(POLICY_HOOK_DIR)/template.yaml, $(POLICY_HOOK_DIR)/policy-data-function.zip" \
		"($$(du -k $(POLICY_HOOK_DIR)/policy-data-function.zip | cut -f1) KiB): upload the zip, pass CodeBucket/CodeKey"

# ACCOUNTS (50) accounts, each managing the first REGION_COUNT (17) of the default regions. REGIONS is a list
# everywhere (make stackset): a count given as REGIONS (its old meaning here) stops make before anything runs.
ifneq ($(filter simulate-org,$(MAKECMDGOALS)),)
ifneq ($(shell echo '$(REGIONS)' | grep -xE '[0-9]+'),)
$(error simulate-org: REGIONS is a list of regions (make stackset); for how many regions, write REGION_COUNT=$(REGIONS))
endif
endif
simulate-org: $(BUILD_STAMP) $(RUNTIME_SDK_STAMP) ## Play an Organization rollout on the emulator (ACCOUNTS x REGION_COUNT) and check it
	$(RUN) python -m rds_override_local.simulate --accounts $(or $(ACCOUNTS),50) --region-count $(or $(REGION_COUNT),17)

cdk-wheel: $(CDK_ASSET)/index.py ## Build the CDK package's wheel (asset included) into dist/
	$(UV) build --wheel --out-dir dist cdk

# tools/release.py: the function by lambda/Makefile (no SAM CLI), the wheels and sdist by `uv build`, the StackSet
# template by make stackset's generator (REGIONS, PARTITION as there); the same bytes from the same commit.
# RELEASE_EXTRAS: more files shipped as they are: the member accounts' roles (make member-roles).
RELEASE_EXTRAS ?= $(MEMBER_ROLES)
release: $(VENV_STAMP) ## Build dist/release/: function zip, SAM and StackSet templates, wheels (CDK, operator), SHA256SUMS
	@UV=$(UV) $(RUN) python tools/release.py --regions "$(REGIONS)" --partition "$(or $(PARTITION),aws)" \
		$(addprefix --extra ,$(RELEASE_EXTRAS))

clean: ## Remove build outputs
	rm -rf .aws-sam build dist cdk.out $(CDK_OUT) $(CDK_ASSET) .pytest_cache .mypy_cache .ruff_cache

distclean: clean ## Also remove .venv and .tools
	rm -rf .venv .tools
