package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rallypoint/rallypoint/net/netsim"
)

// config is what the flags say.
type config struct {
	listen, target string
	profile        netsim.Profile // both directions the same
}

// parseFlags reads the command line. Errors, printed on errOut with the usage, have been
// said when it returns; -help returns flag.ErrHelp.
func parseFlags(args []string, errOut io.Writer) (config, error) {
	fs := flag.NewFlagSet("netsim", flag.ContinueOnError)
	fs.SetOutput(errOut)
	cfg := config{}
	var l netsim.Link
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8081", "address to listen on; point the game's clients here")
	fs.StringVar(&cfg.target, "target", "127.0.0.1:8080", "the server, host:port, dialled for every connection")
	fs.DurationVar(&l.Delay, "delay", 0, "one-way delay, each direction: 50ms is a round trip of about 100ms")
	fs.DurationVar(&l.Jitter, "jitter", 0, "one-way jitter, each direction (uniform: delay ± jitter; normal: its standard deviation)")
	fs.Func("dist", "how the delay spreads: uniform or normal (default uniform)", func(s string) (err error) {
		l.Dist, err = parseDist(s)
		return err
	})
	fs.Func("loss", "probability a chunk is lost and retransmitted (0.01 or 1%): it and the data behind it arrive late", func(s string) (err error) {
		l.Loss, err = parseLoss(s)
		return err
	})
	fs.DurationVar(&l.Retransmit, "retransmit", 0, "extra delay of a lost chunk (default 200ms + 2×delay)")
	fs.Func("bandwidth", "per direction: unlimited, 256kbit, 1mbit, 10kB, 1MB, or bytes/s (default unlimited)", func(s string) (err error) {
		l.Bandwidth, err = netsim.ParseBandwidth(s)
		return err
	})
	fs.Uint64Var(&cfg.profile.Seed, "seed", 0, "seed of the random delays and losses; 0 picks one")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments %q", fs.Args())
		fmt.Fprintln(errOut, err)
		fs.Usage()
		return config{}, err
	}
	cfg.profile.Up, cfg.profile.Down = l, l
	return cfg, nil
}

// run proxies until ctx ends. It prints what it does on out, then answers each command
// line read from in with one line. The end of in does not end it, so that it can run in the
// background with stdin closed.
func run(ctx context.Context, cfg config, in io.Reader, out io.Writer) error {
	px, err := netsim.Listen(cfg.listen, cfg.target, cfg.profile)
	if err != nil {
		return err
	}
	defer px.Close()
	fmt.Fprintf(out, "netsim: %s -> %s, %s\n", px.Addr(), cfg.target, cfg.profile)

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	s := &session{px: px, profile: cfg.profile}
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				lines = nil // stdin ended: keep proxying until a signal
				continue
			}
			if answer := s.do(line); answer != "" {
				fmt.Fprintln(out, answer)
			}
		}
	}
}

// session applies commands to a proxy.
type session struct {
	px      *netsim.Proxy
	profile netsim.Profile
}

// do runs one command line and returns its answer, "" for a blank line.
func (s *session) do(line string) string {
	c, err := parseCommand(line)
	if err != nil {
		return "error: " + err.Error()
	}
	p := s.profile
	switch c.op {
	case opNone:
		return ""
	case opHelp:
		return helpText
	case opStats:
		return s.px.Stats().String()
	case opHeal:
		s.px.Heal()
		return "healed"
	case opBlackout:
		s.px.Blackout(c.dur, netsim.Silent)
		return fmt.Sprintf("blackout: silent for %v, data held until %s (heal ends it now)", c.dur, time.Now().Add(c.dur).Format("15:04:05.000"))
	case opReset:
		before := s.px.Stats().Resets
		s.px.Blackout(c.dur, netsim.Reset)
		return fmt.Sprintf("reset: every connection reset (%d); new ones are reset for %v", s.px.Stats().Resets-before, c.dur)
	case opDelay:
		p.Up.Delay, p.Down.Delay = c.dur, c.dur
	case opJitter:
		p.Up.Jitter, p.Down.Jitter = c.dur, c.dur
	case opDist:
		p.Up.Dist, p.Down.Dist = c.dist, c.dist
	case opLoss:
		p.Up.Loss, p.Down.Loss = c.loss, c.loss
	case opBandwidth:
		p.Up.Bandwidth, p.Down.Bandwidth = c.bw, c.bw
	}
	if err := s.px.SetProfile(p); err != nil {
		return "error: " + err.Error()
	}
	s.profile = p
	return "now " + p.String()
}
