package engine

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/net/ws"
)

// BenchmarkManyRooms stands for a full shooter server: RP_BENCH_ROOMS rooms (default 1000;
// 50 under -race) of 8 players at 60 Hz simulation and 30 Hz snapshots of 64 moving
// entities, on the real clock, every player acknowledging the latest snapshot every 33 ms
// as a client on a fast network does (no inputs). Run it with -benchtime=1x: each run lets
// the rooms settle for 2 s, then measures a fixed window (RP_BENCH_WINDOW, default 10s).
//
// The players' ends of the connections are read by a child process at nice 19 (see
// drainer_bench_test.go), over TCP on 127.0.0.1 (RP_BENCH_NET=unix: Unix sockets), so that
// what it reports as the engine is the engine: this process's CPU (the rooms, their
// writes and the kernel's work for them, the Go runtime, and the one goroutine that
// stands for the clients' acknowledgements), with the drainer's CPU and the rest of the
// machine's reported beside it.
//
// Reported: engine-cores and engine-ms/room/s (CPU time per room per second of play);
// drainer-cores and other-cores (everything else the machine ran during the window: on a
// shared machine, the noise the figures carry); engine-runq-wait (its threads' time waiting
// for a CPU); p50/p99/p99.9/max tick lateness over every tick of every room in the window;
// ticks/s (60 per room when none is skipped); sent-share, held/s and replaced/s (whether
// the whole workload was done: read the CPU figures only when sent-share is near 1);
// B/msg; KiB/room, the live heap and goroutine stacks the rooms and their players hold
// after a full collection (the sockets and ws.Conns were made before the first reading;
// their write buffers, grown by the rooms' writes, count); rss-KiB/room, the same for the
// process's resident memory. BenchmarkLoopbackRooms (loopback_bench_test.go) drives rooms
// through real WebSocket clients in the same process instead.
func BenchmarkManyRooms(b *testing.B) {
	network := os.Getenv("RP_BENCH_NET")
	if network == "" {
		network = "tcp"
	}
	window := 10 * time.Second
	if v := os.Getenv("RP_BENCH_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("RP_BENCH_WINDOW: %v", err)
		}
		window = d
	}
	for range b.N {
		runManyRooms(b, network, benchRooms, 8, window)
	}
}

// benchRoomPlayers is a room of the benchmark and its players, as their joins were answered.
type benchRoomPlayers struct {
	rc      *roomCore
	players []*Player
}

func runManyRooms(b *testing.B, network string, rooms, perRoom int, window time.Duration) {
	setup := time.Now()
	d, raw := drainedConns(b, network, rooms*perRoom)
	wm := new(ws.Metrics)
	conns := make([]*ws.Conn, len(raw))
	for i, c := range raw {
		conns[i] = ws.NewConn(c, true, Subprotocol, ws.Limits{PingInterval: -1, IdleTimeout: -1}, wm)
	}
	heap0, rss0 := liveHeap(), rssBytes()

	e := New(Options{Logger: slog.New(slog.DiscardHandler)})
	cfg, _ := RoomConfig{TickRate: 60, SnapshotRate: 30, MaxPlayers: perRoom, EmptyTimeout: -1}.withDefaults()
	all := make([]benchRoomPlayers, rooms)
	replies := make([]chan joinResult, len(conns))
	for i := range all {
		rc := newRoomCore(e, "arena", cfg, CreateOptions{})
		rc.sim = &Room[arenaInput]{core: rc, game: &arena{}}
		for j := range perRoom {
			k := i*perRoom + j
			replies[k] = make(chan joinResult, 1)
			rc.enqueue(command{kind: cmdJoin, conn: conns[k], reply: replies[k], session: e.newID()})
		}
		all[i].rc = rc
		go rc.run()
	}
	// The players, as a session holds them: from the answers to their joins. Only their
	// atomics are touched from here (ackTick, as the session's reader does), never the
	// room's own fields.
	for i := range all {
		for j := range perRoom {
			res := <-replies[i*perRoom+j]
			if res.err != nil {
				b.Fatal(res.err)
			}
			all[i].players = append(all[i].players, res.player)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { ackLikeClients(all, stop) })

	time.Sleep(2 * time.Second) // settle: rings full, buffers grown
	m0 := readMachine(d)
	out0, replaced0, held0, bytes0 := wm.MessagesOut.Load(), wm.LatestReplaced.Load(), e.metrics.SnapshotsHeld.Load(), wm.BytesOut.Load()
	ticks0 := make([]int64, len(all))
	for i, r := range all {
		ticks0[i] = r.rc.stats.tickCount()
	}
	time.Sleep(window)
	m1 := readMachine(d)
	out1, replaced1, held1, bytes1 := wm.MessagesOut.Load(), wm.LatestReplaced.Load(), e.metrics.SnapshotsHeld.Load(), wm.BytesOut.Load()
	var late []time.Duration
	for i, r := range all {
		late = append(late, r.rc.stats.latenessSince(ticks0[i])...)
	}
	close(stop)
	wg.Wait()
	heap1, rss1 := liveHeap(), rssBytes() // the rooms still run
	if path := os.Getenv("RP_ROOM_HEAPPROFILE"); path != "" {
		// While the rooms live, unlike -memprofile's, taken after they ended.
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		_ = pprof.WriteHeapProfile(f)
		f.Close()
	}

	for _, r := range all {
		r.rc.requestStop(EndReason{Code: CodeShutdown})
	}
	var skipped int64
	for _, r := range all {
		<-r.rc.finished
		skipped += r.rc.sched.skipped // the room's own field, read after its goroutine ended
	}
	d.stop()

	wall := m1.at.Sub(m0.at)
	engine, drainer := m1.self-m0.self, m1.child-m0.child
	if m0.childErr != nil || m1.childErr != nil {
		b.Logf("the drainer's CPU could not be read: %v %v", m0.childErr, m1.childErr)
	}
	cores := func(d time.Duration) float64 { return float64(d) / float64(wall) }
	b.ReportMetric(cores(engine), "engine-cores")
	b.ReportMetric(cores(engine)*1000/float64(rooms), "engine-ms/room/s")
	b.ReportMetric(cores(drainer), "drainer-cores")
	b.ReportMetric(cores(m1.busy-m0.busy-engine-drainer), "other-cores")
	// Threads waiting for a CPU, in thread-seconds per second: when it is near or above the
	// threads the engine keeps busy, the machine, not the engine, decides its lateness.
	b.ReportMetric(cores(m1.runq-m0.runq), "engine-runq-wait")
	slices.Sort(late)
	ms := func(q float64) float64 { return float64(late[min(int(q*float64(len(late))), len(late)-1)]) / 1e6 }
	b.ReportMetric(ms(0.5), "p50-late-ms")
	b.ReportMetric(ms(0.99), "p99-late-ms")
	b.ReportMetric(ms(0.999), "p99.9-late-ms")
	b.ReportMetric(ms(1), "max-late-ms")
	b.ReportMetric(float64(len(late))/wall.Seconds(), "ticks/s")
	b.ReportMetric(float64(skipped), "skipped-ticks-run")
	// The share of the workload's snapshots (30 a second to each player) that went out:
	// below 1 when rooms fell behind real time (skipped ticks) or held snapshots back for
	// acknowledgements that came late (RoomConfig.AckWindow), and the engine did less work
	// than asked, so that its CPU figures flatter it.
	b.ReportMetric(float64(out1-out0)/wall.Seconds()/float64(rooms*perRoom*cfg.SnapshotRate), "sent-share")
	b.ReportMetric(float64(held1-held0)/wall.Seconds(), "held/s")
	b.ReportMetric(float64(bytes1-bytes0)/float64(max(out1-out0, 1)), "B/msg")
	// Snapshots replaced in a player's latest-wins slot before they were written: a drainer
	// that fell behind (its socket buffer full). Far from 0, the engine wrote less than the
	// workload asks and its CPU figures flatter it.
	b.ReportMetric(float64(replaced1-replaced0)/wall.Seconds(), "replaced/s")
	b.ReportMetric(float64(heap1-heap0)/1024/float64(rooms), "KiB/room")
	b.ReportMetric(float64(rss1-rss0)/1024/float64(rooms), "rss-KiB/room")
	b.Logf("%s, %d rooms x %d players, set up in %v, %v window; load average before %s, after %s",
		network, rooms, perRoom, m0.at.Sub(setup).Round(time.Millisecond), wall.Round(time.Millisecond), m0.load, m1.load)
}

// ackLikeClients acknowledges, every 33 ms, the latest snapshot of each room for each of
// its players, until stop is closed. Snapshots go out on even ticks (30 of 60 Hz).
func ackLikeClients(all []benchRoomPlayers, stop <-chan struct{}) {
	t := time.NewTicker(33 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			for _, r := range all {
				tick := r.rc.publicTick.Load()
				for _, p := range r.players {
					p.ackTick.Store(tick - tick%2)
				}
			}
		}
	}
}

// tickCount is how many ticks the room has recorded.
func (s *RoomStats) tickCount() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ticks
}

// latenessSince returns the lateness of the ticks recorded after the first `from`, oldest
// first (at most the last roomStatsSamples of them, 17 s at 60 Hz).
func (s *RoomStats) latenessSince(from int64) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := int(min(s.ticks-from, int64(len(s.late))))
	out := make([]time.Duration, n)
	for i := range n { // s.late[(s.n-1)%len] is the newest, full or not
		out[n-1-i] = time.Duration(s.late[(s.n-1-i)%len(s.late)]) * time.Microsecond
	}
	return out
}

// machine is what the benchmark reads at each end of its window.
type machine struct {
	at       time.Time
	self     time.Duration // this process's CPU (user + system)
	child    time.Duration // the drainer's
	childErr error
	busy     time.Duration // every core's non-idle time, whoever ran
	runq     time.Duration // time this process's threads waited on a CPU's run queue
	load     string        // /proc/loadavg's first three fields
}

func readMachine(d *drainer) machine {
	var m machine
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	m.at = time.Now()
	m.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	m.child, m.childErr = d.cpu()
	m.busy = machineBusy()
	m.runq = runQueueWait()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := firstFields(string(b)); len(f) >= 3 {
			m.load = f[0] + " " + f[1] + " " + f[2]
		}
	}
	return m
}

// machineBusy is the time all cores spent not idle since boot: /proc/stat's first line,
// user + nice + system + irq + softirq + steal (idle and iowait left out; guest time is
// already inside user).
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	f := firstFields(string(b))
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		busy += v
	}
	return time.Duration(busy) * time.Second / clockTicks
}

// runQueueWait is how long this process's threads have waited, runnable, for a CPU: the
// second field of each /proc/self/task/TID/schedstat (run_delay, ns). Lateness while it
// grows is the kernel's, not the Go scheduler's: the machine had no core free for a room
// that was due. Threads that exited in between are not counted, so it errs low.
func runQueueWait() time.Duration {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0
	}
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			total += v
		}
	}
	return time.Duration(total)
}

// firstFields splits the first line of s into fields.
func firstFields(s string) []string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.Fields(line)
}

// liveHeap is the heap in use plus goroutine stacks after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}

// rssBytes is the process's resident memory (VmRSS), 0 if unknown.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// benchRooms is BenchmarkManyRooms's room count: RP_BENCH_ROOMS, else 1000, or 50 under
// the race detector, which checks the benchmark's code and gives no figures worth reading.
var benchRooms = defaultBenchRooms()

func defaultBenchRooms() int {
	if raceBench {
		return 50
	}
	return 1000
}

func init() {
	if v := os.Getenv("RP_BENCH_ROOMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil {
			benchRooms = n
		}
	}
}
