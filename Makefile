# Two entry points (see README): `make demo` and `make test`.
# Both create .venv and install everything they need on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BACKENDS ?= tensorflow jax torch
PYTEST_ARGS ?=

.PHONY: setup demo test test-one lint docs docs-serve bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch is pinned to the CPU wheel: a looser pin pulls multi-GB CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[tensorflow,jax,torch,audio,viz,dev,docs]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/keras-attention demo

# Runs the whole suite once per backend; fails if any backend fails.
test: $(STAMP)
	@status=0; for b in $(BACKENDS); do \
	  echo "=== KERAS_BACKEND=$$b ==="; \
	  KERAS_BACKEND=$$b $(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS) tests \
	    || status=1; \
	done; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check keras_attention tests training benchmarks
	$(BIN)/ruff format --check keras_attention tests training benchmarks

# The documentation site (mkdocs.yml, docs/); `docs` fails on any warning.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

bench: $(STAMP)
	$(BIN)/python benchmarks/layer_overhead.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
