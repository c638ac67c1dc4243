// Command wsbench runs Rallypoint's net/ws and three peer WebSocket libraries
// (gorilla/websocket, coder/websocket, lxzan/gws) on the same workloads in one run and
// prints one table per workload with ratios against net/ws. See README.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type results struct {
	Meta      map[string]string `json:"meta"`
	Echo      []echoResult      `json:"echo,omitempty"`
	Broadcast []bcastResult     `json:"broadcast,omitempty"`
	Idle      []idleResult      `json:"idle,omitempty"`
	Flate     []flateResult     `json:"flate,omitempty"`
}

func main() {
	var (
		serve      = flag.String("serve", "", "internal: run as the child server of `lib`")
		mode       = flag.String("mode", "echo", "internal: child server mode (echo, bcast, idle)")
		deflate    = flag.Bool("deflate", false, "internal: child enables permessage-deflate")
		variant    = flag.String("variant", "", "internal: child server shape variant")
		cpuprofile = flag.String("cpuprofile", "", "internal: child CPU profile file (measured window only)")
		heapprof   = flag.String("heapprofile", "", "internal: child heap profile file (idle workload)")

		workloads  = flag.String("workloads", "echo,broadcast,idle,flate", "workloads to run, comma separated")
		libList    = flag.String("libs", strings.Join(libNames(), ","), "libraries to run, comma separated")
		text       = flag.Bool("text", false, "send text messages instead of binary")
		jsonOut    = flag.Bool("json", false, "print results as JSON instead of tables")
		profileDir = flag.String("profile-dir", "", "write CPU profiles of the child servers' measured windows (and idle heap profiles) here")
		dialPar    = flag.Int("dial-par", 64, "concurrent dialers when opening connections")
		verbose    = flag.Bool("v", false, "print negotiated extensions")
		quiet      = flag.Duration("wait-quiet", 0, "before each echo/broadcast row, wait up to this long for other processes to use < 25% of the CPU")

		echoSizes    = flag.String("echo-sizes", "64,1024", "echo payload sizes in bytes")
		echoDeflate  = flag.String("echo-deflate", "off,on", "echo permessage-deflate settings to run (off, on)")
		echoConns    = flag.Int("echo-conns", 100, "echo connections")
		echoDuration = flag.Duration("echo-duration", 2*time.Second, "measured window per echo run")
		echoWarmup   = flag.Duration("echo-warmup", 500*time.Millisecond, "warm-up before each echo window")
		echoSlices   = flag.Int("echo-slices", 5, "echo windows are cut in this many slices; rows report the median slice")

		bcastConns  = flag.String("bcast-conns", "1000,10000", "broadcast audiences (connections)")
		bcastPar    = flag.String("bcast-par", "1,0", "broadcast fan-outs every library runs: goroutines the harness spreads the writes over (1 = serial, 0 = GOMAXPROCS)")
		bcastRounds = flag.Int("bcast-rounds", 0, "measured broadcasts per run (0: 200000/conns, within 10..100)")
		bcastWarmup = flag.Int("bcast-warmup", 3, "unmeasured broadcasts before the measured ones")

		idleConns  = flag.Int("idle-conns", 10000, "idle connections for the memory workload")
		idleSettle = flag.Duration("idle-settle", 500*time.Millisecond, "wait after the last connection before measuring")

		flateTime  = flag.Duration("flate-time", 200*time.Millisecond, "minimum time per flate measurement")
		flateLevel = flag.Int("flate-level", 1, "flate level for the flate comparison (1 = best speed, as net/ws)")
	)
	flag.Parse()

	if *serve != "" {
		err := runServe(serveFlags{lib: *serve, mode: *mode, deflate: *deflate, text: *text, variant: *variant, cpuprofile: *cpuprofile, heapprofile: *heapprof})
		if err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			os.Exit(1)
		}
		return
	}

	o := &options{
		text: *text, dialPar: *dialPar, waitQuiet: *quiet, profileDir: *profileDir, verbose: *verbose,
		echoConns: *echoConns, echoDuration: *echoDuration, echoWarmup: *echoWarmup, echoSlices: max(*echoSlices, 1),
		bcastRounds: *bcastRounds, bcastWarmup: *bcastWarmup,
		idleConns: *idleConns, idleSettle: *idleSettle,
		flateTime: *flateTime, flateLevel: *flateLevel,
	}
	var err error
	for _, l := range splitList(*libList) {
		if _, ok := libs[l]; !ok {
			fatalf("unknown lib %q (have %s)", l, strings.Join(libNames(), ", "))
		}
		o.libs = append(o.libs, l)
	}
	if o.echoSizes, err = intList(*echoSizes); err != nil {
		fatalf("-echo-sizes: %v", err)
	}
	if o.bcastConns, err = intList(*bcastConns); err != nil {
		fatalf("-bcast-conns: %v", err)
	}
	if o.bcastPar, err = parList(*bcastPar, runtime.GOMAXPROCS(0)); err != nil {
		fatalf("-bcast-par: %v", err)
	}
	for _, s := range splitList(*echoDeflate) {
		switch s {
		case "off":
			o.echoDeflate = append(o.echoDeflate, false)
		case "on":
			o.echoDeflate = append(o.echoDeflate, true)
		default:
			fatalf("-echo-deflate: %q is neither on nor off", s)
		}
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			fatalf("%v", err)
		}
	}
	want := map[string]bool{}
	for _, w := range splitList(*workloads) {
		switch w {
		case "echo", "broadcast", "idle", "flate":
			want[w] = true
		default:
			fatalf("unknown workload %q", w)
		}
	}

	maxConns := *idleConns
	for _, n := range o.bcastConns {
		maxConns = max(maxConns, n)
	}
	raiseNofile(uint64(maxConns + 1024))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		killChildren()
		os.Exit(130)
	}()
	defer killChildren()

	start := time.Now()
	res := results{Meta: map[string]string{
		"go": runtime.Version(), "gomaxprocs": strconv.Itoa(runtime.GOMAXPROCS(0)),
		"libs": strings.Join(o.libs, ","), "message_type": map[bool]string{false: "binary", true: "text"}[o.text],
	}}
	// The whole run's outside load, beside each row's: children are reaped by the time
	// it is read, so RUSAGE_CHILDREN holds every server child's CPU.
	runLoad := startLoad(childrenCPU())
	loadavg0 := loadavg()
	if want["echo"] {
		for _, deflate := range o.echoDeflate {
			for _, size := range o.echoSizes {
				for _, l := range o.libs {
					r := runEcho(o, l, size, deflate)
					logf("echo %5d B deflate=%-5v %-8s %s", size, deflate, r.Lib, summarizeEcho(r))
					res.Echo = append(res.Echo, r)
				}
			}
		}
	}
	if want["broadcast"] {
		for _, n := range o.bcastConns {
			for _, l := range o.libs {
				for _, r := range runBroadcast(o, l, n) {
					logf("broadcast %5d conns %-12s %-8s %s", n, r.Fanout, r.Lib, summarizeBcast(r))
					res.Broadcast = append(res.Broadcast, r)
				}
			}
		}
	}
	if want["idle"] {
		for _, l := range o.libs {
			for _, v := range append([]string{""}, libs[l].idleVariants...) {
				r := runIdle(o, l, v)
				logf("idle %5d conns %-20s %s", r.Conns, r.Lib, summarizeIdle(r))
				res.Idle = append(res.Idle, r)
			}
		}
	}
	if want["flate"] {
		res.Flate = runFlate(o)
	}
	res.Meta["elapsed"] = time.Since(start).Round(time.Millisecond).String()
	res.Meta["other_cpu_pct"] = pct(runLoad.otherPct(childrenCPU()))
	res.Meta["loadavg"] = loadavg0 + " .. " + loadavg()
	logf("wsbench: other processes used %s %% of the machine's CPU over the run; loadavg (1 min) %s", res.Meta["other_cpu_pct"], res.Meta["loadavg"])

	if *jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fatalf("%v", err)
		}
		return
	}
	printTables(os.Stdout, o, &res)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "wsbench: "+format+"\n", args...)
	killChildren()
	os.Exit(2)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// parList parses the -bcast-par list: positive goroutine counts, 0 meaning gomaxprocs,
// duplicates dropped (on one core "1,0" is one fan-out, not two).
func parList(s string, gomaxprocs int) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad fan-out %q (goroutines, 0 for GOMAXPROCS)", f)
		}
		if n == 0 {
			n = gomaxprocs
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no fan-out in %q", s)
	}
	return out, nil
}
