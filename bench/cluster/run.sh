#!/usr/bin/env bash
# run.sh: a real multi-process Rallypoint cluster on this machine's loopback, under load,
# with one node killed mid-run (issue 13). For each game (600 shooter bots, then 3,000
# crossword bots, all joining through node A only):
#
#   1. alone:   one gameserver, no NATS; loadgen; the server's CPU and bytes written per
#               player over the first KILL_AT seconds of the measured window;
#   2. cluster: node A (-nats-listen: NATS inside it; -node-max-players CAP, so that it
#               keeps room for first requests), nodes B and C (-nats); loadgen -rejoin
#               through A; the same window's CPU and bytes, summed over the three; then
#               SIGKILL to the node holding the most bots (not A: it is NATS and the entry),
#               and loadgen's count of the bots affected and how soon each played again.
#
# Usage: bench/cluster/run.sh [-shooter N] [-crossword N] [-duration S] [-kill-at S] [-cap N]
# Defaults: 600, 3000, 40 s measured, the kill 15 s into the measured window, cap 100.
# Prints loadgen's reports, a table per game, and last one line per game:
#
#   game=G players=N alone_cpu_ms_per_player_s=.. cluster_cpu_ms_per_player_s=.. cpu_ratio=..
#     alone_bytes_per_player_s=.. cluster_bytes_per_player_s=.. bytes_ratio=.. nodes=..
#     redirects=.. errors_before_kill=.. killed=.. affected=.. back_p50_ms=.. back_p99_ms=..
#     back_max_ms=.. lost=..
#
# Needs go and curl. Logs are kept in a temp directory when a run fails (or KEEP=1).
set -euo pipefail

shooter=600
crossword=3000
duration=40
kill_at=15
cap=100
while [ $# -gt 0 ]; do
	case "$1" in
	-shooter) shooter="${2:?}"; shift 2 ;;
	-crossword) crossword="${2:?}"; shift 2 ;;
	-duration) duration="${2%s}"; shift 2 ;;
	-kill-at) kill_at="${2%s}"; shift 2 ;;
	-cap) cap="${2:?}"; shift 2 ;;
	-h | -help | --help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (see run.sh -help)" >&2; exit 2 ;;
	esac
done
for v in shooter crossword duration kill_at cap; do
	[[ "${!v}" =~ ^[0-9]+$ ]] || { echo "run.sh: -${v//_/-} must be a whole number, not ${!v}" >&2; exit 2; }
done
[ "$kill_at" -lt "$duration" ] || { echo "run.sh: -kill-at must fall inside -duration" >&2; exit 2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
pids=()
keep="${KEEP:-0}"
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$keep" = 1 ]; then echo "run.sh: logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'keep=1; exit 1' INT TERM
die() {
	keep=1
	echo "run.sh: $*" >&2
	exit 1
}

command -v go >/dev/null || die "go is not installed"
[ -r /proc/self/io ] || die "/proc/PID/io is not readable here: the byte counts need it"
clk_tck="$(getconf CLK_TCK)"

echo "run.sh: building cmd/gameserver and cmd/loadgen" >&2
(cd "$root" && go build -o "$work/bin/" ./cmd/gameserver ./cmd/loadgen) || die "go build failed"
gs="$work/bin/gameserver"
lg="$work/bin/loadgen"

# free_port prints a TCP port free on 127.0.0.1 now (bash only: bind by connecting nowhere
# is not possible, so try random ports until one refuses a connection). The ports are drawn
# below the kernel's ephemeral range: a port there may be the local end of some outgoing
# connection (the load generator makes thousands), which refuses a connection and yet
# cannot be bound, as a first trial found.
eph_low="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
[ "$eph_low" -gt 11000 ] || eph_low=32768
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % (eph_low - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# wait_http waits until GET http://$1$2 answers and its body contains $3.
wait_http() {
	for _ in $(seq 1 200); do
		if body="$(curl -fsS "http://$1$2" 2>/dev/null)" && [[ "$body" == *"$3"* ]]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
command -v curl >/dev/null || die "curl is not installed"

# cpu_ticks PID...: user+system clock ticks of the processes, summed.
cpu_ticks() {
	local sum=0 p
	for p in "$@"; do
		# Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
		read -r -a f <<<"$(sed 's/^.*) //' "/proc/$p/stat")"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}

# wchar PID...: bytes the processes wrote (sockets, NATS and JetStream files, logs), summed.
wchar() {
	local sum=0 p
	for p in "$@"; do
		sum=$((sum + $(awk '/^wchar:/ {print $2}' "/proc/$p/io")))
	done
	echo "$sum"
}

# players ADDR: the rallypoint_players gauge of the node at ADDR (0 if it does not answer).
players() {
	curl -fsS "http://$1/metrics" 2>/dev/null | awk '/^rallypoint_players / {print $2; found=1} END {if (!found) print 0}'
}

declare -A node_pid node_addr
# start_node ID ARGS...: a gameserver node on a free port.
# A port taken between free_port and the bind (another job on the machine) is tried again.
start_node() {
	local id="$1"
	shift
	local port try
	for try in 1 2 3 4 5; do
		port="$(free_port)"
		"$gs" -addr "127.0.0.1:$port" -node-id "$id" -drain 1s "$@" >>"$work/node-$id.log" 2>&1 &
		node_pid[$id]=$!
		node_addr[$id]="127.0.0.1:$port"
		pids+=("$!")
		wait_http "127.0.0.1:$port" /healthz "" && return 0
		kill -0 "${node_pid[$id]}" 2>/dev/null && break # running, yet not answering
		grep -q "address already in use" "$work/node-$id.log" || break
		echo "run.sh: node $id: port $port was taken; another (try $try)" >&2
	done
	die "node $id did not start: $(tail -n 5 "$work/node-$id.log")"
}

# stop_all stops every node started (SIGTERM, then waits).
stop_all() {
	local id
	for id in "${!node_pid[@]}"; do kill "${node_pid[$id]}" 2>/dev/null || true; done
	for id in "${!node_pid[@]}"; do wait "${node_pid[$id]}" 2>/dev/null || true; done
	node_pid=()
	node_addr=()
}

# await_measure FILE PID: waits until loadgen's progress (FILE) enters its measured phase.
await_measure() {
	for _ in $(seq 1 1800); do
		grep -q ' measure ' "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# run_loadgen NAME GAME N ARGS...: loadgen in the background; its pid in lg_pid.
run_loadgen() {
	local name="$1" game="$2" n="$3"
	shift 3
	"$lg" -game "$game" -players "$n" -duration "${duration}s" -concurrency 128 -join-timeout 30s "$@" \
		>"$work/$name.out" 2>"$work/$name.err" &
	lg_pid=$!
	pids+=("$lg_pid")
	await_measure "$work/$name.err" "$lg_pid" || die "$name: loadgen never reached its measured phase: $(tail -n 5 "$work/$name.err" "$work/$name.out")"
}

# field LINE KEY: the value of KEY=... in a summary line ("" if absent).
field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print substr($0, length(k) + 2)}'; }

# per_player_s TICKS_OR_BYTES PLAYERS SECONDS [SCALE]: a cost per player-second.
per_player_s() { awk -v v="$1" -v n="$2" -v s="$3" -v k="${4:-1}" 'BEGIN {printf "%.3f", v * k / n / s}'; }

lines=()
for game in shooter crossword; do
	n="${!game}"
	[ "$n" -gt 0 ] || continue
	echo "run.sh: === $game, $n bots ===" >&2

	# 1. One node alone.
	start_node alone
	run_loadgen "$game-alone" "$game" "$n" -url "ws://${node_addr[alone]}"
	p="${node_pid[alone]}"
	c0="$(cpu_ticks "$p")"; b0="$(wchar "$p")"; t0="$(date +%s.%N)"
	sleep "$kill_at"
	c1="$(cpu_ticks "$p")"; b1="$(wchar "$p")"; t1="$(date +%s.%N)"
	wait "$lg_pid" || true
	alone_summary="$(tail -n 1 "$work/$game-alone.out")"
	secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
	alone_cpu="$(per_player_s $((c1 - c0)) "$n" "$secs" "$(awk -v t="$clk_tck" 'BEGIN {print 1000 / t}')")"
	alone_bytes="$(per_player_s $((b1 - b0)) "$n" "$secs")"
	stop_all
	echo "run.sh: $game alone: $alone_summary" >&2

	# 2. Three nodes; loadgen through A only, with -rejoin; a node killed mid-run.
	nats_port="$(free_port)"
	start_node a -nats-listen "127.0.0.1:$nats_port" -nats-dir "$work/nats" -node-max-players "$cap"
	start_node b -nats "nats://127.0.0.1:$nats_port"
	start_node c -nats "nats://127.0.0.1:$nats_port"
	for id in a b c; do
		wait_http "${node_addr[$id]}" /metrics "rallypoint_cluster_nodes 3" || die "node $id never saw three nodes"
	done
	run_loadgen "$game-cluster" "$game" "$n" -url "ws://${node_addr[a]}" -rejoin
	ps=("${node_pid[a]}" "${node_pid[b]}" "${node_pid[c]}")
	c0="$(cpu_ticks "${ps[@]}")"; b0="$(wchar "${ps[@]}")"; t0="$(date +%s.%N)"
	sleep "$kill_at"
	c1="$(cpu_ticks "${ps[@]}")"; b1="$(wchar "${ps[@]}")"; t1="$(date +%s.%N)"
	secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
	cluster_cpu="$(per_player_s $((c1 - c0)) "$n" "$secs" "$(awk -v t="$clk_tck" 'BEGIN {print 1000 / t}')")"
	cluster_bytes="$(per_player_s $((b1 - b0)) "$n" "$secs")"
	# The victim: the node other than A with the most players.
	victim="" most=-1
	for id in b c; do
		np="$(players "${node_addr[$id]}")"
		echo "run.sh: node $id holds $np players" >&2
		if [ "${np%.*}" -gt "$most" ]; then victim="$id" most="${np%.*}"; fi
	done
	echo "run.sh: node a holds $(players "${node_addr[a]}") players" >&2
	before="$(grep ' measure ' "$work/$game-cluster.err" | tail -n 1)"
	errors_before="$(field "$before" errors)"
	echo "run.sh: last progress before the kill: $before" >&2
	echo "run.sh: SIGKILL to node $victim (pid ${node_pid[$victim]}, $most players)" >&2
	kill -9 "${node_pid[$victim]}"
	wait "${node_pid[$victim]}" 2>/dev/null || true
	wait "$lg_pid" || true
	cluster_summary="$(tail -n 1 "$work/$game-cluster.out")"
	echo "run.sh: $game cluster report:" >&2
	cat "$work/$game-cluster.out" >&2
	stop_all

	line="game=$game players=$n"
	line+=" alone_cpu_ms_per_player_s=$alone_cpu cluster_cpu_ms_per_player_s=$cluster_cpu"
	line+=" cpu_ratio=$(awk -v a="$alone_cpu" -v c="$cluster_cpu" 'BEGIN {printf "%.3f", c / a}')"
	line+=" alone_bytes_per_player_s=$alone_bytes cluster_bytes_per_player_s=$cluster_bytes"
	line+=" bytes_ratio=$(awk -v a="$alone_bytes" -v c="$cluster_bytes" 'BEGIN {printf "%.3f", c / a}')"
	line+=" nodes=$(field "$cluster_summary" nodes) redirects=$(field "$cluster_summary" redirects)"
	line+=" errors_before_kill=$errors_before killed=$victim victim_players=$most"
	for k in affected resumed rejoined lost back_p50_ms back_p99_ms back_max_ms errors; do
		line+=" $k=$(field "$cluster_summary" "$k")"
	done
	line+=" alone_errors=$(field "$alone_summary" errors)"
	lines+=("$line")
done

for l in "${lines[@]}"; do echo "$l"; done
