package ws

import (
	"bytes"
	"errors"
	"net"
	"testing"
)

// TestWriteLatestSplicedSendsHeadThenTheRest: the spliced message arrives as head followed
// by pm's data after skip, from a server (unmasked, the shared frame not used) and from a
// client (masked), with and without permessage-deflate; it goes uncompressed either way
// (its wire bytes are at least its payload's), and SendsCompressed says what the shared
// frame would have been.
func TestWriteLatestSplicedSendsHeadThenTheRest(t *testing.T) {
	big := append([]byte{0x92, 0x12, 0xc0}, bytes.Repeat([]byte("abcd"), 300)...)
	small := []byte{0x92, 0x12, 0xc0, 0x01, 0x02}
	tests := []struct {
		name           string
		mode           CompressionMode
		data           []byte
		skip           int
		head           []byte
		wantCompressed bool
	}{
		{"deflate, above the threshold", CompressionNoContextTakeover, big, 3, []byte{0x92, 0x12, 0xcd, 0x01, 0x00}, true},
		{"deflate with context takeover", CompressionContextTakeover, big, 3, []byte{0x92, 0x12, 0x07}, true},
		{"deflate, below the threshold", CompressionNoContextTakeover, small, 3, []byte{0x92, 0x12, 0x07}, false},
		{"no deflate", CompressionDisabled, big, 3, []byte{0x92, 0x12, 0x07}, false},
		{"empty head", CompressionDisabled, small, 1, nil, false},
		{"nothing of pm", CompressionDisabled, small, len(small), []byte("head"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, dm := new(Metrics), new(Metrics)
			sc, cl := acceptPair(t, &AcceptOptions{Metrics: m, Compression: CompressionOptions{Mode: tt.mode}},
				&DialOptions{Metrics: dm, Compression: CompressionOptions{Mode: tt.mode}})
			pm, err := NewPreparedMessage(MessageBinary, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			defer pm.Release()
			want := append(append([]byte{}, tt.head...), tt.data[tt.skip:]...)
			for _, side := range []struct {
				name     string
				from, to *Conn
				m        *Metrics
				batch    bool
			}{
				{"server", sc, cl, m, false},
				{"server, batched", sc, cl, m, true},
				{"client", cl, sc, dm, false},
			} {
				if got := side.from.SendsCompressed(pm); got != tt.wantCompressed {
					t.Errorf("%s: SendsCompressed = %v, want %v", side.name, got, tt.wantCompressed)
				}
				before := side.m.BytesOut.Load()
				if side.batch {
					var b Batch
					err = b.WriteLatestSpliced(side.from, pm, tt.head, tt.skip)
					if n := b.Send(); n != 0 {
						t.Fatalf("%s: %d batched writes failed", side.name, n)
					}
				} else {
					err = side.from.WriteLatestSpliced(pm, tt.head, tt.skip)
				}
				if err != nil {
					t.Fatalf("%s: %v", side.name, err)
				}
				typ, got, err := side.to.ReadMessage()
				if err != nil || typ != MessageBinary || !bytes.Equal(got, want) {
					t.Fatalf("%s: got %v % x, %v; want binary % x", side.name, typ, got, err, want)
				}
				if wire := side.m.BytesOut.Load() - before; wire < int64(len(want))+2 {
					t.Errorf("%s: %d bytes on the wire for a %d-byte message: compressed", side.name, wire, len(want))
				}
			}
			// The shared frame still goes as it would have: compressed where it says so.
			if err := sc.WriteLatest(pm); err != nil {
				t.Fatal(err)
			}
			if _, got, err := cl.ReadMessage(); err != nil || !bytes.Equal(got, tt.data) {
				t.Fatalf("the shared message after a splice: % x, %v", got, err)
			}
		})
	}
}

// TestWriteLatestSplicedIsReplacedLikeAnyLatest: spliced messages share the latest-wins slot
// with WriteLatest's, so a reader that falls behind gets the newest, whichever way it went.
func TestWriteLatestSplicedIsReplacedLikeAnyLatest(t *testing.T) {
	m := new(Metrics)
	sc, cl := acceptPair(t, &AcceptOptions{Metrics: m, Compression: CompressionOptions{Mode: CompressionDisabled}}, nil)
	big := payload(256<<10, false)
	queued := fillBacklog(t, sc, cl, big)
	for i := range 100 {
		pm, _ := NewPreparedMessage(MessageBinary, []byte{0, 's', byte(i)})
		if i%2 == 0 {
			err := sc.WriteLatest(pm)
			if err != nil {
				t.Fatal(err)
			}
		} else if err := sc.WriteLatestSpliced(pm, []byte{'h'}, 1); err != nil {
			t.Fatal(err)
		}
		pm.Release()
	}
	if !backlogged(sc) {
		t.Fatal("the backlog was gone before the last latest message: nothing waited to be replaced")
	}
	for range queued {
		if _, p, err := cl.ReadMessage(); err != nil || len(p) != len(big) {
			t.Fatalf("queued message: %d bytes, %v", len(p), err)
		}
	}
	// The writer may have taken the first latest message along with the backlog; those
	// after it replaced each other, and the last is the spliced 99.
	got := 0
	for {
		_, p, err := cl.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		got++
		if p[2] == 99 {
			if !bytes.Equal(p, []byte{'h', 's', 99}) {
				t.Fatalf("the last message: % x, want 68 73 63", p)
			}
			break
		}
	}
	if replaced := m.LatestReplaced.Load(); got+int(replaced) != 100 || replaced == 0 {
		t.Errorf("%d latest messages arrived and %d were replaced, of 100", got, replaced)
	}
}

// fillBacklog writes big to sc until its writer has a backlog, and one more so that the
// backlog outlasts what the caller writes next; it returns how many it wrote. cl, the
// peer, does not read meanwhile.
func fillBacklog(t *testing.T, sc, cl *Conn, big []byte) int {
	t.Helper()
	// Fixed socket buffers end the kernel's autotuning, which on a slow run (-race, a busy
	// machine) grew them until the whole backlog left before the caller was done, and
	// nothing was left waiting behind it (a CI failure: 100 arrived, 0 replaced).
	for _, c := range []*Conn{sc, cl} {
		tc, ok := c.NetConn().(*net.TCPConn)
		if !ok {
			t.Fatalf("%T: want a TCP connection", c.NetConn())
		}
		if err := errors.Join(tc.SetWriteBuffer(64<<10), tc.SetReadBuffer(64<<10)); err != nil {
			t.Fatal(err)
		}
	}
	queued := 0
	for ; queued < 4 || !backlogged(sc); queued++ {
		if queued == 200 {
			t.Fatalf("%d MiB did not fill the socket", 200*len(big)>>20)
		}
		if err := sc.WriteMessage(MessageBinary, big); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.WriteMessage(MessageBinary, big); err != nil {
		t.Fatal(err)
	}
	return queued + 1
}
