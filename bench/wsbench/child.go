package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a server process started by re-executing this binary with -serve.
type child struct {
	cmd    *exec.Cmd
	wsAddr string
	ctl    net.Conn
	ctlR   *bufio.Reader
	done   chan struct{}
}

var (
	childrenMu sync.Mutex
	children   = map[*child]struct{}{}
)

// killChildren ends every child still running (used on interrupt and at exit).
func killChildren() {
	childrenMu.Lock()
	defer childrenMu.Unlock()
	for c := range children {
		_ = c.cmd.Process.Kill()
	}
}

func startChild(f serveFlags) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-serve", f.lib, "-mode", f.mode, "-deflate=" + strconv.FormatBool(f.deflate),
		"-text=" + strconv.FormatBool(f.text)}
	if f.variant != "" {
		args = append(args, "-variant", f.variant)
	}
	if f.cpuprofile != "" {
		args = append(args, "-cpuprofile", f.cpuprofile)
	}
	if f.heapprofile != "" {
		args = append(args, "-heapprofile", f.heapprofile)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	// The child dies with us even if we are killed without cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	childrenMu.Lock()
	children[c] = struct{}{}
	childrenMu.Unlock()
	go func() {
		_ = cmd.Wait()
		childrenMu.Lock()
		delete(children, c)
		childrenMu.Unlock()
		close(c.done)
	}()

	type ready struct {
		line string
		err  error
	}
	rc := make(chan ready, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		rc <- ready{line, err}
	}()
	var r ready
	select {
	case r = <-rc:
	case <-time.After(20 * time.Second):
		r.err = errors.New("timeout waiting for READY")
	}
	if r.err == nil {
		fields := strings.Fields(r.line)
		if len(fields) != 3 || fields[0] != "READY" {
			r.err = fmt.Errorf("bad READY line %q", r.line)
		} else {
			c.wsAddr = fields[1]
			c.ctl, r.err = net.Dial("tcp", fields[2])
		}
	}
	if r.err != nil {
		c.stop()
		return nil, fmt.Errorf("child %s: %w", f.lib, r.err)
	}
	c.ctlR = bufio.NewReader(c.ctl)
	return c, nil
}

// call sends one control command and returns the reply line.
func (c *child) call(cmd string) (string, error) {
	_ = c.ctl.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := c.ctl.Write([]byte(cmd + "\n")); err != nil {
		return "", err
	}
	line, err := c.ctlR.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "err") {
		return "", errors.New(line)
	}
	return line, nil
}

// childStats is the reply to the m and g commands.
type childStats struct {
	mallocs uint64
	heap    uint64 // HeapInuse
	stack   uint64 // StackInuse
	conns   int64
	cpu     time.Duration
	rss     int64
	gor     int64 // goroutines
}

func (c *child) stats(gc bool) (childStats, error) {
	cmd := "m"
	if gc {
		cmd = "g"
	}
	line, err := c.call(cmd)
	if err != nil {
		return childStats{}, err
	}
	var s childStats
	var cpu int64
	if _, err := fmt.Sscan(line, &s.mallocs, &s.heap, &s.stack, &s.conns, &cpu, &s.rss, &s.gor); err != nil {
		return childStats{}, fmt.Errorf("stats %q: %w", line, err)
	}
	s.cpu = time.Duration(cpu)
	return s, nil
}

func (c *child) cpu() (time.Duration, error) {
	line, err := c.call("r")
	if err != nil {
		return 0, err
	}
	ns, err := strconv.ParseInt(line, 10, 64)
	return time.Duration(ns), err
}

// waitConns polls until the child reports n live connections.
func (c *child) waitConns(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		s, err := c.stats(false)
		if err != nil {
			return err
		}
		if s.conns >= int64(n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server has %d of %d connections", s.conns, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop asks the child to exit and kills it if it does not.
func (c *child) stop() {
	if c.ctl != nil {
		_ = c.ctl.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.ctl.Write([]byte("q\n"))
	}
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	if c.ctl != nil {
		_ = c.ctl.Close()
	}
}
