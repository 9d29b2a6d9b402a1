# The two commands a new user needs: `make demo` and `make test`.  Both set up
# everything first: system packages (scripts/system-deps.sh), a .venv with an
# editable install of pqe2ee and its test/bench extras, and the C core.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
CORE_SRC := $(wildcard csrc/*.c csrc/*.h) csrc/build_core.py pqe2ee/_version.py
CORE_STAMP := $(VENV)/.core-built

.PHONY: all setup build test pytest lint typecheck demo bench clean

all: build

$(STAMP): pyproject.toml setup.py
	bash scripts/system-deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel cffi
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

setup: $(STAMP)

# Rebuild the C core in place whenever its sources (or the stamped version) change.
$(CORE_STAMP): $(STAMP) $(CORE_SRC)
	$(PY) setup.py -q build_ext --inplace
	$(PY) -c "import pqe2ee._binding as b; assert b.CORE_AVAILABLE, b.CORE_ERROR"
	touch $@

build: $(CORE_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check pqe2ee tests bench csrc setup.py
	$(BIN)/ruff format --check pqe2ee tests bench csrc setup.py

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: build
	$(BIN)/pytest -q

test: build lint typecheck pytest

demo: build
	$(BIN)/pqe2ee demo
	$(BIN)/pqe2ee bench --quick --json reports/bench.json --html reports/bench.html
	@echo "report: $(CURDIR)/reports/bench.html (open it in a browser); JSON: reports/bench.json"

bench: build
	$(BIN)/pytest bench -q --benchmark-only --benchmark-columns=median,iqr,rounds \
		--benchmark-max-time=0.2 --benchmark-sort=name

clean:
	rm -rf build *.egg-info pqe2ee/_core*.so pqe2ee/_core.c $(CORE_STAMP)
