package main

// Child-process server (`-serve lib`). The parent re-executes the harness binary so
// each server's CPU time and memory are its own. The child prints
//
//	READY <ws addr> <control addr>
//
// on stdout and then obeys one-line commands on the control TCP connection. The
// control path is written not to allocate, so Mallocs deltas belong to the library.
//
//	r        → "<cpu ns>"                      (getrusage user+sys)
//	m        → "<mallocs> <heap inuse> <stack inuse> <conns> <cpu ns> <rss bytes> <goroutines>"
//	g        → same as m after runtime.GC() twice
//	b <k> <par> → broadcast snapshot k through fanOut with par goroutines, then
//	              "ok <ns spent in Broadcast>"
//	o <k>    → broadcast snapshot k with the library's own call (ownBroadcaster), same reply
//	p start [name] → start the CPU profile given by -cpuprofile (with "-name" before its
//	         .pprof when a name is given: one child measures several broadcast modes);
//	         p stop → stop it
//	h        → write a heap profile to -heapprofile (and the goroutine stacks beside it)
//	q        → exit

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type serveFlags struct {
	lib         string
	mode        string // echo | bcast | idle
	deflate     bool
	text        bool
	variant     string
	cpuprofile  string
	heapprofile string
}

func runServe(f serveFlags) error {
	raiseNofile(1 << 16)
	l, ok := libs[f.lib]
	if !ok {
		return fmt.Errorf("unknown lib %q", f.lib)
	}
	cfg := serverConfig{deflate: f.deflate, text: f.text, variant: f.variant}
	var h http.Handler
	var bs broadcastServer
	switch f.mode {
	case "echo":
		h = l.echo(cfg)
	case "idle":
		h = l.idle(cfg)
	case "bcast":
		bs = l.broadcast(cfg)
		h = bs
	default:
		return fmt.Errorf("unknown mode %q", f.mode)
	}
	wsl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(wsl) }()
	var snaps [][]byte
	if bs != nil {
		snaps = snapshots(snapshotVariants)
	}
	fmt.Printf("READY %s %s\n", wsl.Addr(), ctl.Addr())
	c, err := ctl.Accept()
	if err != nil {
		return err
	}
	_ = ctl.Close()
	return control(c, bs, snaps, f.cpuprofile, f.heapprofile)
}

// snapshotVariants is how many distinct snapshots the broadcast cycles through.
const snapshotVariants = 8

func control(c net.Conn, bs broadcastServer, snaps [][]byte, cpuprofile, heapprofile string) error {
	br := bufio.NewReader(c)
	out := make([]byte, 0, 256)
	var ms runtime.MemStats
	var prof *os.File
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil // parent went away
		}
		line = line[:len(line)-1]
		out = out[:0]
		switch {
		case len(line) == 0:
			continue
		case line[0] == 'r':
			out = strconv.AppendInt(out, int64(cpuTime()), 10)
		case line[0] == 'm' || line[0] == 'g':
			if line[0] == 'g' {
				runtime.GC()
				runtime.GC()
			}
			runtime.ReadMemStats(&ms)
			out = strconv.AppendUint(out, ms.Mallocs, 10)
			out = append(out, ' ')
			out = strconv.AppendUint(out, ms.HeapInuse, 10)
			out = append(out, ' ')
			out = strconv.AppendUint(out, ms.StackInuse, 10)
			out = append(out, ' ')
			out = strconv.AppendInt(out, liveConns.Load(), 10)
			out = append(out, ' ')
			out = strconv.AppendInt(out, int64(cpuTime()), 10)
			out = append(out, ' ')
			out = strconv.AppendInt(out, rssBytes(), 10)
			out = append(out, ' ')
			out = strconv.AppendInt(out, int64(runtime.NumGoroutine()), 10)
		case line[0] == 'b' || line[0] == 'o':
			if bs == nil {
				out = append(out, "err not a broadcast server"...)
				break
			}
			var args [2]int
			n := parseUints(line[1:], args[:])
			own, isOwn := bs.(ownBroadcaster)
			switch {
			case line[0] == 'b' && n != 2, line[0] == 'o' && n != 1:
				out = append(out, "err bad broadcast command"...)
			case line[0] == 'o' && !isOwn:
				out = append(out, "err the library has no broadcast call of its own"...)
			default:
				snap := snaps[args[0]%len(snaps)]
				t := time.Now()
				if line[0] == 'o' {
					own.OwnBroadcast(snap)
				} else {
					bs.Broadcast(snap, args[1])
				}
				out = append(out, "ok "...)
				out = strconv.AppendInt(out, int64(time.Since(t)), 10)
			}
		case line[0] == 'p':
			if cpuprofile == "" {
				out = append(out, "ok"...)
				break
			}
			if start, name, _ := strings.Cut(string(line), " start"); start == "p" && prof == nil {
				path := cpuprofile
				if name = strings.TrimSpace(name); name != "" {
					path = strings.TrimSuffix(path, ".pprof") + "-" + name + ".pprof"
				}
				if prof, err = os.Create(path); err == nil {
					err = pprof.StartCPUProfile(prof)
				}
			} else if string(line) == "p stop" && prof != nil {
				pprof.StopCPUProfile()
				err = prof.Close()
				prof = nil
			}
			if err != nil {
				out = append(out, "err "...)
				out = append(out, err.Error()...)
			} else {
				out = append(out, "ok"...)
			}
		case line[0] == 'h':
			err := errors.New("no -heapprofile")
			if heapprofile != "" {
				err = writeHeapProfile(heapprofile)
			}
			if err != nil {
				out = append(out, "err "...)
				out = append(out, err.Error()...)
			} else {
				out = append(out, "ok"...)
			}
		case line[0] == 'q':
			if prof != nil {
				pprof.StopCPUProfile()
				_ = prof.Close()
			}
			_, _ = c.Write([]byte("bye\n"))
			os.Exit(0)
		default:
			out = append(out, "err unknown command"...)
		}
		out = append(out, '\n')
		if _, err := c.Write(out); err != nil {
			return errors.New("control write: " + err.Error())
		}
	}
}

// parseUints reads the space-separated decimal numbers of b into dst, without allocating
// (the control path must not, see above), and returns how many it read; a number beyond
// len(dst) is counted but not stored.
func parseUints(b []byte, dst []int) int {
	n, in := 0, false
	for _, ch := range b {
		if ch >= '0' && ch <= '9' {
			if !in {
				if n < len(dst) {
					dst[n] = 0
				}
				n++
				in = true
			}
			if n <= len(dst) {
				dst[n-1] = dst[n-1]*10 + int(ch-'0')
			}
			continue
		}
		in = false
	}
	return n
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Goroutine stacks, aggregated, next to it: what every idle connection parks on.
	g, err := os.Create(strings.TrimSuffix(path, ".pprof") + ".goroutines.txt")
	if err != nil {
		return err
	}
	if err := pprof.Lookup("goroutine").WriteTo(g, 1); err != nil {
		_ = g.Close()
		return err
	}
	return g.Close()
}

// cpuTime is this process's user+system CPU time (getrusage RUSAGE_SELF, all threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	statmFile *os.File
	statmBuf  [128]byte
)

// rssBytes reads the resident set from /proc/self/statm without allocating (the file
// stays open and is re-read with pread), so it can sit on the Mallocs-measured path.
func rssBytes() int64 {
	if statmFile == nil {
		f, err := os.Open("/proc/self/statm")
		if err != nil {
			return 0
		}
		statmFile = f
	}
	n, _ := statmFile.ReadAt(statmBuf[:], 0)
	fields, v := 0, int64(0)
	for _, ch := range statmBuf[:n] {
		if ch >= '0' && ch <= '9' {
			v = v*10 + int64(ch-'0')
			continue
		}
		fields++
		if fields == 2 {
			return v * int64(os.Getpagesize())
		}
		v = 0
	}
	return 0
}

// raiseNofile lifts RLIMIT_NOFILE to at least want (raising the hard limit too when
// permitted), so 10,000 connections fit in one process.
func raiseNofile(want uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	if rl.Cur >= want {
		return
	}
	nl := rl
	nl.Cur = want
	if nl.Max < want {
		nl.Max = want
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl); err != nil {
		nl.Cur, nl.Max = rl.Max, rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl)
	}
}
