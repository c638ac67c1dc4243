package ws

import (
	"testing"
)

var benchModes = []struct {
	name string
	comp CompressionOptions
}{
	{"plain", CompressionOptions{Mode: CompressionDisabled}},
	{"deflate", CompressionOptions{}},
	{"deflate-takeover", CompressionOptions{Mode: CompressionContextTakeover, PeerContextTakeover: true}},
}

// BenchmarkReadMessage stands for the server's inbound path: a client streams binary messages
// (player inputs) and the server reads them. The client's frames are encoded ahead of time
// and written raw, so only the reading side is measured. Steady state must not allocate.
func BenchmarkReadMessage(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(sizeName(size), func(b *testing.B) {
			sc, cl := benchPair(b, CompressionOptions{Mode: CompressionDisabled})
			// 64 frames, masked as a client must.
			var stream []byte
			msg := payload(size, true)
			for range 64 {
				f := cl.frame(opBinary, false, msg)
				stream = append(stream, f.b...)
				f.release()
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; i < b.N; i += 64 {
					if _, err := cl.NetConn().Write(stream); err != nil {
						return
					}
				}
			}()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, _, err := sc.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cl.CloseNow()
			<-done
		})
	}
}

// BenchmarkRoundTrip stands for a server answering a player: the client writes a message,
// the server reads it and writes it back, the client reads the answer, one after the other
// on loopback. It measures both directions of both sides; steady state must not allocate.
func BenchmarkRoundTrip(b *testing.B) {
	for _, mode := range benchModes {
		for _, size := range []int{64, 1024} {
			b.Run(mode.name+"/"+sizeName(size), func(b *testing.B) {
				sc, cl := benchPair(b, mode.comp)
				msg := payload(size, true)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if err := cl.WriteMessage(MessageBinary, msg); err != nil {
						b.Fatal(err)
					}
					typ, p, err := sc.ReadMessage()
					if err != nil {
						b.Fatal(err)
					}
					if err := sc.WriteMessage(typ, p); err != nil {
						b.Fatal(err)
					}
					if _, _, err := cl.ReadMessage(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkWritePrepared stands for one player's share of a room broadcast of a 512-byte
// snapshot: the shared frame is written and the client reads it.
func BenchmarkWritePrepared(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			sc, cl := benchPair(b, mode.comp)
			pm, _ := NewPreparedMessage(MessageBinary, payload(512, true))
			b.ReportAllocs()
			for b.Loop() {
				if err := sc.WritePrepared(pm); err != nil {
					b.Fatal(err)
				}
				if _, _, err := cl.ReadMessage(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchPair(b *testing.B, comp CompressionOptions) (*Conn, *Conn) {
	lim := Limits{MaxMessagesPerSecond: -1}
	return acceptPair(b, &AcceptOptions{Compression: comp, Limits: lim}, &DialOptions{Compression: comp, Limits: lim})
}
