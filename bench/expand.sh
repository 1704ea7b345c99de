#!/usr/bin/env bash
# bench/expand.sh - instructions (callgrind) and time to expand one class's timetable over a
# school year, and over one week of June (bench/expand.c).
#
# Settings: ENT_BUILD=build (a release build directory holding libentcore.a) BENCH_REPS=200
# Prints the counts; needs valgrind.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${ENT_BUILD:-build}
reps=${BENCH_REPS:-200}
[[ -f $build/libentcore.a ]] || { echo "bench: $build/libentcore.a is missing: make build (or ENT_BUILD=)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "bench: valgrind is not installed" >&2; exit 1; }
mkdir -p build-bench
# The same libraries as CMakeLists.txt links libentcore with.
deps="libmicrohttpd jansson sqlite3 libpq openssl zlib libcurl libargon2 libmagic cairo fontconfig librabbitmq libical liboath libqrencode icu-uc icu-i18n poppler-glib"
# shellcheck disable=SC2046,SC2086
cc -std=c17 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
	-Isrc $(pkg-config --cflags $deps) bench/expand.c -o build-bench/expand "$build/libentcore.a" \
	$(pkg-config --libs $deps) -lstemmer -lpthread -lm

echo "== native, $reps calls each"
build-bench/expand "$reps"

out=$(mktemp /tmp/ent-expand-callgrind.XXXXXX)
trap 'rm -f "$out"' EXIT
echo "== callgrind: instructions of one call of each (after a first expansion, not counted)"
valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect=expand_year --toggle-collect=expand_week \
	build-bench/expand 1 >/dev/null 2>&1
callgrind_annotate --inclusive=yes "$out" 2>/dev/null | grep -E 'expand_(year|week)' | head -2
