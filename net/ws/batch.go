package ws

// Batch gathers latest-wins writes to many connections, such as a room's snapshot to each
// of its players, and sends those whose sockets are free together: on Linux one
// io_uring_enter(2) for up to 64 of them instead of a write(2) each (uring_linux.go says
// what that saves). A connection that is already writing, or has a backlog, takes the
// ordinary path at once (WriteLatest's), as does every connection over TLS or a net.Pipe
// and every one where the kernel refuses io_uring. As with WriteLatest, nothing waits on a
// slow peer: what a full socket does not take goes to the connection's writer, which
// finishes it in order.
//
// A Batch is used by one goroutine at a time and reused: WriteLatest, WriteLatestWith,
// WriteLatestSpliced, WritePrepared and WriteMessage add, Send sends what was added and
// empties it. Until they are sent, the connections added hold their writers (other writes
// to them queue behind), so call Send soon, as a room's tick does after its loop over the
// players. A Batch holds at most one
// round (64 writes): the add that fills it sends the round at once, so a room of thousands
// of players keeps 64 items of scratch, not one per player (about 100 bytes each, held for
// the room's life), and its first players' writes do not wait for the last ones'.
type Batch struct {
	items  []batchItem
	failed int // writes of the rounds sent before Send that failed

	// Send's round in progress (lockFrom): the items, the next to lock, the ring, whether
	// it held, and onLocked as a func value made once (a closure per item would be an
	// allocation per player per tick: RawConn.Write's callback escapes).
	round    []batchItem
	next     int
	ring     *ring
	ok       bool
	onLockFn func(fd uintptr) bool
}

type batchItem struct {
	c       *Conn
	f       outFrame
	fd      uintptr
	locked  bool // the socket's write lock is held (Send), so fd is its descriptor
	pending bool // handed to the kernel, no completion yet
	n       int  // bytes the kernel took
	err     error
}

// WriteLatest adds pm for c, as c.WriteLatest(pm) would send it. The error is that of the
// ordinary path when c took it (ErrClosed, ErrSlowConsumer); a batched write's failure is
// counted by Send and shows as the connection's.
func (b *Batch) WriteLatest(c *Conn, pm *PreparedMessage) error {
	c.noteSent(len(pm.data))
	f, compressed := pm.outFrame(c)
	return b.add(c, f, compressed, true)
}

// WritePrepared adds pm for c, in order with c's other messages, as c.WritePrepared(pm)
// would send it.
func (b *Batch) WritePrepared(c *Conn, pm *PreparedMessage) error {
	c.noteSent(len(pm.data))
	f, compressed := pm.outFrame(c)
	return b.add(c, f, compressed, false)
}

// WriteMessage adds p for c, in order with c's other messages, as c.WriteMessage(typ, p)
// would send it; p is copied, so the caller may reuse it at once. It is for many
// connections' own small messages sent at one moment, such as a load generator's inputs
// from every bot at a step. A message c would compress takes c.WriteMessage's path at once
// (each connection's compression is its own), and so does the error: ErrBadMessageType,
// ErrInvalidUTF8, or what the ordinary path returns.
func (b *Batch) WriteMessage(c *Conn, typ MessageType, p []byte) error {
	if err := checkMessage(typ, p); err != nil {
		return err
	}
	if c.compresses(p) {
		return c.WriteMessage(typ, p)
	}
	c.noteSent(len(p))
	return b.add(c, c.frame(opcode(typ), false, p), false, false)
}

// WriteLatestWith adds pm preceded by lead for c, as c.WriteLatestWith(pm, lead) would send
// them. lead is copied.
func (b *Batch) WriteLatestWith(c *Conn, pm *PreparedMessage, lead []byte) error {
	f, compressed := c.latestUnit(pm, lead)
	return b.add(c, f, compressed, true)
}

// WriteLatestSpliced adds the message head ++ pm.Data()[skip:] for c, as
// c.WriteLatestSpliced(pm, head, skip) would send it.
func (b *Batch) WriteLatestSpliced(c *Conn, pm *PreparedMessage, head []byte, skip int) error {
	return b.add(c, c.splicedFrame(pm, head, skip), false, true)
}

func (b *Batch) add(c *Conn, f outFrame, compressed, latest bool) error {
	w := &c.w
	w.mu.Lock()
	w.notePrepared(compressed)
	if !batchSupported || w.closed || w.busy || w.pending() || w.rawFn == nil || ringsBroken() {
		return w.sendLocked(f, latest)
	}
	// Ours to write, as sendLocked's fast path would: anything else sent to c meanwhile
	// queues behind it, and wroteDirect hands that to a flusher.
	w.busy = true
	w.mu.Unlock()
	b.items = append(b.items, batchItem{c: c, f: f})
	if len(b.items) == ringEntries {
		b.failed += b.flush()
	}
	return nil
}

// Send writes what was added, empties the batch, and returns how many of its writes failed
// since the last Send (each failure ends its connection, as a failed write(2) would).
func (b *Batch) Send() (failed int) {
	failed = b.failed + b.flush()
	b.failed = 0
	return failed
}

// flush sends the round the batch holds (at most ringEntries items), hands each item's
// outcome to its writer, and empties the batch.
func (b *Batch) flush() (failed int) {
	items := b.items
	if len(items) == 0 {
		return 0
	}
	b.sendRound(items)
	for i := range items {
		it := &items[i]
		if it.c.w.wroteDirect(it.f, it.n, it.err) != nil {
			failed++
		}
	}
	clear(items)
	b.items = items[:0]
	return failed
}

// sendRound sends up to ringEntries items: through a ring when one is free, else with a
// write(2) each, as the ordinary path does.
func (b *Batch) sendRound(items []batchItem) {
	r := getRing()
	if r == nil {
		for i := range items {
			it := &items[i]
			it.n, it.err = it.c.w.tryWrite(it.f.b)
		}
		return
	}
	if b.onLockFn == nil {
		b.onLockFn = b.onLocked
	}
	b.round, b.next, b.ring = items, 0, r
	b.lockFrom()
	putRing(r, b.ok)
	b.round, b.ring = nil, nil
}

// lockFrom holds the write lock of each item's socket from round[next] on
// (syscall.RawConn.Write, one nested call each), then has the ring send on their
// descriptors, as a write(2) inside the same call would: a connection closed meanwhile
// keeps its descriptor until the lock is let go, so a descriptor number can never have been
// reused for another socket. An item whose socket is already closed gets that error and is
// not sent.
func (b *Batch) lockFrom() {
	if b.next == len(b.round) {
		b.ok = sendAll(b.ring, b.round)
		return
	}
	it := &b.round[b.next]
	b.next++
	if err := it.c.raw.Write(b.onLockFn); !it.locked {
		it.err = err
		b.lockFrom()
	}
}

// onLocked is RawConn.Write's callback for the item lockFrom just took: its socket is
// locked, so the rest are locked (and the round sent) before it returns.
func (b *Batch) onLocked(fd uintptr) bool {
	it := &b.round[b.next-1]
	it.fd, it.locked = fd, true
	b.lockFrom()
	return true
}
