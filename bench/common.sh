# bench/common.sh - helpers shared by bench/run.sh and bench/profile.sh (sourced, not run).
# shellcheck shell=bash
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
