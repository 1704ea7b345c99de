#!/usr/bin/env bash
# Runs every test against the binaries in the build directory given (built with sanitizers by
# `make test`): unit tests (ctest), then the API suite against the real binary on SQLite, then the
# file services on S3, the event bus on RabbitMQ, and everything again on PostgreSQL (with the bus
# tests on RabbitMQ as well), and last the faults of the production layout behind nginx (a killed
# service, RabbitMQ and PostgreSQL restarted); each server is started for the occasion and stopped
# afterwards.
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

echo "== C formatting (.clang-format)"
bash scripts/check-format.sh

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
ENT_BIN=$PWD/$BUILD/ent node web/scripts/gen-api.mjs --check

s3dir=$(mktemp -d /tmp/ent-s3.XXXXXX)
rmdir "$s3dir"
pgdir=$(mktemp -d /tmp/ent-pg.XXXXXX)
rmdir "$pgdir"
amqpdir=$(mktemp -d /tmp/ent-amqp.XXXXXX)
rmdir "$amqpdir"
cleanup() {
  bash tests/services/rabbitmq.sh stop "$amqpdir" >/dev/null 2>&1 || true
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
  # ENT_TEST_S3_DATA: where s3rver keeps the objects, so that the tests can count them.
  # shellcheck disable=SC2086
  ENT_BLOB=$s3url ENT_TEST_S3_DATA=$s3dir/data node --test --test-concurrency=1 $s3_api
fi

echo "== RabbitMQ (event bus)"
# Exported: the PostgreSQL phase below runs the bus tests on RabbitMQ too (the production pair).
# The tests halt and restart this broker (ENT_TEST_AMQP_DIR) to show that nothing is lost.
ENT_TEST_AMQP_URL=$(bash tests/services/rabbitmq.sh start "$amqpdir")
export ENT_TEST_AMQP_URL ENT_TEST_AMQP_DIR=$amqpdir
echo "== unit tests (RabbitMQ)"
(cd "$BUILD" && ctest --output-on-failure -R '^test_bus')
bus_api=$(ls tests/api/bus*.test.mjs 2>/dev/null || true)
if [ -n "$bus_api" ]; then
  echo "== API tests of the event bus (RabbitMQ)"
  # shellcheck disable=SC2086
  node --test --test-concurrency=1 $bus_api
fi

echo "== PostgreSQL"
url=$(bash tests/services/postgres.sh start "$pgdir")
export ENT_TEST_PG_URL=$url

echo "== unit tests (PostgreSQL)"
(cd "$BUILD" && ctest --output-on-failure)

echo "== API tests (PostgreSQL)"
node --test --test-concurrency=1 tests/api/

echo "== faults of the production layout (tests/services/cluster.sh: PostgreSQL, RabbitMQ, nginx)"
# Its own cluster, started and stopped by the test file (about 2 minutes on two cores).
node --test --test-concurrency=1 tests/cluster/
