package main

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// writeTable prints every step in the order it ran.
func writeTable(w io.Writer, steps []stepResult, sp *speeds) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "server\tplayers\tverdict\tupd/s min\tupd/s avg\tp99 late ms\tticks/s/room\tletter p99 ms\tserver cpu%\tbots cpu%\tother% core0/core1/all\tspeed% core0/core1\twhy")
	for _, s := range steps {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.2f\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f/%.0f/%.0f\t%s\t%s\n",
			s.server, s.players, s.verdict, minCell(s), s.avgRate, num(s.p99ms, 2), num(s.tickHz, 1), num(s.letterP99, 1),
			s.srvPct, s.toolPct, s.other0, s.other1, s.otherAll, speedCell(s, sp), dash(s.reason))
	}
	tw.Flush()
}

func minCell(s stepResult) string {
	if math.IsNaN(s.minRate) {
		return "-"
	}
	return fmt.Sprintf("%.2f", s.minRate)
}

// speedCell is the step's speed on the server's and the bots' core, each the slower of its
// probes before and after the step, against the run's fastest probe on that core.
func speedCell(s stepResult, sp *speeds) string {
	cell := ""
	for i := range 2 {
		v := math.NaN()
		if i < len(s.probe) {
			v = sp.pct(i, s.probe[i])
		}
		if i > 0 {
			cell += "/"
		}
		cell += num(v, 0)
	}
	return cell
}

func num(v float64, prec int) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// summaryLine is the last line: the shooter's capacities and their ratio.
func summaryLine(r, c capacity) string {
	return fmt.Sprintf("rallypoint_players_per_core=%s colyseus_players_per_core=%s ratio=%s", r, c, ratio(r, c))
}
