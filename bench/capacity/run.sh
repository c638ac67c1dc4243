#!/usr/bin/env bash
# run.sh finds the players per core of Rallypoint and of Colyseus on the shooter, and of
# Rallypoint's crossword in one room: each step a fresh server pinned to core 0
# (taskset -c 0), the bots pinned to core 1, a warm-up and a measured window, in a search
# that doubles the players until a step fails and then bisects. Its last line is
#
#	rallypoint_players_per_core=N colyseus_players_per_core=M ratio=R
#
# Usage: bench/capacity/run.sh [-duration 20] [-warmup 5] [-start 100] [-max N]
#        [-crossword-start 100] [-crossword-max N] [-servers rallypoint,colyseus,crossword]
# Every flag goes to the capacity program (main.go); README.md says what the figures mean.
# It needs go, node (20 or later), npm (for `npm ci` in bench/colyseus when node_modules is
# missing), taskset (util-linux) and 2 cores.
set -euo pipefail

case "${1:-}" in
-h | -help | --help) sed -n '2,13p' "$0"; exit 0 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
colyseus="$root/bench/colyseus"

die() {
	echo "run.sh: $*" >&2
	exit 1
}

for tool in go node npm taskset getconf nproc; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ "$(nproc --all)" -ge 2 ] || die "needs 2 cores: the server gets one, the bots the other"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old: Colyseus 0.18 needs 20 or later"
if [ ! -d "$colyseus/node_modules" ]; then
	echo "run.sh: installing the Colyseus side (npm ci)" >&2
	(cd "$colyseus" && npm ci --no-audit --no-fund >&2) || die "npm ci failed in $colyseus"
fi

work="$(mktemp -d)"
echo "run.sh: building cmd/gameserver, cmd/loadgen and bench/capacity; logs in $work" >&2
(cd "$root" && go build -o "$work/bin/" ./cmd/gameserver ./cmd/loadgen ./bench/capacity) || die "go build failed"

# The logs stay in $work: a failed step names its files there.
exec "$work/bin/capacity" -gameserver "$work/bin/gameserver" -loadgen "$work/bin/loadgen" \
	-colyseus "$colyseus" -work "$work" -clk-tck "$(getconf CLK_TCK)" "$@"
