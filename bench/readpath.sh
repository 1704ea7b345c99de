#!/usr/bin/env bash
# bench/readpath.sh - what one cached read costs, in counts that do not depend on machine load.
#
# On a district kept by bench/district.sh (BENCH_DATA, its request lists in BENCH_DATA/requests),
# runs ent under callgrind and strace, with its answer cache and without (ENT_CACHE_MB=0), and
# counts instructions and syscalls per request (as bench/profile.sh does for /health) for:
#   S1 hit       a student's report card served from the cache (PROFILE_USERS students, warmed)
#   S1 hit gzip  the same for a client that takes gzip (a browser): the stored gzip form is sent
#   S1-304       the same revalidated with its ETag (304, no body)
#   S1 no cache  the card rendered
#   S2 hit / S2 no cache  a student's course list
#   S3           the notification list and unread count (not cached)
#   S5           the mix of bench/district.sh (its first 20 x PROFILE_USERS lines), with the cache
#   hello        the hello-world with a card-sized answer; hello-137 with its 137-byte one
# Usage: BENCH_DATA=/tmp/district bench/readpath.sh   (after bench/district.sh and make build)
# Settings: PROFILE_SECONDS=5 PROFILE_USERS=20 ENT_BIN=build/ent PROFILE_OUT=build-bench/readpath
# PROFILE_ONLY="S1 hit,S1-304,S5" measures only those (default: all); PROFILE_STRACE=0 skips the
# syscall counts (strace), the slower half of a run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
. bench/common.sh
die() { bench_die "$@"; }

secs=${PROFILE_SECONDS:-5}
users=${PROFILE_USERS:-20}
ent_bin=${ENT_BIN:-build/ent}
out=${PROFILE_OUT:-build-bench/readpath}
only=${PROFILE_ONLY:-}
with_strace=${PROFILE_STRACE:-1}
data=${BENCH_DATA:-}
[[ -n $data && -f $data/requests/s1.txt ]] || die "BENCH_DATA must name a district kept by bench/district.sh"
for cmd in valgrind callgrind_annotate callgrind_control strace wrk curl node; do
	command -v "$cmd" >/dev/null || die "$cmd is not installed"
done
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
build_hello || die "bench/hello.c did not build"
rm -rf "$out"
mkdir -p "$out"
export ENT_DATA=$data ENT_LOG_LEVEL=warn
unset ENT_DB

# The lists: the first $users lines of S1, S2 and S3 (S3 has two lines a student), S1's with ETags.
head -n "$users" "$data/requests/s1.txt" >"$out/s1.txt"
head -n "$users" "$data/requests/s2.txt" >"$out/s2.txt"
head -n $((2 * users)) "$data/requests/s3.txt" >"$out/s3.txt"
head -n $((20 * users)) "$data/requests/s5.txt" >"$out/s5.txt"

# Starts NAME (GRIND 1: under callgrind) with CACHE MiB; sets $srv_pid and $srv_port.
start_ent() {
	local name=$1 grind=$2 cache=$3
	local _try
	# A port found free may be taken by another program before ent binds it: three tries.
	for _try in 1 2 3; do
		free_port || die "no free loopback port"
		srv_port=$bench_port
		local cmd=("$ent_bin" serve --listen "127.0.0.1:$srv_port" --access-log off)
		if ((grind)); then
			ENT_CACHE_MB=$cache start_bg valgrind --tool=callgrind --callgrind-out-file="$out/$name.callgrind.%p" \
				"${cmd[@]}" >/dev/null 2>"$out/$name.valgrind.log"
		else
			ENT_CACHE_MB=$cache start_bg "${cmd[@]}" >/dev/null 2>"$out/$name.log"
		fi
		srv_pid=$bench_last_pid
		wait_ready "$srv_pid" "http://127.0.0.1:$srv_port/health" 120 && return 0
		stop_one "$srv_pid"
	done
	die "$name did not start"
}

wanted() { [[ -z $only || ,$only, == *",$1,"* ]]; }

wrk_list() { # PORT FILE SECONDS LUA CONNECTIONS [ARGS...]
	local o
	o=$(timeout $(($3 + 60)) wrk -t1 -c"$5" -d"$3s" --timeout 30s -s "$4" "http://127.0.0.1:$1" -- "$2" "${@:6}") || return 1
	grep '^WRK_RESULT ' <<<"$o"
}

declare -A ir sys
# NAME CACHE FILE LUA [ARGS...]: instructions per request over $secs s after a 3 s warm-up, then
# syscalls. ARGS go to the Lua script (scenario.lua: "gzip").
measure() {
	local name=$1 cache=$2 file=$3 lua=$4 line n f total
	local args=("${@:5}")
	wanted "$name" || return 0
	echo "bench: $name: callgrind" >&2
	start_ent "$name" 1 "$cache"
	wrk_list "$srv_port" "$file" 3 "$lua" 4 "${args[@]}" >/dev/null || die "wrk failed on $name"
	callgrind_control -z "$srv_pid" >/dev/null
	line=$(wrk_list "$srv_port" "$file" "$secs" "$lua" 4 "${args[@]}") || die "wrk failed on $name"
	callgrind_control -d "$srv_pid" >/dev/null
	(($(field "$line" err_status) == 0)) || die "$name: non-2xx/3xx answers: $line"
	n=$(field "$line" requests)
	f=$(find "$out" -name "$name.callgrind.$srv_pid.*" | head -1)
	[[ -n $f && $n -gt 0 ]] || die "$name: no callgrind dump"
	callgrind_annotate --inclusive=yes --threshold=100 "$f" >"$out/$name.annotate.txt" 2>/dev/null
	total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$out/$name.annotate.txt")
	ir[$name]=$((total / n))
	stop_one "$srv_pid"
	((with_strace)) || return 0
	echo "bench: $name: strace" >&2
	start_ent "$name" 0 "$cache"
	wrk_list "$srv_port" "$file" 2 "$lua" 8 "${args[@]}" >/dev/null || die "wrk failed on $name"
	strace -f -c -o "$out/$name.strace.txt" -p "$srv_pid" 2>/dev/null &
	local spid=$!
	sleep 1
	line=$(wrk_list "$srv_port" "$file" 3 "$lua" 8 "${args[@]}") || die "wrk failed on $name"
	kill -INT "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	n=$(field "$line" requests)
	sys[$name]=$(awk -v n="$n" '$NF ~ /^[a-z_0-9]+$/ && $NF != "syscall" && $NF != "total" { s += $4 }
		END { printf "%.1f", s / n }' "$out/$name.strace.txt")
	stop_one "$srv_pid"
}

# ETags from a server with the cache (the same bytes as without).
start_ent etags 0 32
node bench/etags.mjs "http://127.0.0.1:$srv_port" "$out/s1.txt" "$out/s1-304.txt" || die "reading the ETags failed"
card_bytes=$(IFS=$'\t' read -r _ p t _ <"$out/s1.txt"; curl -s -o /dev/null -w '%{size_download}' \
	-H "Authorization: Bearer $t" "http://127.0.0.1:$srv_port$p")
stop_one "$srv_pid"

measure "S1 hit" 32 "$out/s1.txt" bench/scenario.lua
measure "S1 hit gzip" 32 "$out/s1.txt" bench/scenario.lua gzip
measure "S1-304" 32 "$out/s1-304.txt" bench/revalidate.lua
measure "S1 no cache" 0 "$out/s1.txt" bench/scenario.lua
measure "S2 hit" 32 "$out/s2.txt" bench/scenario.lua
measure "S2 no cache" 0 "$out/s2.txt" bench/scenario.lua
measure "S3" 32 "$out/s3.txt" bench/scenario.lua
measure "S5" 32 "$out/s5.txt" bench/scenario.lua

# NAME BYTES: the hello-world answering BYTES bytes.
measure_hello() {
	local name=$1 bytes=$2 hp hpid line f
	wanted "$name" || return 0
	echo "bench: hello-world with $bytes bytes: callgrind" >&2
	free_port || die "no free loopback port"
	hp=$bench_port
	start_bg valgrind --tool=callgrind --callgrind-out-file="$out/$name.callgrind.%p" build-bench/hello "$hp" "$bytes" \
		>/dev/null 2>"$out/$name.valgrind.log"
	hpid=$bench_last_pid
	wait_ready "$hpid" "http://127.0.0.1:$hp/" 60 || die "the hello-world did not start"
	run_wrk "http://127.0.0.1:$hp/" 2 1 4 >/dev/null || die "wrk failed"
	callgrind_control -z "$hpid" >/dev/null
	line=$(run_wrk "http://127.0.0.1:$hp/" "$secs" 1 4) || die "wrk failed"
	callgrind_control -d "$hpid" >/dev/null
	f=$(find "$out" -name "$name.callgrind.$hpid.*" | head -1)
	callgrind_annotate --inclusive=yes --threshold=100 "$f" >"$out/$name.annotate.txt" 2>/dev/null
	ir[$name]=$(($(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$out/$name.annotate.txt") / $(field "$line" requests)))
	stop_one "$hpid"
}
measure_hello hello "$card_bytes"
measure_hello hello-137 137

{
	echo "| request | instructions/request | syscalls/request |"
	echo "|---|---:|---:|"
	if [[ -n ${ir[hello]:-} ]]; then
		printf '| hello-world, %s bytes | %d | |\n' "$card_bytes" "${ir[hello]}"
	fi
	if [[ -n ${ir[hello-137]:-} ]]; then
		printf '| hello-world, 137 bytes | %d | |\n' "${ir[hello-137]}"
	fi
	for n in "S1 hit" "S1 hit gzip" "S1-304" "S1 no cache" "S2 hit" "S2 no cache" "S3" "S5"; do
		if [[ -n ${ir[$n]:-} ]]; then
			printf '| %s | %d | %s |\n' "$n" "${ir[$n]}" "${sys[$n]:-}"
		fi
	done
} | tee "$out/readpath.md"
echo "bench: callgrind files, annotations and strace summaries in $out" >&2
