package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// options are the parent's workload settings (see flags in main.go).
type options struct {
	libs         []string
	text         bool
	dialPar      int
	profileDir   string
	verbose      bool
	echoSizes    []int
	echoDeflate  []bool
	echoConns    int
	echoDuration time.Duration
	echoWarmup   time.Duration
	echoSlices   int
	waitQuiet    time.Duration
	bcastConns   []int
	bcastPar     []int // fan-outs every library runs, in goroutines (1: serial)
	bcastRounds  int
	bcastWarmup  int
	idleConns    int
	idleSettle   time.Duration
	flateTime    time.Duration
	flateLevel   int
}

func (o *options) profilePath(name string) string {
	if o.profileDir == "" {
		return ""
	}
	return filepath.Join(o.profileDir, name+".pprof")
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// dialMany opens n client connections with par concurrent dialers.
func dialMany(addr string, n int, deflate bool, readBuf, par int) ([]*wsClient, error) {
	clients := make([]*wsClient, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(par, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				cl, err := dialWS(addr, deflate, readBuf)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("dial %d/%d: %w", i, n, err)
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
				clients[i] = cl
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		abortAll(clients)
		return nil, firstErr
	}
	return clients, nil
}

func abortAll(clients []*wsClient) {
	for _, cl := range clients {
		if cl != nil {
			cl.abort()
		}
	}
}

func deflateCount(clients []*wsClient) int {
	n := 0
	for _, cl := range clients {
		if cl.deflate {
			n++
		}
	}
	return n
}

// ---------------------------------------------------------------- workload 1: echo

type echoResult struct {
	Lib          string  `json:"lib"`
	Payload      int     `json:"payload_bytes"`
	Deflate      bool    `json:"deflate"`
	Conns        int     `json:"conns"`
	MsgsPerSec   float64 `json:"msgs_per_sec"`
	CPUPerMsgNs  float64 `json:"server_cpu_ns_per_msg"`
	WireBytesMsg float64 `json:"server_wire_bytes_per_msg"`
	// OtherCPUPct: share of the machine's CPU used by other processes during the window.
	OtherCPUPct float64 `json:"other_cpu_pct"`
	// Slices: the window was cut in this many slices; the metrics above are medians.
	Slices        int       `json:"slices"`
	MsgsPerSecAll []float64 `json:"msgs_per_sec_slices"`
	Extensions    string    `json:"extensions,omitempty"`
	Err           string    `json:"error,omitempty"`
}

type paddedCounter struct {
	n    atomic.Int64
	wire atomic.Int64
	_    [48]byte
}

func runEcho(o *options, lib string, size int, deflate bool) (res echoResult) {
	res = echoResult{Lib: libs[lib].label, Payload: size, Deflate: deflate, Conns: o.echoConns}
	if o.waitQuiet > 0 {
		waitQuiet(o.waitQuiet)
	}
	fail := func(err error) echoResult { res.Err = err.Error(); return res }
	name := fmt.Sprintf("echo-%s-%dB-deflate-%v", lib, size, deflate)
	ch, err := startChild(serveFlags{lib: lib, mode: "echo", deflate: deflate, text: o.text, cpuprofile: o.profilePath(name)})
	if err != nil {
		return fail(err)
	}
	defer ch.stop()
	clients, err := dialMany(ch.wsAddr, o.echoConns, deflate, 16<<10, o.dialPar)
	if err != nil {
		return fail(err)
	}
	defer abortAll(clients)
	if deflate && deflateCount(clients) != len(clients) {
		return fail(fmt.Errorf("permessage-deflate negotiated on %d of %d connections", deflateCount(clients), len(clients)))
	}
	res.Extensions = clients[0].ext

	payload := gameJSON(size, 42)
	comp := clientDeflate(payload)
	op := byte(opBinary)
	if o.text {
		op = opText
	}
	counters := make([]paddedCounter, len(clients))
	var stop atomic.Bool
	var errMu sync.Mutex
	var loopErr error
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Go(func() {
			for !stop.Load() {
				var err error
				if cl.deflate {
					err = cl.writeFrame(op, comp, true)
				} else {
					err = cl.writeFrame(op, payload, false)
				}
				if err == nil {
					var p []byte
					if _, p, err = cl.readMessage(); err == nil && !bytes.Equal(p, payload) {
						err = fmt.Errorf("echo mismatch: got %d bytes, want %d", len(p), len(payload))
					}
				}
				if err != nil {
					if !stop.Load() {
						errMu.Lock()
						loopErr = errors.Join(loopErr, err)
						errMu.Unlock()
					}
					return
				}
				counters[i].n.Add(1)
				counters[i].wire.Store(cl.wireIn.Load())
			}
		})
	}
	sum := func() (n, wire int64) {
		for i := range counters {
			n += counters[i].n.Load()
			wire += counters[i].wire.Load()
		}
		return
	}
	time.Sleep(o.echoWarmup)
	if _, err := ch.call("p start"); err != nil {
		logf("profile: %v", err)
	}
	// The window is cut into slices; the row reports the median slice so that a burst
	// of outside load on this small, shared machine does not decide a ratio.
	type slice struct {
		msgs int64
		cpu  time.Duration
		dur  time.Duration
	}
	var parts []slice
	var cpuErr error
	n0, w0 := sum()
	nPrev := n0
	cpuPrev, err := ch.cpu()
	cpuErr = errors.Join(cpuErr, err)
	load := startLoad(cpuPrev)
	tPrev := time.Now()
	sliceDur := o.echoDuration / time.Duration(o.echoSlices)
	for range o.echoSlices {
		time.Sleep(sliceDur)
		n := func() int64 { n, _ := sum(); return n }()
		cpu, err := ch.cpu()
		cpuErr = errors.Join(cpuErr, err)
		t := time.Now()
		parts = append(parts, slice{n - nPrev, cpu - cpuPrev, t.Sub(tPrev)})
		nPrev, cpuPrev, tPrev = n, cpu, t
	}
	n1, w1 := sum()
	res.OtherCPUPct = load.otherPct(cpuPrev)
	_, _ = ch.call("p stop")
	stop.Store(true)
	for _, cl := range clients {
		_ = cl.c.SetDeadline(time.Now().Add(2 * time.Second))
	}
	wg.Wait()
	if cpuErr != nil {
		return fail(cpuErr)
	}
	if loopErr != nil {
		return fail(firstLine(loopErr))
	}
	msgs := n1 - n0
	if msgs <= 0 {
		return fail(errors.New("no round trips in the measured window"))
	}
	rates := make([]float64, 0, len(parts))
	cpus := make([]float64, 0, len(parts))
	for _, sl := range parts {
		rates = append(rates, float64(sl.msgs)/sl.dur.Seconds())
		if sl.msgs > 0 {
			cpus = append(cpus, float64(sl.cpu)/float64(sl.msgs))
		}
	}
	res.MsgsPerSec = median(rates)
	res.CPUPerMsgNs = median(cpus)
	res.Slices = len(parts)
	res.MsgsPerSecAll = rates
	res.WireBytesMsg = float64(w1-w0) / float64(msgs)
	return res
}

// median of v (v is reordered); 0 when empty.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func firstLine(err error) error {
	s := err.Error()
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		s = s[:i] + " (and more)"
	}
	return errors.New(s)
}

// ---------------------------------------------------------------- workload 3: idle memory

type idleResult struct {
	Lib        string  `json:"lib"`
	Conns      int     `json:"conns"`
	KiBPerConn float64 `json:"heap_stack_kib_per_conn"`
	HeapKiB    float64 `json:"heap_kib_per_conn"`
	StackKiB   float64 `json:"stack_kib_per_conn"`
	Goroutines float64 `json:"goroutines_per_conn"`
	RSSPerConn float64 `json:"rss_kib_per_conn"`
	Extensions string  `json:"extensions,omitempty"`
	Err        string  `json:"error,omitempty"`
}

func runIdle(o *options, lib, variant string) (res idleResult) {
	res = idleResult{Lib: libs[lib].label, Conns: o.idleConns}
	if variant != "" {
		res.Lib += " (" + variant + ")"
	}
	fail := func(err error) idleResult { res.Err = err.Error(); return res }
	name := "idle-" + lib
	if variant != "" {
		name += "-" + variant
	}
	heapPath := ""
	if o.profileDir != "" {
		heapPath = filepath.Join(o.profileDir, name+".heap.pprof")
	}
	ch, err := startChild(serveFlags{lib: lib, mode: "idle", deflate: true, text: o.text, variant: variant, heapprofile: heapPath})
	if err != nil {
		return fail(err)
	}
	defer ch.stop()
	s0, err := ch.stats(true)
	if err != nil {
		return fail(err)
	}
	clients, err := dialMany(ch.wsAddr, o.idleConns, true, 0, o.dialPar)
	if err != nil {
		return fail(err)
	}
	defer abortAll(clients)
	if deflateCount(clients) != len(clients) {
		return fail(fmt.Errorf("permessage-deflate negotiated on %d of %d connections", deflateCount(clients), len(clients)))
	}
	res.Extensions = clients[0].ext
	if err := ch.waitConns(o.idleConns, 30*time.Second); err != nil {
		return fail(err)
	}
	time.Sleep(o.idleSettle)
	s1, err := ch.stats(true)
	if err != nil {
		return fail(err)
	}
	if heapPath != "" {
		if _, err := ch.call("h"); err != nil {
			logf("heap profile: %v", err)
		}
	}
	n := float64(o.idleConns)
	res.HeapKiB = (float64(s1.heap) - float64(s0.heap)) / n / 1024
	res.StackKiB = (float64(s1.stack) - float64(s0.stack)) / n / 1024
	res.KiBPerConn = res.HeapKiB + res.StackKiB
	res.Goroutines = float64(s1.gor-s0.gor) / n
	res.RSSPerConn = (float64(s1.rss) - float64(s0.rss)) / n / 1024
	return res
}
