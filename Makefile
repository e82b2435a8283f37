# Two commands do all set-up on a fresh machine: `make synth` and `make test`.
# Set-up is idempotent: each step reruns only when its pinned inputs change.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# checkov pins an older boto3: it gets a virtual environment of its own.
CHECKOV_VENV := .venv-checkov
# Node 22 and the CDK CLI come from node_modules; the venv's python3 runs app.py.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
CDK := cdk --no-notices

# Headless Chromium (Debian's package) for the test that looks at the results command's HTML report.
CHROMIUM := $(VENV)/.chromium

.PHONY: setup synth lint test bench report report-screenshot deploy destroy clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

$(CHROMIUM): | $(VENV)/.installed
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y --no-install-recommends chromium)
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error
	touch $@

synth: setup
	$(CDK) synth --quiet
	$(VENV)/bin/bedrock-evaluation-summary cdk.out

# ruff on the package, the handler, the app, tests, scripts and examples; strict mypy on the package, and on the
# handler alone with the contract it imports (not the CDK-side package around it).
lint: setup
	$(VENV)/bin/ruff check constructs lambda tests scripts app.py examples
	$(VENV)/bin/mypy
	cd lambda/evaluation_job && MYPYPATH=$(CURDIR)/constructs $(CURDIR)/$(VENV)/bin/mypy --config-file $(CURDIR)/pyproject.toml \
		--explicit-package-bases --follow-imports=skip . $(CURDIR)/constructs/bedrock_evaluation/contract.py $(CURDIR)/constructs/bedrock_evaluation/results.py

test: setup lint $(CHECKOV_VENV)/.installed $(CHROMIUM)
	$(VENV)/bin/python -m pytest -q

bench: setup
	$(VENV)/bin/python scripts/bench.py

report: setup
	$(VENV)/bin/python scripts/reliability_report.py

# docs/report.png and the README's results table: a sample report from emulated jobs' results, offline.
report-screenshot: setup $(CHROMIUM)
	$(VENV)/bin/python scripts/report_screenshot.py docs/report.png

deploy: setup
	$(CDK) deploy --all

destroy: setup
	$(CDK) destroy --all

clean:
	rm -rf cdk.out $(VENV) $(CHECKOV_VENV) node_modules
