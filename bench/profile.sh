#!/usr/bin/env bash
# bench/profile.sh - per-request cost of GET /health in figures that do not depend on machine load.
#
# bench/run.sh measures requests/s, which anything else running on the machine disturbs. This
# script counts instead, for the hello-world and for ent (access log on and off):
#   instructions per request   valgrind --tool=callgrind over a short wrk run (-t1 -c4)
#   syscalls per request       strace -c -f attached to the native server over a short wrk run
# and lists ent's own functions by instructions per request (inclusive), to see where they go.
# The counts are deterministic to within a few percent from one run to the next.
#
# Note: callgrind counts a `rep stosb` as one instruction per byte, so libc's memset of large
# blocks (libmicrohttpd zeroes each connection's memory pool between keep-alive requests) weighs
# far more in instructions than in time; it is shown in its own column.
#
# Usage: bench/profile.sh   (after make build; needs valgrind and strace)
# Settings: PROFILE_SECONDS=5 ENT_BIN=build/ent BENCH_PATH=/health PROFILE_OUT=build-bench/profile
#           BENCH_RESULTS=bench/results (the summary is also written there as DATE-COMMIT-profile.md)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
. bench/common.sh

secs=${PROFILE_SECONDS:-5}
path=${BENCH_PATH:-/health}
ent_bin=${ENT_BIN:-build/ent}
out=${PROFILE_OUT:-build-bench/profile}
results_dir=${BENCH_RESULTS:-bench/results}
die() { bench_die "$@"; }

for cmd in valgrind callgrind_annotate callgrind_control strace wrk curl cc pkg-config; do
	command -v "$cmd" >/dev/null || die "$cmd is not installed"
done
[[ -x $ent_bin ]] || die "$ent_bin is missing: run make build"

trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

build_hello || die "bench/hello.c did not build"
rm -rf "$out"
mkdir -p "$out"

# Starts server NAME on a free port (the command's PORT and DATA words are replaced), optionally
# under callgrind; sets $srv_pid and $srv_url.
start_server() {
	local name=$1 grind=$2 p data args=()
	shift 2
	free_port || die "no free loopback port"
	p=$bench_port
	make_tmpdir || die "cannot make a temporary directory"
	data=$bench_tmpdir
	for a in "$@"; do
		a=${a//PORT/$p}
		args+=("${a//DATA/$data}")
	done
	if ((grind)); then
		start_bg valgrind --tool=callgrind --callgrind-out-file="$out/$name.callgrind.%p" "${args[@]}" \
			>/dev/null 2>"$out/$name.valgrind.log"
	else
		start_bg "${args[@]}" >/dev/null 2>&1
	fi
	srv_pid=$bench_last_pid
	srv_url="http://127.0.0.1:$p$path"
	wait_ready "$srv_pid" "$srv_url" 60 || die "$name did not start or does not answer 200 on $srv_url"
}

declare -A ir ir_memset sys sys_detail
hello_cmd=(build-bench/hello PORT)
ent_cmd=("$ent_bin" serve --data DATA --listen 127.0.0.1:PORT --log-level warn --access-log)

profile() {
	local name=$1 line n file total memset
	shift
	echo "bench: $name: callgrind, wrk -t1 -c4 -d${secs}s" >&2
	start_server "$name" 1 "$@"
	run_wrk "$srv_url" 2 1 4 >/dev/null || die "wrk failed against $name"
	callgrind_control -z "$srv_pid" >/dev/null
	line=$(run_wrk "$srv_url" "$secs" 1 4) || die "wrk failed against $name"
	callgrind_control -d "$srv_pid" >/dev/null
	n=$(field "$line" requests)
	file=$(find "$out" -name "$name.callgrind.$srv_pid.*" | head -1)
	[[ -n $file && $n -gt 0 ]] || die "$name: no callgrind dump"
	callgrind_annotate --inclusive=yes --threshold=100 "$file" >"$out/$name.annotate.txt" 2>/dev/null
	total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$out/$name.annotate.txt")
	memset=$(awk '/__memset_[a-z0-9_]*unaligned_erms/ { gsub(",", "", $1); print $1; exit }' "$out/$name.annotate.txt")
	ir[$name]=$((total / n))
	ir_memset[$name]=$((${memset:-0} / n))
	# Per-request inclusive instructions of the functions in the project's own sources. callgrind
	# may list one function under two spellings of its file (relative and absolute): the larger
	# figure is kept, so the list is approximate (within a few percent).
	awk -v n="$n" '/src\/.*\.c:[a-z_0-9]+( \[|$)/ && !/^ *[0-9,]+ +\([ 0-9.]+%\) +\*/ {
		c = $1; gsub(",", "", c); f = $0; sub(/^.*\) +/, "", f); sub(/ \[.*/, "", f); sub(/^.*src\//, "src/", f);
		if (c + 0 > best[f] + 0) best[f] = c } END { for (f in best) printf "%9.0f  %s\n", best[f] / n, f }' \
		"$out/$name.annotate.txt" | sort -rn | head -25 >"$out/$name.top.txt"
	stop_one "$srv_pid"

	echo "bench: $name: strace -c, wrk -t1 -c8 -d3s" >&2
	start_server "$name" 0 "$@"
	strace -f -c -o "$out/$name.strace.txt" -p "$srv_pid" 2>/dev/null &
	local spid=$!
	sleep 1
	line=$(run_wrk "$srv_url" 3 1 8) || die "wrk failed against $name"
	kill -INT "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	n=$(field "$line" requests)
	# strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall.
	sys[$name]=$(awk -v n="$n" '$NF ~ /^[a-z_0-9]+$/ && $NF != "syscall" && $NF != "total" { s += $4 }
		END { printf "%.2f", s / n }' "$out/$name.strace.txt")
	sys_detail[$name]=$(awk -v n="$n" '$NF ~ /^[a-z_0-9]+$/ && $NF != "syscall" && $NF != "total" && $4 / n >= 0.05 {
		printf "%s%s %.2f", (k++ ? ", " : ""), $NF, $4 / n }' "$out/$name.strace.txt")
	stop_one "$srv_pid"
}

profile hello "${hello_cmd[@]}"
profile ent-off "${ent_cmd[@]}" off
profile ent-on "${ent_cmd[@]}" on

report="$out/profile.md"
{
	echo "| server | instructions/request | of which memset | without memset | syscalls/request | main syscalls per request |"
	echo "|---|---:|---:|---:|---:|---|"
	for n in hello ent-off ent-on; do
		printf '| %s | %d | %d | %d | %s | %s |\n' "$n" "${ir[$n]}" "${ir_memset[$n]}" \
			"$((ir[$n] - ir_memset[$n]))" "${sys[$n]}" "${sys_detail[$n]}"
	done
	echo
	echo "ent's own functions, access log on (inclusive instructions per request, approximate):"
	echo
	echo '```'
	cat "$out/ent-on.top.txt"
	echo '```'
} >"$report"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
[[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty="-dirty"
day=$(date -u +%Y-%m-%d)
mkdir -p "$results_dir"
saved="$results_dir/$day-$commit$dirty-profile.md"
{
	echo "# Per-request profile of GET $path, $day, commit $commit$dirty"
	echo
	echo "bench/profile.sh: instructions from callgrind over \`wrk -t1 -c4 -d${secs}s\`, syscalls from"
	echo "\`strace -c -f\` over \`wrk -t1 -c8 -d3s\` (bench/README.md explains the memset column)."
	echo
	cat "$report"
	echo
	echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "- kernel: $(uname -srm)"
	echo "- commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$dirty"
	echo "- libmicrohttpd $(pkg-config --modversion libmicrohttpd), $(valgrind --version), $(cc --version | head -1)"
} >"$saved"
cat "$report"
echo
echo "bench: written to $saved (callgrind files and strace summaries in $out)"
