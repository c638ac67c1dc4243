package main

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/rallypoint/rallypoint/protocol"
)

// config is everything a run needs; main fills it from the flags, tests directly.
type config struct {
	URL         string        // the game endpoint, ws:// or wss://, normalized by normalize
	Origin      string        // the Origin header a browser on the server's page would send; "" for none
	Game        string        // "crossword" or "shooter"
	Players     int           // bots to start
	Duration    time.Duration // the measured phase, after every bot has tried to join (and the warm-up)
	Warmup      time.Duration // play before the measured phase, reported as part of it in the progress lines (as bench/colyseus's driver.mjs -warmup)
	Ramp        float64       // connections started per second
	Concurrency int           // handshakes and joins in flight at most
	JoinTimeout time.Duration // for one bot's dial and join
	NamePrefix  string        // bots are named prefix-1, prefix-2...
	Compress    bool          // offer permessage-deflate, as browsers do
	Mirror      bool          // apply every snapshot to a state.Mirror, as the SDK does
	MirrorRing  int           // snapshot states each bot's mirror keeps
	PingEvery   time.Duration // per bot, as the browser SDK's pingInterval
	InputHz     float64       // shooter: inputs per second per bot (one per simulation step)
	InputBatch  int           // shooter: inputs per message, as the SDK's inputRate at InputHz/InputBatch ([10, ...] when above 1)
	TypeEvery   time.Duration // crossword: mean time between a bot's actions
	AckEvery    time.Duration // bots whose inputs carry no acknowledgements (the crossword's) acknowledge at most this often, as the page's ackDelay; 0: every snapshot
	Seed        uint64        // bots' random choices; 0 picks one
	MetricsURL  string        // the server's Prometheus endpoint, scraped at the start and end of the measured phase
	ProgressTTY bool          // rewrite the progress line in place instead of printing lines

	// A simulated network path between the bots and the server (net/netsim), per direction:
	// when any is set the bots connect through an in-process proxy (see netpath.go).
	NetDelay     time.Duration // one-way delay each way: 50ms is a round trip of about 100ms
	NetJitter    time.Duration // one-way jitter each way (uniform, delay ± jitter)
	NetLoss      float64       // probability a chunk is lost and retransmitted, in [0, 1]
	NetBandwidth int64         // bytes per second each way; 0 is unlimited

	// Chaos (chaos.go): each bot, at random times with mean ChaosEvery (0: never), stalls
	// its reads, drops its connection and resumes its seat, or pauses its play; ChaosWeights
	// are the odds of each, in that order.
	ChaosEvery   time.Duration
	ChaosWeights [chaosKinds]int

	// Rejoin (rejoin.go): a bot whose connection ends without a planned cause, or whose
	// room's node drains (0x1C), comes back as the browser SDK does (resume, else join
	// afresh through URL, or take the seat it was moved to) instead of counting an error;
	// one not back playing within RejoinWithin is lost.
	Rejoin       bool
	RejoinWithin time.Duration
}

// defaults are the flags' defaults.
var defaults = config{
	URL:         "ws://127.0.0.1:8080",
	Origin:      "auto",
	Game:        "crossword",
	AckEvery:    250 * time.Millisecond,
	Players:     100,
	Duration:    30 * time.Second,
	Ramp:        500,
	Concurrency: 256,
	JoinTimeout: 15 * time.Second,
	NamePrefix:  "bot",
	Compress:    true,
	Mirror:      true,
	MirrorRing:  0,
	PingEvery:   2 * time.Second,
	InputHz:     60,
	InputBatch:  1,
	TypeEvery:   10 * time.Second,

	ChaosWeights: [chaosKinds]int{2, 2, 1}, // stall, drop, pause
	RejoinWithin: 30 * time.Second,
}

// normalize checks cfg and completes it: the endpoint path (/play when the URL names only
// the server), the scheme (http becomes ws), and the Origin when it is "auto".
func (cfg *config) normalize() error {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	page := "http"
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "ws"
	case "wss", "https":
		u.Scheme, page = "wss", "https"
	default:
		return fmt.Errorf("-url %q: want ws://HOST:PORT or wss://HOST:PORT", cfg.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("-url %q has no host", cfg.URL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/play"
	}
	cfg.URL = u.String()
	if cfg.Origin == "auto" {
		cfg.Origin = page + "://" + u.Host // the server's own page: always an allowed origin
	}
	switch {
	case cfg.Game != "crossword" && cfg.Game != "shooter":
		return fmt.Errorf("-game %q: want crossword or shooter", cfg.Game)
	case cfg.Players < 1:
		return errors.New("-players must be at least 1")
	case cfg.Duration <= 0:
		return errors.New("-duration must be positive")
	case cfg.Ramp <= 0:
		return errors.New("-ramp must be positive")
	case cfg.Concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case cfg.JoinTimeout <= 0:
		return errors.New("-join-timeout must be positive")
	case cfg.MirrorRing < 0 || cfg.MirrorRing == 1:
		return errors.New("-mirror-ring must be 0 (a second of snapshots) or at least 2")
	case cfg.PingEvery <= 0:
		return errors.New("-ping-every must be positive")
	case cfg.InputHz <= 0 || cfg.InputHz > 200:
		// The engine drops a connection above 240 messages a second by default, and each
		// bot also acknowledges 30 snapshots a second.
		return errors.New("-input-hz must be in (0, 200]")
	case cfg.InputBatch < 1 || cfg.InputBatch > protocol.MaxInputBatch:
		return fmt.Errorf("-input-batch must be 1 to %d (protocol.MaxInputBatch)", protocol.MaxInputBatch)
	case cfg.TypeEvery <= 0:
		return errors.New("-type-every must be positive")
	case cfg.NetDelay < 0:
		return errors.New("-net-delay must not be negative")
	case cfg.NetJitter < 0:
		return errors.New("-net-jitter must not be negative")
	case !(cfg.NetLoss >= 0 && cfg.NetLoss <= 1): // also catches NaN
		return errors.New("-net-loss must be in [0, 1]")
	case cfg.NetBandwidth < 0:
		return errors.New("-net-bandwidth must not be negative")
	case cfg.ChaosEvery < 0:
		return errors.New("-chaos-every must not be negative")
	case cfg.ChaosEvery > 0 && cfg.ChaosEvery < minChaosEvery:
		return fmt.Errorf("-chaos-every must be 0 (off) or at least %v", minChaosEvery)
	case cfg.Rejoin && cfg.RejoinWithin <= 0:
		return errors.New("-rejoin-within must be positive")
	case cfg.Rejoin && cfg.ChaosEvery > 0:
		// A chaos drop resumes on its own and counts a refused resume as an error; a
		// rejoin would recover the same bot a second way. One at a time.
		return errors.New("-rejoin and -chaos-every do not go together")
	}
	sum := 0
	for _, w := range cfg.ChaosWeights {
		if w < 0 {
			return errors.New("-chaos-weights must not be negative")
		}
		sum += w
	}
	if sum == 0 {
		return errors.New("-chaos-weights must not all be 0")
	}
	return nil
}
