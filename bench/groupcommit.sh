#!/usr/bin/env bash
# bench/groupcommit.sh - SQLite's group commit against one sync per commit, in one run.
#
# On a district kept by bench/district.sh (BENCH_DATA, its request lists in BENCH_DATA/requests),
# starts ent with ENT_GROUP_COMMIT=on, runs S4 (teachers entering a class's grades, PUTs) at 64
# and at 4 connections and S5 (the mix), stops it, and does the same with ENT_GROUP_COMMIT=off,
# one server at a time on the same database. Prints a table (requests/s, grades/s, p50 and p99)
# and writes it to bench/results/DATE-COMMIT-groupcommit.md with the machine and the commit.
# Every write is answered only once it is on disk in both modes (docs/read-paths.md).
#
# Usage: BENCH_DATA=/tmp/district bench/groupcommit.sh   (after bench/district.sh and make build)
# Settings: BENCH_THREADS=2 BENCH_CONNECTIONS=64 BENCH_DURATION=10 BENCH_WARMUP=3 ENT_BIN=build/ent
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
. bench/common.sh
die() { bench_die "$@"; }

threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-64}
duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-3}
ent_bin=${ENT_BIN:-build/ent}
results_dir=${BENCH_RESULTS:-bench/results}
data=${BENCH_DATA:-}
[[ -n $data && -f $data/requests/s4.txt && -f $data/requests/s5.txt ]] ||
	die "BENCH_DATA must name a district kept by bench/district.sh"
for v in "$threads" "$conns" "$duration" "$warmup"; do
	[[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || die "BENCH_* settings must be positive integers (got \"$v\")"
done
for cmd in wrk curl; do
	command -v "$cmd" >/dev/null || die "$cmd is not installed (make bench installs it)"
done
[[ -x $ent_bin ]] || die "$ent_bin is missing: run make build"
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export ENT_DATA=$data ENT_LOG_LEVEL=warn
unset ENT_DB
grades_per_put=$(cat "$data/requests/s4.grades")

scenario() { # PORT FILE SECONDS CONNECTIONS -> WRK_RESULT line
	local out c=$4 t=$threads
	((t > c)) && t=$c
	out=$(timeout $(($3 + 60)) wrk -t"$t" -c"$c" -d"$3s" --timeout 5s -s bench/scenario.lua \
		"http://127.0.0.1:$1" -- "$2") || return 1
	grep '^WRK_RESULT ' <<<"$out"
}

declare -A result
names=(S4 S4c4 S5)
for mode in on off; do
	free_port || die "no free loopback port"
	port=$bench_port
	ENT_GROUP_COMMIT=$mode start_bg "$ent_bin" serve --listen "127.0.0.1:$port" --access-log off \
		2>"$data/ent-gc-$mode.log"
	pid=$bench_last_pid
	wait_ready "$pid" "http://127.0.0.1:$port/health" 120 || die "ent ($mode) did not start: $(tail -5 "$data/ent-gc-$mode.log")"
	for n in "${names[@]}"; do
		f=$data/requests/$(tr 'S' 's' <<<"${n%c4}").txt
		c=$conns
		[[ $n == *c4 ]] && c=4
		k=$n/$mode
		echo "bench: $n, group commit $mode, warm-up ${warmup}s then ${duration}s" >&2
		scenario "$port" "$f" "$warmup" "$c" >/dev/null || die "wrk failed on $k"
		result[$k]=$(scenario "$port" "$f" "$duration" "$c") || die "wrk failed on $k"
		kill -0 "$pid" 2>/dev/null || die "ent died under $k: $(tail -5 "$data/ent-gc-$mode.log")"
		bad=$(($(field "${result[$k]}" err_status) + $(field "${result[$k]}" err_connect)))
		((bad == 0)) || die "$k: $bad connection errors or non-2xx/3xx answers: ${result[$k]}"
		echo "bench:   $(field "${result[$k]}" rps) req/s, p50 $(field "${result[$k]}" p50_us) us, p99 $(field "${result[$k]}" p99_us) us" >&2
	done
	stop_one "$pid"
done
load_avg=$(cut -d' ' -f1-3 /proc/loadavg)

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
p99() { if (($(field "$1" err_timeout) > 0)); then echo ">5000"; else ms "$(field "$1" p99_us)"; fi; }
table() {
	echo "| scenario | group commit on: requests/s | p50 ms | p99 ms | off: requests/s | p50 ms | p99 ms | on / off |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	local n on off
	for n in "${names[@]}"; do
		on=${result[$n/on]} off=${result[$n/off]}
		printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" \
			"$(field "$on" rps)" "$(ms "$(field "$on" p50_us)")" "$(p99 "$on")" \
			"$(field "$off" rps)" "$(ms "$(field "$off" p50_us)")" "$(p99 "$off")" \
			"$(awk -v a="$(field "$on" rps)" -v b="$(field "$off" rps)" 'BEGIN { printf "×%.2f", a / b }')"
	done
	echo
	echo "S4: PUT …/grades of a class ($grades_per_put grades a request) by many teachers; S4c4 the same at 4"
	echo "connections; S5 the mix of bench/district.sh. wrk -t$threads -c$conns -d${duration}s, one server at a"
	echo "time on the same SQLite district. Load average at the end: $load_avg."
}
report=$(table)
echo "$report"
mkdir -p "$results_dir"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
out=$results_dir/$(date +%Y-%m-%d)-$commit-groupcommit.md
{
	echo "# SQLite group commit, $(date -u +%Y-%m-%dT%H:%MZ), commit $commit"
	echo
	echo "Machine: $(nproc) CPUs, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)."
	echo
	echo "$report"
} >"$out"
echo "bench: written to $out" >&2
