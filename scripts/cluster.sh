#!/usr/bin/env bash
# A Switchboard cluster as processes on loopback, without Docker: a NATS
# server, a Redis server, N edges, HAProxy in front of them and the example
# chat service (examples/chat).
#
#   scripts/cluster.sh up [N]             build, start everything (N edges, default 3), wait until ready
#   scripts/cluster.sh status             each process alive or dead, and ready or not
#   scripts/cluster.sh down               stop what 'up' started (its own processes only)
#   scripts/cluster.sh logs [NAME]        follow the logs (nats, redis, edge1..edgeN, chat, haproxy)
#   scripts/cluster.sh haproxy-config [N] print the HAProxy configuration 'up' writes
#
# Settings, from the environment (the defaults keep clear of a NATS on 4222
# or a Redis on 6379 that the machine may run):
#
#   SWITCHBOARD_CLUSTER_DIR           /tmp/switchboard-cluster  state: bin/, run/ (pid files), logs/, haproxy.cfg
#   SWITCHBOARD_CLUSTER_HOST          127.0.0.1   the address every process listens on
#   SWITCHBOARD_CLUSTER_LB_PORT       3000        HAProxy: Socket.IO for the clients
#   SWITCHBOARD_CLUSTER_MONITOR_PORT  8404        HAProxy: /healthz and /stats
#   SWITCHBOARD_CLUSTER_EDGE_PORT     3001        Socket.IO of edge 1; edge i listens on EDGE_PORT+i-1
#   SWITCHBOARD_CLUSTER_ADMIN_PORT    9101        /healthz, /readyz, /metrics of edge 1; edge i: ADMIN_PORT+i-1
#   SWITCHBOARD_CLUSTER_NATS_PORT     14222
#   SWITCHBOARD_CLUSTER_REDIS_PORT    16379
#   SWITCHBOARD_CLUSTER_ADAPTER_ARGS  "--adapter redis --presence redis --redis-url redis://HOST:REDIS_PORT"
#   SWITCHBOARD_CLUSTER_EDGE_ARGS     ""          more flags for every edge, e.g. "--recovery --log-level debug"
#   SWITCHBOARD_CLUSTER_HAPROXY       haproxy     the HAProxy binary; "none": no load balancer
#   SWITCHBOARD_CLUSTER_NATS_SERVER   nats-server the NATS server binary; when not installed, the
#                                                 nats-server version of go.mod is built instead
#   SWITCHBOARD_CLUSTER_CHAT          1           0: no chat service
#   SWITCHBOARD_CLUSTER_TIMEOUT       30          seconds 'up' waits for each process to be ready
#
# 'up' refuses to start when a port is taken, and stops everything again when
# a process does not get ready (its log is printed). 'status' and 'down' use
# what 'up' recorded in the state directory, whatever the environment says
# then. Needs bash, go, redis-server; HAProxy 2.6 or later for the load
# balancer (without it the edges are used directly).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${SWITCHBOARD_CLUSTER_DIR:-/tmp/switchboard-cluster}
BIN=$DIR/bin
RUN=$DIR/run
LOGS=$DIR/logs
ENVFILE=$DIR/cluster.env

die() { echo "cluster.sh: $*" >&2; exit 1; }
say() { echo "cluster.sh: $*" >&2; }

# settings reads the settings from the environment, with their defaults.
settings() {
	HOST=${SWITCHBOARD_CLUSTER_HOST:-127.0.0.1}
	LB_PORT=${SWITCHBOARD_CLUSTER_LB_PORT:-3000}
	MONITOR_PORT=${SWITCHBOARD_CLUSTER_MONITOR_PORT:-8404}
	EDGE_PORT=${SWITCHBOARD_CLUSTER_EDGE_PORT:-3001}
	ADMIN_PORT=${SWITCHBOARD_CLUSTER_ADMIN_PORT:-9101}
	NATS_PORT=${SWITCHBOARD_CLUSTER_NATS_PORT:-14222}
	REDIS_PORT=${SWITCHBOARD_CLUSTER_REDIS_PORT:-16379}
	ADAPTER_ARGS=${SWITCHBOARD_CLUSTER_ADAPTER_ARGS-"--adapter redis --presence redis --redis-url redis://$HOST:$REDIS_PORT"}
	EDGE_ARGS=${SWITCHBOARD_CLUSTER_EDGE_ARGS:-}
	HAPROXY=${SWITCHBOARD_CLUSTER_HAPROXY:-haproxy}
	NATS_SERVER=${SWITCHBOARD_CLUSTER_NATS_SERVER:-nats-server}
	CHAT=${SWITCHBOARD_CLUSTER_CHAT:-1}
	TIMEOUT=${SWITCHBOARD_CLUSTER_TIMEOUT:-30}
	for v in LB_PORT MONITOR_PORT EDGE_PORT ADMIN_PORT NATS_PORT REDIS_PORT TIMEOUT; do
		[[ ${!v} =~ ^[0-9]+$ ]] || die "SWITCHBOARD_CLUSTER_$v must be a number, not '${!v}'"
	done
}

# --- processes --------------------------------------------------------------

# starttime prints when process $1 started (to tell it from a later process
# that reuses its pid); nothing when there is no such process.
starttime() {
	local stat
	if [[ -r /proc/$1/stat ]]; then
		stat=$(</proc/"$1"/stat) 2>/dev/null || return 0
		stat=${stat##*) } # the fields after "(comm)": state is the 1st, starttime the 20th
		# shellcheck disable=SC2086
		set -- $stat
		[[ $1 == Z ]] || echo "${20}" # a zombie has exited
	else
		ps -o lstart= -p "$1" 2>/dev/null | tr -s ' ' '_' || true
	fi
}

# launch NAME CMD...: starts CMD in the background with its output in
# logs/NAME.log, and records its pid and start time in run/NAME.pid.
launch() {
	local name=$1
	shift
	echo "$*" >"$RUN/$name.cmd"
	"$@" </dev/null >"$LOGS/$name.log" 2>&1 9>&- &
	local pid=$!
	echo "$pid $(starttime "$pid")" >"$RUN/$name.pid"
}

# pidof_ NAME prints the pid of NAME if that very process still runs.
pidof_() {
	local f=$RUN/$1.pid pid start
	[[ -f $f ]] || return 1
	read -r pid start <"$f" || return 1
	[[ -n ${start:-} && $(starttime "$pid") == "$start" ]] || return 1
	echo "$pid"
}

# names lists the recorded processes in start order.
names() {
	local n
	for n in nats redis $(recorded_edges) chat haproxy; do
		[[ -f $RUN/$n.pid ]] && echo "$n"
	done
	return 0
}

recorded_edges() {
	local f
	for f in "$RUN"/edge*.pid; do
		[[ -f $f ]] && basename "$f" .pid
	done | sort -V
}

# stop NAME...: SIGTERM to each one still running, then wait for them all
# (SIGKILL after 20 s); removes their pid files.
stop() {
	local n p pid pids=() deadline
	for n in "$@"; do
		if pid=$(pidof_ "$n"); then
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$n:$pid")
		fi
	done
	deadline=$((SECONDS + 20))
	for p in "${pids[@]+"${pids[@]}"}"; do
		n=${p%%:*}
		while pidof_ "$n" >/dev/null; do
			if ((SECONDS >= deadline)); then
				say "$n (pid ${p#*:}) did not stop in 20 s: SIGKILL"
				kill -KILL "${p#*:}" 2>/dev/null || true
				sleep 0.2
				break
			fi
			sleep 0.1
		done
	done
	for n in "$@"; do rm -f "$RUN/$n.pid" "$RUN/$n.cmd"; done
}

stop_all() {
	local all
	all=$(names | tr '\n' ' ')
	[[ -n $all ]] || return 0
	# The load balancer and the service first, then the edges (together:
	# each drains), then what the edges use.
	stop haproxy chat
	# shellcheck disable=SC2046
	stop $(recorded_edges)
	stop redis
	stop nats
}

# --- probes -----------------------------------------------------------------

port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# http_get HOST PORT PATH: prints the status code, a newline and the body.
http_get() {
	local resp
	resp=$( (exec 3<>"/dev/tcp/$1/$2" && printf 'GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n' "$3" "$1" "$2" >&3 && timeout 3 cat <&3) 2>/dev/null) || return 1
	local status=${resp%%$'\r'*}
	status=${status#* }
	echo "${status%% *}"
	echo "${resp#*$'\r\n\r\n'}"
}

http_status() { http_get "$@" | head -n1; }

redis_ping() {
	local line
	line=$( (exec 3<>"/dev/tcp/$1/$2" && printf 'PING\r\n' >&3 && timeout 2 head -n1 <&3) 2>/dev/null) || return 1
	[[ ${line%$'\r'} == +PONG ]]
}

# haproxy_up prints how many servers of backend "edges" HAProxy has UP.
haproxy_up() {
	http_get "$HOST" "$MONITOR_PORT" "/stats;csv" 2>/dev/null | awk -F, '
		$1 == "edges" && $2 != "BACKEND" && $2 != "FRONTEND" && $18 ~ /^UP/ { n++ }
		END { print n + 0 }'
}

edge_ready() { [[ $(http_status "$HOST" $((ADMIN_PORT + $1 - 1)) /readyz 2>/dev/null) == 200 ]]; }

chat_ready() { grep -qx READY "$LOGS/chat.log" 2>/dev/null; }

# wait_for NAME CHECK...: waits until CHECK succeeds, failing when NAME exits
# or TIMEOUT passes; on failure everything is stopped.
wait_for() {
	local name=$1
	shift
	local deadline=$((SECONDS + TIMEOUT))
	until "$@"; do
		if ! pidof_ "$name" >/dev/null; then
			fail "$name exited"
		fi
		if ((SECONDS >= deadline)); then
			fail "$name not ready after ${TIMEOUT}s"
		fi
		sleep 0.1
	done
}

# fail MESSAGE: prints MESSAGE and the end of the log of $name (wait_for's),
# then exits (the EXIT trap of cmd_up stops everything).
fail() {
	say "$1; the end of its log ($LOGS/$name.log):"
	tail -n 30 "$LOGS/$name.log" >&2 || true
	exit 1
}

# --- HAProxy configuration ---------------------------------------------------

haproxy_config() {
	local n=$1 i servers=""
	for ((i = 1; i <= n; i++)); do
		servers+="    server edge$i $HOST:$((EDGE_PORT + i - 1)) check port $((ADMIN_PORT + i - 1))"$'\n'
	done
	SERVERS=${servers%$'\n'} awk -v lb="$HOST:$LB_PORT" -v mon="$HOST:$MONITOR_PORT" '
		$0 == "@SERVERS@" { print ENVIRON["SERVERS"]; next }
		{ gsub(/@LB_ADDR@/, lb); gsub(/@MONITOR_ADDR@/, mon); print }
	' "$ROOT/deploy/haproxy/cluster.cfg.in"
}

# --- commands ----------------------------------------------------------------

lock() {
	mkdir -p "$DIR"
	if command -v flock >/dev/null 2>&1; then
		exec 9>"$DIR/.lock"
		flock -w 60 9 || die "another cluster.sh holds $DIR/.lock"
	fi
}

cmd_up() {
	local n=${1:-3}
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "up: the number of edges must be a positive integer, not '$n'"
	settings
	lock
	mkdir -p "$BIN" "$RUN" "$LOGS" "$DIR/redis"

	local running
	running=$(names)
	if [[ -n $running ]]; then
		local alive=0 total=0 r
		load_settings || true # the ports of the recorded cluster
		for r in $running; do
			total=$((total + 1))
			pidof_ "$r" >/dev/null && alive=$((alive + 1))
		done
		if ((alive == 0)); then
			say "removing the records of a cluster that is no longer running"
			stop_all
			settings
		elif ((alive == total)) && [[ $(recorded_edges | wc -l) -eq $n ]]; then
			say "already running"
			print_urls "$n"
			return 0
		else
			status_table >&2 || true
			die "a cluster is already running in $DIR ($alive of $total processes alive); run 'scripts/cluster.sh down' first"
		fi
	fi

	local lb=1
	if [[ $HAPROXY == none ]]; then
		lb=0
	elif ! command -v "$HAPROXY" >/dev/null 2>&1; then
		say "HAProxy ($HAPROXY) not found: no load balancer, use the edges directly (apt-get install haproxy)"
		lb=0
	fi
	command -v redis-server >/dev/null 2>&1 || die "redis-server not found (apt-get install redis-server)"

	# Every port must be free before anything starts.
	local ports=("NATS_PORT:$NATS_PORT" "REDIS_PORT:$REDIS_PORT") i p
	for ((i = 0; i < n; i++)); do
		ports+=("EDGE_PORT+$i:$((EDGE_PORT + i))" "ADMIN_PORT+$i:$((ADMIN_PORT + i))")
	done
	((lb)) && ports+=("LB_PORT:$LB_PORT" "MONITOR_PORT:$MONITOR_PORT")
	local seen=" "
	for p in "${ports[@]}"; do
		[[ $seen == *" ${p#*:} "* ]] && die "port ${p#*:} is given twice (SWITCHBOARD_CLUSTER_${p%%:*} and another setting)"
		seen+="${p#*:} "
		port_busy "$HOST" "${p#*:}" && die "port ${p#*:} on $HOST is taken (SWITCHBOARD_CLUSTER_${p%%:*}; set another port)"
	done

	# Build.
	say "building into $BIN"
	(cd "$ROOT" && go build -o "$BIN/switchboard" ./cmd/switchboard && go build -o "$BIN/chat" ./examples/chat) ||
		die "go build failed"
	local nats_bin
	if nats_bin=$(command -v "$NATS_SERVER" 2>/dev/null); then
		:
	else
		say "$NATS_SERVER not found: building the nats-server of go.mod"
		(cd "$ROOT" && go build -o "$BIN/nats-server" github.com/nats-io/nats-server/v2) || die "go build nats-server failed"
		nats_bin=$BIN/nats-server
	fi
	if ((lb)); then
		haproxy_config "$n" >"$DIR/haproxy.cfg"
		"$HAPROXY" -c -q -f "$DIR/haproxy.cfg" || die "HAProxy rejects $DIR/haproxy.cfg (HAProxy 2.6 or later is needed)"
	fi

	# The settings in force, for status and down.
	{
		printf 'HOST=%q\nLB_PORT=%q\nMONITOR_PORT=%q\nEDGE_PORT=%q\n' "$HOST" "$LB_PORT" "$MONITOR_PORT" "$EDGE_PORT"
		printf 'ADMIN_PORT=%q\nNATS_PORT=%q\nREDIS_PORT=%q\nLB=%q\nCHAT=%q\n' "$ADMIN_PORT" "$NATS_PORT" "$REDIS_PORT" "$lb" "$CHAT"
	} >"$ENVFILE"

	# From here on, a failure stops whatever was started.
	trap 'rc=$?; if ((rc != 0)); then say "stopping everything"; stop_all; fi' EXIT
	trap 'exit 130' INT TERM
	launch nats "$nats_bin" -a "$HOST" -p "$NATS_PORT"
	wait_for nats port_busy "$HOST" "$NATS_PORT"

	launch redis redis-server --bind "$HOST" --port "$REDIS_PORT" --save "" --appendonly no \
		--dir "$DIR/redis" --daemonize no --logfile ""
	wait_for redis redis_ping "$HOST" "$REDIS_PORT"

	local adapter_args edge_args
	read -r -a adapter_args <<<"$ADAPTER_ARGS"
	read -r -a edge_args <<<"$EDGE_ARGS"
	for ((i = 1; i <= n; i++)); do
		launch "edge$i" "$BIN/switchboard" edge \
			--addr "$HOST:$((EDGE_PORT + i - 1))" --admin-addr "$HOST:$((ADMIN_PORT + i - 1))" \
			--nats-url "nats://$HOST:$NATS_PORT" "${adapter_args[@]+"${adapter_args[@]}"}" \
			--node-id "edge$i" --namespace /chat --demo-handlers --drain-delay 2s \
			"${edge_args[@]+"${edge_args[@]}"}"
	done
	for ((i = 1; i <= n; i++)); do
		wait_for "edge$i" edge_ready "$i"
	done

	if [[ $CHAT == 1 ]]; then
		launch chat "$BIN/chat" --nats-url "nats://$HOST:$NATS_PORT" --ns /chat
		wait_for chat chat_ready
	fi

	if ((lb)); then
		launch haproxy "$HAPROXY" -db -f "$DIR/haproxy.cfg"
		haproxy_all_up() { [[ $(haproxy_up) == "$n" ]]; }
		wait_for haproxy haproxy_all_up
	fi
	trap - EXIT INT TERM
	LB=$lb
	print_urls "$n"
}

load_settings() {
	[[ -f $ENVFILE ]] || return 1
	# shellcheck disable=SC1090
	source "$ENVFILE"
}

print_urls() {
	local n=$1 i
	local plural=s
	((n == 1)) && plural=""
	echo "Switchboard cluster: $n edge$plural, state in $DIR"
	if [[ ${LB:-0} == 1 ]]; then
		echo "  Socket.IO (HAProxy)  http://$HOST:$LB_PORT/socket.io/"
		echo "  HAProxy              http://$HOST:$MONITOR_PORT/healthz  http://$HOST:$MONITOR_PORT/stats"
	fi
	for ((i = 1; i <= n; i++)); do
		printf '  %-20s http://%s:%d/socket.io/  http://%s:%d/readyz\n' "edge$i" "$HOST" $((EDGE_PORT + i - 1)) "$HOST" $((ADMIN_PORT + i - 1))
	done
	echo "  NATS                 nats://$HOST:$NATS_PORT"
	echo "  Redis                redis://$HOST:$REDIS_PORT"
	[[ ${CHAT:-0} == 1 ]] && echo "  chat service         namespace /chat (examples/chat)"
	echo "Logs in $LOGS; stop with: scripts/cluster.sh down"
}

# status_table prints one line per recorded process; fails when one is dead
# or not ready.
status_table() {
	local ok=0 n pid state detail
	printf '%-8s %-8s %-6s %s\n' NAME PID STATE DETAIL
	for n in $(names); do
		detail=""
		if pid=$(pidof_ "$n"); then
			state=alive
			case $n in
			nats)
				if port_busy "$HOST" "$NATS_PORT"; then detail="nats://$HOST:$NATS_PORT"; else detail="not accepting connections"; ok=1; fi
				;;
			redis)
				if redis_ping "$HOST" "$REDIS_PORT"; then detail="PONG from redis://$HOST:$REDIS_PORT"; else detail="no PONG"; ok=1; fi
				;;
			edge*)
				local i=${n#edge} code
				code=$(http_status "$HOST" $((ADMIN_PORT + i - 1)) /readyz 2>/dev/null || true)
				if [[ $code == 200 ]]; then detail="ready"; else detail="not ready (/readyz: ${code:-no answer})"; ok=1; fi
				detail+=" http://$HOST:$((EDGE_PORT + i - 1))/socket.io/"
				;;
			chat)
				if chat_ready; then detail="READY"; else detail="not ready"; ok=1; fi
				;;
			haproxy)
				local up total
				up=$(haproxy_up)
				total=$(recorded_edges | wc -l)
				detail="$up/$total edges UP, http://$HOST:$LB_PORT/socket.io/"
				[[ $up == "$total" ]] || ok=1
				;;
			esac
		else
			read -r pid _ <"$RUN/$n.pid" || pid=-
			state=dead
			detail="see $LOGS/$n.log"
			ok=1
		fi
		printf '%-8s %-8s %-6s %s\n' "$n" "$pid" "$state" "$detail"
	done
	return $ok
}

cmd_status() {
	settings
	if [[ -z $(names 2>/dev/null) ]]; then
		echo "not running (state directory $DIR)"
		exit 3
	fi
	load_settings || true
	status_table
}

cmd_down() {
	settings
	lock
	if [[ -z $(names) ]]; then
		echo "not running (state directory $DIR)"
		return 0
	fi
	load_settings || true
	stop_all
	echo "stopped; logs kept in $LOGS"
}

cmd_logs() {
	settings
	if [[ $# -gt 0 ]]; then
		[[ -f $LOGS/$1.log ]] || die "no log $LOGS/$1.log"
		exec tail -n 50 -F "$LOGS/$1.log"
	fi
	exec tail -n 10 -F "$LOGS"/*.log
}

usage() {
	sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	echo "Settings: see the top of scripts/cluster.sh."
}

case ${1:-} in
up) shift; cmd_up "$@" ;;
status) cmd_status ;;
down) cmd_down ;;
logs) shift; cmd_logs "$@" ;;
haproxy-config) shift; settings; haproxy_config "${1:-3}" ;;
-h | --help | help) usage ;;
*) usage >&2; exit 2 ;;
esac
