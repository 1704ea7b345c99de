# ENT - the two commands: `make run` and `make test`. CMake does the building; this file installs
# what is missing, builds, and runs.
#
#   make            build build/ent (release with debug info)
#   make run        install missing packages, build, migrate, load the demo school, serve on :8080
#   make test       build with ASan+UBSan and run every test (SQLite, then PostgreSQL)
#   make bench      benchmarks (bench/README.md)
#   make web        build the portal and API reference assets (npm)

JOBS ?= $(shell nproc)
ENT_DATA ?= ./var
export ENT_DATA

.PHONY: all build deps web run test fuzz bench clean

all: build

deps:
	@scripts/deps.sh build

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENT_TESTS=OFF >/dev/null
	@cmake --build build -j$(JOBS)

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	@touch $@

web: web/node_modules/.package-lock.json
	cd web && npm run build

run: build web
	build/ent migrate
	build/ent demo
	build/ent serve

test: 
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory web
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DENT_SANITIZE=ON -DENT_WERROR=ON >/dev/null
	cmake --build build-asan -j$(JOBS)
	tests/run.sh build-asan

FUZZ_SECONDS ?= 60
fuzz:
	@scripts/deps.sh fuzz
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DENT_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j$(JOBS)
	for f in build-fuzz/tests/fuzz/fuzz_*; do case $$f in *_replay) continue;; esac; \
	  n=$$(basename $$f); n=$${n#fuzz_}; mkdir -p build-fuzz/corpus-$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build web
	bench/run.sh
	bench/files.sh
	bench/import.sh
	bench/district.sh

clean:
	rm -rf build build-asan build-bench build-fuzz build-dev web/dist
