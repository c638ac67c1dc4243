package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The pass rules of issue 14, item 2.
const (
	minUpdates     = 29.5 // shooter: updates a second every player must get (30 sent)
	maxLatenessMs  = 5.0  // shooter: p99 of how late the server's ticks started
	minTickHz      = 59.4 // shooter: simulation steps a second per room, 99% of 60 (see README)
	maxLetterP99Ms = 250.0
	shooterRoom    = 8 // players per shooter room, both servers
)

type verdict string

const (
	verdictPass         verdict = "pass"
	verdictFail         verdict = "fail"
	verdictInconclusive verdict = "inconclusive" // the load tool was saturated
)

// stepResult is one row of the table.
type stepResult struct {
	server    server
	players   int
	verdict   verdict
	reason    string
	window    float64 // s
	avgRate   float64 // updates a second per player over the window, from the tool's progress lines
	minRate   float64 // fewest updates a second any player got (NaN: unknown)
	p99ms     float64 // server tick lateness p99 over the window
	tickHz    float64 // ticks (simulation steps) a second per room
	rooms     int
	srvPct    float64 // server CPU, % of one core
	toolPct   float64 // load tool CPU, % of one core
	other0    float64 // other processes' share of the server's core, %
	other1    float64 // ... of the bots' core
	otherAll  float64 // ... of all cores
	errors    int
	letters   int       // crossword: letters placed
	letterP99 float64   // crossword: ms, send to the last player
	probe     []float64 // per core (server's, bots'): the slower of the speed probes before and after the step, s
}

// judge computes a step's figures from the window's two samples and the tool's output, and
// its verdict.
func (e *env) judge(res stepResult, a, b *sample, rates []float64, allSeated bool, summary, stdout string, waitErr error) stepResult {
	secs := b.at.Sub(a.at).Seconds()
	res.window = secs
	pct := func(ticks int64) float64 { return 100 * float64(ticks) / e.clkTck / secs }
	res.srvPct = pct(b.server - a.server)
	res.toolPct = pct(b.tool - a.tool)
	if len(a.cpu.cores) > max(e.serverCore, e.botCore) && len(b.cpu.cores) > max(e.serverCore, e.botCore) {
		res.other0 = otherPct(a.cpu.cores[e.serverCore], b.cpu.cores[e.serverCore], b.server-a.server)
		res.other1 = otherPct(a.cpu.cores[e.botCore], b.cpu.cores[e.botCore], b.tool-a.tool)
	}
	res.otherAll = otherPct(a.cpu.all, b.cpu.all, (b.server-a.server)+(b.tool-a.tool)+(b.self-a.self))
	sum := 0.0
	for _, r := range rates {
		sum += r
	}
	if len(rates) > 0 {
		res.avgRate = sum / float64(len(rates)) / float64(res.players)
	}

	var reasons []string
	failed := func(format string, args ...any) { reasons = append(reasons, fmt.Sprintf(format, args...)) }

	// Server-side figures over the window.
	histName := "rallypoint_tick_lateness_seconds"
	if res.server == colyseus {
		histName = "colyseus_tick_lateness_seconds"
	}
	var ticks float64
	switch {
	case a.mErr != nil || b.mErr != nil:
		failed("server metrics unavailable: %v", firstErr(a.mErr, b.mErr))
	default:
		d, err := b.m.Histograms[histName].Minus(a.m.Histograms[histName])
		if err != nil {
			failed("%v", err)
		} else {
			res.p99ms = 1e3 * d.Quantile(0.99)
			ticks = d.Total()
		}
	}

	switch res.server {
	case rallypoint, crossword:
		res.errors = summaryErrorCount(summary)
		res.rooms = int(b.m.Values["rallypoint_rooms"])
		if res.server == rallypoint {
			res.minRate = summaryMinRate(summary)
		}
	case colyseus:
		var s driverSummary
		if err := json.Unmarshal([]byte(summary), &s); err != nil {
			failed("driver summary unreadable: %q", summary)
			res.errors = -1
		} else {
			res.errors = s.Errors
			res.rooms = s.Rooms
			res.minRate = s.MinPerPlay
		}
	}
	if res.rooms > 0 {
		res.tickHz = ticks / float64(res.rooms) / secs
	}

	if waitErr != nil {
		failed("load tool: %v", waitErr)
	}
	if res.errors != 0 {
		failed("%d errors", res.errors)
	}
	if !allSeated {
		failed("players missing during the window")
	}
	switch res.server {
	case rallypoint, colyseus:
		if res.avgRate < minUpdates {
			failed("%.2f updates/s per player on average < %.1f", res.avgRate, minUpdates)
		}
		if !math.IsNaN(res.minRate) && res.minRate < minUpdates {
			failed("a player got %.2f updates/s < %.1f", res.minRate, minUpdates)
		}
		if !(res.p99ms < maxLatenessMs) {
			failed("p99 tick lateness %.2f ms >= %.0f", res.p99ms, maxLatenessMs)
		}
		if !(res.tickHz >= minTickHz) {
			failed("%.1f ticks/s per room < %.1f", res.tickHz, minTickHz)
		}
	case crossword:
		if res.rooms != 1 {
			failed("%d rooms, want 1", res.rooms)
		}
		if m := lettersPlacedRe.FindStringSubmatch(stdout); m != nil {
			res.letters, _ = strconv.Atoi(m[1])
		}
		if m := letterP99Row.FindStringSubmatch(stdout); m != nil {
			res.letterP99, _ = strconv.ParseFloat(m[1], 64)
		}
		switch {
		case res.letters == 0:
			failed("no letters placed in the measured phase")
		case !(res.letterP99 < maxLetterP99Ms):
			failed("letter p99 %.1f ms >= %.0f", res.letterP99, maxLetterP99Ms)
		}
	}

	switch {
	case res.toolPct > e.toolLimitPct:
		// Whatever the figures say, a saturated load tool may have sent less, read late or
		// failed for its own sake: the step says nothing about the server.
		res.verdict = verdictInconclusive
		reasons = append([]string{fmt.Sprintf("inconclusive: the load tool is saturated (%.0f%% of its core)", res.toolPct)}, reasons...)
	case len(reasons) > 0:
		res.verdict = verdictFail
	default:
		res.verdict = verdictPass
	}
	res.reason = strings.Join(reasons, "; ")
	return res
}

func summaryErrorCount(summary string) int {
	m := summaryErrors.FindStringSubmatch(summary)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// summaryMinRate reads loadgen's snapshots_per_player_min, the fewest snapshots a second
// any bot got over its report window (NaN when the line has none): the count per player
// that driver.mjs's patches_per_player_min is for Colyseus.
func summaryMinRate(summary string) float64 {
	m := summaryMin.FindStringSubmatch(summary)
	if m == nil {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
