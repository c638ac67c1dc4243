#!/usr/bin/env bash
# bench/busy/run.sh GAME PLAYERS DURATION [extra loadgen flags...]: the gameserver and loadgen
# on this machine while a CPU hog keeps one core busy for the whole run, as on any shared
# host (issue 11: "overload degrades, never breaks"). The hog is a fuzzer with one worker
# (HOG_TARGET in HOG_PKG; default FuzzDelta in ./state), so its time is not wasted. Prints
# loadgen's report, its summary line, the server's CPU, peak RSS and byte counters, and the
# machine's other load over the run: all cores' busy time (/proc/stat, by
# bench/wsbench/sysload.go's rule) minus the server's and loadgen's CPU, split into the
# hog's share and the rest, so a reader can tell the intended load from someone else's.
#
#   bench/busy/run.sh crossword 2000 60s
#   HOG_TARGET=FuzzScanner HOG_PKG=./cmd/loadgen bench/busy/run.sh shooter 2000 45s
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$(mktemp -d)
trap 'rm -rf "$BIN"; [ -n "${HOG:-}" ] && kill -- -$HOG 2>/dev/null' EXIT
(cd "$ROOT" && go build -o "$BIN/gs" ./cmd/gameserver && go build -o "$BIN/lg" ./cmd/loadgen) || exit 2
GAME=$1; N=$2; DUR=$3; shift 3
# A port of its own unless told: a fixed one met other servers on this machine.
PORT=${PORT:-$((20000 + RANDOM % 20000))}
"$BIN/gs" -addr 127.0.0.1:$PORT > /tmp/gs-$GAME.log 2>&1 &
GS=$!
sleep 1
# The hog: a fuzzer with one worker, for the whole run (its corpus is kept).
HOGT=${HOG_TARGET:-FuzzDelta}; HOGP=${HOG_PKG:-./state}
# It runs in a process group of its own (setsid): go test starts the test binary, which starts
# its fuzz worker, and killing go test alone would leave both running, hogging the next run.
(cd "$ROOT" && exec setsid go test -run XXX -fuzz "^$HOGT\$" -fuzztime 30m -parallel 1 $HOGP) > /tmp/hog-$GAME.log 2>&1 &
HOG=$!
sleep 3
tick() { awk '{print $14+$15}' /proc/$GS/stat; }
# machine: all cores' busy and total clock ticks since boot (/proc/stat's cpu line: busy =
# user + nice + system + steal; irq and softirq are left out, on loopback they are mostly
# this run's own packets, which the kernel charges to no process).
machine() { awk '/^cpu /{b=$2+$3+$4+$9; print b, b+$5+$6+$7+$8; exit}' /proc/stat; }
# group_ticks PGID: utime + stime of the live processes of a process group (the hog: go
# test, its test binary and its fuzz worker); the name in field 2 may hold spaces, so the
# fields are counted after its closing parenthesis.
group_ticks() {
	local t=0 s f
	for s in /proc/[0-9]*/stat; do
		s=$(cat "$s" 2>/dev/null) || continue
		read -ra f <<<"${s##*) }"
		[ "${f[2]}" = "$1" ] && t=$((t + f[11] + f[12]))
	done
	echo $t
}
c0=$(tick); t0=$(date +%s.%N); read -r mb0 mt0 < <(machine); h0=$(group_ticks $HOG); la0=$(cut -d' ' -f1 /proc/loadavg)
/usr/bin/time -f "loadgen: cpu %U+%S s, peak RSS %M KiB" -o /tmp/lgtime-$GAME.txt "$BIN/lg" -url ws://127.0.0.1:$PORT -game $GAME -players $N -duration $DUR -metrics-url http://127.0.0.1:$PORT/metrics "$@" > /tmp/lg-$GAME.out 2> /tmp/lg-$GAME.err
rc=$?
c1=$(tick); t1=$(date +%s.%N); read -r mb1 mt1 < <(machine); h1=$(group_ticks $HOG); la1=$(cut -d' ' -f1 /proc/loadavg)
rss=$(awk '/VmHWM/{print $2}' /proc/$GS/status)
curl -s http://127.0.0.1:$PORT/metrics | grep -E "^rallypoint_(bytes|ws_|baseline|snapshots_held|slow|connections_refused|players |rooms )" > /tmp/metrics-$GAME.txt
kill -- -$HOG 2>/dev/null
kill $GS; wait $GS 2>/dev/null
tail -40 /tmp/lg-$GAME.out; cat /tmp/lgtime-$GAME.txt
echo "loadgen exit $rc"
awk -v c0=$c0 -v c1=$c1 -v t0=$t0 -v t1=$t1 -v n=$N -v rss=$rss 'BEGIN{cpu=(c1-c0)/100; w=t1-t0; printf "server: cpu %.1f s over %.1f s wall (%.2f cores), peak RSS %.0f MiB, %.1f KiB per player\n", cpu, w, cpu/w, rss/1024, rss/n}'
cat /tmp/metrics-$GAME.txt
# loadgen's CPU comes from /usr/bin/time (it ran exactly between the two samples).
lg=$(sed -n 's/^loadgen: cpu \([0-9.]*\)+\([0-9.]*\) s.*/\1 \2/p' /tmp/lgtime-$GAME.txt)
awk -v mb=$((mb1 - mb0)) -v mt=$((mt1 - mt0)) -v gs=$((c1 - c0)) -v hog=$((h1 - h0)) -v lg="$lg" -v la0=$la0 -v la1=$la1 'BEGIN{
	split(lg, l, " "); lgt = (l[1] + l[2]) * 100; other = mb - gs - lgt; if (other < 0) other = 0; if (hog > other) hog = other
	printf "other load: %.0f %% of all cores besides the server and loadgen (the hog %.0f %%, the rest %.0f %%); loadavg (1 min) %s .. %s\n", 100*other/mt, 100*hog/mt, 100*(other-hog)/mt, la0, la1}'
