package main

// Workload 2: broadcast. One child server per library and audience size; its connections
// are dialed once and every fan-out is measured on them in turn (warm-up broadcasts first
// for each), so a 10,000-connection audience is not dialed again for every row.

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type bcastResult struct {
	Lib   string `json:"lib"`
	Conns int    `json:"conns"`
	// Par is the fan-out: goroutines the harness spread the writes over (fanOut), the same
	// for every library; 0 for a library's own broadcast call (Fanout names it).
	Par             int     `json:"fanout_goroutines"`
	Fanout          string  `json:"fanout"`
	Rounds          int     `json:"broadcasts"`
	MeanNs          float64 `json:"ns_per_broadcast_mean"`
	MedianNs        float64 `json:"ns_per_broadcast_median"`
	LoopNs          float64 `json:"ns_in_broadcast_call_mean"`
	AllocsPerBcast  float64 `json:"server_allocs_per_broadcast"`
	CPUPerBcastNs   float64 `json:"server_cpu_ns_per_broadcast"`
	WireBytesPerMsg float64 `json:"wire_bytes_per_client_msg"`
	OtherCPUPct     float64 `json:"other_cpu_pct"`
	Extensions      string  `json:"extensions,omitempty"`
	Err             string  `json:"error,omitempty"`
}

// bcastMode is one way of broadcasting: through fanOut with par goroutines, or (own) with
// the library's own call.
type bcastMode struct {
	par int
	own string // the own call's name; "" for fanOut
}

func (m bcastMode) label() string {
	if m.own != "" {
		return m.own
	}
	if m.par <= 1 {
		return "serial"
	}
	return "fanOut x" + strconv.Itoa(m.par)
}

// slug names the mode in file names (CPU profiles).
func (m bcastMode) slug() string {
	if m.own != "" {
		return "own"
	}
	return "par" + strconv.Itoa(max(m.par, 1))
}

// command is the child's control command for broadcast k in this mode.
func (m bcastMode) command(k int) string {
	if m.own != "" {
		return fmt.Sprintf("o %d", k)
	}
	return fmt.Sprintf("b %d %d", k, m.par)
}

// bcastModes lists the fan-outs every library runs, then the library's own call if it has
// one (probed in this process: the adapters are the same code as in the child).
func bcastModes(o *options, lib string) []bcastMode {
	var modes []bcastMode
	for _, p := range o.bcastPar {
		modes = append(modes, bcastMode{par: p})
	}
	if own, ok := libs[lib].broadcast(serverConfig{deflate: true}).(ownBroadcaster); ok {
		modes = append(modes, bcastMode{own: own.OwnName()})
	}
	return modes
}

func (o *options) roundsFor(n int) int {
	if o.bcastRounds > 0 {
		return o.bcastRounds
	}
	return min(max(200000/n, 10), 100)
}

// runBroadcast measures every mode of lib on one child server with n connections and
// returns one row per mode.
func runBroadcast(o *options, lib string, n int) []bcastResult {
	rounds := o.roundsFor(n)
	modes := bcastModes(o, lib)
	res := make([]bcastResult, len(modes))
	for i, m := range modes {
		res[i] = bcastResult{Lib: libs[lib].label, Conns: n, Rounds: rounds, Par: m.par, Fanout: m.label()}
	}
	failAll := func(err error) []bcastResult {
		for i := range res {
			res[i].Err = err.Error()
		}
		return res
	}
	name := fmt.Sprintf("bcast-%s-%d", lib, n)
	ch, err := startChild(serveFlags{lib: lib, mode: "bcast", deflate: true, text: o.text, cpuprofile: o.profilePath(name)})
	if err != nil {
		return failAll(err)
	}
	defer ch.stop()
	clients, err := dialMany(ch.wsAddr, n, true, 4096, o.dialPar)
	if err != nil {
		return failAll(err)
	}
	defer abortAll(clients)
	if deflateCount(clients) != n {
		return failAll(fmt.Errorf("permessage-deflate negotiated on %d of %d connections", deflateCount(clients), n))
	}
	for i := range res {
		res[i].Extensions = clients[0].ext
	}
	if err := ch.waitConns(n, 30*time.Second); err != nil {
		return failAll(err)
	}
	a := newAudience(clients)
	defer a.closing.Store(true)
	for i, m := range modes {
		if o.waitQuiet > 0 {
			waitQuiet(o.waitQuiet)
		}
		if err := a.measure(o, ch, m, &res[i]); err != nil {
			res[i].Err = err.Error()
			// The audience may be out of step with the server now (a broadcast half
			// delivered): later modes would count wrong, so they fail too.
			for j := i + 1; j < len(res); j++ {
				res[j].Err = "not run: an earlier mode failed"
			}
			break
		}
	}
	return res
}

// audience is the clients of one broadcast child: every client counts the messages it
// gets, and a few also inflate and check them against the snapshot the child sent.
type audience struct {
	clients []*wsClient
	snaps   [][]byte
	sent    int // broadcasts triggered so far, over all modes
	total   atomic.Int64
	target  atomic.Int64
	done    chan struct{}
	errMu   sync.Mutex
	err     error
	closing atomic.Bool
}

// verifiers is how many clients inflate and check every message.
const verifiers = 4

func newAudience(clients []*wsClient) *audience {
	a := &audience{clients: clients, snaps: snapshots(snapshotVariants), done: make(chan struct{}, 1)}
	a.target.Store(-1)
	for i, cl := range clients {
		if i < verifiers {
			go func() {
				for k := 0; ; k++ {
					_, p, err := cl.readMessage()
					if err != nil {
						a.report(err)
						return
					}
					if !bytes.Equal(p, a.snaps[k%len(a.snaps)]) {
						a.report(fmt.Errorf("client %d: broadcast %d has wrong content (%d bytes)", i, k, len(p)))
					}
					a.onMsg()
				}
			}()
			continue
		}
		go func() { a.report(cl.countMessages(a.onMsg)) }()
	}
	return a
}

func (a *audience) onMsg() {
	if a.total.Add(1) == a.target.Load() {
		select {
		case a.done <- struct{}{}:
		default:
		}
	}
}

func (a *audience) report(err error) {
	if err != nil && !a.closing.Load() {
		a.errMu.Lock()
		a.err = errors.Join(a.err, err)
		a.errMu.Unlock()
	}
}

func (a *audience) readErr() error {
	a.errMu.Lock()
	defer a.errMu.Unlock()
	return a.err
}

// broadcast triggers the next broadcast in mode m and waits until every client has it;
// it returns the time from the trigger to the last arrival and the time the child spent
// inside the broadcast call.
func (a *audience) broadcast(ch *child, m bcastMode) (total, call time.Duration, err error) {
	n := int64(len(a.clients))
	k := a.sent
	a.sent++
	a.target.Store(int64(a.sent) * n)
	t := time.Now()
	line, err := ch.call(m.command(k))
	if err != nil {
		return 0, 0, err
	}
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		return 0, 0, fmt.Errorf("broadcast %d: %d of %d messages arrived", k, a.total.Load()-int64(k)*n, n)
	}
	total = time.Since(t)
	var ok string
	var ns int64
	if _, err := fmt.Sscan(line, &ok, &ns); err == nil {
		call = time.Duration(ns)
	}
	return total, call, nil
}

// measure runs o.bcastWarmup unmeasured broadcasts and then the measured rounds in mode m,
// filling r.
func (a *audience) measure(o *options, ch *child, m bcastMode, r *bcastResult) error {
	for range o.bcastWarmup {
		if _, _, err := a.broadcast(ch, m); err != nil {
			return err
		}
	}
	if _, err := ch.call("p start " + m.slug()); err != nil {
		logf("profile: %v", err)
	}
	s0, err := ch.stats(false)
	if err != nil {
		return err
	}
	last := a.clients[len(a.clients)-1]
	wire0 := last.wireIn.Load()
	load := startLoad(s0.cpu)
	durs := make([]time.Duration, 0, r.Rounds)
	var sumD, loop time.Duration
	for range r.Rounds {
		d, call, err := a.broadcast(ch, m)
		if err != nil {
			return err
		}
		durs = append(durs, d)
		sumD += d
		loop += call
	}
	s1, err := ch.stats(false)
	if err != nil {
		return err
	}
	r.OtherCPUPct = load.otherPct(s1.cpu)
	_, _ = ch.call("p stop")
	if err := a.readErr(); err != nil {
		return firstLine(err)
	}
	slices.Sort(durs)
	rounds := float64(r.Rounds)
	r.MeanNs = float64(sumD) / rounds
	r.MedianNs = float64(durs[len(durs)/2])
	r.LoopNs = float64(loop) / rounds
	r.AllocsPerBcast = float64(s1.mallocs-s0.mallocs) / rounds
	r.CPUPerBcastNs = float64(s1.cpu-s0.cpu) / rounds
	r.WireBytesPerMsg = float64(last.wireIn.Load()-wire0) / rounds
	return nil
}
