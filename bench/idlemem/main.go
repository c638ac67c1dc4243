// Command idlemem measures the gameserver's resident memory per idle connection on its own
// endpoints (issue 14, item 6): N connections to /echo (a share of them offering
// permessage-deflate), each used once and then left idle, and M connections to /play that
// joined the crossword room and then send nothing (they read and acknowledge its
// snapshots, as a player whose hands are off the keyboard does). It starts the server binary
// it is given as a child process on loopback and forces a GC through the server's pprof
// endpoint before each reading. Each reading comes after -settle, long enough for the server
// to have pinged every idle connection once: a connection woken by the pong must go back to
// the poller (it used to stay awake until its next data message). It prints, from
// /proc/PID/status, the RSS before and after each batch divided by the batch's size, and
// where it goes (from the server's /metrics): objects live, heap and stacks in use (live
// objects plus the free room in their spans), free heap the runtime has not yet given back
// to the kernel, and the runtime's metadata. Right after a GC the RSS still holds the heap
// that GC freed (the garbage of joins and snapshots): the runtime's scavenger returns it
// over the next moments, down to about 1.1 times the heap in use (runtime/mgcscavenge.go),
// so the RSS is read again after -scavenge.
//
//	go run ./bench/idlemem -server ./gameserver -echo 5000 -play 2000
//
// bench/idlemem/run.sh builds two revisions and alternates them in rounds.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rallypoint/rallypoint/gameclient"
	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
)

func main() {
	var (
		server  = flag.String("server", "", "gameserver binary to measure")
		label   = flag.String("label", "", "name printed with the results")
		nEcho   = flag.Int("echo", 5000, "idle /echo connections")
		nPlay   = flag.Int("play", 2000, "idle /play connections, joined to the crossword room")
		deflate = flag.Float64("deflate", 0.5, "share of /echo connections that offer permessage-deflate")
		settle  = flag.Duration("settle", 25*time.Second, "how long the connections stay idle before each reading: longer than the keepalive interval (/echo 20 s, /play 4 s), so that every one has answered a ping")
		scav    = flag.Duration("scavenge", 3*time.Second, "wait after the forced GC before reading the RSS a second time (0: once)")
		heap    = flag.String("heapprofile", "", "save the server's heap profile here at the end")
	)
	flag.Parse()
	if *server == "" {
		fmt.Fprintln(os.Stderr, "idlemem: -server is required")
		os.Exit(2)
	}
	if err := run(*server, *label, *nEcho, *nPlay, *deflate, *settle, *scav, *heap); err != nil {
		fmt.Fprintln(os.Stderr, "idlemem:", err)
		os.Exit(1)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// sample is what the server holds at one moment, all in KiB: its resident set right after a
// GC and (rssLater) once the runtime's scavenger had time to return what the GC freed; the
// heap and stacks in use after the GC (go_memstats_*_inuse_bytes); the free heap the runtime
// still holds (heap_idle - heap_released: pages not yet given back, which count in the RSS);
// and the runtime's own bookkeeping (GC bitmaps, spans, profiling buckets, pollDescs).
type sample struct{ rss, rssLater, inuse, stack, goroutines, alloc, free, meta int64 }

func run(bin, label string, nEcho, nPlay int, deflate float64, settle, scavenge time.Duration, heap string) error {
	// Each endpoint gets a server of its own: the garbage one batch's traffic makes (the
	// crossword room's snapshots) would otherwise inflate the other's RSS by the GC's headroom.
	e0, e1, err := batch(bin, settle, scavenge, "", func(addr string) (func(), error) {
		cs, err := dialEcho("ws://"+addr+"/echo", nEcho, deflate)
		return func() { closeAll(cs, nil) }, err
	})
	if err != nil {
		return err
	}
	p0, p1, err := batch(bin, settle, scavenge, heap, func(addr string) (func(), error) {
		ps, err := dialPlay("ws://"+addr+"/play", nPlay)
		return func() { closeAll(nil, ps) }, err
	})
	if err != nil {
		return err
	}
	// The breakdown (live objects onwards) is read right after the GC, as the first RSS.
	report := func(what string, n int, a, b sample) {
		per := func(a, b int64) float64 { return float64(b-a) / float64(n) }
		later := ""
		if scavenge > 0 {
			later = fmt.Sprintf(", %.2f once scavenged (%s later: RSS %d -> %d KiB)", per(a.rssLater, b.rssLater), scavenge, a.rssLater, b.rssLater)
		}
		fmt.Printf("%s %s RSS %d -> %d KiB, %.2f KiB per idle connection right after a GC%s (live objects %.2f, stack %.2f, goroutines %.2f; heap+stack in use %.2f; free heap not yet returned %.2f, runtime metadata %.2f)\n",
			label, what, a.rss, b.rss, per(a.rss, b.rss), later, per(a.alloc, b.alloc), per(a.stack, b.stack),
			per(a.goroutines, b.goroutines), per(a.inuse, b.inuse), per(a.free, b.free), per(a.meta, b.meta))
	}
	report(fmt.Sprintf("echo: %d conns (%.0f%% offered deflate),", nEcho, deflate*100), nEcho, e0, e1)
	report(fmt.Sprintf("play: %d conns joined crossword,", nPlay), nPlay, p0, p1)
	return nil
}

func closeAll(cs []*ws.Conn, ps []*gameclient.Client) {
	for _, c := range cs {
		if c != nil {
			_ = c.CloseNow()
		}
	}
	for _, p := range ps {
		if p != nil {
			_ = p.Conn().CloseNow()
		}
	}
}

// batch starts a server, warms it up with a few connections of each kind, samples it, opens
// the batch and samples it again.
func batch(bin string, settle, scavenge time.Duration, heap string, open func(addr string) (func(), error)) (before, after sample, err error) {
	port, err := freePort()
	if err != nil {
		return
	}
	pport, err := freePort()
	if err != nil {
		return
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	paddr := fmt.Sprintf("127.0.0.1:%d", pport)
	cmd := exec.Command(bin, "-addr", addr, "-pprof", paddr, "-matchmaking=false",
		"-max-conns", "100000", "-max-conns-per-client", "100000")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err = cmd.Start(); err != nil {
		return
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err = waitUp("http://" + addr + "/healthz"); err != nil {
		return
	}
	// Warm up what every connection shares (pools, the crossword room, the HTTP server).
	warmE, err := dialEcho("ws://"+addr+"/echo", 16, 0.5)
	defer closeAll(warmE, nil)
	if err != nil {
		return
	}
	warmP, err := dialPlay("ws://"+addr+"/play", 16)
	defer closeAll(nil, warmP)
	if err != nil {
		return
	}
	if before, err = measure(cmd.Process.Pid, addr, paddr, settle, scavenge); err != nil {
		return
	}
	done, err := open(addr)
	defer done()
	if err != nil {
		return
	}
	if after, err = measure(cmd.Process.Pid, addr, paddr, settle, scavenge); err != nil {
		return
	}
	if heap != "" {
		err = saveHeap(paddr, heap)
	}
	return
}

func waitUp(url string) error {
	for range 100 {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("server at %s did not come up", url)
}

// measure lets the server settle, forces a GC in it (pprof's heap endpoint with gc=1) and
// reads its resident set from /proc and its heap and stacks in use from /metrics at once,
// and its resident set again after scavenge.
func measure(pid int, addr, pprofAddr string, settle, scavenge time.Duration) (sample, error) {
	var s sample
	time.Sleep(settle)
	for range 2 {
		r, err := http.Get("http://" + pprofAddr + "/debug/pprof/heap?gc=1")
		if err != nil {
			return s, err
		}
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	var err error
	if s.rss, err = vmRSS(pid); err != nil {
		return s, err
	}
	r, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return s, err
	}
	defer r.Body.Close()
	ms := bufio.NewScanner(r.Body)
	ms.Buffer(make([]byte, 64<<10), 1<<20)
	v := map[string]int64{}
	for ms.Scan() {
		name, val, ok := strings.Cut(ms.Text(), " ")
		if !ok || !(strings.HasPrefix(name, "go_memstats_") || name == "go_goroutines") {
			continue
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return s, fmt.Errorf("metric %s: %w", name, err)
		}
		v[name] = int64(x)
	}
	if err := ms.Err(); err != nil {
		return s, err
	}
	s.goroutines = v["go_goroutines"]
	s.alloc = v["go_memstats_heap_alloc_bytes"] / 1024
	s.stack = v["go_memstats_stack_inuse_bytes"] / 1024
	s.inuse = (v["go_memstats_heap_inuse_bytes"] + v["go_memstats_stack_inuse_bytes"]) / 1024
	s.free = (v["go_memstats_heap_idle_bytes"] - v["go_memstats_heap_released_bytes"]) / 1024
	s.meta = (v["go_memstats_gc_sys_bytes"] + v["go_memstats_mspan_sys_bytes"] + v["go_memstats_buck_hash_sys_bytes"] + v["go_memstats_other_sys_bytes"]) / 1024
	if s.rss == 0 || s.inuse == 0 {
		return s, fmt.Errorf("no VmRSS or memstats for pid %d", pid)
	}
	if scavenge > 0 {
		time.Sleep(scavenge)
		if s.rssLater, err = vmRSS(pid); err != nil {
			return s, err
		}
	}
	return s, nil
}

// vmRSS reads a process's resident set, in KiB, from /proc/PID/status.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// saveHeap writes the server's heap profile (to see what the connections hold).
func saveHeap(pprofAddr, path string) error {
	r, err := http.Get("http://" + pprofAddr + "/debug/pprof/heap")
	if err != nil {
		return err
	}
	defer r.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// parallel runs fn for 0..n-1 on a few goroutines and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// dialEcho opens n /echo connections, sends one message on each and reads its echo, then
// leaves a reader on each (which answers the server's pings) and nothing else.
func dialEcho(url string, n int, deflate float64) ([]*ws.Conn, error) {
	conns := make([]*ws.Conn, n)
	msg := []byte(strings.Repeat("rallypoint idle connection ", 10))
	err := parallel(n, func(i int) error {
		var o ws.DialOptions
		if float64(i%100) >= deflate*100 {
			o.Compression.Mode = ws.CompressionDisabled
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, _, err := ws.Dial(ctx, url, &o)
		if err != nil {
			return fmt.Errorf("dial %s: %w", url, err)
		}
		conns[i] = c
		if err := c.WriteMessage(ws.MessageText, msg); err != nil {
			return err
		}
		if _, _, err := c.ReadMessage(); err != nil {
			return fmt.Errorf("echo: %w", err)
		}
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
		return nil
	})
	return conns, err
}

// dialPlay opens n /play connections and joins each to the crossword room.
func dialPlay(url string, n int) ([]*gameclient.Client, error) {
	cls := make([]*gameclient.Client, n)
	err := parallel(n, func(i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cl, err := gameclient.Dial(ctx, url, nil)
		if err != nil {
			return fmt.Errorf("dial %s: %w", url, err)
		}
		cls[i] = cl
		cl.SetAckDelay(250 * time.Millisecond) // as the crossword page (its ackDelay)
		if _, err := cl.Join(ctx, protocol.JoinOptions{Game: "crossword"}); err != nil {
			return fmt.Errorf("join: %w", err)
		}
		return nil
	})
	return cls, err
}
