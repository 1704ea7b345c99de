#!/usr/bin/env bash
# Runs every test against the binaries in the build directory given (built with sanitizers by
# `make test`): unit tests (ctest), then the API suite against the real binary on SQLite, then the
# same on a PostgreSQL server started for the occasion and stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-asan}
export ENT_BIN=$PWD/$BUILD/ent
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}

if [ ! -f tests/node_modules/.package-lock.json ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
  (cd tests && npm ci --no-audit --no-fund)
fi

echo "== unit tests (SQLite)"
(cd "$BUILD" && ctest --output-on-failure)

echo "== API tests (SQLite)"
node --test --test-concurrency=1 tests/api/

echo "== browser tests of the portal (SQLite, Chromium)"
# playwright-core drives the system Chromium (Debian package, scripts/deps.sh): no browser download.
if [ ! -f tests/browser/node_modules/.package-lock.json ] || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
node --test --test-concurrency=1 tests/browser/

s3dir=$(mktemp -d /tmp/ent-s3.XXXXXX)
rmdir "$s3dir"
pgdir=$(mktemp -d /tmp/ent-pg.XXXXXX)
rmdir "$pgdir"
cleanup() {
  bash tests/services/postgres.sh stop "$pgdir" >/dev/null 2>&1 || true
  bash tests/services/s3.sh stop "$s3dir" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== S3 (blob store)"
s3url=$(bash tests/services/s3.sh start "$s3dir")
echo "== unit tests (S3)"
(cd "$BUILD" && ENT_TEST_S3_URL=$s3url ctest --output-on-failure -R '^test_blob$')
s3_api=$(ls tests/api/cours*.test.mjs tests/api/fichiers*.test.mjs 2>/dev/null || true)
if [ -n "$s3_api" ]; then
  echo "== API tests of the file services (S3)"
  # shellcheck disable=SC2086
  ENT_BLOB=$s3url node --test --test-concurrency=1 $s3_api
fi

echo "== PostgreSQL"
url=$(bash tests/services/postgres.sh start "$pgdir")
export ENT_TEST_PG_URL=$url

echo "== unit tests (PostgreSQL)"
(cd "$BUILD" && ctest --output-on-failure)

echo "== API tests (PostgreSQL)"
node --test --test-concurrency=1 tests/api/
