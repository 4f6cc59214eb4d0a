# imdsctl: two commands from a fresh clone with only python3.
#   make demo   a tour of imdsctl against the IMDS emulator on 127.0.0.1
#   make test   install what the tests need and run them (pytest + ruff)

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test test-oldest lint docs bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/imdsctl emulate -- sh .ci/demo.sh

# The oldest Python imdsctl supports (3.9, the system Python of older Azure
# images), when this machine has one: the suite runs there too, with click 8.1.
PY39 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.9*/bin/python3.9 /usr/bin/python3.9))
VENV39 = .venv39
STAMP39 = $(VENV39)/.installed

test: $(STAMP)
	$(BIN)/ruff check imdsctl tests benchmarks
	@if [ -n "$(PY39)" ]; then $(MAKE) --no-print-directory test-oldest; \
	else echo "no Python 3.9 on this machine: skipping the oldest-Python run"; fi
	$(BIN)/python -m pytest

test-oldest: $(STAMP39)
	$(VENV39)/bin/python -m pytest -q

$(STAMP39): setup.cfg pyproject.toml
	$(PY39) -m venv $(VENV39)
	$(VENV39)/bin/python -m pip install --quiet --upgrade pip
	$(VENV39)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP39)

lint: $(STAMP)
	$(BIN)/ruff check imdsctl tests benchmarks

# Regenerate the checked-in artefacts (completions, man page, README table).
docs: $(STAMP)
	$(BIN)/python -m imdsctl._docgen --write

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/load_emulator.py

clean:
	rm -rf $(VENV) $(VENV39) build *.egg-info
