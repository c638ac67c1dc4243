package ws

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rallypoint/rallypoint/internal/bpool"
)

// TestReleasedPreparedMessagesStayIntactWhileQueued releases each prepared message as soon
// as it is written, as a room does after its tick, to a peer that is not reading: the
// socket fills and the frames wait in the writer's queue and latest-wins slot. With the
// buffer pool poisoning what it takes back, a frame whose buffers went back to the pool
// while still queued would arrive as 0xc1 bytes or as another message's bytes.
func TestReleasedPreparedMessagesStayIntactWhileQueued(t *testing.T) {
	defer bpool.SetPoison(bpool.SetPoison(true))
	const n, size = 120, 16 << 10
	for _, mode := range compressionModes {
		for _, via := range []string{"conn", "batch"} {
			t.Run(mode.name+"/"+via, func(t *testing.T) {
				sc, cl := acceptPair(t, &AcceptOptions{Compression: mode.server}, &DialOptions{Compression: mode.client})
				// Fill the socket first, so that every prepared message waits in the writer.
				// Random bytes, which deflate cannot shrink: payload's pattern compresses,
				// and some 300 fillers went into the socket buffers before one waited,
				// which the client then inflated for longer than the server's 10 s
				// WriteTimeout under -race on a loaded machine (the flusher gave up: 1006).
				fill, fills := make([]byte, 256<<10), 0
				_, _ = rand.Read(fill)
				// Then 1 MiB more, ahead of the prepared messages: the kernel may still grow
				// its buffers a little, and the backlog must outlast that (a run beside a
				// CPU hog once drained everything before the check below).
				for extra := 0; extra < 4; fills++ {
					if err := sc.WriteMessage(MessageBinary, fill); err != nil {
						t.Fatal(err)
					}
					if backlogged(sc) {
						extra++
					}
				}
				var b Batch
				for i := range n {
					pm, err := NewPreparedMessage(MessageBinary, bytes.Repeat([]byte{byte(i)}, size))
					if err != nil {
						t.Fatal(err)
					}
					last := i == n-1 // the last one goes through the latest-wins slot
					switch {
					case via == "conn" && last:
						err = sc.WriteLatest(pm)
					case via == "conn":
						err = sc.WritePrepared(pm)
					case last:
						err = b.WriteLatest(sc, pm)
					default:
						err = b.WritePrepared(sc, pm)
					}
					if err != nil {
						t.Fatal(err)
					}
					b.Send()
					pm.Release()
					// Another message made at once may take the released one's buffers.
					other, _ := NewPreparedMessage(MessageBinary, bytes.Repeat([]byte{0xee}, size))
					other.Release()
				}
				if !backlogged(sc) {
					t.Fatal("the writer has no backlog: the test would not see queued frames")
				}
				for i := range fills {
					if _, p, err := cl.ReadMessage(); err != nil || !bytes.Equal(p, fill) {
						t.Fatalf("filler %d: %d bytes, %v", i, len(p), err)
					}
				}
				for i := range n {
					_ = cl.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
					_, p, err := cl.ReadMessage()
					if err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					if want := bytes.Repeat([]byte{byte(i)}, size); !bytes.Equal(p, want) {
						t.Fatalf("message %d: %d bytes, first %x, want %d bytes of %02x", i, len(p), p[:min(8, len(p))], size, byte(i))
					}
				}
			})
		}
	}
}

// backlogged reports whether c's writer has frames waiting for the socket: queued, or
// taken by its flusher, which is still writing them (busy once the writing call returned
// means a flusher is at work).
func backlogged(c *Conn) bool {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return c.w.pending() || c.w.busy
}

func TestPreparedMessageReleasedTwicePanics(t *testing.T) {
	pm, _ := NewPreparedMessage(MessageBinary, []byte("x"))
	pm.Release()
	defer func() {
		if recover() == nil {
			t.Fatal("a second Release did not panic")
		}
	}()
	pm.Release()
}

// TestPreparedSnapshotAllocatesNothing: a room's snapshot to a player, prepared, written
// through a Batch and released, allocates nothing once the pools are warm.
func TestPreparedSnapshotAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own account")
	}
	for _, mode := range compressionModes {
		t.Run(mode.name, func(t *testing.T) {
			sc, cl := acceptPair(t, &AcceptOptions{Compression: mode.server}, &DialOptions{Compression: mode.client})
			done := make(chan error, 1)
			go func() {
				for {
					if _, _, err := cl.ReadMessage(); err != nil {
						done <- err
						return
					}
				}
			}()
			msg := payload(600, true) // a shooter delta's size, compressible
			var b Batch
			send := func() {
				pm, _ := NewPreparedMessage(MessageBinary, msg)
				if err := b.WriteLatest(sc, pm); err != nil {
					panic(fmt.Sprint(err))
				}
				b.Send()
				pm.Release()
			}
			for range 50 {
				send()
			}
			if allocs := testing.AllocsPerRun(500, send); allocs > 0 {
				t.Errorf("%.2f allocations per prepared, sent and released message, want 0", allocs)
			}
			sc.CloseNow()
			<-done
		})
	}
}

// TestCloseSendsTheLatestBeforeTheCloseFrame: a message waiting in the latest-wins slot
// when Close is called goes out before the close frame, after the messages queued before
// it, as everything written before Close does; RFC 6455 §5.5.1 allows nothing after the
// close frame. The slot used to go after the queue, close frame included, and the peer
// never saw it: a room's last snapshot, with its input acknowledgement, was lost at
// shutdown.
func TestCloseSendsTheLatestBeforeTheCloseFrame(t *testing.T) {
	sc, cl := acceptPair(t, &AcceptOptions{Compression: CompressionOptions{Mode: CompressionDisabled}}, nil)
	big := payload(256<<10, false)
	queued := fillBacklog(t, sc, cl, big)
	pm, _ := NewPreparedMessage(MessageBinary, []byte("latest"))
	if err := sc.WriteLatest(pm); err != nil {
		t.Fatal(err)
	}
	pm.Release()
	if err := sc.WriteMessage(MessageBinary, []byte("queued")); err != nil {
		t.Fatal(err)
	}
	if !backlogged(sc) {
		t.Fatal("the backlog was gone before Close: nothing waited in the slot")
	}
	closed := make(chan error, 1)
	go func() { closed <- sc.Close(StatusGoingAway, "bye") }()
	var got []string
	for {
		_, p, err := cl.ReadMessage()
		if err != nil {
			if CloseStatus(err) != StatusGoingAway {
				t.Fatalf("read ended with %v, want the 1001 close", err)
			}
			break
		}
		if len(p) == len(big) {
			queued--
			continue
		}
		got = append(got, string(p))
	}
	if queued != 0 || !slices.Equal(got, []string{"queued", "latest"}) {
		t.Fatalf("before the close frame: %d big messages missing, then %q; want 0, then [queued latest]", queued, got)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}
