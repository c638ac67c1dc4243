package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// result is what a run measured. The rates are those of the measured phase; the error
// counts cover the whole run.
type result struct {
	game     string
	url      string
	players  int           // bots asked for
	seated   int           // bots seated when the measured phase began
	duration time.Duration // of the measured phase

	rttN                           int64
	rttP50, rttP90, rttP99, rttMax float64 // ms

	snapshotsPerS    float64 // all bots together
	snapshotsMin     float64 // the fewest snapshots a second any bot up through the whole window got
	bytesInPerPlayer float64 // per seated player and second, WebSocket frames included
	bytesOutPerPlay  float64
	inputsPerS       float64
	messagesOutPerS  float64 // all bots together: inputs, acknowledgements, pings
	pongs            int64
	baselineMisses   int64
	baselineResets   int64

	joinErrors     int64
	closes         int64 // unexpected: a connection that ended, or a bot that left its room, without our asking
	protocolErrors int64 // server error messages, malformed or inconsistent messages
	gameErrors     int64 // counted by the game, e.g. the crossword's missing letter deliveries

	letters *letterStats  // crossword only
	fight   *fightStats   // shooter only
	chaos   *chaosSummary // with -chaos-every only

	chaosErrors int64 // resumes refused or failed (a stalled bot closed counts in closes)

	rejoin *rejoinSummary // with -rejoin only; its lost bots are errors

	server      []row          // from -metrics-url
	redirects   int64          // redirects the bots followed, joins and resumes together
	perNode     map[string]int // seated bots by the host of the node they ended on
	rows        []row          // the game's
	firstErrors []string
}

// letterStats is the crossword's letter propagation over the measured phase.
type letterStats struct {
	placed             int     // correct letters sent in the measured phase and seen by some player
	complete           int     // of which every player who should see one saw it
	missing            int64   // deliveries missing at players whose connection stayed up
	p50, p90, p99, max float64 // ms from the send to the last player's mirror, complete letters
}

// fightStats is what the shooter bots did.
type fightStats struct {
	rooms                               int
	shots, hits, rockets, kills, deaths int64
}

// row is one line of the table.
type row struct{ name, value string }

// errors is the number the summary line reports.
func (res *result) errors() int64 {
	n := res.joinErrors + res.closes + res.protocolErrors + res.gameErrors + res.chaosErrors
	if res.rejoin != nil {
		n += res.rejoin.lost
	}
	return n
}

// result computes the run's result from the counters at the start and end of the measured
// phase.
func (r *runner) result(start, end totals, scrape *scraper) *result {
	res := &result{
		game:        r.cfg.Game,
		url:         r.cfg.URL,
		players:     r.cfg.Players,
		seated:      start.connected,
		duration:    time.Duration(end.at - start.at),
		rttN:        r.rtt.Count(),
		rttP50:      r.rtt.Quantile(0.50) / 1e3,
		rttP90:      r.rtt.Quantile(0.90) / 1e3,
		rttP99:      r.rtt.Quantile(0.99) / 1e3,
		rttMax:      float64(r.rtt.Max()) / 1e3,
		pongs:       end.pongs - start.pongs,
		joinErrors:  r.joinErrors.Load(),
		closes:      r.closes.Load(),
		firstErrors: r.errs.messages(),
	}
	res.redirects, res.perNode = r.endRedirects, r.endNodes
	if res.perNode == nil { // not taken: the bots have not left
		res.redirects, res.perNode = r.nodes()
	}
	final := r.statsNow()
	res.protocolErrors = final.protocolErrors
	res.baselineMisses = final.baselineMisses
	res.baselineResets = final.baselineResets
	if secs := res.duration.Seconds(); secs > 0 {
		res.snapshotsPerS = float64(end.snapshots-start.snapshots) / secs
		res.snapshotsMin = fewestPerBot(start.perBot, end.perBot) / secs
		res.inputsPerS = float64(end.inputs-start.inputs) / secs
		res.messagesOutPerS = float64(end.messagesOut-start.messagesOut) / secs
		if res.seated > 0 {
			res.bytesInPerPlayer = float64(end.bytesIn-start.bytesIn) / secs / float64(res.seated)
			res.bytesOutPerPlay = float64(end.bytesOut-start.bytesOut) / secs / float64(res.seated)
		}
	}
	if scrape != nil {
		res.server = scrape.rows()
	}
	if r.cfg.ChaosEvery > 0 {
		res.chaosErrors = r.chaos.errors()
		res.chaosRows(r, &r.chaos)
	}
	if r.cfg.Rejoin {
		res.rejoinRows(r)
	}
	return res
}

// statsNow sums the bots' counters now.
func (r *runner) statsNow() totals { return (&reporter{r: r}).snapshot() }

// fewestPerBot is the fewest snapshots a bot got between two counts, among the bots up at
// both (a bot down in between, or started since, is left out); 0 when there is none.
func fewestPerBot(start, end []int64) float64 {
	fewest := int64(-1)
	for i := range min(len(start), len(end)) {
		if start[i] < 0 || end[i] < 0 {
			continue
		}
		if d := end[i] - start[i]; fewest < 0 || d < fewest {
			fewest = d
		}
	}
	return float64(max(fewest, 0))
}

// summary is the last line of the report, in the exact form scripts parse:
//
//	players=N duration_s=D rtt_p50_ms=X rtt_p99_ms=Y snapshots_per_s=Z snapshots_per_player_min=M bytes_in_per_player_s=B errors=E
//
// snapshots_per_player_min is the fewest snapshots a second any bot got over the window
// (among the bots connected at its start and end).
//
// With -chaos-every the chaos counts follow, after errors:
//
//	... errors=E chaos_stalls=S chaos_drops=D chaos_pauses=P resumes=R resumes_refused=F stalled_closed=C resume_p50_ms=X resume_p99_ms=Y
//
// With -rejoin, the rejoins (rejoin.go) follow:
//
//	... affected=A resumed=R rejoined=J moved=M lost=L back_p50_ms=X back_p99_ms=Y back_max_ms=Z
//
// In a cluster (a redirect followed, bots on more than one node, or -rejoin), last:
//
//	... redirects=R nodes=HOST:PORT=N,HOST:PORT=N
func (res *result) summary() string {
	s := fmt.Sprintf("players=%d duration_s=%s rtt_p50_ms=%.2f rtt_p99_ms=%.2f snapshots_per_s=%.1f snapshots_per_player_min=%.2f bytes_in_per_player_s=%d errors=%d",
		res.players, seconds(res.duration), res.rttP50, res.rttP99, res.snapshotsPerS, res.snapshotsMin,
		int64(math.Round(res.bytesInPerPlayer)), res.errors())
	if c := res.chaos; c != nil {
		s += fmt.Sprintf(" chaos_stalls=%d chaos_drops=%d chaos_pauses=%d resumes=%d resumes_refused=%d stalled_closed=%d resume_p50_ms=%.2f resume_p99_ms=%.2f",
			c.stalls, c.drops, c.pauses, c.resumes, c.refused+c.failed, c.slowClosed, c.p50, c.p99)
	}
	if j := res.rejoin; j != nil {
		s += fmt.Sprintf(" affected=%d resumed=%d rejoined=%d moved=%d lost=%d back_p50_ms=%.2f back_p99_ms=%.2f back_max_ms=%.2f",
			j.affected, j.resumed, j.rejoined, j.moved, j.lost, j.p50, j.p99, j.max)
	}
	if res.cluster() {
		s += fmt.Sprintf(" redirects=%d nodes=%s", res.redirects, strings.ReplaceAll(nodeCounts(res.perNode), " ", ","))
	}
	return s
}

// seconds formats d in seconds with one decimal, or none when it is whole.
func seconds(d time.Duration) string {
	s := fmt.Sprintf("%.1f", d.Seconds())
	return strings.TrimSuffix(s, ".0")
}

// write prints the table, then the summary line, last.
func (res *result) write(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	add := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", name, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(tw, "\n%s load test against %s\n", res.game, res.url)
	add("players", "%d seated of %d", res.seated, res.players)
	add("measured", "%s s", seconds(res.duration))
	add("join errors", "%d", res.joinErrors)
	add("unexpected closes", "%d", res.closes)
	add("protocol errors", "%d", res.protocolErrors)
	if res.gameErrors > 0 {
		add(res.game+" errors", "%d", res.gameErrors)
	}
	if res.chaosErrors > 0 {
		add("resume errors", "%d", res.chaosErrors)
	}
	add("rtt ms (ping/pong)", "p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (%d pongs)", res.rttP50, res.rttP90, res.rttP99, res.rttMax, res.rttN)
	add("snapshots/s", "%s total, %.1f per player", thousands(int64(math.Round(res.snapshotsPerS))), perPlayer(res.snapshotsPerS, res.seated))
	add("bytes in/s per player", "%s (%s)", thousands(int64(math.Round(res.bytesInPerPlayer))), byteSize(res.bytesInPerPlayer*float64(res.seated))+"/s total")
	add("bytes out/s per player", "%s (%s)", thousands(int64(math.Round(res.bytesOutPerPlay))), byteSize(res.bytesOutPerPlay*float64(res.seated))+"/s total")
	add("inputs/s", "%s total", thousands(int64(math.Round(res.inputsPerS))))
	add("messages out/s", "%s total, %.1f per player (inputs, acknowledgements, pings)", thousands(int64(math.Round(res.messagesOutPerS))), perPlayer(res.messagesOutPerS, res.seated))
	if res.cluster() {
		add("redirects", "%d (a cluster's: joins sent on to the room's node)", res.redirects)
		add("players per node", "%s", nodeCounts(res.perNode))
	}
	if res.baselineMisses > 0 {
		add("baseline misses", "%d (deltas against a state not held: dropped; %d answered with [4, 0], the rest by acknowledging the latest tick again)",
			res.baselineMisses, res.baselineResets)
	}
	for _, r := range res.rows {
		add(r.name, "%s", r.value)
	}
	for _, r := range res.server {
		add(r.name, "%s", r.value)
	}
	for i, e := range res.firstErrors {
		name := ""
		if i == 0 {
			name = "first errors"
		}
		add(name, "%s", e)
	}
	tw.Flush()
	fmt.Fprintln(w, res.summary())
}

// cluster reports whether the run was against a cluster, as far as the bots can tell: a
// redirect followed, bots on more than one node, or -rejoin (a cluster's load test).
func (res *result) cluster() bool {
	return res.redirects > 0 || len(res.perNode) > 1 || res.rejoin != nil
}

func perPlayer(v float64, players int) float64 {
	if players == 0 {
		return 0
	}
	return v / float64(players)
}

// nodes sums the bots' redirects and counts the bots still playing by the host (host:port)
// of the node of each one's latest join: in a cluster, where placement put the players. A
// bot counts unless it never joined or was lost (an unexpected close, a failed resume, or
// with -rejoin not back in time). It is taken before the bots leave (run): once they have
// left none is up, which is why the line once printed "nodes=" empty; and up alone would
// miss a bot between a loss and its rejoin.
func (r *runner) nodes() (redirects int64, perNode map[string]int) {
	perNode = map[string]int{}
	for _, b := range r.startedBots() {
		redirects += b.redirects.Load()
		if b.lost.Load() {
			continue
		}
		node := b.node.Load()
		if node == nil {
			continue
		}
		host := *node
		if u, err := url.Parse(host); err == nil && u.Host != "" {
			host = u.Host
		}
		perNode[host]++
	}
	return redirects, perNode
}

// nodeCounts writes players per node as "host=n host=n", hosts in order.
func nodeCounts(perNode map[string]int) string {
	var parts []string
	for _, h := range slices.Sorted(maps.Keys(perNode)) {
		parts = append(parts, fmt.Sprintf("%s=%d", h, perNode[h]))
	}
	return strings.Join(parts, " ")
}
