# imdsctl: two commands from a fresh clone with only python3.
#   make demo   a tour of imdsctl against the IMDS emulator on 127.0.0.1
#   make test   install what the tests need and run them (pytest + ruff)

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# Test workers: the suite waits on sockets and child processes as much as it computes.
WORKERS ?= 4

# Compiled test modules are kept between runs and shared by the workers (collecting
# without them costs each worker seconds), whatever the machine's default says.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-oldest test-lowest lint docs bench dist clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/imdsctl emulate -- sh .ci/demo.sh

# The oldest Python imdsctl supports (3.9, the system Python of older Azure
# images), when this machine has one: the suite runs there too, with click 8.1,
# side by side with the newest; the checks that are the same on every Python
# (shells, docs, the source's shape: marker "once") run on the newest only.
PY39 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.9*/bin/python3.9 /usr/bin/python3.9))
VENV39 = .venv39
STAMP39 = $(VENV39)/.installed

# mypy (configured in pyproject.toml) keeps .mypy_cache: ~4 s cold on 2 cores, well under a
# second warm; it runs before pytest starts, so it never competes with the workers.
test: $(STAMP) $(if $(PY39),$(STAMP39))
	$(BIN)/ruff check imdsctl tests benchmarks
	$(BIN)/mypy imdsctl
	@if [ -n "$(PY39)" ]; then \
		$(VENV39)/bin/python -m pytest -q -p no:randomly -n $(WORKERS) -m "not once" > .test-oldest.log 2>&1 & \
		oldest=$$!; \
	else echo "no Python 3.9 on this machine: skipping the oldest-Python run"; fi; \
	$(BIN)/python -m pytest -n $(WORKERS); newest=$$?; \
	if [ -n "$(PY39)" ]; then \
		wait $$oldest; status=$$?; echo "--- Python 3.9 (click 8.1), in .test-oldest.log:"; \
		if [ $$status -eq 0 ]; then tail -n 1 .test-oldest.log; else tail -n 60 .test-oldest.log; exit $$status; fi; \
	fi; \
	exit $$newest

test-oldest: $(STAMP39)
	$(VENV39)/bin/python -m pytest -q -n $(WORKERS) -m "not once"

# The 3.9 venv is also the lowest pass: setup.cfg's floors (constraints/lowest.txt), so that
# a floor cannot rot; the tests that mock httpx need httpx 0.28 and are skipped there, with the reason.
$(STAMP39): setup.cfg pyproject.toml constraints/lowest.txt
	$(PY39) -m venv $(VENV39)
	$(VENV39)/bin/python -m pip install --quiet --upgrade pip
	$(VENV39)/bin/python -m pip install --quiet -e . -r constraints/lowest.txt
	$(VENV39)/bin/python -m pip install --quiet -e '.[test]' -c constraints/lowest.txt
	touch $(STAMP39)

test-lowest: test-oldest

lint: $(STAMP)
	$(BIN)/ruff check imdsctl tests benchmarks
	$(BIN)/mypy imdsctl

# Regenerate the checked-in artefacts (completions, man page, the tables of docs/reference.md).
docs: $(STAMP)
	$(BIN)/python -m imdsctl._docgen --write

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/load_emulator.py
	$(BIN)/python benchmarks/bench_events.py

# dist/: the wheel and sdist (checked by twine), and imdsctl-<version>.pyz, one file that runs
# with any CPython >= 3.9 (tools/build_pyz.py, its dependencies pinned in tools/pyz-requirements.txt),
# with its .sha256. Reproducible: every timestamp is the last commit's.
PYZ_SITE = build/pyz-site
dist: $(STAMP)
	$(BIN)/python -m pip install --quiet build twine
	rm -rf dist $(PYZ_SITE)
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct) $(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*.whl dist/*.tar.gz
	$(BIN)/python -m pip install --quiet --no-deps --no-compile --only-binary :all: \
		--python-version 3.9 --target $(PYZ_SITE) -r tools/pyz-requirements.txt
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct) $(BIN)/python tools/build_pyz.py --site $(PYZ_SITE) --out dist
	cd dist && sha256sum -c *.pyz.sha256

clean:
	rm -rf $(VENV) $(VENV39) build dist *.egg-info .test-oldest.log .mypy_cache
