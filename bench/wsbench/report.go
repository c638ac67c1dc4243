package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

type table struct {
	title string
	left  int // leading label columns, left-aligned
	head  []string
	rows  [][]string
	notes []string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) print(w io.Writer) {
	width := make([]int, len(t.head))
	for i, h := range t.head {
		width[i] = len(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			if i < len(width) && len(c) > width[i] && !(len(r) < len(t.head) && i == len(r)-1) {
				width[i] = len(c)
			}
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteString("  ")
			}
			switch {
			case len(cells) < len(t.head) && i == len(cells)-1:
				b.WriteString(c) // error message spans the rest
			case i < t.left:
				fmt.Fprintf(&b, "%-*s", width[i], c)
			default:
				fmt.Fprintf(&b, "%*s", width[i], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	fmt.Fprintln(w, t.title)
	line(t.head)
	total := 0
	for _, wd := range width {
		total += wd + 2
	}
	fmt.Fprintln(w, strings.Repeat("-", total-2))
	for _, r := range t.rows {
		line(r)
	}
	for _, n := range t.notes {
		fmt.Fprintln(w, "  "+n)
	}
	fmt.Fprintln(w)
}

// ratio formats v/base; "-" when there is nothing to compare.
func ratio(v, base float64) string {
	if base == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v/base)
}

func f0(v float64) string { return fmt.Sprintf("%.0f", v) }
func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
func f2(v float64) string { return fmt.Sprintf("%.2f", v) }

func pct(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

const baselineLabel = "net/ws"

// baseIndex returns the index of the baseline row of a group: net/ws when it ran
// without error, else the first row without error.
func baseIndex(n int, label func(int) string, failed func(int) bool) int {
	for i := range n {
		if label(i) == baselineLabel && !failed(i) {
			return i
		}
	}
	for i := range n {
		if !failed(i) {
			return i
		}
	}
	return -1
}

func printTables(w io.Writer, o *options, res *results) {
	fmt.Fprintf(w, "wsbench: %s, GOMAXPROCS=%s, %s messages, total %s. Ratios are lib / %s of the same group (net/ws = 1.00 when it ran).\n",
		res.Meta["go"], res.Meta["gomaxprocs"], res.Meta["message_type"], res.Meta["elapsed"], baselineLabel)
	fmt.Fprintf(w, "other load: processes outside this benchmark used %s %% of the machine's CPU over the run; loadavg (1 min) %s.\n\n",
		res.Meta["other_cpu_pct"], res.Meta["loadavg"])
	if len(res.Echo) > 0 {
		printEcho(w, o, res.Echo)
	}
	if len(res.Broadcast) > 0 {
		printBcast(w, o, res.Broadcast)
	}
	if len(res.Idle) > 0 {
		printIdle(w, o, res.Idle)
	}
	if len(res.Flate) > 0 {
		printFlate(w, o, res.Flate)
	}
}

func printEcho(w io.Writer, o *options, rs []echoResult) {
	t := &table{
		title: fmt.Sprintf("1. Echo round trips: %d connections, request/response loop, %s window per row, median of %d slices (common raw client; server in a child process)", o.echoConns, o.echoDuration, o.echoSlices),
		left:  3,
		head:  []string{"payload", "deflate", "lib", "msgs/s", "x net/ws", "srv CPU us/msg", "x net/ws", "srv wire B/msg", "other CPU %"},
		notes: []string{
			"msgs/s: round trips per second, higher is better; srv CPU: server process user+sys CPU per round trip, lower is better.",
			"srv wire B/msg: bytes the server put on the wire per echoed message (shows which servers compressed: thresholds differ).",
			"other CPU %: machine CPU used by processes outside this benchmark during the window; msgs/s of rows with a high value is not comparable, srv CPU/msg mostly is.",
		},
	}
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j].Payload == rs[i].Payload && rs[j].Deflate == rs[i].Deflate {
			j++
		}
		g := rs[i:j]
		b := baseIndex(len(g), func(k int) string { return g[k].Lib }, func(k int) bool { return g[k].Err != "" })
		for _, r := range g {
			size := fmt.Sprintf("%d B", r.Payload)
			if r.Err != "" {
				t.add(size, onOff(r.Deflate), r.Lib, "ERROR: "+r.Err)
				continue
			}
			base := g[b]
			t.add(size, onOff(r.Deflate), r.Lib,
				f0(r.MsgsPerSec), ratio(r.MsgsPerSec, base.MsgsPerSec),
				f2(r.CPUPerMsgNs/1000), ratio(r.CPUPerMsgNs, base.CPUPerMsgNs),
				f1(r.WireBytesMsg), pct(r.OtherCPUPct))
		}
		i = j
	}
	if o.verbose {
		seen := map[string]bool{}
		for _, r := range rs {
			if r.Deflate && r.Extensions != "" && !seen[r.Lib] {
				seen[r.Lib] = true
				t.notes = append(t.notes, fmt.Sprintf("%s negotiated: %s", r.Lib, r.Extensions))
			}
		}
	}
	t.print(w)
}

// bcastGroupPar is the fan-out group a row belongs to: its own fan-out, or for a library's
// own broadcast call (Par 0) the widest fan-out, the one such a call competes with.
func bcastGroupPar(r bcastResult, pars []int) int {
	if r.Par > 0 {
		return r.Par
	}
	return slices.Max(pars)
}

// sortBcast orders rows by audience, then fan-out group, with a library's own call after
// the fanOut rows of its group (so net/ws's fanOut row is the group's baseline); rows of
// one kind keep the order they ran in.
func sortBcast(rs []bcastResult, conns, pars []int) {
	key := func(r bcastResult) [3]int {
		own := 0
		if r.Par == 0 {
			own = 1
		}
		return [3]int{slices.Index(conns, r.Conns), slices.Index(pars, bcastGroupPar(r, pars)), own}
	}
	slices.SortStableFunc(rs, func(a, b bcastResult) int {
		ka, kb := key(a), key(b)
		for i := range ka {
			if c := cmp.Compare(ka[i], kb[i]); c != 0 {
				return c
			}
		}
		return 0
	})
}

func printBcast(w io.Writer, o *options, rs []bcastResult) {
	rs = slices.Clone(rs)
	sortBcast(rs, o.bcastConns, o.bcastPar)
	t := &table{
		title: "2. Broadcast: one 512 B snapshot (20 entities, JSON) to every connection, permessage-deflate negotiated on all",
		left:  3,
		head: []string{"conns", "fan-out", "lib", "p50 ms/bcast", "x net/ws", "mean ms", "srv call ms",
			"srv allocs/bcast", "x net/ws", "srv CPU ms/bcast", "x net/ws", "wire B/msg", "other CPU %"},
		notes: []string{
			"fan-out: the harness's fanOut spreads each library's per-connection writes over this many goroutines (serial: one loop), the same code for every library; ratios compare rows of one fan-out.",
			"ws.Broadcast: net/ws's own call (its own parallelism: serial under 256 connections, else up to GOMAXPROCS goroutines), an extra row against net/ws with fanOut.",
			"gws queues each write for the connection's own writer goroutine, so its socket writes are parallel at any fan-out; its srv call is the time to queue.",
			"ms/bcast: from the trigger until every client received the message (median, and mean); srv call: mean time inside the broadcast call.",
			"srv allocs/bcast: runtime.MemStats.Mallocs delta in the server process / broadcasts (fanOut's goroutines count, the same for every library); srv CPU: server user+sys CPU per broadcast.",
		},
	}
	for i := 0; i < len(rs); {
		j := i
		gp := bcastGroupPar(rs[i], o.bcastPar)
		for j < len(rs) && rs[j].Conns == rs[i].Conns && bcastGroupPar(rs[j], o.bcastPar) == gp {
			j++
		}
		g := rs[i:j]
		b := baseIndex(len(g), func(k int) string { return g[k].Lib }, func(k int) bool { return g[k].Err != "" })
		for _, r := range g {
			conns := fmt.Sprint(r.Conns)
			if r.Err != "" {
				t.add(conns, r.Fanout, r.Lib, "ERROR: "+r.Err)
				continue
			}
			base := g[b]
			t.add(conns, r.Fanout, r.Lib,
				f2(r.MedianNs/1e6), ratio(r.MedianNs, base.MedianNs),
				f2(r.MeanNs/1e6), f2(r.LoopNs/1e6),
				f1(r.AllocsPerBcast), ratio(r.AllocsPerBcast, base.AllocsPerBcast),
				f2(r.CPUPerBcastNs/1e6), ratio(r.CPUPerBcastNs, base.CPUPerBcastNs),
				f1(r.WireBytesPerMsg), pct(r.OtherCPUPct))
		}
		i = j
	}
	t.print(w)
}

func printIdle(w io.Writer, o *options, rs []idleResult) {
	t := &table{
		title: fmt.Sprintf("3. Memory per idle connection: %d connections that offered permessage-deflate, after runtime.GC() x2 (server in a child process)", o.idleConns),
		left:  1,
		head:  []string{"lib", "heap+stack KiB/conn", "x net/ws", "heap KiB", "stack KiB", "goroutines/conn", "RSS KiB/conn", "x net/ws"},
		notes: []string{
			"heap+stack: (HeapInuse+StackInuse) after - before, / connections; RSS: resident set delta / connections (includes freed-but-retained heap).",
			"net/ws: handler calls ws.Serve with a Handler that ignores messages and returns; the library reads the connection (no goroutine while it is idle, on Linux).",
		},
	}
	b := baseIndex(len(rs), func(k int) string { return rs[k].Lib }, func(k int) bool { return rs[k].Err != "" })
	for _, r := range rs {
		if r.Err != "" {
			t.add(r.Lib, "ERROR: "+r.Err)
			continue
		}
		base := rs[b]
		t.add(r.Lib, f1(r.KiBPerConn), ratio(r.KiBPerConn, base.KiBPerConn), f1(r.HeapKiB), f1(r.StackKiB), f2(r.Goroutines),
			f1(r.RSSPerConn), ratio(r.RSSPerConn, base.RSSPerConn))
	}
	if o.verbose {
		for _, r := range rs {
			if r.Extensions != "" {
				t.notes = append(t.notes, fmt.Sprintf("%s negotiated: %s", r.Lib, r.Extensions))
			}
		}
	}
	t.print(w)
}

func printFlate(w io.Writer, o *options, rs []flateResult) {
	t := &table{
		title: fmt.Sprintf("4. Flate: one permessage-deflate message (level %d, sync flush, no context), compress + decompress", o.flateLevel),
		left:  3,
		head:  []string{"payload", "mode", "impl", "comp ns", "decomp ns", "total ns/op", "x klauspost", "B/op", "allocs/op", "out B", "size ratio"},
		notes: []string{
			"x klauspost: total ns/op relative to github.com/klauspost/compress/flate, the implementation net/ws uses (= 1.00).",
			"mode reuse: writer/reader Reset per message (pooled, as the libraries do); new: NewWriter/NewReader per message.",
		},
	}
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j].Payload == rs[i].Payload && rs[j].Mode == rs[i].Mode {
			j++
		}
		g := rs[i:j]
		base := g[0]
		for _, r := range g {
			if r.Impl == "klauspost/flate" {
				base = r
			}
		}
		for _, r := range g {
			t.add(r.Payload, r.Mode, r.Impl, f0(r.CompNs), f0(r.DecompNs), f0(r.TotalNs), ratio(r.TotalNs, base.TotalNs),
				f0(r.BytesPerOp), f1(r.AllocsPerOp), fmt.Sprint(r.CompressedLen), f2(r.Ratio))
		}
		i = j
	}
	t.print(w)
}

func summarizeEcho(r echoResult) string {
	if r.Err != "" {
		return "ERROR: " + r.Err
	}
	return fmt.Sprintf("%.0f msg/s, %.2f us CPU/msg", r.MsgsPerSec, r.CPUPerMsgNs/1000)
}

func summarizeBcast(r bcastResult) string {
	if r.Err != "" {
		return "ERROR: " + r.Err
	}
	return fmt.Sprintf("p50 %.2f ms/bcast, %.1f allocs/bcast, %.2f ms CPU/bcast, other CPU %s %%", r.MedianNs/1e6, r.AllocsPerBcast, r.CPUPerBcastNs/1e6, pct(r.OtherCPUPct))
}

func summarizeIdle(r idleResult) string {
	if r.Err != "" {
		return "ERROR: " + r.Err
	}
	return fmt.Sprintf("%.1f KiB/conn heap+stack, %.1f KiB/conn RSS", r.KiBPerConn, r.RSSPerConn)
}
