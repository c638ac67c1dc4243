package ws

import (
	"errors"
	"net/http"
)

// Handler receives the messages of a connection whose read loop the library runs (Serve).
//
// The calls for one connection come one at a time, in order, on the connection's read
// goroutine: OnMessage for each data message, then OnClose once. A handler may block (to
// apply backpressure, say), which holds only its own connection's reading; it must not wait
// for its own connection's next message.
type Handler interface {
	// OnMessage is called with each data message. p belongs to the connection and is valid
	// only until OnMessage returns: copy what you keep.
	OnMessage(c *Conn, typ MessageType, p []byte)
	// OnClose is called exactly once, when reading ended, with the error ReadMessage would
	// have returned (a *CloseError saying who closed and why). The transport is closed by
	// then, or is being closed by a Close still in progress on another goroutine.
	OnClose(c *Conn, err error)
}

// Serve accepts the WebSocket handshake of r like Accept, and then reads the connection for
// the Handler that open returns, on a goroutine of the library's: the HTTP handler that calls
// Serve returns at once.
//
// open runs once the handshake succeeded, on the caller's goroutine and before any message is
// read, so the application can register the connection first; it may also end the connection
// (Close or CloseNow), and its Handler then gets only OnClose. A nil Handler drops the
// connection. Serve returns the connection, or Accept's error when the handshake was refused
// (the HTTP response has been written then, and open is not called). The application must
// not call ReadMessage on a served connection; everything else (writes, Close) is as usual.
//
// This is the server path to prefer over Accept followed by a ReadMessage loop inside the
// HTTP handler. Such a loop keeps net/http's goroutine, with its deeper stack, and net/http's
// per-connection state for the life of the connection: the gameserver's /echo measured 18.4
// KiB of RSS per idle connection that way. Serve's read goroutine starts shallow and waits
// for bytes at the shallowest point of ReadMessage, holding no buffer (see Memory in the
// package doc), so an idle connection costs about its minimum stack; bench/idlemem measures
// it.
func Serve(w http.ResponseWriter, r *http.Request, opts *AcceptOptions, open func(*Conn) Handler) (*Conn, error) {
	c, err := Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	h := open(c)
	if h == nil {
		_ = c.CloseNow()
		return c, nil
	}
	go c.serve(h)
	return c, nil
}

// serve is the read loop of a served connection.
func (c *Conn) serve(h Handler) {
	for {
		typ, p, err := c.ReadMessage()
		if errors.Is(err, errConcurrentRead) {
			// Close, called from another goroutine while OnMessage ran, is reading the
			// peer's close frame itself. Its outcome is ours once it let go of the transport.
			<-c.endedChan()
			continue
		}
		if err != nil {
			h.OnClose(c, err)
			return
		}
		h.OnMessage(c, typ, p)
	}
}
