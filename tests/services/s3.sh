#!/usr/bin/env bash
#
# s3.sh - a throwaway S3-compatible server for the tests (@20minutes/s3rver, from npm).
#
#   bash tests/services/s3.sh start DIR   prints s3://cours?endpoint=http://127.0.0.1:PORT&region=us-east-1&...
#   bash tests/services/s3.sh stop DIR    stops the server and removes DIR
#
# `start` installs the npm package @20minutes/s3rver (pinned below) once into
# tests/services/.s3rver (a node_modules cache, ignored by git) with `npm install --no-save`, then
# starts it on a free loopback port with its data in DIR/data and waits until it answers HTTP.
# The URL it prints carries s3rver's built-in credentials (S3RVER/S3RVER) as access_key= and
# secret_key=; the bucket `cours` is created by `ent` itself (blob_open creates a missing bucket).
#
# Why the @20minutes fork and not the original `s3rver` (3.7.1): the original accepts any SigV4
# signature ("V4 signatures have incomplete support"), so a wrongly signed request would pass
# here and fail on MinIO or AWS. The fork recomputes V4 signatures and answers 403 on a mismatch;
# multipart uploads, ranged GETs, HEAD and DELETE work. Its npm package ships no bin/ script,
# so we start its lib/cli.js (the same command-line options) through `node -e`.
#
# Standard output carries exactly one line, the URL; everything else goes to standard error, so
# `url=$(bash s3.sh start DIR)` works. Starting a DIR whose server is already running prints the
# same URL again; a DIR left over from a dead server is wiped and recreated.
set -euo pipefail

# Keep stdout for the URL alone.
exec 3>&1 1>&2

S3RVER_PKG=@20minutes/s3rver
S3RVER_VERSION=4.0.4 # 5.x needs Node 24
PORT_TRIES=5
MARKER=.ent-s3 # present in every DIR we create: `stop` refuses to delete anything else
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${ENT_S3RVER_CACHE:-$HERE/.s3rver}
CLI=$CACHE/node_modules/$S3RVER_PKG/lib/cli.js

die() {
	echo "s3.sh: $*"
	exit 1
}

usage() {
	die "usage: s3.sh start|stop DIR"
}

install_s3rver() {
	if [[ -f "$CLI" ]] && grep -q "\"version\": \"$S3RVER_VERSION\"" "$CACHE/node_modules/$S3RVER_PKG/package.json" 2>/dev/null; then
		return 0
	fi
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		die "node and npm are needed (scripts/deps.sh build)"
	fi
	echo "s3.sh: installing $S3RVER_PKG@$S3RVER_VERSION from npm into $CACHE"
	mkdir -p -- "$CACHE"
	npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
		--prefix "$CACHE" "$S3RVER_PKG@$S3RVER_VERSION" >&2 || die "npm install $S3RVER_PKG failed"
	[[ -f "$CLI" ]] || die "$S3RVER_PKG installed but $CLI is missing"
}

# A TCP port nothing listens on at the moment (the server may still lose a race for it).
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' && return 0
	fi
	echo $((20000 + RANDOM % 40000))
}

# The server's PID when it is really alive (not a zombie) and is our s3rver.
server_pid() {
	local dir=$1 pid
	[[ -f "$dir/pid" ]] || return 1
	pid=$(cat "$dir/pid")
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[[ -r "/proc/$pid/status" ]] || return 1
	grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q S3RVER_CLI || return 1
	echo "$pid"
}

# Any HTTP answer at all means the server is up (it says 403 to anonymous requests).
answers() {
	local port=$1 code
	code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/" 2>/dev/null || true)
	[[ "$code" =~ ^[1-5][0-9][0-9]$ ]]
}

check_ours() {
	local dir=$1
	if [[ -e "$dir" && ! -f "$dir/$MARKER" ]] && [[ -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
		die "$dir exists, is not empty and was not created by s3.sh; refusing to touch it"
	fi
}

cmd_stop() {
	local dir=$1 pid
	[[ -e "$dir" ]] || return 0
	check_ours "$dir"
	if pid=$(server_pid "$dir"); then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			server_pid "$dir" >/dev/null || break
			sleep 0.1
		done
		if server_pid "$dir" >/dev/null; then
			echo "s3.sh: s3rver $pid did not stop, killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -rf -- "$dir"
}

cmd_start() {
	local dir=$1
	check_ours "$dir"
	command -v curl >/dev/null || die "curl is needed to check the server (scripts/deps.sh test)"
	install_s3rver

	if server_pid "$dir" >/dev/null && [[ -s "$dir/url" ]] && answers "$(cat "$dir/port")"; then
		echo "s3.sh: server in $dir already running"
		cat "$dir/url" >&3
		return 0
	fi
	cmd_stop "$dir"

	mkdir -p -- "$dir/data"
	dir=$(cd "$dir" && pwd)
	touch "$dir/$MARKER"
	chmod 700 "$dir"

	local port="" try pid
	for try in $(seq 1 "$PORT_TRIES"); do
		port=$(free_port)
		# setsid: the server outlives this script; fd 3 closed so `$(s3.sh start)` returns.
		S3RVER_CLI=$CLI setsid node -e \
			"require(process.env.S3RVER_CLI).parse(process.argv.slice(1), { from: 'user' })" -- \
			-d "$dir/data" -a 127.0.0.1 -p "$port" --no-vhost-buckets \
			</dev/null >>"$dir/server.log" 2>&1 3>&- &
		pid=$!
		echo "$pid" >"$dir/pid"
		for _ in $(seq 1 100); do
			answers "$port" && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if answers "$port"; then
			break
		fi
		echo "s3.sh: s3rver did not start on port $port (try $try of $PORT_TRIES)"
		kill -KILL "$pid" 2>/dev/null || true
		tail -n 5 "$dir/server.log" || true
		port=""
	done
	[[ -n "$port" ]] || die "s3rver did not start; see $dir/server.log"

	local url="s3://cours?endpoint=http://127.0.0.1:$port&region=us-east-1&access_key=S3RVER&secret_key=S3RVER"
	echo "$port" >"$dir/port"
	(umask 077 && echo "$url" >"$dir/url")
	echo "s3.sh: $S3RVER_PKG $S3RVER_VERSION on 127.0.0.1:$port, data in $dir/data"
	echo "$url" >&3
}

[[ $# -eq 2 && -n "$2" ]] || usage
case "$1" in
start) cmd_start "$2" ;;
stop) cmd_stop "$2" ;;
*) usage ;;
esac
