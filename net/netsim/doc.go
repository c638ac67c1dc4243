// Package netsim simulates a bad network path between TCP clients and a server: a proxy that
// delays, bunches, "loses", throttles and blacks out the bytes it forwards, for trying a game
// over café Wi-Fi or a phone on a train on a machine without netem. It imports nothing but
// the standard library.
//
//	px, err := netsim.Listen("127.0.0.1:0", "127.0.0.1:8080", netsim.Symmetric(50*time.Millisecond, 20*time.Millisecond))
//	...
//	conn, err := net.Dial("tcp", px.Addr().String()) // 100 ± 20 ms RTT to the server
//	px.Blackout(5*time.Second, netsim.Silent)         // the Wi-Fi drops out for 5 s
//	defer px.Close()
//
// # What is simulated
//
// The proxy sits above the kernel's TCP, so it models what a TCP application sees of a bad
// path, not the packets: each chunk (what one Read returned, at most 32 KiB) is delivered
// after a delay drawn from the Link's distribution, but never before the chunk ahead of it in
// the same direction, because TCP delivers bytes in order. Jitter therefore bunches data, as
// head-of-line blocking does, and never reorders it. A "lost" chunk is one whose segment TCP
// had to retransmit: it and everything behind it arrive Link.Retransmit later. Bandwidth is a
// serialization delay with a queue behind it. A Silent blackout holds everything and lets it
// all through when it ends, without an error on either side; a Reset blackout resets every
// connection. Nothing is reordered, duplicated or corrupted, connection setup itself is not
// delayed (the first bytes are), and the kernels at both ends still run TCP over loopback
// with its own buffers.
//
// # The jitter convention
//
// Delay and Jitter are per direction, one way, as netem's "delay 50ms 20ms" applied on both
// ends: Symmetric(50ms, 20ms) is a path of about 100 ms round trip, each direction 50 ± 20
// ms, so a round trip varies by up to ±40 ms with the uniform distribution.
//
// # Concurrency and cost
//
// Every method of Proxy is safe for concurrent use, while traffic flows. A connection costs
// four goroutines (a reader and a writer each way), a read buffer each way that starts at 4
// KiB and grows to 32 KiB only for bulk transfers, and whatever is queued, at most 4 MiB each
// way: a side that stops reading stops the proxy reading the other side, so back-pressure
// reaches the sender instead of the proxy's memory growing.
//
// Randomness comes from math/rand/v2 seeded by Profile.Seed, a stream per connection and
// direction, so a test that fixes the seed draws the same delays and losses every run (how a
// stream is cut into chunks still depends on timing).
package netsim
