#!/usr/bin/env bash
#
# cluster.sh - the production deployment without containers, on this machine, for the tests.
#
#   bash tests/services/cluster.sh start DIR [split|replicas]   prints the gateway's URL
#   bash tests/services/cluster.sh reset DIR    fresh database and bus, ent processes restarted
#   bash tests/services/cluster.sh targets DIR  Prometheus's targets, one "job process health" a line;
#                                               exit status 0 only when every one is up
#   bash tests/services/cluster.sh stop DIR     stops everything and removes DIR
#   bash tests/services/cluster.sh pid DIR NAME  the pid of the ent process NAME (auth, ..., portal,
#                                               replica1, ...) at this moment
#   bash tests/services/cluster.sh suite DIR [split|replicas] [FILE...]
#                                               starts the layout in DIR, runs the API suite
#                                               (tests/api/, or the files given) through its gateway,
#                                               checks Prometheus's targets, stops it; prints one
#                                               line "LAYOUT: N passed, N failed, N skipped of N"
#
# `start` starts PostgreSQL, RabbitMQ and the S3 test server with the other scripts of this
# directory (in DIR/pg, DIR/amqp, DIR/s3), then the `ent` processes, nginx and Prometheus, all on
# free loopback ports:
#
#   split (default): the seed's layout, one process per service (auth, users, cours, fichiers,
#     notifications, calendar, notes, support, messagerie, chatbot: `ent serve --services NAME`)
#     plus the portal's process (every service, as in deploy/docker-compose.yml), behind nginx
#     routing /api/<service>;
#   replicas: three identical all-service processes behind nginx, round-robin.
#
# nginx (Debian's, installed with apt-get when missing) runs from deploy/nginx/ent.conf.template
# with its configuration, pid file, logs and temporary paths in DIR/nginx, as an unprivileged
# user (www-data when we are root). Prometheus (Debian's) scrapes every ent process's /metrics
# every 2 s, with its data in DIR/prom. `ent` is $ENT_BIN (default build/ent); the portal comes
# from $ENT_WEB (default web/dist).
#
# Each ent process runs under a supervisor loop (this script's `supervise`, standing in for
# Compose's restart policy): an ent that exits or is killed is started again at once with the same
# settings (a line "restarting" in DIR/ent/NAME/log; DIR/ent/NAME/pid follows the new process).
# `stop` and `reset` end the supervisors first.
#
# DIR/env holds the cluster's settings for `ent` commands (ENT_DB, ENT_BUS, ENT_BLOB, ENT_DATA,
# ENT_PUBLIC_URL) and ENT_TEST_LAYOUT: the API harness reads it in external mode (tests/api/lib/ent.mjs, ENT_TEST_URL,
# ENT_TEST_ENV, ENT_TEST_RESET). `reset` applies the ENT_* settings of its environment (e.g.
# ENT_MAX_UPLOAD asked by a test) to the restarted processes, except those the cluster sets itself.
#
# Standard output carries exactly one line for `start`, the URL; everything else goes to standard
# error. Every wait is bounded.
set -euo pipefail
exec 3>&1 1>&2

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ENT_BIN=${ENT_BIN:-$ROOT/build/ent}
ENT_WEB_DIR=${ENT_WEB:-$ROOT/web/dist}
MARKER=.ent-cluster
SPLIT_SERVICES=(auth users cours fichiers notifications calendar notes support messagerie chatbot)
# Settings the cluster sets itself; the others may come from the caller's environment.
OWN_SETTINGS=" ENT_DB ENT_BUS ENT_BLOB ENT_DATA ENT_LISTEN ENT_PUBLIC_URL ENT_SERVICES ENT_WEB "

die() {
	echo "cluster.sh: $*"
	exit 1
}
usage() { die "usage: cluster.sh start DIR [split|replicas] | reset DIR | targets DIR | pid DIR NAME | stop DIR | suite DIR [split|replicas] [FILE...]"; }

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The user our unprivileged servers run as, and how to run a command as them.
RUN_USER=""
if [[ $EUID -eq 0 ]]; then RUN_USER=www-data; fi
as_user() {
	local u=$1
	shift
	if [[ $EUID -eq 0 ]]; then
		runuser -u "$u" -- "$@"
	else
		"$@"
	fi
}

install_pkg() { # command package
	command -v "$1" >/dev/null 2>&1 && return 0
	[[ -x "/usr/sbin/$1" ]] && return 0
	[[ $EUID -eq 0 ]] || die "$1 is not installed and we are not root: apt-get install $2"
	echo "cluster.sh: installing $2 from Debian"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq --no-install-recommends "$2"; then
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "$2"
	fi
}

check_ours() {
	local dir=$1
	if [[ -e "$dir" && ! -f "$dir/$MARKER" ]] && [[ -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
		die "$dir exists, is not empty and was not created by cluster.sh; refusing to touch it"
	fi
}

# Alive, not a zombie, and the command we started (its comm).
alive() { # pidfile comm
	local pid
	[[ -s "$1" ]] || return 1
	pid=$(cat "$1" 2>/dev/null)
	[[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/status" ]] || return 1
	grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
	[[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2"* ]]
}

stop_pid() { # pidfile comm
	local pid
	alive "$1" "$2" || return 0
	pid=$(cat "$1" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		alive "$1" "$2" || return 0
		sleep 0.1
	done
	echo "cluster.sh: $2 $pid did not stop in 10 s, killing it"
	kill -KILL "$pid" 2>/dev/null || true
}

wait_http() { # url seconds
	local code
	for _ in $(seq 1 $(($2 * 10))); do
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true)
		[[ "$code" == 200 ]] && return 0
		sleep 0.1
	done
	return 1
}

# The processes of the layout: "name services port" lines (ports chosen at start, kept in DIR).
processes() {
	cat "$1/processes"
}

# ENT_* settings of the caller's environment that the processes should get.
passed_settings() {
	local name
	"$ENT_BIN" config 2>/dev/null | sed -n 's/^\(ENT_[A-Z0-9_]*\)=.*/\1/p' | while read -r name; do
		[[ "$OWN_SETTINGS" == *" $name "* ]] && continue
		if [[ -n "${!name+x}" ]]; then printf '%s=%s\n' "$name" "${!name}"; fi
	done
}

start_ent() {
	local dir=$1 name services port
	local -a extra=() settings=()
	mapfile -t extra < <(passed_settings)
	mapfile -t settings <"$dir/env"
	# Every process's tables exist before any of them serves (migrations take an advisory lock).
	env "${extra[@]}" "${settings[@]}" ENT_DATA="$dir/ent/cli" "$ENT_BIN" migrate >"$dir/ent/migrate.log" 2>&1 ||
		{ cat "$dir/ent/migrate.log"; die "ent migrate failed"; }
	while read -r name services port; do
		mkdir -p "$dir/ent/$name"
		rm -f "$dir/ent/$name/stopping" "$dir/ent/$name/pid"
		# setsid: the supervisor and its ent outlive this script; fd 3 closed so that
		# `$(cluster.sh start)` returns.
		env "${extra[@]}" "${settings[@]}" ENT_DATA="$dir/ent/$name" ENT_WEB="$ENT_WEB_DIR" \
			ENT_SERVICES="$services" ENT_LISTEN="127.0.0.1:$port" ENT_TRUSTED_PROXIES=127.0.0.1 \
			ENT_THREADS="${CLUSTER_THREADS:-2}" ENT_BIN="$ENT_BIN" \
			setsid bash "$HERE/cluster.sh" supervise "$dir/ent/$name" </dev/null >>"$dir/ent/$name/log" 2>&1 3>&- &
		echo $! >"$dir/ent/$name/supervisor.pid"
	done < <(processes "$dir")
	while read -r name services port; do
		wait_http "http://127.0.0.1:$port/health" 30 || { tail -n 20 "$dir/ent/$name/log"; die "ent $name did not answer /health"; }
	done < <(processes "$dir")
}

# The supervisor loop of one ent process (run by start_ent with the process's settings in its
# environment): starts `ent serve` again whenever it ends, until DIR/stopping exists.
cmd_supervise() {
	local d=$1 st
	while [[ ! -e "$d/stopping" ]]; do
		"$ENT_BIN" serve </dev/null &
		echo $! >"$d/pid"
		st=0
		wait $! || st=$?
		[[ -e "$d/stopping" ]] && break
		echo "cluster.sh: ent exited with status $st, restarting it"
		sleep 0.2
	done
}

stop_ent() {
	local dir=$1 name services port
	[[ -f "$dir/processes" ]] || return 0
	while read -r name services port; do
		[[ -d "$dir/ent/$name" ]] || continue
		touch "$dir/ent/$name/stopping"
		stop_pid "$dir/ent/$name/pid" ent
		stop_pid "$dir/ent/$name/supervisor.pid" bash
	done < <(processes "$dir")
}

cmd_pid() {
	local dir=$1 name=$2
	[[ -f "$dir/$MARKER" && -f "$dir/ent/$name/pid" ]] || die "no ent process $name in $dir"
	alive "$dir/ent/$name/pid" ent || die "ent $name is not running"
	cat "$dir/ent/$name/pid" >&3
}

upstream_lines() { # dir service -> "server 127.0.0.1:P;" for the processes serving it
	local dir=$1 want=$2 name services port out=""
	while read -r name services port; do
		if [[ "$(cat "$dir/layout")" == replicas ]]; then
			out+="server 127.0.0.1:$port; "
		elif [[ "$name" == "$want" ]]; then
			out+="server 127.0.0.1:$port; "
		fi
	done < <(processes "$dir")
	echo "$out"
}

start_nginx() {
	local dir=$1 gw=$2 n=$dir/nginx
	install_pkg nginx nginx-light
	mkdir -p "$n"/{client_body,proxy,fastcgi,uwsgi,scgi,logs}
	local conf
	conf=$(cat "$ROOT/deploy/nginx/ent.conf.template")
	conf=${conf//@LISTEN@/127.0.0.1:$gw}
	local s
	for s in "${SPLIT_SERVICES[@]}" portal; do
		local up
		[[ "$conf" == *"@UPSTREAM_${s^^}@"* ]] || die "deploy/nginx/ent.conf.template has no upstream for $s"
		up=$(upstream_lines "$dir" "$s")
		conf=${conf//@UPSTREAM_${s^^}@/$up}
	done
	# The built-in OpenID provider is the auth service's.
	conf=${conf//@UPSTREAM_OIDC@/$(upstream_lines "$dir" auth)}
	# An upstream of the template that no process of the layout fills: a service missing here.
	[[ ! "$conf" =~ @UPSTREAM_[A-Z]+@ ]] || die "deploy/nginx/ent.conf.template has upstreams cluster.sh does not know: $(grep -o '@UPSTREAM_[A-Z]*@' <<<"$conf" | sort -u | tr '\n' ' ')"
	cat >"$n/nginx.conf" <<-EOF
		# Written by tests/services/cluster.sh from deploy/nginx/ent.conf.template.
		worker_processes 1;
		pid $n/nginx.pid;
		error_log $n/logs/error.log warn;
		events { worker_connections 1024; }
		http {
		    access_log $n/logs/access.log;
		    client_body_temp_path $n/client_body;
		    proxy_temp_path $n/proxy;
		    fastcgi_temp_path $n/fastcgi;
		    uwsgi_temp_path $n/uwsgi;
		    scgi_temp_path $n/scgi;
		    default_type application/octet-stream;
		$conf
		}
	EOF
	[[ -n "$RUN_USER" ]] && chown -R "$RUN_USER" "$n"
	as_user "${RUN_USER:-$(id -un)}" /usr/sbin/nginx -e "$n/logs/error.log" -p "$n" -c "$n/nginx.conf" -t -q ||
		die "nginx refused $n/nginx.conf"
	(as_user "${RUN_USER:-$(id -un)}" /usr/sbin/nginx -e "$n/logs/error.log" -p "$n" -c "$n/nginx.conf" </dev/null 3>&-)
	for _ in $(seq 1 50); do
		alive "$n/nginx.pid" nginx && break
		sleep 0.1
	done
	alive "$n/nginx.pid" nginx || { cat "$n/logs/error.log"; die "nginx did not start"; }
}

start_prometheus() {
	local dir=$1 port=$2 p=$dir/prom name services eport
	install_pkg prometheus prometheus
	mkdir -p "$p/data"
	{
		echo "# Written by tests/services/cluster.sh: every ent process of the cluster."
		echo "global: {scrape_interval: 2s, evaluation_interval: 15s}"
		echo "scrape_configs:"
		echo "  - job_name: ent"
		echo "    static_configs:"
		while read -r name services eport; do
			echo "      - targets: ['127.0.0.1:$eport']"
			echo "        labels: {process: $name}"
		done < <(processes "$dir")
	} >"$p/prometheus.yml"
	promtool check config "$p/prometheus.yml" >/dev/null || die "promtool refused $p/prometheus.yml"
	local u=${RUN_USER:+prometheus}
	[[ -n "$u" ]] && chown -R "$u" "$p"
	# fd 3 closed for the whole subshell: the shell that waits on the backgrounded function would
	# otherwise keep a saved copy of it, and `$(cluster.sh start)` would never end.
	(exec 3>&-; cd "$p" && as_user "${u:-$(id -un)}" setsid prometheus --config.file="$p/prometheus.yml" \
		--storage.tsdb.path="$p/data" --web.listen-address="127.0.0.1:$port" \
		</dev/null >>"$p/log" 2>&1 3>&- &
		echo $! >"$p/pid")
	# runuser forks: find the prometheus process itself.
	for _ in $(seq 1 100); do
		if wait_http "http://127.0.0.1:$port/-/ready" 1; then
			pgrep -x -f -- "prometheus --config.file=$p/prometheus.yml .*" | head -n 1 >"$p/pid"
			return 0
		fi
	done
	tail -n 20 "$p/log"
	die "Prometheus did not become ready"
}

cmd_start() {
	local dir=$1 layout=${2:-split}
	[[ "$layout" == split || "$layout" == replicas ]] || usage
	check_ours "$dir"
	[[ -x "$ENT_BIN" ]] || die "no ent binary at $ENT_BIN (make build)"
	command -v curl >/dev/null || die "curl is needed"
	if [[ -s "$dir/url" ]] && alive "$dir/nginx/nginx.pid" nginx; then
		echo "cluster.sh: cluster in $dir already running"
		cat "$dir/url" >&3
		return 0
	fi
	cmd_stop "$dir"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	touch "$dir/$MARKER"
	chmod 755 "$dir" # the engines run as their own users and create their directories in it
	echo "$layout" >"$dir/layout"

	local pg amqp s3
	pg=$(bash "$HERE/postgres.sh" start "$dir/pg")
	s3=$(bash "$HERE/s3.sh" start "$dir/s3")
	amqp=$(bash "$HERE/rabbitmq.sh" start "$dir/amqp")
	local bus
	bus=$(bash "$HERE/rabbitmq.sh" vhost "$dir/amqp" ent1)
	echo "$amqp" >"$dir/amqp_url"
	echo 1 >"$dir/generation"

	local gw prom
	gw=$(free_port)
	prom=$(free_port)
	echo "$prom" >"$dir/prometheus_port"
	local url="http://127.0.0.1:$gw"
	{
		if [[ "$layout" == split ]]; then
			local s
			for s in "${SPLIT_SERVICES[@]}"; do echo "$s $s $(free_port)"; done
			echo "portal all $(free_port)"
		else
			echo "replica1 all $(free_port)"
			echo "replica2 all $(free_port)"
			echo "replica3 all $(free_port)"
		fi
	} >"$dir/processes"
	mkdir -p "$dir/ent/cli"
	# ENT_TEST_S3_DATA: where s3rver keeps the objects (the API tests count them).
	# ENT_TEST_LAYOUT: the API tests skip what a round-robin of processes does not promise (a cap
	# of open streams per user is per process).
	# ENT_TEST_PROCESSES: name=port of each ent process, for tests that read one process's counters.
	local procs
	procs=$(awk '{ printf "%s%s=%s", (NR > 1 ? "," : ""), $1, $3 }' "$dir/processes")
	(umask 077 && printf 'ENT_DB=%s\nENT_BUS=%s\nENT_BLOB=%s\nENT_PUBLIC_URL=%s\nENT_DATA=%s\nENT_TEST_S3_DATA=%s\nENT_TEST_LAYOUT=%s\nENT_TEST_PROCESSES=%s\n' \
		"$pg" "$bus" "$s3" "$url" "$dir/ent/cli" "$dir/s3/data" "$layout" "$procs" >"$dir/env")
	start_ent "$dir"
	start_nginx "$dir" "$gw"
	wait_http "$url/health" 10 || die "the gateway does not answer $url/health"
	start_prometheus "$dir" "$prom"
	echo "$url" >"$dir/url"
	echo "cluster.sh: $layout layout: $(wc -l <"$dir/processes") ent processes behind nginx at $url, Prometheus at http://127.0.0.1:$prom"
	echo "$url" >&3
}

cmd_reset() {
	local dir=$1
	[[ -f "$dir/$MARKER" && -s "$dir/url" ]] || die "no cluster in $dir"
	dir=$(cd "$dir" && pwd)
	stop_ent "$dir"
	local pg
	pg=$(sed -n 's/^ENT_DB=//p' "$dir/env")
	local admin=${pg%/*}/postgres
	psql "$admin" -v ON_ERROR_STOP=1 -qAtc "DROP DATABASE IF EXISTS ent WITH (FORCE)" >/dev/null
	psql "$admin" -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE ent" >/dev/null
	# A fresh virtual host: no queue keeps events of the previous database.
	local gen bus
	gen=$(($(cat "$dir/generation") + 1))
	echo "$gen" >"$dir/generation"
	bus=$(bash "$HERE/rabbitmq.sh" vhost "$dir/amqp" "ent$gen")
	sed -i "s|^ENT_BUS=.*|ENT_BUS=$bus|" "$dir/env"
	start_ent "$dir"
	echo "cluster.sh: reset done (database recreated, virtual host ent$gen)"
}

# Waits up to 20 s for every target to have been scraped successfully (a reset restarts them).
cmd_targets() {
	local dir=$1
	[[ -s "$dir/prometheus_port" ]] || die "no cluster in $dir"
	for _ in $(seq 1 20); do
		curl -fsS -m 5 "http://127.0.0.1:$(cat "$dir/prometheus_port")/api/v1/targets" >"$dir/targets.json" ||
			die "Prometheus does not answer"
		grep -q '"health":"down"\|"health":"unknown"' "$dir/targets.json" || break
		sleep 1
	done
	node -e '
		const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).data.activeTargets;
		let bad = 0;
		for (const x of t) { console.log(`${x.labels.job} ${x.labels.process} ${x.health}`); if (x.health !== "up") bad++; }
		process.exit(t.length && !bad ? 0 : 1);
	' "$dir/targets.json" >&3
}

# The API suite through the gateway of a fresh cluster (see the top of this file and docs/deploy.md).
# Each file starts on a fresh database (ENT_TEST_RESET); the bus tests get the cluster's broker
# (ENT_TEST_AMQP_URL, ENT_TEST_AMQP_DIR: they halt and restart it, between two files' resets).
# The test output goes to standard error, the summary line to standard output; the exit status is
# the suite's (then 1 if a Prometheus target is down). CLUSTER_KEEP=1 leaves the cluster running.
cmd_suite() {
	local dir=$1 layout=${2:-split}
	shift 2 || shift $#
	local -a files=("$@")
	[[ ${#files[@]} -gt 0 ]] || files=("$ROOT/tests/api/")
	local url st=0 log
	# Its own process, as documented: a function's redirections here would leave a saved copy of the
	# capturing pipe in the servers' background subshells, and the capture would never end.
	url=$(bash "$HERE/cluster.sh" start "$dir" "$layout" 3>&-)
	dir=$(cd "$dir" && pwd)
	[[ -n ${CLUSTER_KEEP:-} ]] || trap 'cmd_stop "'"$dir"'"' EXIT
	log=$dir/suite.log
	echo "cluster.sh: the API suite through $url ($layout layout)"
	(cd "$ROOT" && env -u ENT_TEST_PG_URL -u ENT_DB -u ENT_BUS -u ENT_BLOB -u ENT_DATA \
		ENT_TEST_URL="$url" ENT_TEST_ENV="$dir/env" ENT_TEST_RESET="bash $HERE/cluster.sh reset $dir" \
		ENT_TEST_AMQP_URL="$(cat "$dir/amqp_url")" ENT_TEST_AMQP_DIR="$dir/amqp" \
		node --test --test-concurrency=1 --test-reporter=spec "${files[@]}") 2>&1 | tee "$log" || st=$?
	[[ $st -eq 0 ]] || echo "cluster.sh: the suite failed (status $st)"
	local targets_ok=yes
	cmd_targets "$dir" 3>&1 || targets_ok=no
	local n
	n() { sed -n "s/^ℹ $1 \([0-9]*\)\$/\1/p" "$log" | tail -n 1; }
	echo "$layout: $(n pass) passed, $(n fail) failed, $(n skipped) skipped of $(n tests); Prometheus targets all up: $targets_ok" >&3
	[[ $st -eq 0 ]] || return "$st"
	[[ $targets_ok == yes ]] || return 1
}

cmd_stop() {
	local dir=$1
	[[ -e "$dir" ]] || return 0
	check_ours "$dir"
	stop_pid "$dir/prom/pid" prometheus
	stop_pid "$dir/nginx/nginx.pid" nginx
	stop_ent "$dir"
	bash "$HERE/rabbitmq.sh" stop "$dir/amqp" || true
	bash "$HERE/s3.sh" stop "$dir/s3" || true
	bash "$HERE/postgres.sh" stop "$dir/pg" || true
	rm -rf -- "$dir"
}

[[ $# -ge 2 && -n "$2" ]] || usage
case "$1" in
start) cmd_start "$2" "${3:-split}" ;;
reset) cmd_reset "$2" ;;
targets) cmd_targets "$2" ;;
stop) cmd_stop "$2" ;;
supervise) cmd_supervise "$2" ;;
pid) [[ $# -eq 3 ]] || usage; cmd_pid "$2" "$3" ;;
suite) shift; cmd_suite "$@" ;;
*) usage ;;
esac
