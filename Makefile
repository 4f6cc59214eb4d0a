# imdsctl: two commands from a fresh clone with only python3.
#   make demo   a tour of imdsctl against the IMDS emulator on 127.0.0.1
#   make test   install what the tests need and run them (pytest + ruff)

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint docs bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/imdsctl emulate -- sh .ci/demo.sh

test: $(STAMP)
	$(BIN)/ruff check imdsctl tests benchmarks
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check imdsctl tests benchmarks

# Regenerate the checked-in artefacts (completions, man page, README table).
docs: $(STAMP)
	$(BIN)/python -m imdsctl._docgen --write

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/load_emulator.py

clean:
	rm -rf $(VENV) build *.egg-info
