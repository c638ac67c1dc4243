package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/cluster"
	"github.com/rallypoint/rallypoint/match"
)

const testLease = time.Second

var mmQueues = []match.QueueConfig{
	{Mode: "duel", MinPlayers: 2, MaxPlayers: 2},
	{Mode: "trio", MinPlayers: 3, MaxPlayers: 3},
}

// deliveries records every onMatch of every node.
type deliveries struct {
	mu sync.Mutex
	ms []delivered
}

type delivered struct {
	node string
	m    match.Match
}

func (d *deliveries) add(node string, m match.Match) {
	d.mu.Lock()
	d.ms = append(d.ms, delivered{node, m})
	d.mu.Unlock()
}

// byTicket maps each ticket to the distinct match ids it was delivered in.
func (d *deliveries) byTicket() map[string]map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]map[string]bool{}
	for _, x := range d.ms {
		for _, t := range x.m.Tickets {
			if out[t.ID] == nil {
				out[t.ID] = map[string]bool{}
			}
			out[t.ID][x.m.ID] = true
		}
	}
	return out
}

type mmNode struct {
	n    *cluster.Node
	mm   *cluster.Matchmaker
	stop context.CancelFunc
}

// startMM makes a node with a matchmaker; hook, when set, is installed before Run starts.
func startMM(t *testing.T, s *natsServer, id string, d *deliveries, hook func(string)) *mmNode {
	t.Helper()
	n := join(t, s, id, nil)
	mm, err := cluster.NewMatchmaker(n, match.Options{Queues: mmQueues}, cluster.MatchmakerOptions{LeaseTTL: testLease})
	if err != nil {
		t.Fatal(err)
	}
	if hook != nil {
		cluster.SetMatchmakerHook(mm, hook)
	}
	return &mmNode{n: n, mm: mm, stop: runMM(t, id, mm, d)}
}

// runMM runs mm, delivering to d as node id's, until the test ends or the returned stop.
func runMM(t *testing.T, id string, mm *cluster.Matchmaker, d *deliveries) (stop context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = mm.Run(ctx, 20*time.Millisecond, func(m match.Match) { d.add(id, m) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return cancel
}

func leaderOf(nodes ...*mmNode) *mmNode {
	var l *mmNode
	for _, x := range nodes {
		if x.mm.Leading() {
			if l != nil {
				return nil
			}
			l = x
		}
	}
	return l
}

func enqueue(t *testing.T, mm *cluster.Matchmaker, mode, id string, players ...string) {
	t.Helper()
	if err := mm.Enqueue(match.Ticket{ID: id, Mode: mode, Players: players}); err != nil {
		t.Fatalf("enqueue %s: %v", id, err)
	}
}

// TestMatchmakerMatchesAcrossNodes: one ticket from each of three nodes makes one match,
// delivered once, by the one leader; the matched players stay busy everywhere until released.
func TestMatchmakerMatchesAcrossNodes(t *testing.T) {
	s := startNATS(t)
	var d deliveries
	a, b, c := startMM(t, s, "a", &d, nil), startMM(t, s, "b", &d, nil), startMM(t, s, "c", &d, nil)
	waitFor(t, 5*time.Second, "one leader, known to all", func() bool {
		l := leaderOf(a, b, c)
		return l != nil && a.mm.Leader() == l.n.ID() && b.mm.Leader() == l.n.ID() && c.mm.Leader() == l.n.ID()
	})
	enqueue(t, a.mm, "trio", "ta", "a.p")
	enqueue(t, b.mm, "trio", "tb", "b.p")
	enqueue(t, c.mm, "trio", "tc", "c.p")
	waitFor(t, 5*time.Second, "a match", func() bool { return len(d.byTicket()) == 3 })
	time.Sleep(100 * time.Millisecond)
	d.mu.Lock()
	if len(d.ms) != 1 || len(d.ms[0].m.Tickets) != 3 || d.ms[0].node != leaderOf(a, b, c).n.ID() {
		t.Errorf("deliveries %+v, want one match of 3 tickets on the leader", d.ms)
	}
	d.mu.Unlock()
	if err := b.mm.Enqueue(match.Ticket{ID: "again", Mode: "duel", Players: []string{"a.p"}}); !errors.Is(err, match.ErrPlayerBusy) {
		t.Errorf("matched player queued again on another node: %v, want ErrPlayerBusy", err)
	}
	c.mm.Release("a.p")
	enqueue(t, b.mm, "duel", "again", "a.p")
}

// TestMatchmakerRefusesClusterWide: what one node holds, every node refuses.
func TestMatchmakerRefusesClusterWide(t *testing.T) {
	s := startNATS(t)
	var d deliveries
	a, b := startMM(t, s, "a", &d, nil), startMM(t, s, "b", &d, nil)
	enqueue(t, a.mm, "trio", "t1", "p1", "p2")
	for _, tc := range []struct {
		name string
		tk   match.Ticket
		want error
	}{
		{"busy player", match.Ticket{ID: "t2", Mode: "trio", Players: []string{"p2"}}, match.ErrPlayerBusy},
		{"busy player in a party", match.Ticket{ID: "t3", Mode: "trio", Players: []string{"p3", "p1"}}, match.ErrPlayerBusy},
		{"ticket id waiting elsewhere", match.Ticket{ID: "t1", Mode: "trio", Players: []string{"p4"}}, match.ErrDuplicateTicket},
		{"unknown mode", match.Ticket{ID: "t5", Mode: "chess", Players: []string{"p5"}}, match.ErrUnknownMode},
		{"too many players", match.Ticket{ID: "t6", Mode: "duel", Players: []string{"x", "y", "z"}}, match.ErrInvalidTicket},
	} {
		if err := b.mm.Enqueue(tc.tk); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// The refused party left no key behind: p3 and p4 may queue.
	enqueue(t, b.mm, "duel", "t7", "p3")
	enqueue(t, b.mm, "duel", "t8", "p4")
	// Cancel from the other node frees the players.
	if err := b.mm.Cancel("t1"); err != nil {
		t.Fatal(err)
	}
	if err := a.mm.Cancel("t1"); !errors.Is(err, match.ErrTicketNotFound) {
		t.Errorf("second cancel: %v", err)
	}
	enqueue(t, a.mm, "trio", "t9", "p1")
}

// TestMatchmakerFailoverAtEveryStep kills the leader at each step of a commit: the next leader
// delivers every ticket in exactly one match (the same match twice only when the old leader
// died after its onMatch), and nothing is left in the buckets.
func TestMatchmakerFailoverAtEveryStep(t *testing.T) {
	for _, step := range []string{"recorded", "claimed", "committed", "finished", "delivered"} {
		t.Run(step, func(t *testing.T) {
			s := startNATS(t)
			var d deliveries
			block := make(chan struct{})
			var once sync.Once
			var a *mmNode
			a = startMM(t, s, "a", &d, func(at string) {
				if at == step {
					once.Do(func() {
						a.n.Conn().Close() // dies here: no more NATS, no goodbye
						<-block
					})
				}
			})
			t.Cleanup(func() { close(block) })
			waitFor(t, 5*time.Second, "a leads", a.mm.Leading)
			b := startMM(t, s, "b", &d, nil)
			enqueue(t, b.mm, "duel", "t1", "p1")
			enqueue(t, b.mm, "duel", "t2", "p2")
			took := waitFor(t, 10*time.Second, "b takes over and both tickets are delivered", func() bool {
				return b.mm.Leading() && len(d.byTicket()) == 2
			})
			t.Logf("delivered %v after the tickets were queued", took)
			time.Sleep(200 * time.Millisecond)
			for id, ms := range d.byTicket() {
				if len(ms) != 1 {
					t.Errorf("ticket %s in %d matches", id, len(ms))
				}
			}
			d.mu.Lock()
			n := len(d.ms)
			d.mu.Unlock()
			if want := 1; step != "delivered" && n != want {
				t.Errorf("%d deliveries, want 1", n)
			}
			waitFor(t, 5*time.Second, "no match record or ticket left", func() bool {
				return len(bucketKeys(t, s, "rallypoint_matches")) == 0 && len(bucketKeys(t, s, "rallypoint_tickets")) == 0
			})
			if err := b.mm.Enqueue(match.Ticket{ID: "t3", Mode: "duel", Players: []string{"p1"}}); !errors.Is(err, match.ErrPlayerBusy) {
				t.Errorf("matched player not held after the failover: %v", err)
			}
		})
	}
}

// TestMatchmakerFailoverUnderLoad kills the leader while tickets stream in from three nodes:
// a new leader within a few seconds, and every ticket matched exactly once.
func TestMatchmakerFailoverUnderLoad(t *testing.T) {
	s := startNATS(t)
	var d deliveries
	nodes := []*mmNode{startMM(t, s, "a", &d, nil), startMM(t, s, "b", &d, nil), startMM(t, s, "c", &d, nil)}
	waitFor(t, 5*time.Second, "a leader", func() bool { return leaderOf(nodes...) != nil })
	old := leaderOf(nodes...)
	var live []*mmNode
	for _, x := range nodes {
		if x != old {
			live = append(live, x)
		}
	}
	queued := 0
	push := func(on []*mmNode, pairs int) {
		for range pairs {
			for range 2 {
				x := on[queued%len(on)]
				enqueue(t, x.mm, "duel", fmt.Sprintf("t%d", queued), fmt.Sprintf("%s.p%d", x.n.ID(), queued))
				queued++
			}
		}
	}
	push(nodes, 30)
	old.n.Conn().Close()
	old.stop()
	killed := time.Now()
	push(live, 30)
	waitFor(t, 10*time.Second, "a new leader", func() bool { return leaderOf(live...) != nil })
	t.Logf("new leader %s %v after the kill", leaderOf(live...).n.ID(), time.Since(killed))
	waitFor(t, 10*time.Second, "every ticket matched", func() bool { return len(d.byTicket()) == queued })
	time.Sleep(200 * time.Millisecond)
	for id, ms := range d.byTicket() {
		if len(ms) != 1 {
			t.Errorf("ticket %s in %d matches", id, len(ms))
		}
	}
}

// TestMatchmakerCancelWinsOverPendingMatch: a ticket cancelled while the leader has claimed
// it but not committed is cancelled, the match dissolved, and its partner matched later.
func TestMatchmakerCancelWinsOverPendingMatch(t *testing.T) {
	s := startNATS(t)
	var d deliveries
	paused, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	a := startMM(t, s, "a", &d, func(at string) {
		if at == "claimed" {
			once.Do(func() { close(paused); <-resume })
		}
	})
	waitFor(t, 5*time.Second, "a leads", a.mm.Leading)
	enqueue(t, a.mm, "duel", "t1", "p1")
	enqueue(t, a.mm, "duel", "t2", "p2")
	<-paused
	errs := make(chan error, 2)
	go func() { errs <- a.mm.Cancel("t1") }()
	go func() { errs <- a.mm.Cancel("t2") }()
	time.Sleep(50 * time.Millisecond)
	close(resume)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("cancel of a ticket in a pending match: %v", err)
		}
	}
	enqueue(t, a.mm, "duel", "t3", "p1")
	enqueue(t, a.mm, "duel", "t4", "p2")
	waitFor(t, 5*time.Second, "t3 and t4 matched", func() bool { return len(d.byTicket()) == 2 })
	for id := range d.byTicket() {
		if id == "t1" || id == "t2" {
			t.Errorf("cancelled ticket %s was matched", id)
		}
	}
	if st := a.mm.Stats(); st.Dissolved == 0 || st.Cancelled != 2 {
		t.Errorf("stats %+v, want a dissolved match and 2 cancels", st)
	}
}

// TestMatchmakerCancelRace cancels tickets from another node while they are being matched:
// each ticket is cancelled or matched, never both, never twice.
func TestMatchmakerCancelRace(t *testing.T) {
	s := startNATS(t)
	var d deliveries
	a, b := startMM(t, s, "a", &d, nil), startMM(t, s, "b", &d, nil)
	const n = 60
	cancelled := make(map[string]bool)
	for i := range n {
		id := fmt.Sprintf("t%d", i)
		enqueue(t, a.mm, "duel", id, fmt.Sprintf("p%d", i))
		if i%2 == 1 {
			time.Sleep(time.Duration(i%5) * 5 * time.Millisecond)
			err := b.mm.Cancel(fmt.Sprintf("t%d", i-1))
			switch {
			case err == nil:
				cancelled[fmt.Sprintf("t%d", i-1)] = true
			case !errors.Is(err, match.ErrTicketNotFound):
				t.Fatalf("cancel: %v", err)
			}
		}
	}
	waitFor(t, 10*time.Second, "all but at most one ticket matched or cancelled", func() bool {
		return n-len(d.byTicket())-len(cancelled) <= 1
	})
	time.Sleep(200 * time.Millisecond)
	for id, ms := range d.byTicket() {
		if len(ms) != 1 || cancelled[id] {
			t.Errorf("ticket %s: %d matches, cancelled %v", id, len(ms), cancelled[id])
		}
	}
	t.Logf("%d cancelled, %d matched", len(cancelled), len(d.byTicket()))
}

// TestMatchmakerNATSRestart: cut off, a node refuses tickets clearly; tickets stored before
// the restart are matched after it, once.
func TestMatchmakerNATSRestart(t *testing.T) {
	s := startNATS(t)
	var d deliveries
	a, b := startMM(t, s, "a", &d, nil), startMM(t, s, "b", &d, nil)
	waitFor(t, 5*time.Second, "a leader", func() bool { return leaderOf(a, b) != nil })
	enqueue(t, a.mm, "duel", "before", "p1")
	s.stop()
	waitFor(t, testTimeout, "b knows it is cut off", func() bool { return !b.n.Synced() })
	if err := b.mm.Enqueue(match.Ticket{ID: "down", Mode: "duel", Players: []string{"p2"}}); !errors.Is(err, cluster.ErrNotSynced) {
		t.Errorf("enqueue while NATS is down: %v, want ErrNotSynced", err)
	}
	waitFor(t, 3*testLease, "no leader while cut off", func() bool { return leaderOf(a, b) == nil })
	s.start(t, s.addr)
	waitFor(t, 10*time.Second, "synced again", func() bool { return a.n.Synced() && b.n.Synced() })
	enqueue(t, b.mm, "duel", "after", "p2")
	waitFor(t, 10*time.Second, "matched after the restart", func() bool { return len(d.byTicket()) == 2 })
	time.Sleep(200 * time.Millisecond)
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.ms) != 1 {
		t.Errorf("%d deliveries, want 1", len(d.ms))
	}
}

// startOwned joins node id to s and runs a matchmaker on it whose players' ids name their
// node ("b.p" is on b: MatchmakerOptions.Owner), delivering to d.
func startOwned(t *testing.T, s *natsServer, id string, more func(*cluster.Options), d *deliveries) (*cluster.Node, *cluster.Matchmaker) {
	t.Helper()
	owner := func(p string) string { node, _, _ := strings.Cut(p, "."); return node }
	n := join(t, s, id, more)
	mm, err := cluster.NewMatchmaker(n, match.Options{Queues: mmQueues}, cluster.MatchmakerOptions{LeaseTTL: testLease, Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	runMM(t, id, mm, d)
	return n, mm
}

// TestMatchmakerWithdrawsTicketsOfAGoneNode: with Owner set, the matcher withdraws a waiting
// ticket whose player's node died (no goodbye): the player is gone with it, and a match with
// it would seat the others alone. Tickets of live nodes wait on, and are matched later.
func TestMatchmakerWithdrawsTicketsOfAGoneNode(t *testing.T) {
	s := startNATS(t)
	var d deliveries
	start := func(id string) (*cluster.Node, *cluster.Matchmaker) { return startOwned(t, s, id, nil, &d) }
	_, a := start("a")
	waitFor(t, 5*time.Second, "a leads", a.Leading)
	bn, b := start("b")
	enqueue(t, b, "duel", "tb", "b.p") // a duel of one waits for a second player
	enqueue(t, a, "trio", "ta", "a.p") // so does a trio of one, of a live node
	waitFor(t, 5*time.Second, "a's mirror holds both", func() bool {
		q := a.Stats().Queues
		return q["duel"].Tickets == 1 && q["trio"].Tickets == 1
	})
	bn.Conn().Close() // b dies: no more NATS, no goodbye
	waitFor(t, 10*time.Second, "the gone node's ticket withdrawn", func() bool {
		return a.Stats().Queues["duel"].Tickets == 0
	})
	if err := a.Cancel("tb"); !errors.Is(err, match.ErrTicketNotFound) {
		t.Fatalf("the withdrawn ticket: Cancel says %v, want ErrTicketNotFound", err)
	}
	if n := a.Stats().Queues["trio"].Tickets; n != 1 {
		t.Fatalf("the live node's ticket: %d waiting, want 1", n)
	}
	enqueue(t, a, "duel", "tq", "a.q")
	enqueue(t, a, "duel", "tr", "a.r")
	waitFor(t, 5*time.Second, "the live players matched", func() bool { return len(d.byTicket()) == 2 })
	if _, ok := d.byTicket()["tb"]; ok {
		t.Fatal("the gone node's ticket was matched")
	}
}

// TestMatchmakerKeepsTicketsOfANodeBrieflyOutOfView: a live node that drops out of the
// matcher's view for less than another Timeout (its heartbeats late on a busy machine; here,
// the matcher suspecting it again and again) keeps its waiting tickets: withdrawn, its player
// would wait for a match that never comes. It is matched once a partner arrives.
func TestMatchmakerKeepsTicketsOfANodeBrieflyOutOfView(t *testing.T) {
	s := startNATS(t)
	var d deliveries
	start := func(id string) (*cluster.Node, *cluster.Matchmaker) {
		return startOwned(t, s, id, func(o *cluster.Options) { o.Timeout = 3 * time.Second }, &d)
	}
	an, a := start("a")
	waitFor(t, 5*time.Second, "a leads", a.Leading)
	_, b := start("b")
	enqueue(t, b, "duel", "tb", "b.p")
	waitFor(t, 5*time.Second, "a's mirror holds b's ticket", func() bool { return a.Stats().Queues["duel"].Tickets == 1 })
	// A spell out of a's view half the Timeout long (3 s here), which spans a sweep (one a
	// second) whatever their phase.
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		an.Suspect("b")
	}
	waitFor(t, 5*time.Second, "b back in a's view", func() bool { _, ok := an.NodeByID("b"); return ok })
	time.Sleep(100 * time.Millisecond)
	if n := a.Stats().Queues["duel"].Tickets; n != 1 {
		t.Fatalf("b's ticket: %d waiting, want 1: a live node's ticket was withdrawn", n)
	}
	enqueue(t, a, "duel", "ta", "a.p")
	waitFor(t, 5*time.Second, "b's player matched", func() bool { return len(d.byTicket()) == 2 })
}
