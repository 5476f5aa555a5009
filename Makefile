# Thin front for CMake. `make`, `make test`, `make demo`, `make bench`,
# `make install` (PREFIX, DESTDIR), `make fuzz` (FUZZ_SECONDS), SANITIZE=1.
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
JOBS ?= $(shell nproc)
ifeq ($(SANITIZE),1)
BUILD := build-sanitize
CMAKE_FLAGS += -DOLOT_SANITIZE=ON
endif

.PHONY: all deps test test-sanitize unit bats demo bench install fuzz clean

all: $(BUILD)/olot-filter

$(BUILD)/Makefile:
	@scripts/install-deps.sh build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

$(BUILD)/olot-filter: $(BUILD)/Makefile FORCE
	cmake --build $(BUILD) -j$(JOBS)

FORCE:

deps:
	scripts/install-deps.sh test

unit: all
	$(BUILD)/olot-unit-tests

bats: all deps
	OLOT_FILTER=$(CURDIR)/$(BUILD)/olot-filter bats --tap tests/bats

# Both suites run even when the first fails, so CI counts every test.
test: all deps
	@rc=0; $(BUILD)/olot-unit-tests || rc=1; \
	OLOT_FILTER=$(CURDIR)/$(BUILD)/olot-filter bats --tap tests/bats || rc=1; \
	exit $$rc

# The unit tests and the bad-input suites again under AddressSanitizer and
# UndefinedBehaviorSanitizer (the whole bats suite: SANITIZE_BATS=tests/bats).
SANITIZE_BATS ?= tests/bats/refusals.bats tests/bats/reliability.bats tests/bats/bugcases.bats tests/bats/inputs.bats
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
test-sanitize: deps
	$(MAKE) SANITIZE=1 all
	@rc=0; $(SANITIZER_ENV) build-sanitize/olot-unit-tests || rc=1; \
	$(SANITIZER_ENV) OLOT_FILTER=$(CURDIR)/build-sanitize/olot-filter bats --tap $(SANITIZE_BATS) || rc=1; \
	exit $$rc

demo: all deps
	OLOT_FILTER=$(CURDIR)/$(BUILD)/olot-filter tests/demo.sh

bench: all deps
	OLOT_FILTER=$(CURDIR)/$(BUILD)/olot-filter bench/run.sh

install: all
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# libFuzzer targets (src/*_fuzz.cpp) with clang, ASan and UBSan; the library
# is instrumented for coverage too. Each runs FUZZ_SECONDS on its seeds
# (tests/fuzz/<target>) and regressions (tests/fuzz/regressions/<target>);
# new inputs go to build-fuzz/corpus/<target>, crashes to
# build-fuzz/artifacts/<target>/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= pipeline_fuzz json_fuzz
FUZZ_FLAGS ?= -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1

fuzz:
	@scripts/install-deps.sh build
	test -f build-fuzz/Makefile || CC=clang CXX=clang++ cmake -S . -B build-fuzz -DOLOT_FUZZ=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOLOT_SANITIZE=ON -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link
	cmake --build build-fuzz -j$(JOBS) --target $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t build-fuzz/artifacts/$$t tests/fuzz/regressions/$$t; \
	  dict=; test -f tests/fuzz/$$t.dict && dict=-dict=tests/fuzz/$$t.dict; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  build-fuzz/$$t $(FUZZ_FLAGS) $$dict -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=build-fuzz/artifacts/$$t/ \
	    build-fuzz/corpus/$$t tests/fuzz/$$t tests/fuzz/regressions/$$t; \
	done

clean:
	rm -rf build build-sanitize build-fuzz
