package gameclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rallypoint/rallypoint/net/ws"
	"github.com/rallypoint/rallypoint/protocol"
)

// MaxRedirects is how many redirects FollowRedirects (and DialJoin) follow for one join. A
// cluster sends one: the entry node reserves the seat on the room's node, which seats the
// player. A second happens when a node's view of the cluster is a moment old (the room moved,
// a node drained meanwhile); more than three is a cluster that disagrees with itself, and
// each hop costs a handshake and a round trip, so the join stops with ErrTooManyRedirects
// rather than bounce on.
const MaxRedirects = 3

// ErrTooManyRedirects is what FollowRedirects returns (wrapped, with the last redirect)
// when a join is redirected more than MaxRedirects times.
var ErrTooManyRedirects = errors.New("gameclient: too many redirects")

// RedirectError is a cluster's answer to a join whose seat is on another node
// (PROTOCOL.md, 0x1B): dial URL and join there with Next. Join returns it; DialJoin and
// FollowRedirects follow it. Test for it with errors.As.
type RedirectError struct {
	// URL is the node's WebSocket endpoint (its /play).
	URL string
	// Reservation is the seat reserved there; "" answers a resume: resume at URL with the
	// same token.
	Reservation string
	// TTL is how long the reservation waits to be claimed.
	TTL time.Duration
	// Room is the room the seat is in.
	Room string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("gameclient: the seat in room %q is on another node: join at %s", e.Room, e.URL)
}

// Next is the join to send at URL after opts was redirected: the reservation with the
// original meta or, for a resume (no reservation), the same token again.
func (e *RedirectError) Next(opts protocol.JoinOptions) (protocol.JoinOptions, error) {
	if e.Reservation != "" {
		return protocol.JoinOptions{Reservation: e.Reservation, Meta: opts.Meta}, nil
	}
	if opts.Token == "" {
		return opts, fmt.Errorf("gameclient: redirect to %s without a reservation for a join without a resume token", e.URL)
	}
	return protocol.JoinOptions{Token: opts.Token, Meta: opts.Meta}, nil
}

// JoinAt joins at one node: it dials url, sends the join and returns nil once seated, a
// *RedirectError when the node says the seat is elsewhere (having let go of its connection),
// or another error. FollowRedirects calls it once per hop.
type JoinAt func(ctx context.Context, url string, opts protocol.JoinOptions) error

// FollowRedirects joins with opts through url and follows the cluster's redirects: at most
// MaxRedirects of them, each to the node the last one named, with the join it says
// (RedirectError.Next). It returns the URL of the node that seated the player and how many
// redirects that took. It is the loop DialJoin runs, for callers that speak the protocol on
// their own connections (the load generator's bots).
func FollowRedirects(ctx context.Context, url string, opts protocol.JoinOptions, join JoinAt) (final string, hops int, err error) {
	for {
		err := join(ctx, url, opts)
		var rd *RedirectError
		if !errors.As(err, &rd) {
			return url, hops, err
		}
		if hops == MaxRedirects {
			return url, hops, fmt.Errorf("%w: %d followed, the last to %s, which sent the join on to %s", ErrTooManyRedirects, hops, url, rd.URL)
		}
		if opts, err = rd.Next(opts); err != nil {
			return url, hops, err
		}
		url = rd.URL
		hops++
	}
}

// DialJoin dials url, joins with opts and follows the cluster's redirects (FollowRedirects):
// each redirect closes that connection and dials the node it names. It returns the client
// connected to the node that seated the player (its URL and Redirects say which and after
// how many hops) and the join's answer. Give it the entry node's URL for a first join and
// the client's URL for a resume: a resume whose node has left the cluster is answered
// with CodeNotFound, and the player joins afresh through the entry node.
func DialJoin(ctx context.Context, url string, dial *ws.DialOptions, opts protocol.JoinOptions) (*Client, Joined, error) {
	var (
		cl *Client
		j  Joined
	)
	_, hops, err := FollowRedirects(ctx, url, opts, func(ctx context.Context, url string, opts protocol.JoinOptions) error {
		c, err := Dial(ctx, url, dial)
		if err != nil {
			return err
		}
		if j, err = c.Join(ctx, opts); err != nil {
			// In the background: the next hop need not wait for the closing handshake.
			go func() { _ = c.Close() }()
			return err
		}
		cl = c
		return nil
	})
	if err != nil {
		return nil, Joined{}, err
	}
	cl.redirects = hops
	return cl, j, nil
}
