# The two commands a new user needs: `make demo` and `make test`.  Both set up
# everything first: system packages (scripts/system-deps.sh), a .venv with an
# editable install of pqe2ee and its test/bench/fuzz extras, and the C core.
# `make fuzz` runs every fuzz harness (fuzz/) for FUZZ_SECONDS each.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
CORE_SRC := $(wildcard csrc/*.c csrc/*.h csrc/internal/*.h) csrc/build_core.py pqe2ee/_version.py
CORE_STAMP := $(VENV)/.core-built

.PHONY: all setup build test pytest lint typecheck demo bench clean sanitize bench-stream bench-tunnel \
	fuzz fuzz-seeds docs

all: build

$(STAMP): pyproject.toml setup.py
	bash scripts/system-deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel cffi
	PQE2EE_REQUIRE_CORE=1 $(PY) -m pip install -q -e '.[test,bench,fuzz,docs]'
	touch $@

setup: $(STAMP)

# Rebuild the C core in place whenever its sources (or the stamped version) change.
# PQE2EE_REQUIRE_CORE=1: here a core that does not build is an error, not the
# pure-Python fallback a plain `pip install` gets.
$(CORE_STAMP): $(STAMP) $(CORE_SRC)
	PQE2EE_REQUIRE_CORE=1 $(PY) setup.py -q build_ext --inplace
	$(PY) -c "import pqe2ee._binding as b; assert b.CORE_AVAILABLE, b.CORE_ERROR"
	touch $@

build: $(CORE_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check pqe2ee tests benchmarks csrc fuzz scripts setup.py
	$(BIN)/ruff format --check pqe2ee tests benchmarks csrc fuzz scripts setup.py

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: build
	$(BIN)/pytest -q

# The C core once more with AddressSanitizer + UBSan, into build/asan/ (never over the
# in-place build), with a copy of the Python package beside it; the stream tests then run
# against that copy.  UBSan errors are fatal; leak checks are off (CPython itself keeps
# memory to the end); PYTHONMALLOC=malloc gives every Python buffer ASan's redzones.
ASAN_DIR   := build/asan
ASAN_EXT   := $(ASAN_DIR)/ext
ASAN_LIB   := $(ASAN_DIR)/lib
ASAN_STAMP := $(ASAN_DIR)/.core-built
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g
SAN_ENV    := LD_PRELOAD="$$(gcc -print-file-name=libasan.so):$$(gcc -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	PYTHONMALLOC=malloc PYTHONPATH=$(ASAN_LIB) PQE2EE_EXPECT_CORE_DIR=$(ASAN_LIB)

$(ASAN_STAMP): $(STAMP) $(CORE_SRC) Makefile
	rm -rf $(ASAN_DIR)
	PQE2EE_REQUIRE_CORE=1 CFLAGS="$(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)" $(PY) setup.py -q build_ext \
		--build-lib $(ASAN_EXT) --build-temp $(ASAN_DIR)/tmp
	touch $@

sanitize: $(ASAN_STAMP)
	rm -rf $(ASAN_LIB)
	$(PY) -c "import shutil; shutil.copytree('pqe2ee', '$(ASAN_LIB)/pqe2ee', \
		ignore=shutil.ignore_patterns('*.so', '__pycache__'))"
	cp $(ASAN_EXT)/pqe2ee/_core*.so $(ASAN_LIB)/pqe2ee/
	$(SAN_ENV) $(PY) -P -m pytest -q -p no:cacheprovider --capture=sys --import-mode=append tests/hazmat/stream/test_*.py tests/handshake/test_records_core.py \
		tests/handshake/test_records_inner_zero.py tests/handshake/test_padding.py \
		tests/io/test_socket_pump.py tests/io/test_socket_pump_padding.py

test: build lint typecheck pytest sanitize

# The documentation site (mkdocs.yml) into build/site/; open build/site/index.html.
# --strict: any warning (a broken link, a nav entry without a page, a docstring griffe
# cannot parse) fails it.  `make test` builds it too, strictly (tests/docs/test_site.py),
# and runs the Python examples of README.md and docs/ (tests/docs/test_examples.py).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

# Every harness in fuzz/ under atheris for FUZZ_SECONDS each, from the committed seeds
# (fuzz/corpus/, only read); new corpus entries, crash reproducers and logs go to
# build/fuzz/<harness>/.  Fails on any crash or broken property; prints exec/s.
FUZZ_SECONDS ?= 60

fuzz: build
	$(PY) -m fuzz.run --all $(FUZZ_SECONDS)

# Rewrite the committed seeds (deterministic; see fuzz/make_seeds.py).
fuzz-seeds: build
	$(PY) -m fuzz.make_seeds

demo: build
	$(BIN)/pqe2ee demo
	$(BIN)/pqe2ee bench --quick --json reports/bench.json --html reports/bench.html
	@echo "report: $(CURDIR)/reports/bench.html (open it in a browser); JSON: reports/bench.json"

bench: build
	$(BIN)/pytest benchmarks -q --benchmark-only --benchmark-columns=median,iqr,rounds \
		--benchmark-max-time=0.2 --benchmark-sort=name

# STREAM at 1 GiB in memory and on disk, 4 GiB for peak memory, against age if installed:
# several minutes; prints the table recorded in docs/performance.md (section "STREAM").
bench-stream: build
	$(PY) benchmarks/stream_speed.py

# redis-benchmark and pgbench direct, through a plain relay pair and through the tunnel,
# interleaved, 3 rounds: a few minutes; prints the table in docs/performance.md (section "Tunnel").
bench-tunnel: build
	$(PY) benchmarks/tunnel_speed.py

clean:
	rm -rf build *.egg-info pqe2ee/_core*.so pqe2ee/_core.c $(CORE_STAMP)
