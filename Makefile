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

.PHONY: all deps test unit bats demo bench install fuzz clean

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

test: all deps
	$(BUILD)/olot-unit-tests
	OLOT_FILTER=$(CURDIR)/$(BUILD)/olot-filter bats --tap tests/bats

demo: all deps
	OLOT_FILTER=$(CURDIR)/$(BUILD)/olot-filter tests/demo.sh

bench: all deps
	OLOT_FILTER=$(CURDIR)/$(BUILD)/olot-filter bench/run.sh

install: all
	cmake --install $(BUILD) --prefix $(PREFIX) $(if $(DESTDIR),,) 
	
clean:
	rm -rf build build-sanitize build-fuzz
