# rfq-engine: `make run` starts the local stack and runs the demo; `make test` runs every test.
#
# Targets:
#   deps          install the Debian packages that are missing (apt-get; sudo when not root)
#   build         configure and build into $(BUILD_DIR)
#   run           deps + build + deploy/local/stack up + deploy/local/demo
#   stop          deploy/local/stack down
#   status        deploy/local/stack status
#   test          deps + build + every CTest test (unit, integration, and the end-to-end
#                 tests over a whole local stack: ctl_e2e and stack_smoke)
#   smoke         build + only the local stack smoke test (deploy/local/smoke)
#   bench         the full benchmark: engine against the bare NATS + Redis baseline, closed
#                 and open loop, memory soak (about 7 minutes; docs/performance.md)
#   bench-quick   the short benchmark (about 2 minutes); its last line is the ratio line
#   asan          build into $(ASAN_DIR) with AddressSanitizer/UBSan and run the CTest tests
#   fuzz          build the libFuzzer targets into $(FUZZ_DIR) (clang) and run each for
#                 $(FUZZ_SECONDS) s on a copy of its corpus; a finding fails and prints its file
#   fuzz-smoke    the same for 10 s per target (what CI runs)
#   format        clang-format -i on every C source and header
#   format-check  fail when clang-format would change a file
#   clean         remove $(BUILD_DIR), $(ASAN_DIR) and $(FUZZ_DIR) (the run directory .run is kept)
#
# Variables: BUILD_DIR (build), ASAN_DIR (build-asan), FUZZ_DIR (build-fuzz), FUZZ_SECONDS (60),
# FUZZ_TARGETS (all), FUZZ_CC (clang-14, else clang), BUILD_TYPE (RelWithDebInfo),
# CMAKE_ARGS (extra cmake arguments, e.g. -DRFQ_WERROR=ON), JOBS (nproc), CTEST_JOBS (2),
# SKIP_DEPS=1 (do not check Debian packages, e.g. on another distribution), BENCH_ARGS (extra
# rfq-bench options, e.g. --seconds 20 or --unicorns 20).

SHELL := /bin/bash
.DEFAULT_GOAL := build

BUILD_DIR ?= build
ASAN_DIR ?= build-asan
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz_submit fuzz_quote fuzz_request fuzz_jwt fuzz_route fuzz_keys fuzz_tenant_rec
FUZZ_CC ?= $(shell command -v clang-14 2>/dev/null || command -v clang 2>/dev/null || echo clang)
BUILD_TYPE ?= RelWithDebInfo
CMAKE_ARGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2
SKIP_DEPS ?= 0

DEB_PACKAGES := build-essential cmake pkg-config libnats-dev libhiredis-dev libjansson-dev \
	libjwt-dev libmicrohttpd-dev libcmocka-dev uuid-dev libssl-dev libcurl4-openssl-dev \
	nats-server redis-server openssl curl python3 clang-format clang-14 libclang-rt-14-dev

FORMAT_DIRS := common requester responder aggregator tests
CTEST_FLAGS := --output-on-failure --no-tests=error

.PHONY: deps build run stop status test smoke bench bench-quick asan fuzz-build fuzz fuzz-smoke format format-check clean
# Prerequisites run in order (deps before build before the stack), even under make -j;
# the compiler still runs in parallel inside `cmake --build -j`.
.NOTPARALLEL:

# Install only the packages dpkg does not report as installed, so a prepared machine never
# needs the network or root.
deps:
	@if [ "$(SKIP_DEPS)" = 1 ]; then echo "deps: skipped (SKIP_DEPS=1)"; exit 0; fi; \
	if ! command -v dpkg-query >/dev/null 2>&1; then \
	  echo "deps: dpkg-query not found; install these packages yourself, then run with SKIP_DEPS=1:"; \
	  echo "  $(DEB_PACKAGES)"; exit 1; \
	fi; \
	missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${db:Status-Status}' "$$p" 2>/dev/null | grep -qx installed \
	    || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages are installed"; exit 0; fi; \
	echo "deps: installing$$missing"; \
	sudo=""; \
	if [ "$$(id -u)" != 0 ]; then \
	  if ! command -v sudo >/dev/null 2>&1; then \
	    echo "deps: not root and sudo is missing; as root run: apt-get install -y$$missing"; exit 1; \
	  fi; \
	  sudo="sudo"; \
	fi; \
	$$sudo apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing

build:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)
	cmake --build $(BUILD_DIR) -j$(JOBS)

# The stack starts the binaries of $(BUILD_DIR), and its stack.env puts that tree's rfqctl on
# PATH for the demo.
run: deps build
	RFQ_BUILD_DIR="$(abspath $(BUILD_DIR))" deploy/local/stack up
	deploy/local/demo

stop:
	deploy/local/stack down

status:
	@deploy/local/stack status || true

# Integration tests start their own servers on free loopback ports, so two may run at once.
# Among them, stack_smoke (deploy/local/smoke) and ctl_e2e bring a whole stack up in a
# temporary run directory on free ports and take it down again.
test: deps build
	ctest --test-dir $(BUILD_DIR) $(CTEST_FLAGS) -j$(CTEST_JOBS)

smoke: build
	RFQ_BUILD_DIR="$(abspath $(BUILD_DIR))" deploy/local/smoke

# The benchmark starts its own nats-server and redis-server on loopback (docs/performance.md).
# Its last line: engine/baseline: throughput=<W=100 ratio> p99=<W=1 ratio>.
bench: deps build
	$(BUILD_DIR)/tests/bench/rfq-bench --full $(BENCH_ARGS)

bench-quick: deps build
	$(BUILD_DIR)/tests/bench/rfq-bench --quick $(BENCH_ARGS)

asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DRFQ_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build $(ASAN_DIR) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_DIR) $(CTEST_FLAGS) -j$(CTEST_JOBS)

# Only the fuzz targets are built in $(FUZZ_DIR): the instrumented copy of the code under test
# lives in tests/fuzz, the normal libraries are not rebuilt with clang.
fuzz-build: deps
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_C_COMPILER=$(FUZZ_CC) \
	  -DRFQ_FUZZ=ON $(CMAKE_ARGS)
	cmake --build $(FUZZ_DIR) -j$(JOBS) --target $(FUZZ_TARGETS)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=10

format:
	@files=$$(find $(FORMAT_DIRS) -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort); \
	if [ -n "$$files" ]; then clang-format -i $$files; fi; \
	echo "format: $$(echo "$$files" | grep -c .) files"

format-check:
	@files=$$(find $(FORMAT_DIRS) -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort); \
	bad=""; \
	for f in $$files; do \
	  clang-format --dry-run --Werror "$$f" >/dev/null 2>&1 || bad="$$bad $$f"; \
	done; \
	if [ -n "$$bad" ]; then \
	  echo "format-check: clang-format would change:$$bad"; \
	  echo "format-check: run 'make format'"; exit 1; \
	fi; \
	echo "format-check: $$(echo "$$files" | grep -c .) files formatted"

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
