# The two commands of the README. Each creates .venv and installs the package first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test demo clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check keras_ae tests benchmarks
	$(BIN)/ruff format --check keras_ae tests benchmarks
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/keras-ae demo --out out

clean:
	rm -rf $(VENV) out
