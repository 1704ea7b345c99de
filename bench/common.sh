# bench/common.sh - helpers shared by the bench scripts (sourced, not run).
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # the district's helpers read and set the calling script's variables
#
# Every process started through start_bg() is stopped by stop_all(), which the scripts run on
# exit through a trap; temporary directories made by make_tmpdir() are removed with them.

bench_die() { echo "bench: $*" >&2; exit 1; }

bench_pids=()
bench_tmpdirs=()

# Starts a command in the background and records its pid in $bench_last_pid.
start_bg() {
	"$@" &
	bench_last_pid=$!
	bench_pids+=("$bench_last_pid")
}

stop_all() {
	local pid d
	for pid in "${bench_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${bench_pids[@]}"; do
		# Bounded wait: SIGKILL what did not stop within 10 s (valgrind may be slow to exit).
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	bench_pids=()
	for d in "${bench_tmpdirs[@]}"; do rm -rf "$d"; done
	bench_tmpdirs=()
}

# Stops one process started by start_bg (bounded as in stop_all).
stop_one() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# Makes a temporary directory, removed by stop_all(), and sets $bench_tmpdir to it. Not to be
# called in a command substitution: the subshell would keep the record.
make_tmpdir() {
	bench_tmpdir=$(mktemp -d /tmp/ent-bench.XXXXXX) || return 1
	bench_tmpdirs+=("$bench_tmpdir")
}

# Builds bench/hello.c into build-bench/hello with the flags of the project's release build
# (RelWithDebInfo: -O2 -g -DNDEBUG) and its warnings.
build_hello() {
	mkdir -p build-bench
	# shellcheck disable=SC2046
	cc -std=c17 -O2 -g -DNDEBUG -D_GNU_SOURCE \
		-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
		-Wimplicit-fallthrough -fstack-protector-strong \
		$(pkg-config --cflags libmicrohttpd) bench/hello.c -o build-bench/hello \
		$(pkg-config --libs libmicrohttpd)
}

# Sets $bench_port to a loopback TCP port nobody listens on (checked by trying to connect),
# never the same twice in one run. Not to be called in a command substitution.
bench_used_ports=" "
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 40000))
		[[ $bench_used_ports == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			bench_used_ports+="$p "
			# shellcheck disable=SC2034 # read by the caller
			bench_port=$p
			return 0
		fi
	done
	return 1
}

# Waits up to $3 seconds (default 10) for url to answer 200; fails at once if pid exited.
wait_ready() {
	local pid=$1 url=$2 secs=${3:-10}
	for _ in $(seq $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || return 1
		[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]] && return 0
		sleep 0.1
	done
	return 1
}

# Runs wrk (bounded by timeout) and prints its WRK_RESULT line (bench/report.lua).
# Usage: run_wrk URL SECONDS THREADS CONNECTIONS
run_wrk() {
	local out
	out=$(timeout $(($2 + 30)) wrk -t"$3" -c"$4" -d"$2s" --timeout 5s -s bench/report.lua "$1") || return 1
	grep '^WRK_RESULT ' <<<"$out"
}

# The value of key in a WRK_RESULT line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# CPU time (user, system) of a process so far, in clock ticks: "UTIME STIME".
proc_cpu() { awk '{ print $14, $15 }' "/proc/$1/stat"; }

# Resident and peak resident memory of a process, in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# ---- the generated district (bench/district.sh, bench/soak.sh) ----
# These read the caller's $ent_bin, $scale and $dbkind, and set the variables they name.

bench_pgdir=""
# Commands bench_cleanup runs first (a script's own servers: bench/gateway.sh's cluster).
bench_cleanup_hooks=()

# Runs the cleanup hooks, stops every process of the run and the PostgreSQL server
# district_data() started.
bench_cleanup() {
	local h
	for h in "${bench_cleanup_hooks[@]}"; do "$h" || true; done
	stop_all
	if [[ -n $bench_pgdir ]]; then
		bash tests/services/postgres.sh stop "$bench_pgdir" >/dev/null 2>&1 || true
	fi
}

# Runs bench_cleanup on exit, and exits on INT and TERM (which runs it).
bench_traps() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Builds build/ent (release) unless ENT_BIN or BENCH_SKIP_BUILD is set; makes $ent_bin absolute.
bench_ent_bin() {
	if [[ -z ${ENT_BIN:-} && -z ${BENCH_SKIP_BUILD:-} ]]; then
		make --no-print-directory build >&2 || bench_die "make build failed"
	fi
	[[ -x $ent_bin ]] || bench_die "$ent_bin is missing: run make build"
	ent_bin=$(cd "$(dirname "$ent_bin")" && pwd)/$(basename "$ent_bin")
}

# The district of $scale students on $dbkind (sqlite or postgres): sets $data (BENCH_DATA, kept and
# reused on SQLite, or a temporary directory), exports ENT_DATA and ENT_LOG_LEVEL=warn, and for
# PostgreSQL ENT_DB (a server started for the run, stopped by bench_cleanup); generates the
# district with `ent demo --scale` unless $data already holds it. Sets $bench_generated to the
# seconds the generation took ("" when reused).
district_data() {
	if [[ -n ${BENCH_DATA:-} && $dbkind == sqlite ]]; then
		data=$BENCH_DATA
		mkdir -p "$data"
	else
		make_tmpdir || bench_die "cannot make a temporary directory"
		data=$bench_tmpdir
	fi
	export ENT_DATA=$data ENT_LOG_LEVEL=warn
	unset ENT_DB
	if [[ $dbkind == postgres ]]; then
		bench_pgdir=$(mktemp -d /tmp/ent-bench-pg.XXXXXX)
		rmdir "$bench_pgdir"
		ENT_DB=$(bash tests/services/postgres.sh start "$bench_pgdir") || bench_die "PostgreSQL did not start"
		export ENT_DB
	fi
	bench_generated=""
	if [[ -f $data/.district-$scale ]]; then
		echo "bench: reusing the district of $scale students in $data" >&2
		return 0
	fi
	district_generate
	[[ $dbkind == sqlite ]] && touch "$data/.district-$scale"
	return 0
}

# Generates the district of $scale students with `ent demo --scale` into the database and blob
# store of the environment (ENT_DB, ENT_DATA, ENT_BLOB); sets $bench_generated to the seconds it took.
district_generate() {
	echo "bench: generating a district of $scale students ($dbkind)" >&2
	local t0 t1
	t0=$(date +%s%N)
	"$ent_bin" demo --scale "$scale" >&2 || bench_die "ent demo --scale failed"
	t1=$(date +%s%N)
	bench_generated=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1e9 }')
	# The generator leaves about a gigabyte of written pages for the kernel to flush; flushed
	# during the scenarios, they slow every fsync (S4 measured 123 requests/s that way, 496 after).
	sync
}

# Starts `ent serve` on the district (access log off, its log in $data/ent.log) on a free port:
# sets $eport, $epid and $bench_started_ns (the instant just before the start). The signing key is
# made first (RSA, a one-time cost of a new installation), so that the start is that of a server
# that has run once.
district_serve() {
	"$ent_bin" token --ttl 60 "admin@district.ent.local" >/dev/null || bench_die "ent token failed"
	free_port || bench_die "no free loopback port"
	eport=$bench_port
	bench_started_ns=$(date +%s%N)
	start_bg "$ent_bin" serve --listen "127.0.0.1:$eport" --access-log off 2>"$data/ent.log"
	epid=$bench_last_pid
}

# Runs wrk (bounded by timeout) over a request list and prints its WRK_RESULT line. The script is
# bench/scenario.lua unless LUA is given; ARGS follow the list's file after "--". Threads are at
# most the connections.
# Usage: run_list URL FILE SECONDS THREADS CONNECTIONS [LUA [ARGS...]]
run_list() {
	local url=$1 file=$2 secs=$3 t=$4 c=$5 lua=${6:-bench/scenario.lua} out
	shift $(($# < 6 ? $# : 6))
	((t > c)) && t=$c
	out=$(timeout $((secs + 60)) wrk -t"$t" -c"$c" -d"${secs}s" --timeout 5s -s "$lua" "$url" -- "$file" "$@") ||
		return 1
	grep '^WRK_RESULT ' <<<"$out"
}
