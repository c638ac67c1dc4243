package main

import (
	"fmt"
	"io"
	"time"
)

// totals are the bots' counters summed at one moment.
type totals struct {
	at             int64 // mono
	connected      int
	snapshots      int64
	events         int64
	protocolErrors int64
	baselineMisses int64
	baselineResets int64
	pongs          int64
	inputs         int64
	bytesIn        int64 // WebSocket wire bytes, frame headers included
	bytesOut       int64
	messagesOut    int64   // WebSocket messages the bots sent: each is a wake-up and a read for the server
	perBot         []int64 // each started bot's snapshots, -1 for one not up: the fewest any player got
}

// reporter prints a progress line once a second and sums the bots' counters.
type reporter struct {
	r    *runner
	w    io.Writer
	quit chan struct{}
	done chan struct{}
}

func newReporter(r *runner, w io.Writer) *reporter {
	return &reporter{r: r, w: w, quit: make(chan struct{}), done: make(chan struct{})}
}

// snapshot sums the counters of every bot started so far.
func (rep *reporter) snapshot() totals {
	r := rep.r
	t := totals{at: r.mono(), bytesIn: r.wsm.BytesIn.Load(), bytesOut: r.wsm.BytesOut.Load(), messagesOut: r.wsm.MessagesOut.Load()}
	bots := r.startedBots()
	t.perBot = make([]int64, len(bots))
	for i, b := range bots {
		n := b.n.snapshots.Load()
		t.perBot[i] = -1
		if b.up.Load() {
			t.connected++
			t.perBot[i] = n
		}
		t.snapshots += n
		t.events += b.n.events.Load()
		t.protocolErrors += b.n.protocolErrors.Load()
		t.baselineMisses += b.n.baselineMisses.Load()
		t.baselineResets += b.n.baselineResets.Load()
		t.pongs += b.n.pongs.Load()
		t.inputs += b.n.inputs.Load()
	}
	return t
}

func (rep *reporter) start() {
	go func() {
		defer close(rep.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		prev := rep.snapshot()
		for {
			select {
			case <-tick.C:
			case <-rep.quit:
				if rep.r.cfg.ProgressTTY {
					fmt.Fprintln(rep.w)
				}
				return
			}
			cur := rep.snapshot()
			rep.r.game.sweep(cur.at)
			rep.line(prev, cur)
			prev = cur
		}
	}()
}

func (rep *reporter) stop() {
	close(rep.quit)
	<-rep.done
}

var phaseNames = [...]string{"ramp", "measure", "settle", "closing"}

// line prints t=12s measure connected=9998/10000 snapshots/s=99,870 in=1.2MB/s errors=0.
func (rep *reporter) line(prev, cur totals) {
	r := rep.r
	secs := float64(cur.at-prev.at) / 1e9
	if secs <= 0 {
		return
	}
	errs := r.joinErrors.Load() + r.closes.Load() + cur.protocolErrors + r.chaos.errors() + r.rejoin.lost.Load()
	s := fmt.Sprintf("t=%ds %s connected=%d/%d snapshots/s=%s in=%s/s errors=%d",
		cur.at/1e9, phaseNames[r.phase.Load()], cur.connected, r.cfg.Players,
		thousands(int64(float64(cur.snapshots-prev.snapshots)/secs+0.5)),
		byteSize(float64(cur.bytesIn-prev.bytesIn)/secs), errs)
	if r.cfg.Rejoin {
		s += fmt.Sprintf(" affected=%d away=%d lost=%d", r.rejoin.affected.Load(), r.away(), r.rejoin.lost.Load())
	}
	if r.cfg.ProgressTTY {
		fmt.Fprintf(rep.w, "\r%s\x1b[K", s)
	} else {
		fmt.Fprintln(rep.w, s)
	}
}

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := fmt.Sprint(n)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// byteSize formats a byte count with a binary-free SI unit: 950B, 12.3kB, 4.5MB, 1.2GB.
func byteSize(n float64) string {
	switch {
	case n < 1e3:
		return fmt.Sprintf("%.0fB", n)
	case n < 1e6:
		return fmt.Sprintf("%.1fkB", n/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1fMB", n/1e6)
	}
	return fmt.Sprintf("%.1fGB", n/1e9)
}
