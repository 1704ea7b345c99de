#!/usr/bin/env bash
# bench/district.sh - the district load scenarios: ent on a generated district against the
# hello-world ceiling, in one run.
#
#   1. builds build/ent (release) and bench/hello.c;
#   2. generates a district with `ent demo --scale N` (20,000 students, 2 million grades by
#      default) on SQLite, or PostgreSQL with BENCH_DB=postgres (a server started for the run);
#   3. starts ent on it and measures start to ready (first 200 on /health);
#   4. prepares the request lists (bench/prepare.mjs: tokens of many users, see there);
#   5. runs wrk with bench/scenario.lua for S1..S8 (S8 also at 4 connections) against two servers
#      on the same database, one with its answer cache and one without (ENT_CACHE_MB=0), and S1-304
#      (bench/revalidate.lua: the S1 requests with the ETag of a first request, bench/etags.mjs),
#      and against the hello-world (the ceiling); then bench/fanout.mjs: a teacher's message to a
#      class, committed and told to every student's open stream;
#   6. prints a table (requests/s, p50 and p99 latency with the cache and without, the cache's hit
#      ratio and 304s from /metrics, ent's resident memory) and writes it to
#      bench/results/DATE-COMMIT-district-DB.md with the machine and the commit.
#
# Settings (environment): BENCH_SCALE=20000 BENCH_DB=sqlite|postgres BENCH_THREADS=2
# BENCH_FANOUT_CLASSES=6 BENCH_FANOUT_SENDS=10 (bench/fanout.mjs: classes, messages to each)
# BENCH_CONNECTIONS=64 BENCH_DURATION=10 BENCH_WARMUP=3 BENCH_USERS=1000 BENCH_TEACHERS=200
# BENCH_DATA=DIR (keep the generated district there and reuse it on the next run; SQLite only)
# ENT_BIN=build/ent BENCH_RESULTS=bench/results
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
duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-3}
ent_bin=${ENT_BIN:-build/ent}
results_dir=${BENCH_RESULTS:-bench/results}
for v in "$scale" "$threads" "$conns" "$duration" "$warmup"; do
	[[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || die "BENCH_* settings must be positive integers (got \"$v\")"
done
[[ $dbkind == sqlite || $dbkind == postgres ]] || die "BENCH_DB must be sqlite or postgres"
for cmd in wrk curl cc pkg-config node; do
	command -v "$cmd" >/dev/null || die "$cmd is not installed (make bench installs it)"
done

bench_traps

# ---- build and data (bench/common.sh) ----

bench_ent_bin
build_hello || die "bench/hello.c did not build"
district_data
generated=$bench_generated

# ---- start to ready ----

district_serve
ready=""
for _ in $(seq 5000); do
	if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$eport/health" || true) == 200 ]]; then
		ready=$(( ($(date +%s%N) - bench_started_ns) / 1000000 ))
		break
	fi
	kill -0 "$epid" 2>/dev/null || die "ent did not start: $(tail -5 "$data/ent.log")"
done
[[ -n $ready ]] || die "ent did not answer 200 on /health"
sleep 1
idle_rss=$(rss_kib "$epid")

# The same server without its answer cache (ENT_CACHE_MB=0), on the same database: every scenario
# runs against both, one after the other, in this run.
free_port || die "no free loopback port"
oport=$bench_port
ENT_CACHE_MB=0 start_bg "$ent_bin" serve --listen "127.0.0.1:$oport" --access-log off 2>"$data/ent-nocache.log"
opid=$bench_last_pid
wait_ready "$opid" "http://127.0.0.1:$oport/health" 30 || die "ent without cache did not start: $(tail -5 "$data/ent-nocache.log")"
cache_mb=${ENT_CACHE_MB:-32}

free_port || die "no free loopback port"
hport=$bench_port
start_bg build-bench/hello "$hport" >/dev/null
hpid=$bench_last_pid
wait_ready "$hpid" "http://127.0.0.1:$hport/" || die "the hello-world did not start"

# ---- requests ----

lists=$data/requests
ENT_BIN=$ent_bin node bench/prepare.mjs "http://127.0.0.1:$eport" "$scale" "$lists" || die "preparing the requests failed"
grades_per_put=$(cat "$lists/s4.grades")

# The size of one student's report card (S1's first request), for the second ceiling: the
# hello-world answering a body of that size shows what the bytes alone allow, apart from the work.
IFS=$'\t' read -r _ s1_path s1_token _ <"$lists/s1.txt"
card_bytes=$(curl -s -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $s1_token" \
	"http://127.0.0.1:$eport$s1_path") || die "the first S1 request failed"
((card_bytes >= 16)) || die "the first S1 request gave an empty answer"
free_port || die "no free loopback port"
hport2=$bench_port
start_bg build-bench/hello "$hport2" "$card_bytes" >/dev/null
hpid2=$bench_last_pid
wait_ready "$hpid2" "http://127.0.0.1:$hport2/" || die "the hello-world with a card-sized answer did not start"

scenario() { # PORT FILE SECONDS [LUA] [CONNECTIONS] -> WRK_RESULT line
	run_list "http://127.0.0.1:$1" "$2" "$3" "$threads" "${5:-$conns}" "${4:-bench/scenario.lua}"
}

# The answer cache's counters of the server on port $1: "HITS MISSES NOT_MODIFIED EVICTIONS BYTES ENTRIES".
cache_counters() {
	curl -s "http://127.0.0.1:$1/metrics" | awk '
		/^ent_cache_requests_total\{outcome="hit"\}/ { h = $2 }
		/^ent_cache_requests_total\{outcome="miss"\}/ { m = $2 }
		/^ent_cache_requests_total\{outcome="not_modified"\}/ { n = $2 }
		/^ent_cache_evictions_total / { e = $2 }
		/^ent_cache_bytes / { b = $2 }
		/^ent_cache_entries / { c = $2 }
		END { printf "%d %d %d %d %d %d\n", h, m, n, e, b, c }'
}

declare -A result peak hitratio revalidated
# S1-304 runs right after S1: nothing has written to the cards since the ETags were taken.
names=(S1 S1-304 S2 S3 S4 S5 S6 S7 S8 S8c4)
declare -A label=(
	[S1]="S1 student reads grades and averages (GET /api/notes/me)"
	[S1-304]="S1-304 the same, revalidated (If-None-Match with the ETag of a first request)"
	[S2]="S2 student lists courses (GET /api/cours)"
	[S3]="S3 notifications: list and unread count"
	[S4]="S4 teachers enter a class's grades (PUT …/grades)"
	[S5]="S5 mix: 40% S1, 20% S2, 25% S3, 5% S4, 10% downloads"
	[S6]="S6 a student's week with homework (GET /api/calendar/timetable?week=, /api/calendar/homework)"
	[S7]="S7 a student's inbox: first page and unread counts (GET /api/messages, /api/messages/folders)"
	[S8]="S8 a student searches their mailbox (GET /api/messages/search?q=)"
	[S8c4]="S8 at 4 connections"
)
echo "bench: ceiling (hello-world), ${duration}s" >&2
run_wrk "http://127.0.0.1:$hport/" "$warmup" "$threads" "$conns" >/dev/null || die "wrk failed"
result[hello]=$(run_wrk "http://127.0.0.1:$hport/" "$duration" "$threads" "$conns") || die "wrk failed"
kill "$hpid" 2>/dev/null || true
echo "bench: ceiling with an answer of $card_bytes bytes (a report card's size), ${duration}s" >&2
run_wrk "http://127.0.0.1:$hport2/" "$warmup" "$threads" "$conns" >/dev/null || die "wrk failed"
result[hello2]=$(run_wrk "http://127.0.0.1:$hport2/" "$duration" "$threads" "$conns") || die "wrk failed"
kill "$hpid2" 2>/dev/null || true
for n in "${names[@]}"; do
	f=$lists/$(tr 'S' 's' <<<"${n%c4}").txt
	c=$conns
	[[ $n == *c4 ]] && c=4
	lua=bench/scenario.lua
	if [[ $n == S1-304 ]]; then
		f=$lists/s1-304.txt
		lua=bench/revalidate.lua
		node bench/etags.mjs "http://127.0.0.1:$eport" "$lists/s1.txt" "$f" || die "reading S1's ETags failed"
	fi
	# S6 (a student's week and homework, through the answer cache) and S8 (not cached) run once, on
	# the server with the cache.
	modes=(on off)
	[[ $n == S6 || $n == S8* ]] && modes=(on)
	for mode in "${modes[@]}"; do
		port=$eport pid=$epid
		[[ $mode == off ]] && port=$oport pid=$opid
		k="$n/$mode"
		echo "bench: $n (cache $mode), warm-up ${warmup}s then ${duration}s" >&2
		scenario "$port" "$f" "$warmup" "$lua" "$c" >/dev/null || die "wrk failed on $k"
		read -r h0 m0 n0 _ <<<"$(cache_counters "$port")"
		result[$k]=$(scenario "$port" "$f" "$duration" "$lua" "$c") || die "wrk failed on $k"
		read -r h1 m1 n1 _ <<<"$(cache_counters "$port")"
		kill -0 "$pid" 2>/dev/null || die "ent died under $k: $(tail -5 "$data/ent.log" "$data/ent-nocache.log")"
		peak[$k]=$(hwm_kib "$pid")
		bad=$(($(field "${result[$k]}" err_status) + $(field "${result[$k]}" err_connect)))
		((bad == 0)) || die "$k: $bad connection errors or non-2xx/3xx answers: ${result[$k]}"
		hitratio[$k]=$(awk -v h=$((h1 - h0)) -v m=$((m1 - m0)) 'BEGIN { if (h + m) printf "%.1f %%", 100 * h / (h + m); else print "" }')
		revalidated[$k]=$(awk -v n=$((n1 - n0)) -v r="$(field "${result[$k]}" requests)" 'BEGIN { if (n) printf "%.1f %%", 100 * n / r; else print "" }')
		if [[ $k == S5/on ]]; then
			read -r _ _ _ s5_evictions s5_cache_bytes s5_cache_entries <<<"$(cache_counters "$port")"
		fi
		echo "bench:   $(field "${result[$k]}" rps) req/s, p50 $(field "${result[$k]}" p50_us) us, p99 $(field "${result[$k]}" p99_us) us, $(field "${result[$k]}" err_timeout) timeouts, hits ${hitratio[$k]:--}, 304 ${revalidated[$k]:--}" >&2
	done
done
load_rss=$(rss_kib "$epid")
peak_rss=$(hwm_kib "$epid")

# A teacher's message to a class: committed, and told to every student's open stream.
echo "bench: a class message to the students' streams (bench/fanout.mjs)" >&2
fanout=$(BENCH_SCALE=$scale ENT_BIN=$ent_bin timeout 600 node bench/fanout.mjs "http://127.0.0.1:$eport" \
	"${BENCH_FANOUT_CLASSES:-6}" "${BENCH_FANOUT_SENDS:-10}" | grep '^FANOUT_RESULT ') || die "bench/fanout.mjs failed"
echo "bench:   $fanout" >&2
load_avg=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", 100 * a / b }'; }
ok() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { print ((dir == "ge" ? v >= t : v <= t) ? "met" : "NOT met") }'; }
# p99 in ms, or ">5000" when requests timed out (they have no latency in wrk's histogram).
p99() { if (($(field "$1" err_timeout) > 0)); then echo ">5000"; else ms "$(field "$1" p99_us)"; fi; }

hello_rps=$(field "${result[hello]}" rps)
hello2_rps=$(field "${result[hello2]}" rps)
s1_rps=$(field "${result[S1/on]}" rps)
s1_ratio2=$(pct "$s1_rps" "$hello2_rps")
s1_p99=$(p99 "${result[S1/on]}")
s1_p99_ok=$(if [[ $s1_p99 == ">"* ]]; then echo "NOT met"; else ok "$s1_p99" 10 le; fi)
s304_rps=$(field "${result[S1-304/on]}" rps)
s304_ratio=$(pct "$s304_rps" "$hello_rps")
s5_gain=$(awk -v a="$(field "${result[S5/on]}" rps)" -v b="$(field "${result[S5/off]}" rps)" 'BEGIN { printf "%.2f", a / b }')
s8_p99=$(p99 "${result[S8/on]}")
s8c4_p99=$(p99 "${result[S8c4/on]}")
fv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$fanout"; }
s4_grades=$(awk -v r="$(field "${result[S4/on]}" rps)" -v g="$grades_per_put" 'BEGIN { printf "%.0f", r * g }')

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
[[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty="-dirty"
day=$(date -u +%Y-%m-%d)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)

table() {
	echo "| scenario | cache on: requests/s | p50 ms | p99 ms | hits | 304 | cache off: requests/s | p50 ms | p99 ms | on / off | peak RSS on / off, MiB |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	printf '| ceiling: hello-world (bench/hello.c) | %.0f | %s | %s | | | | | | | |\n' "$hello_rps" \
		"$(ms "$(field "${result[hello]}" p50_us)")" "$(p99 "${result[hello]}")"
	printf '| ceiling with a card-sized answer: hello-world, %s bytes | %.0f | %s | %s | | | | | | | |\n' "$card_bytes" \
		"$hello2_rps" "$(ms "$(field "${result[hello2]}" p50_us)")" "$(p99 "${result[hello2]}")"
	for n in "${names[@]}"; do
		local on=${result[$n/on]} off=${result[$n/off]:-}
		if [[ -n $off ]]; then
			printf '| %s | %.0f | %s | %s | %s | %s | %.0f | %s | %s | %s | %s / %s |\n' "${label[$n]}" \
				"$(field "$on" rps)" "$(ms "$(field "$on" p50_us)")" "$(p99 "$on")" "${hitratio[$n/on]}" \
				"${revalidated[$n/on]}" "$(field "$off" rps)" "$(ms "$(field "$off" p50_us)")" "$(p99 "$off")" \
				"$(awk -v a="$(field "$on" rps)" -v b="$(field "$off" rps)" 'BEGIN { printf "%.2f", a / b }')" \
				"$(mib "${peak[$n/on]}")" "$(mib "${peak[$n/off]}")"
		else
			printf '| %s (run once) | %.0f | %s | %s | %s | | | | | | %s |\n' "${label[$n]}" "$(field "$on" rps)" \
				"$(ms "$(field "$on" p50_us)")" "$(p99 "$on")" "${hitratio[$n/on]}" "$(mib "${peak[$n/on]}")"
		fi
	done
}

targets="| target | measured | |
|---|---|---|
| S1 with the cache ≥ 50 % of the card-sized ceiling | ${s1_ratio2} % ($(printf "%.0f" "$s1_rps") of $(printf "%.0f" "$hello2_rps")) | $(ok "$s1_ratio2" 50 ge) |
| S1 with the cache: p99 ≤ 10 ms at $conns connections | ${s1_p99} ms | ${s1_p99_ok} |
| S1-304 ≥ 50 % of the hello-world ceiling | ${s304_ratio} % ($(printf "%.0f" "$s304_rps") of $(printf "%.0f" "$hello_rps")) | $(ok "$s304_ratio" 50 ge) |
| S5 with the cache ≥ 3 × S5 without it (same run) | × ${s5_gain} | $(ok "$s5_gain" 3 ge) |
| resident memory under S5 ≤ 100 MB, the cache full | $(mib "${peak[S5/on]}") MiB peak; the cache: $(mib $((s5_cache_bytes / 1024))) MiB of ${cache_mb} in ${s5_cache_entries} answers, ${s5_evictions} evictions so far | $(ok "$(mib "${peak[S5/on]}")" 95.4 le) |
| (S1 against the 137-byte ceiling; S6 against S2, for comparison) | $(pct "$s1_rps" "$hello_rps") %; $(pct "$(field "${result[S6/on]}" rps)" "$(field "${result[S2/on]}" rps)") % | |
| S7 ≥ S2's requests/s (both with the cache) | $(pct "$(field "${result[S7/on]}" rps)" "$(field "${result[S2/on]}" rps)") % of S2 | $(ok "$(field "${result[S7/on]}" rps)" "$(field "${result[S2/on]}" rps)" ge) |
| (S7 against S2, both without the cache) | $(pct "$(field "${result[S7/off]}" rps)" "$(field "${result[S2/off]}" rps)") % of S2 | |
| S8 p99 ≤ 50 ms ($conns connections; at 4) | ${s8_p99} ms; ${s8c4_p99} ms | $(ok "$s8_p99" 50 le); $(ok "$s8c4_p99" 50 le) |
| class message committed and all its streams told ≤ 100 ms (p99 of $(fv sends) messages to $(fv recipients) students) | committed p50 $(fv committed_p50) / p99 $(fv committed_p99) ms; told p50 $(fv told_p50) / p99 $(fv told_p99) ms (max $(fv told_max)), $(fv missed) missed | $(ok "$(fv told_p99)" 100 le) |
| S4 ≥ 2,000 grades/s (synchronous=FULL) | ${s4_grades} grades/s ($(field "${result[S4/on]}" rps) requests of $(printf "%.1f" "$grades_per_put") grades) | $(ok "$s4_grades" 2000 ge) |
| resident memory idle ≤ 30 MB | $(mib "$idle_rss") MiB | $(ok "$(mib "$idle_rss")" 28.6 le) |
| start to ready ≤ 100 ms | ${ready} ms | $(ok "$ready" 100 le) |"

mkdir -p "$results_dir"
out="$results_dir/$day-$commit$dirty-district-$dbkind.md"
{
	echo "# District scenarios, $day, commit $commit$dirty, $dbkind"
	echo
	echo "Machine: $(nproc) CPUs ($cpu_model), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load average at the end: $load_avg."
	echo "Data: \`ent demo --scale $scale\`${generated:+ (generated in $generated s)}. wrk -t$threads -c$conns -d${duration}s on the same machine."
	echo "Requests: bench/prepare.mjs, ${BENCH_USERS:-1000} students and ${BENCH_TEACHERS:-200} teachers with their own tokens."
	echo "Two servers on the same database: with the answer cache (ENT_CACHE_MB=${cache_mb}) and without (ENT_CACHE_MB=0); each scenario runs on the first, then on the second."
	echo "hits: answers served from the cache among the cacheable reads of the scenario (/metrics); 304: answers without a body."
	echo
	table
	echo
	echo "ent's resident memory (with the cache): $(mib "$idle_rss") MiB idle, $(mib "$load_rss") MiB after the runs, $(mib "$peak_rss") MiB peak."
	echo
	echo "$targets"
} >"$out"
cat "$out"
echo "bench: written to $out" >&2
