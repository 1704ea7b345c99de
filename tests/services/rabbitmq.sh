#!/usr/bin/env bash
#
# rabbitmq.sh - a throwaway RabbitMQ broker for the tests.
#
#   bash tests/services/rabbitmq.sh start DIR    prints amqp://ent:PASSWORD@127.0.0.1:PORT/%2f
#   bash tests/services/rabbitmq.sh halt DIR     stops the broker, keeps its data, ports and URL
#   bash tests/services/rabbitmq.sh restart DIR  halt, then start on the same ports and data
#   bash tests/services/rabbitmq.sh stop DIR     stops the broker and removes DIR
#   bash tests/services/rabbitmq.sh vhost DIR NAME  creates the virtual host NAME for `ent` and
#                                                prints the URL that uses it
#
# `start` installs rabbitmq-server from Debian when it is missing, and starts a standalone node
# of its own: node name ent-PORT@localhost, the AMQP listener, the Erlang distribution port and
# a private epmd all on free loopback ports, with the database, logs, configuration, enabled
# plugins (none: no management plugin) and the Erlang cookie ($HOME) inside DIR. It never
# touches the system service the Debian package may have started (node rabbit@HOST, port 5672,
# epmd 4369). A user `ent` with a random password is created at the first boot (default_user in
# the node's rabbitmq.conf) and owns the default virtual host `/`.
#
# `halt` then `start` (or `restart`) brings the same node back on the same ports with its data:
# durable exchanges, queues and persistent messages survive, as after a broker restart in
# production. `start` on a DIR whose broker is running prints the URL again; a DIR left over
# from a broker that died without `halt` is wiped and recreated.
#
# The broker runs as an ordinary user: when we are root, as the `rabbitmq` system user that the
# Debian package creates (DIR is given to it). Standard output carries exactly one line, the URL;
# everything else goes to standard error, so `url=$(bash rabbitmq.sh start DIR)` works.
set -euo pipefail

# Keep stdout for the URL alone.
exec 3>&1 1>&2

PORT_TRIES=5
START_TIMEOUT=120 # seconds; a cold node on a loaded machine takes 5 to 20 s
MARKER=.ent-rabbitmq # present in every DIR we create: `stop` refuses to delete anything else
BINDIR=/usr/lib/rabbitmq/bin # the real scripts; /usr/sbin's wrappers switch user and drop our environment

die() {
	echo "rabbitmq.sh: $*"
	exit 1
}

usage() {
	die "usage: rabbitmq.sh start|halt|restart|stop DIR, or rabbitmq.sh vhost DIR NAME"
}

install_rabbitmq() {
	[[ -x "$BINDIR/rabbitmq-server" && -x "$BINDIR/rabbitmqctl" ]] && return 0
	[[ $EUID -eq 0 ]] || die "RabbitMQ is not installed and we are not root: apt-get install rabbitmq-server"
	echo "rabbitmq.sh: installing RabbitMQ from Debian"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine has no package lists yet; only update when the first try fails.
	if ! apt-get install -y --no-install-recommends rabbitmq-server; then
		apt-get update
		apt-get install -y --no-install-recommends rabbitmq-server
	fi
	[[ -x "$BINDIR/rabbitmq-server" ]] || die "rabbitmq-server installed but $BINDIR/rabbitmq-server is missing"
}

# Runs a command as the user that owns the broker, from a directory that user can read, with the
# node's environment (DIR/env) and nothing of ours on fd 3: a broker started from here would
# otherwise inherit it and keep `$(rabbitmq.sh start DIR)` waiting forever.
as_owner() {
	local dir=$1
	shift
	local -a envv=()
	mapfile -t envv <"$dir/env"
	if [[ $EUID -eq 0 ]]; then
		(cd / && runuser -u rabbitmq -- env "${envv[@]}" "$@" 3>&-)
	else
		(cd / && env "${envv[@]}" "$@" 3>&-)
	fi
}

# A TCP port nothing listens on at the moment (the broker may still lose a race for it).
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' && return 0
	fi
	echo $((20000 + RANDOM % 40000))
}

port_open() {
	(exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The broker's Erlang VM PID when it is really alive (not a zombie) and is ours.
node_pid() {
	local dir=$1 pid
	[[ -f "$dir/pid" ]] || return 1
	pid=$(cat "$dir/pid" 2>/dev/null || true)
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[[ -r "/proc/$pid/status" ]] || return 1
	grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
	# The VM's command line does not name DIR; its environment does.
	tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx -- "RABBITMQ_PID_FILE=$dir/pid" || return 1
	echo "$pid"
}

check_ours() {
	local dir=$1
	if [[ -e "$dir" && ! -f "$dir/$MARKER" ]] && [[ -n "$(ls -A "$dir" 2>/dev/null)" ]]; then
		die "$dir exists, is not empty and was not created by rabbitmq.sh; refusing to touch it"
	fi
}

# Stops the node and its epmd, keeping DIR. Always leaves no process of ours behind.
halt_node() {
	local dir=$1 pid
	[[ -f "$dir/env" ]] || return 0
	local node
	node=$(cat "$dir/node")
	if pid=$(node_pid "$dir"); then
		# shutdown waits until the VM has exited; stop_app alone would leave it running.
		as_owner "$dir" "$BINDIR/rabbitmqctl" -n "$node" shutdown --timeout 60 >/dev/null 2>&1 || true
		for _ in $(seq 1 100); do
			node_pid "$dir" >/dev/null || break
			sleep 0.1
		done
		if node_pid "$dir" >/dev/null; then
			echo "rabbitmq.sh: node $node did not stop, killing it"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
		fi
	fi
	# Our private epmd outlives the node; it refuses -kill while a node is registered.
	as_owner "$dir" epmd -kill >/dev/null 2>&1 || true
	rm -f "$dir/pid"
}

cmd_halt() {
	local dir=$1
	[[ -e "$dir" ]] || die "no broker in $dir"
	check_ours "$dir"
	dir=$(cd "$dir" && pwd)
	halt_node "$dir"
	touch "$dir/halted"
	echo "rabbitmq.sh: broker in $dir halted"
}

cmd_stop() {
	local dir=$1
	[[ -e "$dir" ]] || return 0
	check_ours "$dir"
	dir=$(cd "$dir" && pwd)
	halt_node "$dir"
	rm -rf -- "$dir"
}

# Writes DIR/env and DIR/rabbitmq.conf for the given ports (a first start).
configure() {
	local dir=$1 amqp=$2 dist=$3 epmd=$4 pw=$5
	local node="ent-$amqp@localhost"
	echo "$node" >"$dir/node"
	echo "$amqp" >"$dir/port"
	# One VAR=value a line, read back by as_owner.
	cat >"$dir/env" <<-EOF
		HOME=$dir
		RABBITMQ_NODENAME=$node
		RABBITMQ_USE_LONGNAME=false
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
		RABBITMQ_NODE_PORT=$amqp
		RABBITMQ_DIST_PORT=$dist
		ERL_EPMD_PORT=$epmd
		ERL_EPMD_ADDRESS=127.0.0.1
		RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}
		RABBITMQ_CONF_ENV_FILE=$dir/rabbitmq-env.conf
		RABBITMQ_CONFIG_FILE=$dir/rabbitmq
		RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
		RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
		RABBITMQ_MNESIA_BASE=$dir/mnesia
		RABBITMQ_LOG_BASE=$dir/log
		RABBITMQ_PID_FILE=$dir/pid
	EOF
	: >"$dir/rabbitmq-env.conf"
	mkdir -p "$dir/log" "$dir/mnesia"
	echo '[].' >"$dir/enabled_plugins"
	# The password is written only here (mode 600) and in DIR/url.
	(
		umask 077
		cat >"$dir/rabbitmq.conf" <<-EOF
			# Written by tests/services/rabbitmq.sh.
			listeners.tcp.default = 127.0.0.1:$amqp
			default_user = ent
			default_pass = $pw
			default_vhost = /
			default_permissions.configure = .*
			default_permissions.read = .*
			default_permissions.write = .*
			loopback_users = none
			# A test machine's disk may be small: do not block publishers over free space.
			disk_free_limit.absolute = 1MB
			log.file.level = info
			log.console = false
		EOF
	)
}

# Starts the node configured in DIR and waits until it accepts AMQP connections. 0 when up.
boot_node() {
	local dir=$1 node port pid
	node=$(cat "$dir/node")
	port=$(cat "$dir/port")
	rm -f "$dir/pid" "$dir/halted"
	# setsid: the broker outlives this script. It must hold none of our caller's descriptors (a
	# pipe kept open would make `$(rabbitmq.sh start)` or a test runner wait for the broker's
	# end): stdio goes to the log, and every other inherited descriptor is closed, except 255,
	# bash's own handle on this script.
	(
		exec </dev/null >>"$dir/server.log" 2>&1
		for fd in "/proc/$BASHPID/fd/"*; do
			fd=${fd##*/}
			if [[ "$fd" =~ ^[0-9]+$ && $fd -gt 2 && $fd -ne 255 ]]; then
				eval "exec $fd>&-" 2>/dev/null || true
			fi
		done
		as_owner "$dir" setsid "$BINDIR/rabbitmq-server"
	) &
	# `wait PIDFILE` returns once the node has booted the rabbit application, or fails when the
	# node dies first.
	if ! as_owner "$dir" timeout "$START_TIMEOUT" "$BINDIR/rabbitmqctl" -n "$node" wait \
		--timeout "$START_TIMEOUT" "$dir/pid" >>"$dir/server.log" 2>&1; then
		return 1
	fi
	for _ in $(seq 1 100); do
		port_open "$port" && return 0
		node_pid "$dir" >/dev/null || return 1
		sleep 0.1
	done
	return 1
}

cmd_start() {
	local dir=$1
	check_ours "$dir"
	install_rabbitmq
	if [[ $EUID -eq 0 ]] && ! id rabbitmq >/dev/null 2>&1; then
		die "no 'rabbitmq' system user to run the broker as"
	fi
	command -v setsid >/dev/null || die "setsid (util-linux) is needed"

	if [[ -d "$dir" ]]; then
		dir=$(cd "$dir" && pwd)
		if node_pid "$dir" >/dev/null && [[ -s "$dir/url" ]] && port_open "$(cat "$dir/port")"; then
			echo "rabbitmq.sh: broker in $dir already running"
			cat "$dir/url" >&3
			return 0
		fi
		if [[ -f "$dir/halted" && -s "$dir/url" ]]; then
			# Same node, ports and data as before the halt.
			boot_node "$dir" || {
				tail -n 20 "$dir/server.log" || true
				die "the broker in $dir did not come back; see $dir/server.log and $dir/log"
			}
			echo "rabbitmq.sh: broker in $dir restarted on 127.0.0.1:$(cat "$dir/port")"
			cat "$dir/url" >&3
			return 0
		fi
	fi
	# Whatever is left there belongs to a dead broker: start over.
	cmd_stop "$dir"

	mkdir -p -- "$dir"
	dir=$(cd "$dir" && pwd)
	touch "$dir/$MARKER"
	chmod 700 "$dir"

	local pw
	pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	[[ ${#pw} -eq 32 ]] || die "could not generate a password"

	local amqp="" dist epmd try
	for try in $(seq 1 "$PORT_TRIES"); do
		amqp=$(free_port)
		dist=$(free_port)
		epmd=$(free_port)
		if [[ "$amqp" == "$dist" || "$amqp" == "$epmd" || "$dist" == "$epmd" ]]; then
			amqp=""
			continue
		fi
		configure "$dir" "$amqp" "$dist" "$epmd" "$pw"
		[[ $EUID -eq 0 ]] && chown -R rabbitmq:rabbitmq "$dir"
		if boot_node "$dir"; then
			break
		fi
		echo "rabbitmq.sh: broker did not start on port $amqp (try $try of $PORT_TRIES)"
		tail -n 20 "$dir/server.log" || true
		halt_node "$dir"
		rm -rf -- "$dir/mnesia" "$dir/log" "$dir/.erlang.cookie"
		amqp=""
	done
	[[ -n "$amqp" ]] || die "RabbitMQ did not start; see $dir/server.log and $dir/log"

	local url="amqp://ent:$pw@127.0.0.1:$amqp/%2f"
	(umask 077 && echo "$url" >"$dir/url")
	[[ $EUID -eq 0 ]] && chown rabbitmq:rabbitmq "$dir/url"
	echo "rabbitmq.sh: RabbitMQ node $(cat "$dir/node") on 127.0.0.1:$amqp, data in $dir/mnesia"
	echo "$url" >&3
}

# A virtual host of its own for one test (an isolated exchange and queues on the same broker).
cmd_vhost() {
	local dir=$1 name=$2
	[[ "$name" =~ ^[A-Za-z0-9_.-]{1,64}$ ]] || die "bad virtual host name: $name"
	[[ -f "$dir/$MARKER" && -s "$dir/url" ]] || die "no broker was started in $dir"
	dir=$(cd "$dir" && pwd)
	local node
	node=$(cat "$dir/node")
	as_owner "$dir" "$BINDIR/rabbitmqctl" -q -n "$node" add_vhost "$name" >/dev/null 2>&1 || true
	as_owner "$dir" "$BINDIR/rabbitmqctl" -q -n "$node" set_permissions -p "$name" ent '.*' '.*' '.*' >/dev/null ||
		die "cannot give ent the virtual host $name"
	local url
	url=$(cat "$dir/url")
	echo "${url%/*}/$name" >&3
}

cmd_restart() {
	local dir=$1
	[[ -f "$dir/$MARKER" && -s "$dir/url" ]] || die "no broker was started in $dir"
	cmd_halt "$dir"
	cmd_start "$dir"
}

[[ $# -ge 2 && -n "$2" ]] || usage
[[ $# -eq 2 || ( $# -eq 3 && "$1" == vhost ) ]] || usage
case "$1" in
start) cmd_start "$2" ;;
vhost) [[ $# -eq 3 ]] || usage; cmd_vhost "$2" "$3" ;;
halt) cmd_halt "$2" ;;
restart) cmd_restart "$2" ;;
stop) cmd_stop "$2" ;;
*) usage ;;
esac
