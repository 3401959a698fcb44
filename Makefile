# Two entry points (see README): `make demo` and `make test`.
# Both create .venv and install everything they need on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BACKENDS ?= tensorflow jax torch
PYTEST_ARGS ?=
# Exact versions the suite last passed with; `make lock` refreshes them.
LOCK := constraints.txt
EXTRAS := tensorflow,jax,torch,audio,viz,dev,docs
# PyTorch's CPU-only build, by its local version (`+cpu`), so that no
# resolver can swap in the CUDA build and its nvidia packages. pip takes it
# from a wheel it already sees (a find-links folder or cache); elsewhere
# from PyTorch's CPU index. PyPI itself has no `+cpu` builds.
TORCH ?= $(shell sed -n 's/^torch==//p' $(LOCK))
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
# Test peers installed without their dependencies, which would replace
# torch (frechet-audio-distance packages PANNs' original CNN6/10/14 code;
# it requires torchaudio, transformers and more that the tests never use).
NO_DEPS_PACKAGES := $(shell grep -E '^frechet[-_]audio[-_]distance==' $(LOCK))

.PHONY: setup system demo test test-one lint docs docs-serve bench clean lock

# $(1): the venv's bin folder; $(2): extra pip arguments (constraints).
define install
	test -x $(1)/python || $(PYTHON) -m venv $(dir $(1))
	$(1)/pip install -q --upgrade pip
	$(1)/pip install -q $(2) "torch==$(TORCH)" 2>/dev/null \
	  || $(1)/pip install -q $(2) "torch==$(TORCH)" \
	       --extra-index-url $(TORCH_CPU_INDEX)
	$(1)/pip install -q $(2) -e ".[$(EXTRAS)]"
	$(1)/pip install -q $(2) --no-deps $(NO_DEPS_PACKAGES)
endef

$(STAMP): pyproject.toml Makefile $(LOCK)
	$(call install,$(BIN),-c $(LOCK))
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/keras-attention demo

# The Debian packages some tests use (.ci/apt-packages.txt): installed when
# missing, as root with apt-get; elsewhere those tests fail naming them.
APT_PACKAGES := $(shell grep -vE '^\s*(\#|$$)' .ci/apt-packages.txt)
system:
	@missing=$$(for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null \
	    && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && apt-get install -y -qq $$missing >/dev/null \
	    || echo "warning: apt-get could not install: $$missing"; \
	elif [ -n "$$missing" ]; then \
	  echo "warning: tests need these Debian packages: $$missing"; \
	fi

# Runs the whole suite once per backend; fails if any backend fails.
test: $(STAMP) system
	@status=0; for b in $(BACKENDS); do \
	  echo "=== KERAS_BACKEND=$$b ==="; \
	  KERAS_BACKEND=$$b $(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS) tests \
	    || status=1; \
	done; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The documentation site (mkdocs.yml, docs/); `docs` fails on any warning.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

bench: $(STAMP)
	$(BIN)/python -m benchmarks.layer_overhead

# Refreshes the lock: the newest releases that pyproject.toml allows (torch
# stays the CPU build $(TORCH); `make lock TORCH=...` moves it) in a
# separate venv, the whole suite on all three backends, and only if it
# passes, their versions into $(LOCK).
LOCK_VENV := .venv-lock
lock:
	rm -rf $(LOCK_VENV)
	$(call install,$(LOCK_VENV)/bin,)
	KERAS_ATTENTION_LOCK_REFRESH=1 $(MAKE) test VENV=$(LOCK_VENV) \
	  STAMP=$(LOCK_VENV)/bin/python
	{ sed -n '/^#/p' $(LOCK); \
	  $(LOCK_VENV)/bin/pip freeze --exclude-editable | grep -v '^#'; \
	} > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf $(LOCK_VENV)

clean:
	rm -rf $(VENV) $(LOCK_VENV) build dist *.egg-info .pytest_cache
