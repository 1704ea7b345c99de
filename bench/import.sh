#!/usr/bin/env bash
# bench/import.sh - CSV import of 10,000 accounts with `ent import users` (issue "Identity":
# target under 30 s), on SQLite, and on PostgreSQL when BENCH_PG_URL names a database.
# Informative, never a test. Settings: ENT_BIN=build/ent BENCH_ROWS=10000 BENCH_PG_URL=
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
. bench/common.sh

ent_bin=${ENT_BIN:-build/ent}
rows=${BENCH_ROWS:-10000}
[ -x "$ent_bin" ] || bench_die "$ent_bin is missing (make build)"
trap stop_all EXIT
make_tmpdir
dir=$bench_tmpdir

{
	echo "email,given_name,family_name,role,class,external_id"
	for i in $(seq 0 $((rows - 1))); do
		echo "eleve.$i@bench.test,Prénom$i,Nom$((i % 97)),etudiant,Classe $((i % 40)),B-$i"
	done
} >"$dir/users.csv"

run() { # label, extra settings...
	local label=$1
	shift
	local t0 t1
	t0=$(date +%s.%N)
	"$ent_bin" import users "$dir/users.csv" --data "$dir/data-$label" "$@" >"$dir/out-$label" ||
		bench_die "import on $label failed: $(tail -3 "$dir/out-$label")"
	t1=$(date +%s.%N)
	local first
	first=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
	t0=$(date +%s.%N)
	"$ent_bin" import users "$dir/users.csv" --data "$dir/data-$label" "$@" >/dev/null
	t1=$(date +%s.%N)
	printf '| %s | %s s | %s s | under 30 s: %s |\n' "$label" "$first" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')" \
		"$(awk -v f="$first" 'BEGIN {print (f < 30 ? "PASS" : "BELOW")}')"
}

echo "| database | import of $rows new accounts | re-import (unchanged) | target |"
echo "|---|---:|---:|---|"
run sqlite
if [ -n "${BENCH_PG_URL:-}" ]; then
	run postgresql --db "$BENCH_PG_URL"
fi
