# Two commands a new user needs: `make run` and `make test`. Both install first.
VENV ?= .venv
PYTHON ?= python3
# The CPU build of torch, installed before anything else: an unpinned `torch`
# requirement with no torch installed would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: install run test docs serve bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	touch $@

run: install  ## install, then train the dataloader stage on the embedded sample
	$(BIN)/mnistlab run --stage dataloader

test: install  ## install, then run the whole test suite
	$(BIN)/python -m pytest

docs: install  ## build the docs site into site/
	$(BIN)/python -m mkdocs build --strict

serve: install  ## serve the docs site on http://127.0.0.1:8000
	$(BIN)/python -m mkdocs serve

bench: install  ## measure the kernel's overhead against plain loops
	$(BIN)/python benchmarks/overhead.py

clean:
	rm -rf $(VENV) site build dist *.egg-info
