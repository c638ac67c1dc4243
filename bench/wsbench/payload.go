package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"

	kflate "github.com/klauspost/compress/flate"
)

// gameJSON returns exactly n bytes of msgpack-ish JSON game state: a tick number and
// an array of compact entity tuples [id, x, y, heading, hp] (at most maxEnts of them
// when maxEnts > 0), padded with a trailing field so the size is exact. The content
// compresses about 2x with deflate, like real snapshots (repeated structure, noisy
// numbers).
func gameJSON(n int, seed uint64) []byte { return gameJSONEnts(n, seed, 0) }

func gameJSONEnts(n int, seed uint64, maxEnts int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"t":%d,"e":[`, 100000+seed)
	for id := 1; maxEnts <= 0 || id <= maxEnts; id++ {
		ent := fmt.Sprintf(`[%d,%.1f,%.1f,%d,%d]`, id,
			rng.Float64()*1000, rng.Float64()*1000, rng.IntN(360), rng.IntN(101))
		// keep room for "]", the pad field and "}"
		if b.Len()+len(ent)+1+len(`],"p":""}`) > n {
			break
		}
		if id > 1 {
			b.WriteByte(',')
		}
		b.WriteString(ent)
	}
	b.WriteString(`],"p":"`)
	for b.Len() < n-2 {
		b.WriteByte('.')
	}
	b.WriteString(`"}`)
	out := b.Bytes()
	if len(out) != n {
		// Only for tiny n: fall back to a flat padded object.
		out = bytes.Repeat([]byte{'.'}, n)
		if n >= 2 {
			out[0], out[n-1] = '{', '}'
		}
	}
	return out
}

// snapshotSize is the broadcast snapshot size of workload 2.
const snapshotSize = 512

// snapshotEntities is the entity count of a broadcast snapshot.
const snapshotEntities = 20

// snapshots returns k distinct 512 B snapshots of 20 entities each.
// Parent and child generate the same set deterministically.
func snapshots(k int) [][]byte {
	out := make([][]byte, k)
	for i := range out {
		out[i] = gameJSONEnts(snapshotSize, uint64(i+1), snapshotEntities)
	}
	return out
}

// clientDeflate compresses p as one permessage-deflate message with no context
// (RFC 7692 §7.2.1): raw DEFLATE, sync-flushed, with the trailing 00 00 ff ff removed.
func clientDeflate(p []byte) []byte {
	var b bytes.Buffer
	w, _ := kflate.NewWriter(&b, kflate.BestSpeed)
	_, _ = w.Write(p)
	_ = w.Flush()
	out := b.Bytes()
	return bytes.Clone(out[:len(out)-4])
}
