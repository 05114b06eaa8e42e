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

test: $(STAMP)
	$(BIN)/ruff check keras_ae tests benchmarks
	$(BIN)/ruff format --check keras_ae tests benchmarks
	$(BIN)/python -m pytest -q -n auto -m "not large"

# Everything, with the large tier: card reproductions on real data, downloads, distribution.
test-all: $(STAMP)
	$(BIN)/ruff check keras_ae tests benchmarks
	$(BIN)/ruff format --check keras_ae tests benchmarks
	$(BIN)/python -m pytest -q -n auto

# The robustness suite alone, then its table (README, "Reliability"). For many more random
# cases: make reliability KERAS_AE_HYPOTHESIS_PROFILE=thorough
reliability: $(STAMP)
	rm -f .robustness.jsonl
	KERAS_AE_ROBUSTNESS_LOG=$(CURDIR)/.robustness.jsonl KERAS_AE_HYPOTHESIS_PROFILE=$(KERAS_AE_HYPOTHESIS_PROFILE) \
		$(BIN)/python -m pytest -q -n auto tests/robustness
	cd tests/robustness && ../../$(BIN)/python report.py $(CURDIR)/.robustness.jsonl

demo: $(STAMP)
	$(BIN)/keras-ae demo --out out

clean:
	rm -rf $(VENV) out
