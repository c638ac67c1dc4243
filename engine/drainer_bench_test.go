package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The players of BenchmarkManyRooms are read by another process: the test binary itself,
// re-executed as TestManyRoomsDrainer. In the benchmark's own process 8,000 drainer
// goroutines cost about what the engine does (a wake-up and a read syscall per frame), and
// process-wide rusage could not tell the two apart, so "the engine alone" was not. A child
// process has its own rusage (read from /proc), runs at nice 19 so that the kernel gives
// the engine's threads the cores first, as players on other machines would, and reaches
// the engine over real sockets: TCP on 127.0.0.1 by default, Unix sockets with
// RP_BENCH_NET=unix. The cost: a re-exec and a second binary start per run (well under a
// second), and on loopback TCP the kernel does the receiving side's protocol work in the
// sender's softirq, so the engine's system time includes some of what a remote client's
// kernel would do.

// Environment of the drainer child.
const (
	drainNetEnv   = "RP_DRAIN_NET"
	drainAddrEnv  = "RP_DRAIN_ADDR"
	drainConnsEnv = "RP_DRAIN_CONNS"
)

// drainer is the child process reading the engine's frames.
type drainer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   lockedBuffer // the child's stdout and stderr, for errors
}

// lockedBuffer is written by exec's copying goroutine and read by the benchmark.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// drainedConns listens on network (tcp: 127.0.0.1, unix: a socket in a temporary
// directory), starts the drainer child, which opens n connections and reads and discards
// everything sent on them, and returns the server sides as they were accepted.
func drainedConns(tb testing.TB, network string, n int) (*drainer, []net.Conn) {
	var ln net.Listener
	var err error
	switch network {
	case "tcp":
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case "unix":
		ln, err = net.Listen("unix", filepath.Join(tb.TempDir(), "drain.sock"))
	default:
		tb.Fatalf("RP_BENCH_NET=%q: want tcp or unix", network)
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()

	d := &drainer{}
	args := []string{os.Args[0], "-test.run=^TestManyRoomsDrainer$"}
	if nice, err := exec.LookPath("nice"); err == nil {
		args = append([]string{nice, "-n", "19"}, args...)
	} else {
		tb.Log("no nice(1): the drainer child runs at the engine's priority")
	}
	d.cmd = exec.Command(args[0], args[1:]...)
	d.cmd.Env = append(os.Environ(), drainNetEnv+"="+network, drainAddrEnv+"="+ln.Addr().String(), drainConnsEnv+"="+strconv.Itoa(n))
	d.cmd.Stdout, d.cmd.Stderr = &d.out, &d.out
	if d.stdin, err = d.cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(d.stop)

	conns := make([]net.Conn, 0, n)
	accepted := make(chan error, 1)
	go func() {
		for len(conns) < n {
			c, err := ln.Accept()
			if err != nil {
				accepted <- err
				return
			}
			conns = append(conns, c)
		}
		accepted <- nil
	}()
	select {
	case err := <-accepted:
		if err != nil {
			tb.Fatalf("accepting the drainer's connections: %v", err)
		}
	case <-time.After(2 * time.Minute):
		ln.Close()
		<-accepted
		tb.Fatalf("the drainer opened %d of %d connections in 2 minutes; its output:\n%s", len(conns), n, d.output())
	}
	tb.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return d, conns
}

// cpu is the child's CPU time so far (user + system), from /proc/PID/stat.
func (d *drainer) cpu() (time.Duration, error) {
	return procCPU(d.cmd.Process.Pid)
}

// stop ends the child (it exits when its stdin closes) and waits for it.
func (d *drainer) stop() {
	if d.stdin == nil {
		return
	}
	d.stdin.Close()
	d.stdin = nil
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
	}
}

func (d *drainer) output() string { return d.out.String() }

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux ABI Go
// supports (the kernel converts to it whatever its internal HZ).
const clockTicks = 100

// procCPU reads utime + stime of a process from /proc/PID/stat (fields 14 and 15, counted
// after the parenthesised command name, which may hold spaces). Resolution 10 ms: a few
// tenths of a percent of a 10 s window.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times %q %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// TestManyRoomsDrainer is not a test: it is BenchmarkManyRooms's drainer child, and skips
// unless that benchmark started it. It opens RP_DRAIN_CONNS connections to RP_DRAIN_ADDR,
// reads and discards everything on them, and exits when its stdin closes (the benchmark
// ended or died).
func TestManyRoomsDrainer(t *testing.T) {
	network, addr := os.Getenv(drainNetEnv), os.Getenv(drainAddrEnv)
	n, err := strconv.Atoi(os.Getenv(drainConnsEnv))
	if addr == "" || err != nil {
		t.Skip("BenchmarkManyRooms's drainer child; runs only when that benchmark starts it")
	}
	// One dial at a time: 8,000 at once would overflow the listen backlog.
	for range n {
		c, err := net.Dial(network, addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "drainer: dial:", err)
			os.Exit(2)
		}
		go func() {
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	// The parent closing our stdin (or dying) ends the run.
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	os.Exit(0)
}
