package main

// The harness of the hostile-client suite (hostile_attacks_test.go): one real gameserver on a
// loopback port, one honest shooter player in a room of its own who plays at 60 Hz through
// every attack, and per attack a record of what the process spent (memory, goroutines) and
// of the longest wait between two of the honest player's snapshots.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/state"
)

// What every attack is held to (issue 11, "What must be true" 1).
const (
	// maxSnapshotGap is the longest the honest player may wait for a snapshot, during an
	// attack and after it. Its room sends 30 a second, so this is seven missed in a row.
	// Under the race detector, which makes every instruction several times dearer and in CI
	// shares two cores with every other package's tests, a scheduling hiccup alone exceeds
	// it, so the bound there is raceSnapshotGap: still far below the seconds an attack that
	// hurt others caused (2.4 s without snapshots for the deflate bombs of issue 11).
	maxSnapshotGap  = 250 * time.Millisecond
	raceSnapshotGap = 1500 * time.Millisecond
	// defaultMemGrowth bounds how much more memory the process may hold from the OS at the
	// peak of an attack than before it, unless the attack says otherwise.
	defaultMemGrowth = 48 << 20
	// heapReturnSlack is how far above its level before the attack the live heap (after a
	// collection) may stay once the attack is over: what a few rooms and caches keep.
	heapReturnSlack = 16 << 20
	// defaultGoroutineGrowth bounds the extra goroutines at the peak of an attack.
	defaultGoroutineGrowth = 300
	// defaultGoroutineKeep is how many more goroutines than before the attack may remain
	// once it is over (a room the attack legitimately left for its empty timeout, a
	// keepalive timer finishing).
	defaultGoroutineKeep = 8
	// settle is the hang detector for everything that must return after an attack: far
	// beyond what any of it takes on a quiet machine, so that only a leak reaches it.
	settle = 20 * time.Second

	// suitePeerTimeout is the engine's PeerTimeout for the suite: a half-open connection is
	// pinged after 1 s of silence and dropped after 2 s, instead of the default 4 + 4 s,
	// so that the half-open attack takes seconds. The honest player sends 60 inputs a
	// second and is never near it.
	suitePeerTimeout = 2 * time.Second
	// suiteHTTPTimeout is the HTTP server's idle and read-header timeout for the suite.
	suiteHTTPTimeout = 2 * time.Second
)

// The suite's view of who is who: the server believes X-Forwarded-For from loopback, so
// that each attack can come from an address of its own while every connection really is
// on loopback; the honest player sends no such header and is the loopback client itself.
var suiteTrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// suitePublicHosts pins the names browsers may use, for the DNS-rebinding attacks. The
// suite's own clients send no Origin and are not affected.
var suitePublicHosts = []string{"play.rallypoint.test", "127.0.0.1"}

// hostileServer is the real server the suite attacks: run, as main calls it, on a loopback
// port.
type hostileServer struct {
	addr string // 127.0.0.1:port
	// How soon the HTTP server closes an idle keep-alive connection and one whose headers
	// do not arrive: suiteHTTPTimeout.
	idleTimeout, headerTimeout time.Duration
}

// snapshotGapLimit is maxSnapshotGap, or raceSnapshotGap under the race detector.
func snapshotGapLimit() time.Duration {
	if raceEnabled {
		return raceSnapshotGap
	}
	return maxSnapshotGap
}

func startHostileServer(t *testing.T) *hostileServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := options{
		peerTimeout:    suitePeerTimeout,
		publicHosts:    suitePublicHosts,
		trustedProxies: suiteTrustedProxies,
	}
	opts.idleTimeout, opts.readHeaderTimeout = suiteHTTPTimeout, suiteHTTPTimeout
	hs := &hostileServer{addr: ln.Addr().String(), idleTimeout: suiteHTTPTimeout, headerTimeout: suiteHTTPTimeout}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, ln, slog.New(slog.DiscardHandler), opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("server stopped with %v", err)
			}
		case <-time.After(settle):
			t.Errorf("server did not shut down")
		}
	})
	return hs
}

func (hs *hostileServer) url(path string) string { return "ws://" + hs.addr + path }

// dialAs connects a protocol client to /play as the client at address from (sent as
// X-Forwarded-For, which the suite's server believes); "" is loopback itself.
func (hs *hostileServer) dialAs(ctx context.Context, from string) (*gameclient.Client, error) {
	var o ws.DialOptions
	if from != "" {
		o.Header = http.Header{"X-Forwarded-For": {from}}
	}
	return gameclient.Dial(ctx, hs.url("/play"), &o)
}

// honest is the player no attack may touch: a shooter player in a room of its own that
// sends an input every 1/60 s, as the page does, acknowledges every snapshot on its inputs
// and applies each one to its mirror (a corrupt snapshot ends its connection). It notes
// when each snapshot arrives.
type honest struct {
	hs  *hostileServer
	cl  *gameclient.Client
	mu  sync.Mutex
	at  time.Time     // when the latest snapshot arrived (or the window began)
	gap time.Duration // the longest wait in this window
	n   int           // snapshots in this window
	// dead is the reason the honest player's connection ended, if it did.
	dead error

	stop chan struct{}
	wg   sync.WaitGroup
}

func newHonest(t *testing.T, hs *hostileServer) *honest {
	t.Helper()
	h := &honest{hs: hs}
	if err := h.connect(); err != nil {
		t.Fatalf("honest player: %v", err)
	}
	t.Cleanup(h.close)
	return h
}

// connect seats the honest player in a new shooter room (Create: never the room of an
// attack) and starts its input and snapshot loops.
func (h *honest) connect() error {
	ctx, cancel := context.WithTimeout(context.Background(), settle)
	defer cancel()
	cl, err := h.hs.dialAs(ctx, "")
	if err != nil {
		return err
	}
	j, err := cl.Join(ctx, engine.JoinOptions{Game: "shooter", Create: true})
	if err != nil {
		cl.Conn().CloseNow()
		return err
	}
	if err := cl.WaitSnapshot(ctx, j.Tick+1); err != nil {
		cl.Conn().CloseNow()
		return err
	}
	h.mu.Lock()
	h.cl, h.dead, h.at, h.gap, h.n = cl, nil, time.Now(), 0, 0
	h.mu.Unlock()
	h.stop = make(chan struct{})
	h.wg.Add(2)
	go h.play(cl)
	go h.watch(cl)
	return nil
}

// play sends 60 inputs a second: walk in a square, aim around, fire now and then.
func (h *honest) play(cl *gameclient.Client) {
	defer h.wg.Done()
	tick := time.NewTicker(time.Second / 60)
	defer tick.Stop()
	keys := []uint8{shooter.KeyUp, shooter.KeyRight, shooter.KeyDown, shooter.KeyLeft}
	for i := 0; ; i++ {
		select {
		case <-h.stop:
			return
		case <-cl.Done():
			return
		case <-tick.C:
		}
		in := shooter.Input{Keys: keys[(i/30)%4], Aim: (i * 37) % 6283}
		if i%20 == 0 {
			in.Fire = shooter.FireBlaster
		}
		if _, err := cl.SendInput(in); err != nil {
			return
		}
	}
}

// watch notes the arrival of every snapshot the client applies.
func (h *honest) watch(cl *gameclient.Client) {
	defer h.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-h.stop:
		case <-cl.Done():
		}
		cancel()
	}()
	var tick uint32
	cl.State(func(_ *state.Mirror, t uint32) { tick = t })
	for {
		if err := cl.WaitSnapshot(ctx, tick+1); err != nil {
			if ctx.Err() != nil && cl.Err() == nil {
				return // stopped
			}
			h.mu.Lock()
			h.dead = fmt.Errorf("honest player's connection ended: %v", cl.Err())
			h.mu.Unlock()
			return
		}
		now := time.Now()
		cl.State(func(_ *state.Mirror, t uint32) { tick = t })
		h.mu.Lock()
		h.gap = max(h.gap, now.Sub(h.at))
		h.at = now
		h.n++
		h.mu.Unlock()
	}
}

// window starts a new measurement window.
func (h *honest) window() {
	h.mu.Lock()
	h.at, h.gap, h.n = time.Now(), 0, 0
	h.mu.Unlock()
}

// snapshots is how many snapshots arrived in this window.
func (h *honest) snapshots() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// result ends the window: the longest gap, counting the wait since the latest snapshot,
// the snapshots received, and why the player is gone if it is.
func (h *honest) result() (time.Duration, int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return max(h.gap, time.Since(h.at)), h.n, h.dead
}

// awaitSnapshots waits for n more snapshots in this window; it fails only as a hang
// detector or if the player is gone.
func (h *honest) awaitSnapshots(n int) error {
	target := h.snapshots() + n
	deadline := time.Now().Add(settle)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		got, dead := h.n, h.dead
		h.mu.Unlock()
		if dead != nil {
			return dead
		}
		if got >= target {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("honest player: %d snapshots in %v, wanted %d", h.snapshots(), settle, target)
}

func (h *honest) close() {
	if h.stop != nil {
		close(h.stop)
	}
	if h.cl != nil {
		_ = h.cl.Close()
	}
	h.wg.Wait()
	h.stop = nil
}

// revive seats a new honest player after one was lost, so that one failed attack does not
// fail every attack after it.
func (h *honest) revive(t *testing.T) {
	h.close()
	if err := h.connect(); err != nil {
		t.Fatalf("honest player could not come back: %v", err)
	}
}

// usage samples what the process holds while an attack runs.
type usage struct {
	mu               sync.Mutex
	peakMem, peakRSS uint64
	peakGoroutines   int
	stop             chan struct{}
	done             chan struct{}
	samples          []metrics.Sample
	baseMem, baseRSS uint64
	baseHeap         uint64
	baseGoroutines   int
}

// held is what the Go runtime holds from the OS: everything it mapped less what it gave
// back. Unlike VmRSS it leaves out the race detector's shadow memory and the binary, so a
// bound on it means the same with and without -race.
func held(s []metrics.Sample) uint64 {
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

func newSamples() []metrics.Sample {
	return []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
}

// liveHeap collects garbage twice (pooled buffers survive one collection in a sync.Pool's
// victim cache) and returns the live heap.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// vmRSS reads the process's resident set size from /proc/self/status; 0 where there is
// none.
func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// startUsage takes the baseline and samples until stop: memory held every 2 ms, RSS
// every 20 ms.
func startUsage() *usage {
	u := &usage{samples: newSamples(), stop: make(chan struct{}), done: make(chan struct{})}
	u.baseHeap = liveHeap()
	debug.FreeOSMemory()
	u.baseMem, u.baseRSS, u.baseGoroutines = held(u.samples), vmRSS(), runtime.NumGoroutine()
	u.peakMem, u.peakRSS, u.peakGoroutines = u.baseMem, u.baseRSS, u.baseGoroutines
	go func() {
		defer close(u.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		s := newSamples()
		for i := 0; ; i++ {
			select {
			case <-u.stop:
				return
			case <-tick.C:
			}
			m, g := held(s), runtime.NumGoroutine()
			var rss uint64
			if i%10 == 0 {
				rss = vmRSS()
			}
			u.mu.Lock()
			u.peakMem, u.peakGoroutines, u.peakRSS = max(u.peakMem, m), max(u.peakGoroutines, g), max(u.peakRSS, rss)
			u.mu.Unlock()
		}
	}()
	return u
}

// end stops sampling.
func (u *usage) end() {
	close(u.stop)
	<-u.done
}

// settleGoroutines waits for the goroutines to fall to at most keep above the baseline and
// returns the count; it gives up after settle, a hang detector.
func (u *usage) settleGoroutines(keep int) int {
	deadline := time.Now().Add(settle)
	for {
		n := runtime.NumGoroutine()
		if n <= u.baseGoroutines+keep || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settleHeap waits for the live heap to come back within heapReturnSlack of the baseline,
// collecting garbage between looks, and returns it; it gives up after settle.
func (u *usage) settleHeap() uint64 {
	deadline := time.Now().Add(settle)
	for {
		h := liveHeap()
		if h <= u.baseHeap+heapReturnSlack || time.Now().After(deadline) {
			return h
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mib(v uint64) string { return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20)) }

// serverLives is the last check of every attack: the health endpoint answers and a new
// player joins the crossword, gets snapshots and leaves.
func (hs *hostileServer) serverLives() error {
	ctx, cancel := context.WithTimeout(context.Background(), settle)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+hs.addr+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthz: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, []byte("ok\n")) {
		return fmt.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
	cl, err := hs.dialAs(ctx, "")
	if err != nil {
		return fmt.Errorf("fresh connection: %w", err)
	}
	defer cl.Conn().CloseNow()
	j, err := cl.Join(ctx, engine.JoinOptions{Game: "crossword"})
	if err != nil {
		return fmt.Errorf("fresh join: %w", err)
	}
	if err := cl.WaitSnapshot(ctx, j.Tick+1); err != nil {
		return fmt.Errorf("fresh join got no snapshot: %w", err)
	}
	_ = cl.Leave()
	_ = cl.Close()
	return nil
}

// httpGet sends one request on a new connection and returns the status and body.
func httpGet(addr, path string) (int, string, error) {
	c, err := net.DialTimeout("tcp", addr, settle)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(settle))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, addr)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, string(b), err
}
