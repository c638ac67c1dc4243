package bpool

import "testing"

func TestGetReturnsCapacityAtLeastRequested(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 4096, 4097, 1 << 22, 1<<22 + 1} {
		b := Get(n)
		if len(*b) != 0 || cap(*b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(*b), cap(*b))
		}
		Put(b)
	}
}

func TestGrowKeepsContents(t *testing.T) {
	b := Get(10)
	*b = append(*b, "hello"...)
	b = Grow(b, 5000)
	if string(*b) != "hello" || cap(*b)-len(*b) < 5000 {
		t.Fatalf("Grow lost data or room: %q cap %d", *b, cap(*b))
	}
	Put(b)
}

func TestPutIgnoresForeignBuffers(t *testing.T) {
	b := make([]byte, 0, 1000) // not a power of two: must not enter a class
	Put(&b)
	g := Get(1000)
	if cap(*g) != 1024 {
		t.Fatalf("got foreign buffer back: cap %d", cap(*g))
	}
}

func BenchmarkGetPut(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Put(Get(1024))
	}
}

func TestPoisonOverwritesReleasedBuffers(t *testing.T) {
	tests := []struct {
		name string
		on   bool
		want byte
	}{
		{"Off", false, 'x'},
		{"On", true, PoisonByte},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			was := SetPoison(tt.on)
			defer SetPoison(was)
			b := Get(600)
			*b = append(*b, "xxxx"...)
			held := (*b)[:4] // a reference kept past Put: the bug poisoning exposes
			Put(b)
			for i, c := range held {
				if c != tt.want {
					t.Fatalf("byte %d after Put is %#x, want %#x", i, c, tt.want)
				}
			}
		})
	}
}
