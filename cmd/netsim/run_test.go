package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestRunProxiesAndAnswersCommands runs the command's main logic in-process in front of an
// echo server, talks through it, and drives it with stdin commands: each answered with one
// line, the path following them, and the end of stdin not ending it.
func TestRunProxiesAndAnswersCommands(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	target := echoServer(t)
	cfg, err := parseFlags([]string{"-listen", "127.0.0.1:0", "-target", target, "-delay", "30ms", "-jitter", "10ms", "-seed", "1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	stdin, commands := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, cfg, stdin, outW)
		outW.Close()
	}()
	out := bufio.NewScanner(outR)
	readLine := func() string {
		t.Helper()
		line := make(chan string, 1)
		go func() {
			if out.Scan() {
				line <- out.Text()
			}
			close(line)
		}()
		select {
		case l, ok := <-line:
			if !ok {
				t.Fatal("the output ended")
			}
			return l
		case <-time.After(5 * time.Second):
			t.Fatal("no line")
		}
		return ""
	}
	ask := func(cmd, wantPrefix string) string {
		t.Helper()
		if _, err := io.WriteString(commands, cmd+"\n"); err != nil {
			t.Fatal(err)
		}
		answer := readLine()
		if !strings.HasPrefix(answer, wantPrefix) {
			t.Errorf("%q answered %q; want it to start with %q", cmd, answer, wantPrefix)
		}
		return answer
	}

	first := readLine()
	wantTail := " -> " + target + ", one-way 30ms ± 10ms uniform each direction (RTT ~60ms), loss 0%, bandwidth unlimited"
	addr, ok := strings.CutPrefix(first, "netsim: ")
	if !ok || !strings.HasSuffix(addr, wantTail) {
		t.Fatalf("first line %q; want netsim: ADDR%s", first, wantTail)
	}
	addr = strings.TrimSuffix(addr, wantTail)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if rtt := roundTrip(t, c); rtt < 40*ms {
		t.Errorf("round trip %v through 2×(30±10) ms", rtt)
	}

	ask("help", "commands: blackout DURATION")
	if _, err := io.WriteString(commands, "\n"); err != nil { // a blank line is not answered
		t.Fatal(err)
	}
	ask("delay 0", "now one-way 0s ± 10ms uniform each direction (RTT ~0s)")
	ask("jitter 0", "now one-way 0s each direction")
	ask("dist normal", "now one-way 0s each direction")
	ask("loss 1%", "now one-way 0s each direction (RTT ~0s), loss 1% (retransmit +200ms)")
	ask("loss 0", "now ")
	ask("bandwidth 1mbit", "now one-way 0s each direction (RTT ~0s), loss 0%, bandwidth 1mbit/s")
	ask("bandwidth unlimited", "now ")
	ask("bogus", "error: unknown command")
	ask("stats", "conns=1 open=1 bytes_up=1 bytes_down=") // the down count may lag the echo by a moment

	ask("blackout 300ms", "blackout: silent for 300ms")
	if rtt := roundTrip(t, c); rtt < 200*ms {
		t.Errorf("round trip %v across a 300ms blackout", rtt)
	}
	ask("blackout 1h", "blackout: silent for 1h0m0s")
	ask("heal", "healed")
	roundTrip(t, c)
	ask("reset 100ms", "reset: every connection reset (1); new ones are reset for 100ms")
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the connection survived a reset")
	}

	// The end of stdin does not end the command; a cancelled context does.
	commands.Close()
	select {
	case err := <-done:
		t.Fatalf("run returned at the end of stdin: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

// TestRunReportsListenError: a listen address already taken is an error, not a hang.
func TestRunReportsListenError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := config{listen: ln.Addr().String(), target: "127.0.0.1:1"}
	if err := run(context.Background(), cfg, strings.NewReader(""), io.Discard); err == nil {
		t.Error("run listened on an address in use")
	}
}

// echoServer serves an echo on 127.0.0.1 for the test's life.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip writes one byte through the echo and returns how long it took to come back.
func roundTrip(t *testing.T, c net.Conn) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}
