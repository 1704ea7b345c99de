#!/usr/bin/env bash
# bench/gateway.sh - the cost of the gateway and what three processes give (issue 19, item 7):
# S1 and S5 of the district scenarios on PostgreSQL, in one run, against
#   direct:      one all-service ent process, no gateway;
#   nginx x1:    the same process behind nginx (deploy/nginx/ent.conf.template);
#   nginx x3:    three identical all-service processes behind nginx, round-robin.
#
#   1. builds build/ent (release) unless ENT_BIN is given;
#   2. starts the replicas layout of tests/services/cluster.sh (PostgreSQL, RabbitMQ, the S3 test
#      server, three ent processes, nginx, Prometheus) with the release binary, access logs of ent
#      off (nginx keeps its own, as in production);
#   3. generates a district with `ent demo --scale N` into the cluster's database and blob store;
#   4. starts a second nginx from the cluster's configuration with only the first process as its
#      upstream (nginx x1);
#   5. prepares the request lists (bench/prepare.mjs) and runs wrk with bench/scenario.lua for S1
#      and S5: a warm-up of each target, then BENCH_ROUNDS rounds over the three targets (the
#      order rotated each round), keeping each target's best round;
#   6. prints a table (requests/s, p50, p99, errors) and writes it to
#      bench/results/DATE-COMMIT-gateway.md with the machine, the commit and the load.
#
# wrk, nginx, the ent processes, PostgreSQL, RabbitMQ and s3rver all share this machine's cores:
# the figures compare the three targets with each other, in the same conditions, not with a
# production machine.
#
# Settings (environment): BENCH_SCALE=2000 BENCH_CONNECTIONS=64 BENCH_DURATION=10 BENCH_WARMUP=5
# BENCH_ROUNDS=3
# BENCH_THREADS=2 (wrk's) CLUSTER_THREADS=2 (each ent process's) ENT_BIN=build/ent
# BENCH_RESULTS=bench/results
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/common.sh
. bench/common.sh
die() { bench_die "$@"; }

scale=${BENCH_SCALE:-2000}
conns=${BENCH_CONNECTIONS:-64}
duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-5}
rounds=${BENCH_ROUNDS:-3}
threads=${BENCH_THREADS:-2}
results_dir=${BENCH_RESULTS:-bench/results}
for v in "$scale" "$conns" "$duration" "$warmup" "$threads" "$rounds"; do
	[[ $v =~ ^[0-9]+$ && $v -gt 0 ]] || die "BENCH_* settings must be positive integers (got \"$v\")"
done
for cmd in wrk curl node; do
	command -v "$cmd" >/dev/null || die "$cmd is not installed (make bench installs it)"
done

ent_bin=${ENT_BIN:-build/ent}
bench_ent_bin

make_tmpdir || die "cannot make a temporary directory"
work=$bench_tmpdir
chmod 755 "$work" # the engines and nginx run as their own users and reach their directories in it
cdir=$work/cluster
n1=$work/nginx1
# Run by bench_cleanup (bench_traps) before it stops the rest and removes $work.
stop_gateways() {
	if [[ -s $n1/nginx.pid ]]; then kill -TERM "$(cat "$n1/nginx.pid")" 2>/dev/null || true; fi
	bash tests/services/cluster.sh stop "$cdir" >/dev/null 2>&1 || true
}
bench_cleanup_hooks+=(stop_gateways)
bench_traps

# ---- the cluster: three all-service processes behind nginx ----

echo "bench: starting the replicas layout (tests/services/cluster.sh)" >&2
gw3=$(ENT_BIN=$ent_bin ENT_ACCESS_LOG=off ENT_LOG_LEVEL=warn bash tests/services/cluster.sh start "$cdir" replicas) ||
	die "the cluster did not start"
set -a
# shellcheck disable=SC1091
. "$cdir/env"
set +a
export ENT_LOG_LEVEL=warn
read -r _ _ p1 < <(sed -n 1p "$cdir/processes")
direct=http://127.0.0.1:$p1

# ---- data ----

dbkind=postgres
district_generate
generated=$bench_generated

# ---- nginx in front of the first process only ----

free_port || die "no free loopback port"
gw1=http://127.0.0.1:$bench_port
mkdir -p "$n1"/{client_body,proxy,fastcgi,uwsgi,scgi,logs}
# The cluster's configuration with its paths moved to $n1, its port changed and every upstream
# reduced to the first process.
sed -e "s|$cdir/nginx|$n1|g" \
	-e "s|listen 127\.0\.0\.1:[0-9]*;|listen 127.0.0.1:$bench_port;|" \
	-e "s|{ \(server 127\.0\.0\.1:$p1;\) server [^{}]*keepalive|{ \1 keepalive|" \
	"$cdir/nginx/nginx.conf" >"$n1/nginx.conf"
grep -q "server 127.0.0.1:$p1; keepalive" "$n1/nginx.conf" || die "could not write nginx x1's configuration"
! grep -q "server 127.0.0.1:$p1; server" "$n1/nginx.conf" || die "nginx x1 still has several upstream servers"
nginx_user=$(stat -c %U "$cdir/nginx")
if [[ $EUID -eq 0 ]]; then chown -R "$nginx_user" "$n1"; fi
as_nginx() { if [[ $EUID -eq 0 ]]; then runuser -u "$nginx_user" -- "$@"; else "$@"; fi; }
as_nginx /usr/sbin/nginx -e "$n1/logs/error.log" -p "$n1" -c "$n1/nginx.conf" </dev/null ||
	die "nginx x1 did not start: $(cat "$n1/logs/error.log")"
for _ in $(seq 50); do
	[[ -s $n1/nginx.pid ]] && break
	sleep 0.1
done
wait_ready "$(cat "$n1/nginx.pid" 2>/dev/null || echo none)" "$gw1/health" 5 || die "nginx x1 does not answer"

# ---- requests ----

lists=$work/requests
ENT_BIN=$ent_bin node bench/prepare.mjs "$direct" "$scale" "$lists" >&2 || die "preparing the requests failed"

# CPU time, the contended machine's honest measure: clock ticks (user + system) used so far by the
# ent processes, the nginx workers (both gateways) and the cluster's PostgreSQL backends.
tick_hz=$(getconf CLK_TCK)
ent_pids() { local n; for n in replica1 replica2 replica3; do bash tests/services/cluster.sh pid "$cdir" "$n"; done; }
nginx_pids() { local m; for m in "$cdir/nginx/nginx.pid" "$n1/nginx.pid"; do pgrep -P "$(cat "$m")"; done; }
pg_pids() { local m; m=$(head -n 1 "$cdir/pg/data/postmaster.pid"); echo "$m"; pgrep -P "$m"; }
ticks() { # PIDS... -> total ticks
	local p t=0 u v
	for p in "$@"; do
		read -r u v < <(proc_cpu "$p" 2>/dev/null || echo "0 0")
		t=$((t + u + v))
	done
	echo "$t"
}
# shellcheck disable=SC2046 # one pid a word
cpu_now() { echo "$(ticks $(ent_pids)) $(ticks $(nginx_pids)) $(ticks $(pg_pids))"; }

scenario() { run_list "$1" "$2" "$3" "$threads" "$conns"; } # URL FILE SECONDS -> WRK_RESULT line

declare -A result target rounds_of cpu_of
targets=(direct nginx1 nginx3)
target=([direct]=$direct [nginx1]=$gw1 [nginx3]=$gw3)
declare -A label=([direct]="one process, no gateway" [nginx1]="nginx, one process" [nginx3]="nginx, three processes (round-robin)")
# Every process has its own answer cache: each scenario first warms every target (the direct
# process is nginx x1's too), then runs BENCH_ROUNDS rounds over the three targets, the order
# rotated each round; the best round of each target is kept (the machine is shared).
for sc in s1 s5; do
	for t in "${targets[@]}"; do
		echo "bench: ${sc^^} warm-up on $t, ${warmup}s" >&2
		scenario "${target[$t]}" "$lists/$sc.txt" "$warmup" >/dev/null || die "wrk failed on $sc/$t"
	done
	for round in $(seq "$rounds"); do
		order=("${targets[@]:$(((round - 1) % 3))}" "${targets[@]:0:$(((round - 1) % 3))}")
		for t in "${order[@]}"; do
			echo "bench: ${sc^^} on $t, round $round, ${duration}s" >&2
			read -r e0 g0 p0 <<<"$(cpu_now)"
			r=$(scenario "${target[$t]}" "$lists/$sc.txt" "$duration") || die "wrk failed on $sc/$t"
			read -r e1 g1 p1 <<<"$(cpu_now)"
			# CPU milliseconds per request: ent, nginx, PostgreSQL (this round).
			cpu=$(awk -v e=$((e1 - e0)) -v g=$((g1 - g0)) -v p=$((p1 - p0)) -v n="$(field "$r" requests)" -v hz="$tick_hz" \
				'BEGIN { printf "%.3f %.3f %.3f", 1000 * e / hz / n, 1000 * g / hz / n, 1000 * p / hz / n }')
			cpu_of[$sc/$t]+="$cpu;"
			echo "bench:   $(field "$r" rps) req/s, p50 $(field "$r" p50_us) us, p99 $(field "$r" p99_us) us, errors $(($(field "$r" err_status) + $(field "$r" err_connect) + $(field "$r" err_timeout)))" >&2
			rounds_of[$sc/$t]+="$(printf '%.0f' "$(field "$r" rps)") "
			if [[ -z ${result[$sc/$t]:-} ]] || awk -v a="$(field "$r" rps)" -v b="$(field "${result[$sc/$t]}" rps)" 'BEGIN { exit !(a > b) }'; then
				result[$sc/$t]=$r
			fi
			echo "bench:   CPU ms per request: ent, nginx, PostgreSQL: $cpu" >&2
		done
	done
done
load_avg=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
rel() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
[[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty="-dirty"
day=$(date -u +%Y-%m-%d)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
table() {
	echo "| scenario | target | requests/s (best round) | × direct | p50 ms | p99 ms | non-2xx, errors | every round, requests/s |"
	echo "|---|---|---:|---:|---:|---:|---:|---|"
	local sc t r
	for sc in s1 s5; do
		for t in "${targets[@]}"; do
			r=${result[$sc/$t]}
			printf '| %s | %s | %.0f | %s | %s | %s | %s | %s |\n' "${sc^^}" "${label[$t]}" "$(field "$r" rps)" \
				"$(rel "$(field "$r" rps)" "$(field "${result[$sc/direct]}" rps)")" \
				"$(ms "$(field "$r" p50_us)")" "$(ms "$(field "$r" p99_us)")" \
				"$(($(field "$r" err_status) + $(field "$r" err_connect) + $(field "$r" err_timeout)))" "${rounds_of[$sc/$t]% }"
		done
	done
}
# The median over the rounds of each CPU figure (ent, nginx, PostgreSQL) per request.
cpu_median() { # "e g p;e g p;..." column -> median
	tr ';' '\n' <<<"$1" | awk -v c="$2" 'NF { print $c }' | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
cpu_table() {
	echo "| scenario | target | CPU ms per request: ent | nginx | PostgreSQL | total | × direct |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	local sc t e g p tot base
	for sc in s1 s5; do
		base=""
		for t in "${targets[@]}"; do
			e=$(cpu_median "${cpu_of[$sc/$t]}" 1)
			g=$(cpu_median "${cpu_of[$sc/$t]}" 2)
			p=$(cpu_median "${cpu_of[$sc/$t]}" 3)
			tot=$(awk -v a="$e" -v b="$g" -v c="$p" 'BEGIN { printf "%.3f", a + b + c }')
			[[ -z $base ]] && base=$tot
			printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${sc^^}" "${label[$t]}" "$e" "$g" "$p" "$tot" "$(rel "$tot" "$base")"
		done
	done
}
mkdir -p "$results_dir"
out="$results_dir/$day-$commit$dirty-gateway.md"
{
	echo "# The gateway and three processes, $day, commit $commit$dirty, PostgreSQL"
	echo
	echo "Machine: $(nproc) CPUs ($cpu_model), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); load average at the end: $load_avg."
	echo "Data: \`ent demo --scale $scale\` (generated in $generated s) on the cluster of tests/services/cluster.sh (replicas layout: PostgreSQL, RabbitMQ, s3rver for the files, nginx)."
	echo "Each ent process: ENT_THREADS=${CLUSTER_THREADS:-2}, access log off. wrk -t$threads -c$conns -d${duration}s on the same machine: a ${warmup}s warm-up of every target, then $rounds rounds over the three (order rotated), the best round kept."
	echo "S1: GET /api/notes/me. S5: 40 % S1, 20 % S2, 25 % S3, 5 % S4, 10 % course-file downloads (bench/prepare.mjs)."
	echo
	table
	echo
	echo "CPU time per request (the median of the rounds; user + system from /proc, the ent processes, the nginx workers and the cluster's PostgreSQL backends; RabbitMQ, s3rver and wrk left out). On a shared machine this, rather than requests/s, is what the gateway costs."
	echo
	cpu_table
} >"$out"
cat "$out"
echo "bench: written to $out" >&2
