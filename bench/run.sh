#!/usr/bin/env bash
# bench/run.sh - HTTP throughput of ent's GET /health against a bare libmicrohttpd hello-world.
#
# Builds the hello-world (bench/hello.c) into build-bench/, starts on free loopback ports:
#   hello      bench/hello.c, same daemon flags and options as src/core/http.c
#   ent-off    build/ent serve, --access-log off
#   ent-on     build/ent serve, access log on (the default), written to /dev/null
# then warms each up and runs wrk against each, interleaved over BENCH_ROUNDS rounds, keeping each
# server's median round (by requests/s). Besides wrk's figures it records each server's CPU time
# per request (from /proc/PID/stat), which other load on the machine disturbs much less than
# requests/s. Prints a table and writes bench/results/DATE-COMMIT.md.
#
# Every process it starts is stopped on exit. Exit status: 0 when the benchmark ran (whatever the
# figures), 1 when something did not build, start or answer correctly.
#
# make bench builds build/ent (make build web) before calling this. Run alone, it builds build/ent
# with `make build` unless BENCH_SKIP_BUILD=1 or ENT_BIN names another binary.
#
# Settings (environment):
#   BENCH_THREADS=2 BENCH_CONNECTIONS=64 BENCH_DURATION=10 (seconds per measured run)
#   BENCH_WARMUP=3 (seconds per server) BENCH_ROUNDS=3 BENCH_TARGET=80 (percent of hello-world)
#   BENCH_PATH=/health  ENT_BIN=build/ent  BENCH_RESULTS=bench/results
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
. bench/common.sh

threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-64}
duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-3}
rounds=${BENCH_ROUNDS:-3}
target=${BENCH_TARGET:-80}
path=${BENCH_PATH:-/health}
ent_bin=${ENT_BIN:-build/ent}
results_dir=${BENCH_RESULTS:-bench/results}
hello_bin=build-bench/hello
die() { bench_die "$@"; }

for cmd in wrk curl cc pkg-config; do
	command -v "$cmd" >/dev/null || die "$cmd is not installed (make bench installs it)"
done
for v in "$threads" "$conns" "$duration" "$warmup" "$rounds" "$target"; do
	[[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || die "BENCH_* settings must be positive integers (got \"$v\")"
done
[[ $path == /* ]] || die "BENCH_PATH must start with /"

trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- build ----

if [[ -z ${ENT_BIN:-} && -z ${BENCH_SKIP_BUILD:-} ]]; then
	make --no-print-directory build >&2 || die "make build failed"
fi
[[ -x $ent_bin ]] || die "$ent_bin is missing: run make build"
build_hello || die "bench/hello.c did not build"

# ---- servers ----

declare -A port pid url idle_rss
names=(hello ent-off ent-on)

free_port || die "no free loopback port"
port[hello]=$bench_port
start_bg "$hello_bin" "${port[hello]}" >/dev/null
pid[hello]=$bench_last_pid

for mode in off on; do
	n=ent-$mode
	free_port || die "no free loopback port"
	port[$n]=$bench_port
	make_tmpdir || die "cannot make a temporary directory"
	data=$bench_tmpdir
	# stderr carries the access log: /dev/null, so that the figure is the cost of producing and
	# writing the lines, not of a terminal or a disk.
	start_bg "$ent_bin" serve --data "$data" --listen "127.0.0.1:${port[$n]}" --access-log "$mode" \
		--log-level warn 2>/dev/null
	pid[$n]=$bench_last_pid
done

for n in "${names[@]}"; do
	url[$n]="http://127.0.0.1:${port[$n]}$path"
	wait_ready "${pid[$n]}" "${url[$n]}" || die "$n did not start or does not answer 200 on ${url[$n]}"
done
sleep 1 # let the processes settle before the idle reading
for n in "${names[@]}"; do idle_rss[$n]=$(rss_kib "${pid[$n]}"); done

# CPU use by other processes, in percent of all CPUs over 2 s while the servers here are idle.
# wrk and the servers need every core: a busy machine disturbs the figures.
cpu_busy() {
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	sleep 2
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
		busy = y[1] - x[1]; idle = y[2] - x[2];
		printf "%.0f", (busy + idle > 0 ? 100 * busy / (busy + idle) : 0) }'
}

# ---- load ----

busy_before=$(cpu_busy)
echo "bench: other CPU use before the start: ${busy_before}%; warming up (${warmup}s each)" >&2
for n in "${names[@]}"; do
	run_wrk "${url[$n]}" "$warmup" "$threads" "$conns" >/dev/null || die "wrk failed against $n"
done

tick_us=$((1000000 / $(getconf CLK_TCK)))
declare -A runs
for r in $(seq "$rounds"); do
	for n in "${names[@]}"; do
		echo "bench: round $r/$rounds: $n (wrk -t$threads -c$conns -d${duration}s)" >&2
		read -r u0 s0 < <(proc_cpu "${pid[$n]}")
		line=$(run_wrk "${url[$n]}" "$duration" "$threads" "$conns") || die "wrk failed against $n"
		kill -0 "${pid[$n]}" 2>/dev/null || die "$n died under load"
		read -r u1 s1 < <(proc_cpu "${pid[$n]}")
		bad=$(($(field "$line" err_status) + $(field "$line" err_connect)))
		((bad == 0)) || die "$n: $bad connection errors or non-2xx answers: $line"
		reqs=$(field "$line" requests)
		# CPU time of the server per request, user and system, in microseconds.
		cpu=$(awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v t="$tick_us" -v n="$reqs" \
			'BEGIN { printf "user_us=%.2f sys_us=%.2f", u * t / n, s * t / n }')
		runs[$n]+="$line $cpu"$'\n'
		echo "bench:   $(field "$line" rps) req/s, p50 $(field "$line" p50_us) us, p99 $(field "$line" p99_us) us, $cpu per request" >&2
	done
done

busy_after=$(cpu_busy)
declare -A best top load_rss peak_rss all_rps
for n in "${names[@]}"; do
	load_rss[$n]=$(rss_kib "${pid[$n]}")
	peak_rss[$n]=$(hwm_kib "${pid[$n]}")
	# The median round by requests/s (the middle line once sorted; the upper one for an even count).
	best[$n]=$(printf '%s' "${runs[$n]}" | sort -t= -k4 -g | sed -n "$((rounds / 2 + 1))p")
	top[$n]=$(printf '%s' "${runs[$n]}" | sort -t= -k4 -g | tail -1)
	all_rps[$n]=$(printf '%s' "${runs[$n]}" | sed -n 's/.* rps=\([^ ]*\).*/\1/p' |
		awk '{ printf "%s%.0f", (NR > 1 ? ", " : ""), $1 }')
done

# ---- report ----

rps() { field "${best[$1]}" rps; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", 100 * a / b }'; }
verdict() { awk -v p="$1" -v t="$target" 'BEGIN { print (p >= t ? "PASS" : "BELOW") }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
cpu_total() { awk -v u="$(field "$1" user_us)" -v s="$(field "$1" sys_us)" 'BEGIN { printf "%.1f", u + s }'; }

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
[[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty="-dirty"
day=$(date -u +%Y-%m-%d)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mhd=$(pkg-config --modversion libmicrohttpd)
wrkv=$(wrk -v 2>&1 | head -1 | awk '{ print $2 }' || true)
ccv=$(cc --version | head -1)

ratio_off=$(pct "$(rps ent-off)" "$(rps hello)")
ratio_on=$(pct "$(rps ent-on)" "$(rps hello)")
# Best rounds: other load on the machine only ever slows a round down, so the ratio of the best
# rounds is the one least disturbed by it. Both are printed; the verdict uses the medians.
top_rps() { field "${top[$1]}" rps; }
top_off=$(pct "$(top_rps ent-off)" "$(top_rps hello)")
top_on=$(pct "$(top_rps ent-on)" "$(top_rps hello)")
busy=$(((busy_before > 10 || busy_after > 10) ? 1 : 0))

table() {
	echo "| server | requests/s | p50 ms | p90 ms | p99 ms | vs hello-world | CPU us/request (user+sys) | RSS idle MiB | RSS after load MiB | peak RSS MiB | rounds (req/s) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	local n b label
	for n in "${names[@]}"; do
		b=${best[$n]}
		case $n in
		hello) label="hello-world (bench/hello.c)" ;;
		ent-off) label="ent $path, access log off" ;;
		ent-on) label="ent $path, access log on (to /dev/null)" ;;
		esac
		printf '| %s | %.0f | %s | %s | %s | %s%% | %s (%s+%s) | %s | %s | %s | %s |\n' "$label" "$(field "$b" rps)" \
			"$(ms "$(field "$b" p50_us)")" "$(ms "$(field "$b" p90_us)")" "$(ms "$(field "$b" p99_us)")" \
			"$(pct "$(field "$b" rps)" "$(rps hello)")" "$(cpu_total "$b")" "$(field "$b" user_us)" \
			"$(field "$b" sys_us)" "$(mib "${idle_rss[$n]}")" "$(mib "${load_rss[$n]}")" \
			"$(mib "${peak_rss[$n]}")" "${all_rps[$n]}"
	done
}

summary="Target: ent $path at ${target}% or more of the hello-world's requests/s (medians).
- access log on (the default):  ${ratio_on}% -> $(verdict "$ratio_on")   (best rounds: ${top_on}%)
- access log off:               ${ratio_off}% -> $(verdict "$ratio_off")   (best rounds: ${top_off}%)"
if ((busy)); then
	summary+="
WARNING: other processes used ${busy_before}% of the CPUs before and ${busy_after}% after the rounds:
requests/s are disturbed (CPU us/request much less); rerun on a quiet machine."
fi

mkdir -p "$results_dir"
out="$results_dir/$day-$commit$dirty.md"
{
	echo "# HTTP benchmark, $day, commit $commit$dirty"
	echo
	echo "GET $path on ent against a bare libmicrohttpd hello-world with the same daemon options"
	echo "(bench/README.md). Median of $rounds interleaved rounds per server."
	echo
	table
	echo
	echo '```'
	echo "$summary"
	echo '```'
	echo
	echo "## Conditions"
	echo
	echo "- load: \`wrk -t$threads -c$conns -d${duration}s --timeout 5s -s bench/report.lua\`, keep-alive, loopback,"
	echo "  on the same machine; ${warmup}s warm-up per server; rounds interleaved hello, ent-off, ent-on"
	echo "- ent: \`$ent_bin serve --data <fresh temp dir>\`, embedded defaults (SQLite), one worker thread"
	echo "  per core; its log (stderr) to /dev/null"
	echo "- CPU us/request: the server's utime+stime (/proc/PID/stat) over the round, divided by its requests"
	echo "- RSS: VmRSS from /proc/PID/status 1 s after start (idle) and after the last round; peak is VmHWM"
	echo "- CPU used by other processes (2 s samples, servers idle): ${busy_before}% before the warm-up, ${busy_after}% after the last round"
	echo "- machine: $(nproc) CPUs, $cpu_model"
	echo "- kernel: $(uname -srm)"
	echo "- commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$dirty"
	echo "- libmicrohttpd $mhd, wrk $wrkv, $ccv"
} >"$out"

echo
table
echo
echo "$summary"
echo
echo "bench: written to $out"
