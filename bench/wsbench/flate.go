package main

// Workload 4: compress/flate against github.com/klauspost/compress/flate (which net/ws
// uses) on the shapes permessage-deflate produces: one sync-flushed message, no context.

import (
	"bytes"
	"compress/flate"
	"io"
	"runtime"
	"time"

	kflate "github.com/klauspost/compress/flate"
)

type flateResult struct {
	Impl          string  `json:"impl"`
	Payload       string  `json:"payload"`
	Mode          string  `json:"mode"` // reuse: Reset per message (pooled); new: constructor per message
	CompNs        float64 `json:"compress_ns_per_op"`
	DecompNs      float64 `json:"decompress_ns_per_op"`
	TotalNs       float64 `json:"total_ns_per_op"`
	BytesPerOp    float64 `json:"bytes_per_op"`
	AllocsPerOp   float64 `json:"allocs_per_op"`
	CompressedLen int     `json:"compressed_bytes"`
	Ratio         float64 `json:"compressed_over_original"`
}

type flateImpl struct {
	name      string
	newWriter func(w io.Writer, level int) (flateWriter, error)
	newReader func(r io.Reader) io.ReadCloser
}

type flateWriter interface {
	io.Writer
	Flush() error
	Reset(io.Writer)
}

var flateImpls = []flateImpl{
	{
		name:      "klauspost/flate",
		newWriter: func(w io.Writer, l int) (flateWriter, error) { return kflate.NewWriter(w, l) },
		newReader: kflate.NewReader,
	},
	{
		name:      "compress/flate",
		newWriter: func(w io.Writer, l int) (flateWriter, error) { return flate.NewWriter(w, l) },
		newReader: flate.NewReader,
	},
}

type resetter interface {
	Reset(r io.Reader, dict []byte) error
}

// measure runs op repeatedly for at least d and returns ns, bytes and allocations per op.
func measure(d time.Duration, op func()) (ns, bytesPer, allocs float64) {
	op()
	n := 1
	for {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		t := time.Now()
		for range n {
			op()
		}
		el := time.Since(t)
		runtime.ReadMemStats(&m1)
		if el >= d || n >= 1<<30 {
			fn := float64(n)
			return float64(el) / fn, float64(m1.TotalAlloc-m0.TotalAlloc) / fn, float64(m1.Mallocs-m0.Mallocs) / fn
		}
		per := max(el/time.Duration(n), 1)
		next := int(float64(d/per) * 1.2)
		n = min(max(next, n+1), 100*n)
	}
}

func runFlate(o *options) []flateResult {
	payloads := []struct {
		name string
		data []byte
	}{
		{"512 B snapshot", snapshots(1)[0]},
		{"64 KiB state", gameJSON(64<<10, 7)},
	}
	var out []flateResult
	for _, pl := range payloads {
		for _, mode := range []string{"reuse", "new"} {
			for _, impl := range flateImpls {
				out = append(out, flateOne(o, impl, pl.name, pl.data, mode))
			}
		}
	}
	return out
}

func flateOne(o *options, impl flateImpl, pname string, p []byte, mode string) flateResult {
	var cbuf bytes.Buffer
	w, err := impl.newWriter(&cbuf, o.flateLevel)
	if err != nil {
		panic(err)
	}
	compress := func() {
		cbuf.Reset()
		if mode == "new" {
			w, _ = impl.newWriter(&cbuf, o.flateLevel)
		} else {
			w.Reset(&cbuf)
		}
		_, _ = w.Write(p)
		_ = w.Flush()
	}
	compress()
	// The wire form (RFC 7692 §7.2.1) drops the 00 00 ff ff; the reader gets it back
	// plus an empty final block, as the libraries do.
	comp := append(bytes.Clone(cbuf.Bytes()[:cbuf.Len()-4]), deflateTail...)
	wireLen := cbuf.Len() - 4

	var src bytes.Reader
	src.Reset(comp)
	r := impl.newReader(&src)
	dst := make([]byte, len(p)+64)
	decompress := func() {
		src.Reset(comp)
		if mode == "new" {
			r = impl.newReader(&src)
		} else if err := r.(resetter).Reset(&src, nil); err != nil {
			panic(err)
		}
		n := 0
		for {
			m, err := r.Read(dst[n:])
			n += m
			if err == io.EOF {
				break
			}
			if err != nil {
				panic(err)
			}
		}
		if n != len(p) {
			panic("flate round trip lost bytes")
		}
	}
	decompress()
	if !bytes.Equal(dst[:len(p)], p) {
		panic(impl.name + ": round trip mismatch")
	}
	cns, cb, ca := measure(o.flateTime, compress)
	dns, db, da := measure(o.flateTime, decompress)
	return flateResult{
		Impl: impl.name, Payload: pname, Mode: mode,
		CompNs: cns, DecompNs: dns, TotalNs: cns + dns,
		BytesPerOp: cb + db, AllocsPerOp: ca + da,
		CompressedLen: wireLen, Ratio: float64(wireLen) / float64(len(p)),
	}
}
