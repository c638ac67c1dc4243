// Package wstest helps tests play the server end of a WebSocket connection. ws.Serve is the
// only server path, and it hands each message to a Handler; a scripted test wants to read
// the next message where its script is, as a client reads with ReadMessage. Inbox bridges
// the two.
package wstest

import (
	"bytes"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/rallypoint/rallypoint/net/ws"
)

// InboxSize is how many unread messages an Inbox holds before its OnMessage waits for the
// test to read, holding the connection's reading as an unread socket would hold the peer.
const InboxSize = 1024

// Inbox is the Handler of a served connection that a test reads message by message: copies
// of the data messages in order, then the error that ended the reading, returned from then
// on.
type Inbox struct {
	msgs chan inboxMsg
	done chan struct{} // closed by OnClose once err is set
	err  error
	// Discard, once set, drops the messages that arrive instead of queueing copies: for a
	// test that counts allocations and reads nothing more.
	Discard atomic.Bool
}

type inboxMsg struct {
	typ ws.MessageType
	p   []byte
}

// NewInbox returns an empty Inbox.
func NewInbox() *Inbox {
	return &Inbox{msgs: make(chan inboxMsg, InboxSize), done: make(chan struct{})}
}

// OnMessage queues a copy of p: it is the connection's only until OnMessage returns.
func (in *Inbox) OnMessage(_ *ws.Conn, typ ws.MessageType, p []byte) {
	if in.Discard.Load() {
		return
	}
	in.msgs <- inboxMsg{typ, bytes.Clone(p)}
}

// OnClose records the error that ended the reading.
func (in *Inbox) OnClose(_ *ws.Conn, err error) {
	in.err = err
	close(in.done)
}

// Done is closed once the reading ended.
func (in *Inbox) Done() <-chan struct{} { return in.done }

// Next returns the next message; once the reading ended and every message before its end
// was returned, the error that ended it; and an error wrapping os.ErrDeadlineExceeded when
// neither came within timeout (what ReadMessage returns past a read deadline).
func (in *Inbox) Next(timeout time.Duration) (ws.MessageType, []byte, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m := <-in.msgs:
		return m.typ, m.p, nil
	case <-in.done:
		select { // OnMessage returned before OnClose: what it queued is all there
		case m := <-in.msgs:
			return m.typ, m.p, nil
		default:
			return 0, nil, in.err
		}
	case <-t.C:
		return 0, nil, fmt.Errorf("no message within %v: %w", timeout, os.ErrDeadlineExceeded)
	}
}
