package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/examples/crossword"
	"github.com/rallypoint/rallypoint/examples/shooter"
	"github.com/rallypoint/rallypoint/net/ws"
)

func TestChaosFlagsAreChecked(t *testing.T) {
	tests := []struct {
		name    string
		every   time.Duration
		weights string
		ok      bool
	}{
		{"off", 0, "2,2,1", true},
		{"on", 2 * time.Second, "2,2,1", true},
		{"drops only", time.Second, "0,1,0", true},
		{"spaces", time.Second, " 1, 2 ,3", true},
		{"negative interval", -time.Second, "2,2,1", false},
		{"interval too short to be a client", 10 * time.Millisecond, "2,2,1", false},
		{"all weights zero", time.Second, "0,0,0", false},
		{"a negative weight", time.Second, "2,-1,1", false},
		{"two weights", time.Second, "2,2", false},
		{"not a number", time.Second, "2,x,1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaults
			cfg.ChaosEvery = tt.every
			w, err := parseChaosWeights(tt.weights)
			if err == nil {
				cfg.ChaosWeights = w
				err = cfg.normalize()
			}
			if (err == nil) != tt.ok {
				t.Errorf("-chaos-every %v -chaos-weights %q: error %v, want ok %v", tt.every, tt.weights, err, tt.ok)
			}
		})
	}
}

// accept waits for the bot's next connection and reads its join, which must resume with token.
func accept(t *testing.T, conns <-chan *peer, token string) *peer {
	t.Helper()
	var p *peer
	select {
	case p = <-conns:
		t.Cleanup(func() { p.c.CloseNow() })
	case <-time.After(10 * time.Second):
		t.Fatal("the bot did not reconnect")
	}
	m := p.read()
	opts, _ := m[2].(map[string]any)
	if m[0] != int64(engine.KindJoin) || opts["token"] != token || len(opts) != 1 {
		t.Fatalf("the bot sent %v, want a join with token %q alone", m, token)
	}
	return p
}

// TestDroppedBotResumesWithTheLatestToken drops a bot twice through a real socket: it
// reconnects, joins with the token of the latest 0x11 (they rotate), applies the full
// snapshot that follows, and counts a refused resume as an error that loses the bot.
func TestDroppedBotResumesWithTheLatestToken(t *testing.T) {
	b, p, conns := seatBotConns(t, "crossword", func(r *runner) gameDriver {
		d, err := newCrosswordDriver(r)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}, 10)
	r := b.r
	p.send(engine.KindSnapshot, fullBody(10, square(1, "A", 7)))
	if m := p.read(); m[0] != int64(engine.KindAck) || m[1] != int64(10) {
		t.Fatalf("the bot sent %v, want [4, 10]", m)
	}

	b.drop(0) // as the scheduler does
	p2 := accept(t, conns, "T")
	p2.send(engine.KindJoined, uint64(joinReq), "R", uint64(1), "T2", uint64(19), uint64(10), uint64(10), "")
	p2.send(engine.KindSnapshot, fullBody(20, square(1, "B", 7)))
	if m := p2.read(); m[0] != int64(engine.KindAck) || m[1] != int64(20) {
		t.Fatalf("the resumed bot sent %v, want [4, 20]", m)
	}
	// resume counts the resume when open returns, which can be after the read loop
	// acknowledged the snapshot: wait for it a little.
	for end := time.Now().Add(2 * time.Second); r.chaos.resumes.Load() == 0 && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
	if n, lat := r.chaos.resumes.Load(), r.chaos.latency.Count(); n != 1 || lat != 1 || !b.up.Load() {
		t.Fatalf("%d resumes, %d latencies, up %v: want one resume, timed, seated", n, lat, b.up.Load())
	}
	cb := b.beh.(*crosswordBot)
	cb.mu.Lock()
	g := cb.gs.latest()
	cb.mu.Unlock()
	if g.tick != 20 || g.letters[0] != 'B' {
		t.Errorf("after the resume the grid of tick %d shows %q, want B at tick 20", g.tick, g.letters)
	}

	b.drop(0)
	p3 := accept(t, conns, "T2") // the newest token, not the one first issued
	p3.send(engine.KindResponse, uint64(joinReq), uint64(engine.CodeNotFound), "the seat is no longer held")
	r.chaosWG.Wait()
	n, codes := r.chaos.refusals()
	if n != 1 || !strings.Contains(codes, "5 (") || r.chaos.errors() != 1 || !b.lost.Load() {
		t.Errorf("refused %d (%s), chaos errors %d, lost %v: want one refusal with code 5, an error, the bot lost",
			n, codes, r.chaos.errors(), b.lost.Load())
	}
	if r.closes.Load() != 0 || b.n.protocolErrors.Load() != 0 {
		t.Errorf("%d closes, %d protocol errors: the drops were ours", r.closes.Load(), b.n.protocolErrors.Load())
	}
}

// TestStalledBotClosedIsAnError: a server that closes a bot while it stalls has closed an
// honest slow client: an unexpected close, in its own category, with the code and reason.
func TestStalledBotClosedIsAnError(t *testing.T) {
	b, p := seatBot(t, "crossword", func(r *runner) gameDriver {
		d, err := newCrosswordDriver(r)
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
	r := b.r
	b.chaos.busy.Store(true) // as chaosStep starts a stall
	b.chaos.stallFor.Store(int64(300 * time.Millisecond))
	p.send(engine.KindSnapshot, fullBody(10, square(1, "A", 7)))
	if m := p.read(); m[0] != int64(engine.KindAck) || m[1] != int64(10) {
		t.Fatalf("the bot sent %v, want [4, 10]", m)
	}
	go p.c.Close(ws.StatusPolicyViolation, "slow consumer")
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the bot did not see the close")
	}
	if r.closes.Load() != 1 || r.chaos.slowClosed.Load() != 1 || b.chaos.busy.Load() {
		t.Errorf("%d closes, %d stalled bots closed, busy %v: want 1, 1, false", r.closes.Load(), r.chaos.slowClosed.Load(), b.chaos.busy.Load())
	}
	msgs := strings.Join(r.errs.messages(), "\n")
	if !strings.Contains(msgs, "stalled bot closed") || !strings.Contains(msgs, "1008") || !strings.Contains(msgs, "slow consumer") {
		t.Errorf("first errors do not say a stalled bot was closed, with the code and reason:\n%s", msgs)
	}
}

// chaosSummaryRE is the summary line's form with -chaos-every.
var chaosSummaryRE = regexp.MustCompile(`^(players=.* errors=\d+) chaos_stalls=(\d+) chaos_drops=(\d+) chaos_pauses=(\d+) resumes=(\d+) resumes_refused=(\d+) stalled_closed=(\d+) resume_p50_ms=(\d+\.\d\d) resume_p99_ms=(\d+\.\d\d)$`)

// TestCrosswordChaos runs 40 crossword bots against the real engine through real sockets
// while they stall, drop and resume, and pause, every 2 s on average: no error of any kind,
// every drop resumed, no stalled bot closed, every letter at every player that was due it,
// and every final grid the same.
func TestCrosswordChaos(t *testing.T) {
	url := startServer(t, crossword.Register)
	cfg := testConfig(url, "crossword")
	cfg.Players = 40
	cfg.Duration = 10 * time.Second
	cfg.TypeEvery = time.Second
	cfg.ChaosEvery = 2 * time.Second
	var out, progress bytes.Buffer
	res, err := run(context.Background(), cfg, &out, &progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	m := chaosSummaryRE.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line is not the chaos summary line: %q", lines[len(lines)-1])
	}
	parseSummary(t, m[1]) // the fields without chaos keep their form
	n := func(i int) int64 { v, _ := strconv.ParseInt(m[i], 10, 64); return v }
	c := res.chaos
	if c == nil || n(2) != c.stalls || n(3) != c.drops || n(5) != c.resumes {
		t.Fatalf("summary %q does not match the counts %+v", m[0], c)
	}
	if res.errors() != 0 {
		t.Errorf("%d errors, want none", res.errors())
	}
	if c.stalls == 0 || c.drops == 0 || c.pauses == 0 {
		t.Errorf("chaos %+v: want stalls, drops and pauses", c)
	}
	if c.resumes != c.drops || c.refused != 0 || c.failed != 0 || res.chaos.p99 <= 0 {
		t.Errorf("chaos %+v: want every drop resumed, timed", c)
	}
	if c.slowClosed != 0 || res.closes != 0 || res.protocolErrors != 0 {
		t.Errorf("%d stalled bots closed, %d closes, %d protocol errors: want none", c.slowClosed, res.closes, res.protocolErrors)
	}
	l := res.letters
	if l == nil || l.placed == 0 || l.complete != l.placed || l.missing != 0 {
		t.Errorf("letters %+v: want every placed letter at every player due it", l)
	}
	if res.seated != cfg.Players {
		t.Errorf("%d bots seated, want %d", res.seated, cfg.Players)
	}
}

// TestShooterChaos: shooter bots acknowledge on their inputs and number them per
// connection; after a resume they number from 1 again and keep fighting, without an error.
func TestShooterChaos(t *testing.T) {
	url := startServer(t, shooter.Register)
	cfg := testConfig(url, "shooter")
	cfg.Players = 16
	cfg.Concurrency = 1 // rooms of exactly 8 (see TestShooterBotsFight)
	cfg.Duration = 4 * time.Second
	cfg.ChaosEvery = time.Second
	cfg.ChaosWeights = [chaosKinds]int{1, 3, 1}
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	c := res.chaos
	if res.errors() != 0 || c == nil || c.drops == 0 || c.resumes != c.drops {
		t.Errorf("%d errors, chaos %+v: want none, and every drop resumed", res.errors(), c)
	}
	if f := res.fight; f == nil || f.shots == 0 {
		t.Errorf("fight %+v: the bots did not play", f)
	}
}

func TestChaosSummaryLine(t *testing.T) {
	res := result{players: 40, duration: 10 * time.Second, rttP50: 0.5, rttP99: 9.876, snapshotsPerS: 230.04, bytesInPerPlayer: 1500,
		closes: 1, chaosErrors: 2,
		chaos: &chaosSummary{stalls: 30, drops: 31, pauses: 12, resumes: 29, refused: 1, failed: 1, slowClosed: 1, p50: 47.356, p99: 99.844}}
	want := "players=40 duration_s=10 rtt_p50_ms=0.50 rtt_p99_ms=9.88 snapshots_per_s=230.0 snapshots_per_player_min=0.00 bytes_in_per_player_s=1500 errors=3 " +
		"chaos_stalls=30 chaos_drops=31 chaos_pauses=12 resumes=29 resumes_refused=2 stalled_closed=1 resume_p50_ms=47.36 resume_p99_ms=99.84"
	if got := res.summary(); got != want {
		t.Errorf("\ngot  %s\nwant %s", got, want)
	}
	if !chaosSummaryRE.MatchString(res.summary()) {
		t.Errorf("%q does not have the chaos summary line's form", res.summary())
	}
}
