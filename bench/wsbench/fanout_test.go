package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFanOutWritesEveryConnectionOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 5, 7, 1000} {
		for _, par := range []int{-1, 0, 1, 2, 3, 8} {
			t.Run(fmt.Sprintf("n=%d/par=%d", n, par), func(t *testing.T) {
				conns := make([]int, n)
				for i := range conns {
					conns[i] = i
				}
				seen := make([]atomic.Int32, n)
				fanOut(conns, par, func(c int) { seen[c].Add(1) })
				for i := range seen {
					if got := seen[i].Load(); got != 1 {
						t.Fatalf("connection %d written %d times", i, got)
					}
				}
			})
		}
	}
}

// TestFanOutRunsParWritersAtOnce holds each share's first write until all par of them
// have arrived: a fan-out that ran fewer goroutines than asked would never release them.
func TestFanOutRunsParWritersAtOnce(t *testing.T) {
	for _, c := range []struct{ n, par int }{{2, 2}, {10, 2}, {7, 3}, {1000, 4}} {
		t.Run(fmt.Sprintf("n=%d/par=%d", c.n, c.par), func(t *testing.T) {
			conns := make([]int, c.n)
			for i := range conns {
				conns[i] = i
			}
			starts := map[int]bool{} // each share's first element, as fanOut splits
			for w := range c.par {
				starts[w*c.n/c.par] = true
			}
			var arrived sync.WaitGroup
			arrived.Add(c.par)
			released := make(chan struct{})
			go func() { arrived.Wait(); close(released) }()
			var inFlight, maxInFlight atomic.Int32
			done := make(chan struct{})
			go func() {
				defer close(done)
				fanOut(conns, c.par, func(i int) {
					cur := inFlight.Add(1)
					for m := maxInFlight.Load(); cur > m && !maxInFlight.CompareAndSwap(m, cur); m = maxInFlight.Load() {
					}
					if starts[i] {
						arrived.Done()
						<-released
					}
					inFlight.Add(-1)
				})
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second): // a deadlock guard, not a timing check
				t.Fatalf("fanOut did not run %d writers at once", c.par)
			}
			if got := maxInFlight.Load(); got != int32(c.par) {
				t.Fatalf("at most %d writes were in flight, want %d", got, c.par)
			}
		})
	}
}

func TestParListResolvesGOMAXPROCSAndDropsDuplicates(t *testing.T) {
	for _, c := range []struct {
		in    string
		procs int
		want  []int
		bad   bool
	}{
		{in: "1,0", procs: 2, want: []int{1, 2}},
		{in: "1,0", procs: 1, want: []int{1}},
		{in: "4, 1 ,4", procs: 2, want: []int{4, 1}},
		{in: "", procs: 2, bad: true},
		{in: "-1", procs: 2, bad: true},
		{in: "x", procs: 2, bad: true},
	} {
		got, err := parList(c.in, c.procs)
		if (err != nil) != c.bad || !slices.Equal(got, c.want) {
			t.Errorf("parList(%q, %d) = %v, %v; want %v (error %v)", c.in, c.procs, got, err, c.want, c.bad)
		}
	}
}

func TestParseUintsReadsTheBroadcastCommand(t *testing.T) {
	for _, c := range []struct {
		line string
		n    int
		want [2]int
	}{
		{" 12 3", 2, [2]int{12, 3}},
		{" 7", 1, [2]int{7, 0}},
		{"", 0, [2]int{}},
		{" 1 2 3", 3, [2]int{1, 2}},
	} {
		var got [2]int
		if n := parseUints([]byte(c.line), got[:]); n != c.n || got != c.want {
			t.Errorf("parseUints(%q) = %d %v, want %d %v", c.line, n, got, c.n, c.want)
		}
	}
}

// TestBroadcastTableComparesOneFanOut checks that ratios compare libraries at the same
// fan-out, and that net/ws's own call is a row of the widest group against net/ws's
// fanOut row, whatever order the rows ran in.
func TestBroadcastTableComparesOneFanOut(t *testing.T) {
	o := &options{bcastConns: []int{1000}, bcastPar: []int{1, 2}}
	rows := []bcastResult{
		{Lib: "net/ws", Conns: 1000, Par: 1, Fanout: "serial", MedianNs: 4e6, CPUPerBcastNs: 4e6, AllocsPerBcast: 1},
		{Lib: "net/ws", Conns: 1000, Par: 2, Fanout: "fanOut x2", MedianNs: 2e6, CPUPerBcastNs: 4e6, AllocsPerBcast: 4},
		{Lib: "net/ws", Conns: 1000, Par: 0, Fanout: "ws.Broadcast", MedianNs: 1e6, CPUPerBcastNs: 3e6, AllocsPerBcast: 4},
		{Lib: "gorilla", Conns: 1000, Par: 1, Fanout: "serial", MedianNs: 12e6, CPUPerBcastNs: 8e6, AllocsPerBcast: 3},
		{Lib: "gorilla", Conns: 1000, Par: 2, Fanout: "fanOut x2", MedianNs: 5e6, CPUPerBcastNs: 10e6, AllocsPerBcast: 8},
	}
	var b strings.Builder
	printBcast(&b, o, rows)
	var got []string
	for _, l := range strings.Split(b.String(), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && f[0] == "1000" {
			// conns, fan-out (one or two words), lib, p50, x net/ws
			i := 2
			if f[1] == "fanOut" {
				i = 3
			}
			got = append(got, f[i]+" "+f[i-1]+" "+f[i+2])
		}
	}
	want := []string{
		"net/ws serial 1.00", "gorilla serial 3.00",
		"net/ws x2 1.00", "gorilla x2 2.50", "net/ws ws.Broadcast 0.50",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rows (lib, fan-out, p50 ratio) = %q, want %q\n%s", got, want, b.String())
	}
}
