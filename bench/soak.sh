#!/usr/bin/env bash
# bench/soak.sh - a long run below the peak: does ent stay flat?
#
#   1. builds build/ent (release), generates a district (`ent demo --scale N`, as district.sh),
#      starts ent on it (access log off) and prepares S5's request list (bench/prepare.mjs);
#   2. measures S5's peak with wrk (-t2 -c64, closed loop, no pause): the best of two runs after a
#      warm-up;
#   3. runs S5 at BENCH_SOAK_PERCENT (80) % of that peak for BENCH_SOAK_SECONDS (600), in windows
#      of BENCH_WINDOW (10) seconds: one wrk run per window (bench/soak.lua: each connection waits
#      between an answer and its next request; the wait is adjusted after each window to hold the
#      rate), and halfway through each window ent's resident memory (VmRSS), open descriptors
#      (/proc/PID/fd) and CPU time are read; each window gives its requests/s, p50, p99, errors;
#   4. fails (exit 1) when, after the first minute (warm-up), the resident memory grows more than
#      BENCH_RSS_GROWTH (10) % above its reading at one minute, the open descriptors at any reading
#      exceed the one-minute reading by more than BENCH_FD_SLACK (16: connections and downloads in
#      progress vary), the descriptors once idle after the soak exceed those idle before it, any
#      answer is not 2xx (wrk) or any 5xx is counted by ent's own metrics, or any request fails
#      (connection, read, write, 5 s timeout);
#   5. writes the table and the verdicts to bench/results/DATE-COMMIT-soak-DB.md, with the machine's
#      load (the CPU other processes used before the start, the load average during the run).
#
# Settings (environment): BENCH_SCALE=20000 BENCH_DB=sqlite|postgres BENCH_THREADS=2
# BENCH_CONNECTIONS=64 BENCH_PEAK_DURATION=15 BENCH_WARMUP=5 BENCH_SOAK_SECONDS=600
# BENCH_WINDOW=10 BENCH_SOAK_PERCENT=80 BENCH_SETTLE=60 (seconds of warm-up inside the soak)
# BENCH_RSS_GROWTH=10 BENCH_FD_SLACK=16 BENCH_USERS=1000 BENCH_TEACHERS=200
# BENCH_DATA=DIR (keep the district and reuse it; SQLite only) ENT_BIN=build/ent
# BENCH_RESULTS=bench/results
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
. bench/common.sh
die() { bench_die "$@"; }

scale=${BENCH_SCALE:-20000}
dbkind=${BENCH_DB:-sqlite}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-64}
peak_duration=${BENCH_PEAK_DURATION:-15}
warmup=${BENCH_WARMUP:-5}
soak=${BENCH_SOAK_SECONDS:-600}
window=${BENCH_WINDOW:-10}
percent=${BENCH_SOAK_PERCENT:-80}
settle=${BENCH_SETTLE:-60}
rss_growth=${BENCH_RSS_GROWTH:-10}
fd_slack=${BENCH_FD_SLACK:-16}
ent_bin=${ENT_BIN:-build/ent}
results_dir=${BENCH_RESULTS:-bench/results}
for v in "$scale" "$threads" "$conns" "$peak_duration" "$warmup" "$soak" "$window" "$percent" "$settle" \
	"$rss_growth" "$fd_slack"; do
	[[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || die "BENCH_* settings must be positive integers (got \"$v\")"
done
((window >= 4)) || die "BENCH_WINDOW must be 4 seconds or more"
((settle < soak)) || die "BENCH_SETTLE must be shorter than BENCH_SOAK_SECONDS"
[[ $dbkind == sqlite || $dbkind == postgres ]] || die "BENCH_DB must be sqlite or postgres"
for cmd in wrk curl node; do
	command -v "$cmd" >/dev/null || die "$cmd is not installed (make bench installs it)"
done

bench_traps

# CPU use of the whole machine in percent over 2 s (before anything of ours runs: other load).
cpu_busy() {
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	sleep 2
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
		busy = y[1] - x[1]; idle = y[2] - x[2];
		printf "%.0f", (busy + idle > 0 ? 100 * busy / (busy + idle) : 0) }'
}

# The commit measured: the tree as the run starts (edits made during a long run do not count).
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
[[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty="-dirty"

# ---- build and data (bench/common.sh, as district.sh) ----

bench_ent_bin
district_data

busy_before=$(cpu_busy)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

district_serve
wait_ready "$epid" "http://127.0.0.1:$eport/health" 30 || die "ent did not start: $(tail -5 "$data/ent.log")"
base="http://127.0.0.1:$eport"

lists=$data/requests
prepared=$(ENT_BIN=$ent_bin node bench/prepare.mjs "$base" "$scale" "$lists" 2>&1) || die "preparing the requests failed: $prepared"
echo "$prepared" >&2
prepared=$(sed -n 's/^prepare: //p' <<<"$prepared" | tail -1)
s5=$lists/s5.txt
tokens_at=$(date +%s) # the tokens live an hour (ent token --ttl 3600)

fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# ent's own count of 5xx answers since it started (GET /metrics).
count_5xx() {
	curl -s --max-time 5 "$base/metrics" | awk '/^ent_http_requests_total\{/ && /status="5[0-9][0-9]"/ { n += $NF } END { printf "%d", n }'
}

# ---- S5's peak ----

echo "bench: S5 warm-up ${warmup}s, then its peak: best of two runs of ${peak_duration}s (wrk -t$threads -c$conns)" >&2
peak_run() { run_list "$base" "$s5" "$1" "$threads" "$conns"; }
peak_run "$warmup" >/dev/null || die "wrk failed on the S5 warm-up"
peak=""
peak_line=""
for r in 1 2; do
	line=$(peak_run "$peak_duration") || die "wrk failed on S5"
	bad=$(($(field "$line" err_status) + $(field "$line" err_connect) + $(field "$line" err_timeout)))
	((bad == 0)) || die "S5 (peak run $r): $bad errors: $line"
	rps=$(field "$line" rps)
	echo "bench:   peak run $r: $rps req/s, p50 $(field "$line" p50_us) us, p99 $(field "$line" p99_us) us" >&2
	if [[ -z $peak ]] || awk -v a="$rps" -v b="$peak" 'BEGIN { exit !(a > b) }'; then
		peak=$rps
		peak_line=$line
	fi
done
target=$(awk -v p="$peak" -v pc="$percent" 'BEGIN { printf "%.1f", p * pc / 100 }')
# Closed loop: C connections give C / (think + latency) requests/s. First guess: the latency of the
# peak run (C / peak); lower at a lower rate, which the first windows correct.
think=$(awk -v c="$conns" -v t="$target" -v p="$peak" 'BEGIN { x = 1000 * (c / t - c / p); printf "%.3f", (x > 0 ? x : 0) }')

# Idle descriptors before the soak (the peak runs' connections closed).
sleep 2
fd_idle_before=$(fds "$epid")
errors5_before=$(count_5xx)

# ---- soak ----

nwin=$((soak / window))
echo "bench: soak: $nwin windows of ${window}s at $target req/s ($percent % of $peak), first ${settle}s as warm-up" >&2
rows=()
fail=()
rss_base=""
fd_base=""
rss_max=0
fd_max=0
sum_req=0
sum_dur=0
errs_total=0
tick_us=$((1000000 / $(getconf CLK_TCK)))
t0=$(date +%s)
for w in $(seq "$nwin"); do
	read -r u0 s0 < <(proc_cpu "$epid")
	out=$(mktemp /tmp/ent-soak.XXXXXX)
	timeout $((window + 60)) wrk -t"$threads" -c"$conns" -d"${window}s" --timeout 5s -s bench/soak.lua "$base" -- "$s5" \
		"$think" >"$out" 2>&1 &
	wpid=$!
	sleep $((window / 2))
	kill -0 "$epid" 2>/dev/null || die "ent died during window $w: $(tail -5 "$data/ent.log")"
	rss=$(rss_kib "$epid")
	fd=$(fds "$epid")
	load=$(cut -d' ' -f1 /proc/loadavg)
	wait "$wpid" || die "wrk failed in window $w: $(tail -3 "$out")"
	line=$(grep '^WRK_RESULT ' "$out") || die "no result from wrk in window $w: $(tail -3 "$out")"
	rm -f "$out"
	read -r u1 s1 < <(proc_cpu "$epid")
	elapsed=$(($(date +%s) - t0))
	rps=$(field "$line" rps)
	errs=$(($(field "$line" err_status) + $(field "$line" err_connect) + $(field "$line" err_read) +
		$(field "$line" err_write) + $(field "$line" err_timeout)))
	errs_total=$((errs_total + errs))
	cpu=$(awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v t="$tick_us" -v d="$window" 'BEGIN { printf "%.0f", 100 * (u + s) * t / 1e6 / d }')
	row=$(printf '| %d | %.0f | %.2f | %.2f | %d | %.1f | %d | %s | %s |' "$elapsed" "$rps" \
		"$(awk -v x="$(field "$line" p50_us)" 'BEGIN { print x / 1000 }')" \
		"$(awk -v x="$(field "$line" p99_us)" 'BEGIN { print x / 1000 }')" "$errs" \
		"$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$fd" "$cpu" "$load")
	rows+=("$row")
	echo "bench: ${elapsed}s: $(printf '%.0f' "$rps") req/s (think $think ms), p50 $(field "$line" p50_us) us, p99 $(field "$line" p99_us) us, $errs errors, RSS $rss KiB, $fd fds, ent CPU $cpu %, load $load" >&2
	((errs == 0)) || fail+=("window $w (${elapsed}s): $errs failed or non-2xx requests: $line")
	if ((w * window > settle)); then
		if [[ -z $rss_base ]]; then
			rss_base=$rss
			fd_base=$fd
			base_at=$elapsed
		fi
		((rss > rss_max)) && rss_max=$rss
		((fd > fd_max)) && fd_max=$fd
		sum_req=$((sum_req + $(field "$line" requests)))
		sum_dur=$((sum_dur + $(field "$line" duration_us)))
	fi
	# Next window's wait: the latency this window had (C / rate - think), then the wait that gives
	# the target at that latency.
	think=$(awk -v c="$conns" -v r="$rps" -v t="$target" -v k="$think" 'BEGIN {
		lat = (r > 0 ? 1000 * c / r - k : 0); if (lat < 0) lat = 0;
		x = 1000 * c / t - lat; printf "%.3f", (x > 0 ? x : 0) }')
	if (($(date +%s) - tokens_at > 3300)); then
		die "the tokens of bench/prepare.mjs expire in less than 5 minutes: shorten BENCH_SOAK_SECONDS"
	fi
done

# Idle again: wait (bounded) for the last window's connections to be closed.
fd_idle_after=$(fds "$epid")
for _ in $(seq 50); do
	((fd_idle_after <= fd_idle_before)) && break
	sleep 0.2
	fd_idle_after=$(fds "$epid")
done
errors5=$(($(count_5xx) - errors5_before))
rss_end=$(rss_kib "$epid")
hwm=$(hwm_kib "$epid")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
mean_rps=$(awk -v n="$sum_req" -v d="$sum_dur" 'BEGIN { printf "%.0f", (d > 0 ? n / (d / 1e6) : 0) }')

# ---- verdicts ----

growth=$(awk -v a="$rss_max" -v b="$rss_base" 'BEGIN { printf "%.1f", 100 * (a - b) / b }')
awk -v g="$growth" -v m="$rss_growth" 'BEGIN { exit !(g > m) }' &&
	fail+=("resident memory grew ${growth} % after the warm-up (more than $rss_growth %)")
((fd_max > fd_base + fd_slack)) && fail+=("open descriptors reached $fd_max, from $fd_base after the warm-up (slack $fd_slack)")
((fd_idle_after > fd_idle_before)) && fail+=("idle open descriptors: $fd_idle_before before, $fd_idle_after after")
((errors5 > 0)) && fail+=("ent counted $errors5 answers in 5xx")
verdict=PASS
((${#fail[@]} == 0)) || verdict=FAIL

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
day=$(date -u +%Y-%m-%d)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)

mkdir -p "$results_dir"
out="$results_dir/$day-$commit$dirty-soak-$dbkind.md"
{
	echo "# Soak, $day, commit $commit$dirty, $dbkind: $verdict"
	echo
	echo "Machine: $(nproc) CPUs ($cpu_model), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo);"
	echo "other processes used ${busy_before} % of the CPUs before the start (2 s), load average $load_before before,"
	echo "$load_after at the end (wrk and ent themselves count for about 2)."
	echo "Data: \`ent demo --scale $scale\`. Requests: S5 (bench/prepare.mjs: $prepared)."
	echo
	echo "S5's peak: $(printf '%.0f' "$peak") requests/s (wrk -t$threads -c$conns -d${peak_duration}s, best of two; p50 $(awk -v x="$(field "$peak_line" p50_us)" 'BEGIN { print x / 1000 }') ms, p99 $(awk -v x="$(field "$peak_line" p99_us)" 'BEGIN { print x / 1000 }') ms)."
	echo "Soak: $((nwin * window)) s at $percent % of it, $target requests/s aimed at, $mean_rps requests/s held after the"
	echo "${settle}s warm-up (closed loop paced by bench/soak.lua, one wrk run per ${window}s window)."
	echo
	echo "| verdict | measured | bound |"
	echo "|---|---|---|"
	echo "| resident memory after the warm-up | $(mib "$rss_base") MiB at ${base_at}s, $(mib "$rss_max") MiB at most, ${growth} % growth; $(mib "$rss_end") MiB at the end, $(mib "$hwm") MiB peak | ≤ $rss_growth % |"
	echo "| open descriptors under load | $fd_base at ${base_at}s, $fd_max at most | ≤ +$fd_slack |"
	echo "| open descriptors idle | $fd_idle_before before the soak, $fd_idle_after after | no growth |"
	echo "| failed or non-2xx requests (wrk) | $errs_total | 0 |"
	echo "| 5xx answers (ent's metrics) | $errors5 | 0 |"
	echo
	if ((${#fail[@]})); then
		echo "Failed:"
		for f in "${fail[@]}"; do echo "- $f"; done
		echo
	fi
	echo "| t (s) | requests/s | p50 ms | p99 ms | errors | RSS MiB | fds | ent CPU % | load (1 min) |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	printf '%s\n' "${rows[@]}"
} >"$out"
cat "$out"
echo "bench: written to $out" >&2
[[ $verdict == PASS ]] || exit 1
