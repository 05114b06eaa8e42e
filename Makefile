# The two commands of the README. Each creates .venv and installs the package first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test test-all demo reliability clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

# The fast tier must stay under 5 minutes here; --durations names the tests that cost most.
test: $(STAMP)
	$(BIN)/ruff check keras_ae tests benchmarks
	$(BIN)/ruff format --check keras_ae tests benchmarks
	$(BIN)/python -m pytest -q -n auto -m "not large" --durations=15

# Everything, with the large tier: card reproductions on real data, downloads, distribution.
test-all: $(STAMP)
	$(BIN)/ruff check keras_ae tests benchmarks
	$(BIN)/ruff format --check keras_ae tests benchmarks
	$(BIN)/python -m pytest -q -n auto

# The robustness suite alone under one hypothesis profile (ci by default), then its table
# (README, "Reliability"), with the ci and thorough runs side by side once both have run:
# make reliability; make reliability KERAS_AE_HYPOTHESIS_PROFILE=thorough
KERAS_AE_HYPOTHESIS_PROFILE ?= ci
reliability: $(STAMP)
	rm -f .robustness-$(KERAS_AE_HYPOTHESIS_PROFILE).jsonl
	KERAS_AE_ROBUSTNESS_LOG=$(CURDIR)/.robustness-$(KERAS_AE_HYPOTHESIS_PROFILE).jsonl \
		KERAS_AE_HYPOTHESIS_PROFILE=$(KERAS_AE_HYPOTHESIS_PROFILE) \
		$(BIN)/python -m pytest -q -n auto tests/robustness
	cd tests/robustness && ../../$(BIN)/python report.py $(CURDIR)/.robustness-ci.jsonl \
		$(wildcard $(CURDIR)/.robustness-thorough.jsonl)

demo: $(STAMP)
	$(BIN)/keras-ae demo --out out

clean:
	rm -rf $(VENV) out
