#!/usr/bin/env bash
# run.sh runs the same shooter load against Rallypoint and against Colyseus on this
# machine's loopback, in rounds that alternate which side goes first (A B, B A, A B, ...),
# and compares the two SERVER processes: CPU seconds per player-second and bytes sent per
# player per second (as the load tools received them: the server's wchar misses io_uring's
# sends). Its last line is
#
#	cpu_ratio=X bytes_ratio=Y cpu_ratio_spread=A..B bytes_ratio_spread=C..D rounds=N other_cpu_pct=E..F
#
# the ratio of the two sides' medians over the rounds, Rallypoint's divided by Colyseus's
# (below 1: Rallypoint spends less), the smallest and largest per-round ratio, the rounds,
# and the range of the machine's other load over the measured windows (report.mjs).
#
# Usage: bench/colyseus/run.sh [-players N] [-duration D] [-concurrency C] [-rounds R] [-rp-input-batch B]
#        [-rp-read-on-arrival]
# Defaults: 160 players, 30 s per side and round (D in whole seconds, "30" or "30s"), at
# most 256 joins in flight at once for both load tools (their own default; joins happen
# before the measured window), 3 rounds. It needs go, node (20 or later) and npm; it runs
# `npm ci` here when node_modules is missing, and installs nothing else. README.md explains
# what is measured and how the two sides are kept equivalent. -rp-input-batch B (default 1)
# has Rallypoint's bots send their inputs B to a message, as the SDK's inputRate does; the
# Colyseus bots send one message per input either way (the stock SDK has no batching), so
# such a run measures that feature, not the two servers on equal terms, and says so.
# -rp-read-on-arrival runs the gameserver with -shooter-read-on-arrival: its rooms read each
# input as it arrives, as Colyseus does, instead of at their tick (pings answered at once).
set -euo pipefail

players=160
duration=30
concurrency=256
rounds=3
rp_input_batch=1
rp_server_flags=()
while [ $# -gt 0 ]; do
	case "$1" in
	-players | --players) players="${2:?-players needs a value}"; shift 2 ;;
	-duration | --duration) duration="${2:?-duration needs a value}"; shift 2 ;;
	-concurrency | --concurrency) concurrency="${2:?-concurrency needs a value}"; shift 2 ;;
	-rounds | --rounds) rounds="${2:?-rounds needs a value}"; shift 2 ;;
	-rp-input-batch | --rp-input-batch) rp_input_batch="${2:?-rp-input-batch needs a value}"; shift 2 ;;
	-rp-read-on-arrival | --rp-read-on-arrival) rp_server_flags=(-shooter-read-on-arrival); shift ;;
	-h | -help | --help) sed -n '2,24p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (usage: run.sh [-players N] [-duration D] [-concurrency C] [-rounds R] [-rp-input-batch B] [-rp-read-on-arrival])" >&2; exit 2 ;;
	esac
done
duration="${duration%s}"
if ! [[ "$players" =~ ^[1-9][0-9]*$ ]]; then
	echo "run.sh: -players must be a positive integer, not $players" >&2
	exit 2
fi
if ! [[ "$concurrency" =~ ^[1-9][0-9]*$ ]]; then
	echo "run.sh: -concurrency must be a positive integer, not $concurrency" >&2
	exit 2
fi
if ! [[ "$rp_input_batch" =~ ^[1-8]$ ]]; then
	echo "run.sh: -rp-input-batch must be 1 to 8, not $rp_input_batch" >&2
	exit 2
fi
if [ "$rp_input_batch" != 1 ]; then
	echo "run.sh: Rallypoint's bots send their inputs $rp_input_batch to a message (-rp-input-batch); Colyseus's one per message" >&2
fi
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
	echo "run.sh: -rounds must be a positive integer, not $rounds" >&2
	exit 2
fi
if ! [[ "$duration" =~ ^[0-9]+$ ]] || [ "$duration" -lt 3 ]; then
	echo "run.sh: -duration must be a whole number of seconds, at least 3, not $duration" >&2
	exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

die() {
	echo "run.sh: $*" >&2
	exit 1
}

for tool in go node npm getconf; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old: Colyseus 0.18 needs 20 or later"
for dir in cmd/gameserver cmd/loadgen examples/shooter; do
	[ -d "$root/$dir" ] || die "$dir is missing: the Rallypoint side needs it"
done
[ -r /proc/self/io ] || die "/proc/PID/io is not readable here: the byte counts need it"

if [ ! -d "$here/node_modules" ]; then
	echo "run.sh: installing the Colyseus side (npm ci)" >&2
	(cd "$here" && npm ci --no-audit --no-fund >&2) || die "npm ci failed in $here"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ "${keep_work:-0}" = 1 ]; then
		echo "run.sh: logs kept in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'keep_work=1; exit 1' INT TERM

# free_port prints a TCP port that is free on 127.0.0.1 now.
free_port() {
	node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}

# wait_port waits until something accepts connections on 127.0.0.1:$1, or fails.
wait_port() {
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		kill -0 "$server_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# stop_server stops the server started last, by its pid.
stop_server() {
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}

# measure NAME SERVER_LOG TOOL ARGS... runs the load tool under measure.mjs against the
# running server and leaves measure.mjs's JSON in $work/NAME.json.
measure() {
	local name="$1" log="$2"
	shift 2
	local status=0
	node "$here/measure.mjs" -pid "$server_pid" -players "$players" -clk-tck "$clk_tck" \
		-out "$work/$name-tool.out" -- "$@" >"$work/$name.json" 2>"$work/$name-tool.err" || status=$?
	if [ "$status" -ne 0 ]; then
		keep_work=1
		echo "run.sh: the $name run failed (status $status); its output:" >&2
		tail -n 30 "$work/$name-tool.err" "$work/$name-tool.out" "$log" >&2 || true
		exit 1
	fi
}

clk_tck="$(getconf CLK_TCK)"
echo "run.sh: $players players for ${duration} s against each server, $rounds round(s)" >&2

echo "run.sh: building cmd/gameserver and cmd/loadgen" >&2
(cd "$root" && go build -o "$work/bin/" ./cmd/gameserver ./cmd/loadgen) || die "go build failed"

# run_rallypoint ROUND: cmd/gameserver (the shooter is registered there) under cmd/loadgen.
# Each round starts a fresh server, as each round of Colyseus does.
run_rallypoint() {
	local port log="$work/gameserver-$1.log"
	port="$(free_port)"
	"$work/bin/gameserver" -addr "127.0.0.1:$port" "${rp_server_flags[@]}" >"$log" 2>&1 &
	server_pid=$!
	wait_port "$port" || { keep_work=1; tail -n 20 "$log" >&2; die "gameserver did not start"; }
	echo "run.sh: round $1: Rallypoint gameserver (pid $server_pid) on 127.0.0.1:$port: running loadgen" >&2
	measure "rallypoint-$1" "$log" "$work/bin/loadgen" -url "ws://127.0.0.1:$port" -game shooter \
		-players "$players" -duration "${duration}s" -concurrency "$concurrency" -input-batch "$rp_input_batch"
	stop_server
}

# run_colyseus ROUND: server.mjs (NODE_ENV=production, as deployed) under driver.mjs.
run_colyseus() {
	local port log="$work/colyseus-$1.log"
	port="$(free_port)"
	NODE_ENV=production node "$here/server.mjs" -addr "127.0.0.1:$port" >"$log" 2>&1 &
	server_pid=$!
	wait_port "$port" || { keep_work=1; tail -n 20 "$log" >&2; die "the Colyseus server did not start"; }
	echo "run.sh: round $1: Colyseus server (pid $server_pid) on 127.0.0.1:$port: running driver.mjs" >&2
	measure "colyseus-$1" "$log" node "$here/driver.mjs" -url "ws://127.0.0.1:$port" \
		-players "$players" -duration "${duration}s" -concurrency "$concurrency"
	stop_server
}

# The sides alternate which goes first, A B B A A B ..., so that a change in the machine's
# load (another job starting or ending) falls on both sides, and neither always runs first
# (on a fresh page cache, or right after the build). Rounds are paired in report.mjs.
results=()
for ((r = 1; r <= rounds; r++)); do
	if ((r % 2 == 1)); then
		run_rallypoint "$r"
		run_colyseus "$r"
	else
		run_colyseus "$r"
		run_rallypoint "$r"
	fi
	results+=("$work/rallypoint-$r.json" "$work/colyseus-$r.json")
done

node "$here/report.mjs" "${results[@]}" || { keep_work=1; exit 1; }
