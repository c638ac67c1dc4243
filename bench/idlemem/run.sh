#!/usr/bin/env bash
# bench/idlemem/run.sh [BEFORE [AFTER]]: resident memory per idle connection on the
# gameserver's /echo and /play, for two git revisions (default: main and the work tree's
# HEAD), alternated in rounds (A B A B ...) so that the machine's changing load falls on
# both. Each revision's gameserver is built with /echo's cap of 256 connections lifted (the
# only change: sed on echoConnsTotal), since the measurement needs thousands.
#
#   ECHO=5000 PLAY=2000 ROUNDS=2 bench/idlemem/run.sh main lean
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
A=${1:-main}; B=${2:-HEAD}
ECHO=${ECHO:-5000}; PLAY=${PLAY:-2000}; ROUNDS=${ROUNDS:-2}
# Both ends of every connection live on this machine: the client's and the server's
# descriptors count against their own processes' limits.
ulimit -n $(( (ECHO + PLAY) * 2 + 2000 )) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
TMP=$(mktemp -d)
trap 'for r in a b; do git -C "$ROOT" worktree remove --force "$TMP/src-$r" 2>/dev/null; done; rm -rf "$TMP"' EXIT
build() { # build REV NAME
	git -C "$ROOT" worktree add --detach -q "$TMP/src-$2" "$1" || exit 2
	sed -i 's/echoConnsTotal *= 256/echoConnsTotal = 1 << 20/' "$TMP/src-$2/cmd/gameserver/server.go"
	grep -q 'echoConnsTotal = 1 << 20' "$TMP/src-$2/cmd/gameserver/server.go" || { echo "cannot lift the /echo cap in $1" >&2; exit 2; }
	(cd "$TMP/src-$2" && go build -o "$TMP/gs-$2" ./cmd/gameserver) || exit 2
	echo "$2 = $1 ($(git -C "$ROOT" rev-parse --short "$1"))"
}
build "$A" a; build "$B" b
(cd "$ROOT" && go build -o "$TMP/idlemem" ./bench/idlemem) || exit 2
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) before the run"
for r in $(seq 1 "$ROUNDS"); do
	for s in a b; do
		"$TMP/idlemem" -server "$TMP/gs-$s" -label "round $r $s" -echo "$ECHO" -play "$PLAY" | tee -a "$TMP/out"
	done
done
echo "machine: load $(cut -d' ' -f1-3 /proc/loadavg) after the run"
# The summary takes each figure from the line idlemem printed, by the words before it.
for s in a b; do
	for ep in echo play; do
		for col in rss later inuse free meta; do
			grep " $s $ep:" "$TMP/out" | awk -v col=$col '{
				for (i = 1; i < NF; i++) {
					if (col == "rss" && $(i+1) == "KiB" && $(i+2) == "per") v = $i
					if (col == "later" && $(i+1) == "once" && $(i+2) == "scavenged") v = $i
					if (col == "inuse" && $(i-1) == "in" && $i == "use") v = $(i+1)
					if (col == "free" && $(i-1) == "yet" && $i == "returned") v = $(i+1)
					if (col == "meta" && $(i-1) == "runtime" && $i == "metadata") v = $(i+1)
				}
				sub(/[,;)]+$/, "", v); print v}' | sort -n |
				awk -v s=$s -v ep=$ep -v col=$col 'BEGIN{name["rss"]="RSS right after a GC"; name["later"]="RSS once scavenged"; name["inuse"]="heap+stack in use"; name["free"]="free heap not yet returned"; name["meta"]="runtime metadata"}
					{v[NR]=$1} END{printf "%s %s %s: median %.2f KiB per idle connection (min %.2f, max %.2f, %d rounds)\n", s, ep, name[col], (NR%2?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2), v[1], v[NR], NR}'
		done
	done
done
