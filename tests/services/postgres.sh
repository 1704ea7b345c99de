#!/usr/bin/env bash
#
# postgres.sh - a throwaway PostgreSQL server for the tests.
#
#   bash tests/services/postgres.sh start DIR   prints postgresql://ent:PASSWORD@127.0.0.1:PORT/ent
#   bash tests/services/postgres.sh stop DIR    stops the server and removes DIR
#   bash tests/services/postgres.sh halt DIR    stops the server (fast shutdown), keeps its data
#   bash tests/services/postgres.sh resume DIR  starts a halted server again: same port, data, URL
#
# `start` installs PostgreSQL from Debian when no server binaries are found, creates a fresh
# cluster in DIR/data, and starts it on a free loopback port with its unix socket inside DIR, so
# it never collides with a system cluster or another test run. It creates a login role `ent` with
# a random password and a database `ent` owned by it. Durability settings are the production ones
# (fsync=on, synchronous_commit=on, full_page_writes=on): tests that kill the server must see
# what production would see.
#
# The server runs as an ordinary user: PostgreSQL refuses to run as root, so when we are root it
# runs as the `postgres` system user that the Debian package creates, and DIR is given to it.
#
# Standard output carries exactly one line, the URL; everything else goes to standard error, so
# `url=$(bash postgres.sh start DIR)` works. Starting a DIR whose server is already running
# prints the same URL again; a DIR left over from a dead server is wiped and recreated.
set -euo pipefail

# Keep stdout for the URL alone.
exec 3>&1 1>&2

PG_PORT_TRIES=5
MARKER=.ent-postgres # present in every DIR we create: `stop` refuses to delete anything else

die() {
	echo "postgres.sh: $*"
	exit 1
}

usage() {
	die "usage: postgres.sh start|stop|halt|resume DIR"
}

# The directory holding initdb, pg_ctl, postgres and psql. Debian keeps them under
# /usr/lib/postgresql/VERSION/bin, outside PATH; prefer the newest version there.
find_bindir() {
	local d
	d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/psql" ]]; then
		echo "$d"
		return 0
	fi
	local initdb
	initdb=$(command -v initdb || true)
	if [[ -n "$initdb" ]]; then
		d=$(dirname "$(readlink -f "$initdb")")
		if [[ -x "$d/pg_ctl" && -x "$d/psql" ]]; then
			echo "$d"
			return 0
		fi
	fi
	return 1
}

install_postgres() {
	[[ $EUID -eq 0 ]] || die "PostgreSQL is not installed and we are not root: apt-get install postgresql"
	echo "postgres.sh: installing PostgreSQL from Debian"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine has no package lists yet; only update when the first try fails.
	if ! apt-get install -y --no-install-recommends postgresql; then
		apt-get update
		apt-get install -y --no-install-recommends postgresql
	fi
}

# Runs a command as the user that owns the cluster, from a directory that user can read
# (PostgreSQL tools complain when they cannot access the working directory, e.g. /root).
# File descriptor 3 (our real stdout) is closed for it: a server started by pg_ctl would
# otherwise inherit it and keep `$(postgres.sh start DIR)` waiting forever.
as_owner() {
	if [[ $EUID -eq 0 ]]; then
		(cd / && runuser -u postgres -- "$@" 3>&-)
	else
		(cd / && "$@" 3>&-)
	fi
}

# A TCP port nothing listens on at the moment. The server may still lose a race for it; the
# caller then tries another one.
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' && return 0
	fi
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		# Without ss either, a random port; a taken one makes the server fail and we try again.
		if ! command -v ss >/dev/null 2>&1 || ! ss -Hltn "sport = :$p" | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	die "no free TCP port found"
}

# The postmaster's PID when it is really alive. pg_ctl status is not enough: a postmaster killed
# with SIGKILL may linger as a zombie (containers whose init does not reap), which still "exists".
postmaster_pid() {
	local dir=$1 pid
	[[ -f "$dir/data/postmaster.pid" ]] || return 1
	pid=$(head -n 1 "$dir/data/postmaster.pid")
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[[ -r "/proc/$pid/status" ]] || return 1
	grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
	[[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres* ]] || return 1
	echo "$pid"
}

# Alive and answering with the URL we handed out.
server_running() {
	local dir=$1
	postmaster_pid "$dir" >/dev/null && [[ -s "$dir/url" ]] &&
		as_owner "$BINDIR/psql" -X -q -d "$(cat "$dir/url")" -c 'SELECT 1' >/dev/null 2>&1
}

# Refuses to act on a directory we did not create, so that `stop /` or a typo cannot delete data.
check_ours() {
	local dir=$1
	if [[ -e "$dir" && ! -f "$dir/$MARKER" ]] && [[ -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
		die "$dir exists, is not empty and was not created by postgres.sh; refusing to touch it"
	fi
}

cmd_stop() {
	local dir=$1
	[[ -e "$dir" ]] || return 0
	check_ours "$dir"
	local pid
	if pid=$(postmaster_pid "$dir"); then
		BINDIR=$(find_bindir) || die "PostgreSQL binaries not found, cannot stop the server in $dir"
		if ! as_owner "$BINDIR/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop; then
			echo "postgres.sh: fast shutdown failed, killing postmaster $pid"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf -- "$dir"
}

cmd_halt() {
	local dir=$1
	[[ -f "$dir/$MARKER" && -s "$dir/url" ]] || die "no server of ours in $dir"
	postmaster_pid "$dir" >/dev/null || return 0
	BINDIR=$(find_bindir) || die "PostgreSQL binaries not found"
	as_owner "$BINDIR/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || die "the server in $dir did not stop"
}

cmd_resume() {
	local dir=$1
	[[ -f "$dir/$MARKER" && -s "$dir/url" ]] || die "no server of ours in $dir"
	BINDIR=$(find_bindir) || die "PostgreSQL binaries not found"
	if ! server_running "$dir"; then
		as_owner "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
			{ tail -n 5 "$dir/server.log"; die "the server in $dir did not start again"; }
	fi
	cat "$dir/url" >&3
}

cmd_start() {
	local dir=$1
	check_ours "$dir"

	BINDIR=$(find_bindir) || {
		install_postgres
		BINDIR=$(find_bindir) || die "PostgreSQL installed but initdb not found under /usr/lib/postgresql"
	}
	if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
		die "no 'postgres' system user to run the server as"
	fi

	if server_running "$dir"; then
		echo "postgres.sh: server in $dir already running"
		cat "$dir/url" >&3
		return 0
	fi
	# Whatever is left there belongs to a dead server: start over.
	cmd_stop "$dir"

	mkdir -p -- "$dir"
	dir=$(cd "$dir" && pwd) # absolute: unix_socket_directories and pg_ctl -D need it
	touch "$dir/$MARKER"
	chmod 700 "$dir"
	if [[ $EUID -eq 0 ]]; then
		chown -R postgres:postgres "$dir"
		as_owner test -w "$dir" ||
			die "the postgres user cannot write to $dir (is a parent directory private to root?)"
	fi

	local pw
	pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	[[ ${#pw} -eq 32 ]] || die "could not generate a password"

	as_owner "$BINDIR/initdb" -D "$dir/data" --no-locale -E UTF8 \
		--auth-local=peer --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log"; die "initdb failed"; }

	local port="" try
	for try in $(seq 1 "$PG_PORT_TRIES"); do
		port=$(free_port)
		# The settings are rewritten on each try; the last line for a setting wins.
		# max_connections: the split cluster's 11 ent processes hold about 6 connections each
		# (request threads and the services' background threads), and the bus tests start their own
		# servers beside them; at 100 those servers got "remaining connection slots are reserved".
		cat >>"$dir/data/postgresql.conf" <<-EOF
			# Set by tests/services/postgres.sh (try $try).
			listen_addresses = '127.0.0.1'
			port = $port
			unix_socket_directories = '$dir'
			fsync = on
			synchronous_commit = on
			full_page_writes = on
			max_connections = 300
			shared_buffers = 32MB
			logging_collector = off
		EOF
		if as_owner "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null; then
			break
		fi
		echo "postgres.sh: server did not start on port $port (try $try of $PG_PORT_TRIES)"
		tail -n 5 "$dir/server.log" || true
		port=""
	done
	[[ -n "$port" ]] || die "PostgreSQL did not start; see $dir/server.log"

	# The password goes through a psql variable, never spliced into the SQL text.
	# pg_signal_backend: `DROP DATABASE ... WITH (FORCE)` (the cluster's reset, the tests' fresh
	# databases) must also end an autovacuum worker busy in that database; without it PostgreSQL
	# refuses the drop ("must be a member of the role whose process is being terminated or member
	# of pg_signal_backend") whenever autovacuum happens to be there.
	as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -d postgres \
		-v pw="$pw" <<-'EOF' || die "could not create the ent role and database"
		CREATE ROLE ent LOGIN CREATEDB PASSWORD :'pw';
		GRANT pg_signal_backend TO ent;
		CREATE DATABASE ent OWNER ent;
	EOF

	local url="postgresql://ent:$pw@127.0.0.1:$port/ent"
	# Check the URL itself works (TCP, password authentication) before handing it out.
	as_owner "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d "$url" -c 'SELECT 1' >/dev/null ||
		die "cannot log in with the new role"
	(umask 077 && echo "$url" >"$dir/url")
	[[ $EUID -eq 0 ]] && chown postgres:postgres "$dir/url"
	echo "postgres.sh: PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir/data"
	echo "$url" >&3
}

[[ $# -eq 2 && -n "$2" ]] || usage
case "$1" in
start) cmd_start "$2" ;;
stop) cmd_stop "$2" ;;
halt) cmd_halt "$2" ;;
resume) cmd_resume "$2" ;;
*) usage ;;
esac
