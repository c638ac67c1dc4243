package netsim

import (
	"errors"
	"testing"
)

func TestParseBandwidth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
	}{
		{"unlimited", 0},
		{"0", 0},
		{"0kbit", 0},
		{"1000", 1000},
		{"1000B", 1000},
		{"1000B/s", 1000},
		{"256kbit", 32000},
		{"256Kbit", 32000},
		{"256kbit/s", 32000},
		{"1mbit", 125000},
		{"1Mbit", 125000},
		{"1.5mbit", 187500},
		{"1gbit", 125_000_000},
		{"8bit", 1},
		{"10kB", 10000},
		{"10KB", 10000},
		{"2MB", 2_000_000},
		{"0.5MB", 500_000},
		{"1GB", 1_000_000_000},
	}
	for _, tt := range tests {
		got, err := ParseBandwidth(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseBandwidth(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseBandwidthRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "mbit", "-1", "+5", "1e6", "1.", ".5", "1..2", "1 mbit", "10kb", "10mb", "10Mb",
		"5parsecs", "1bit", "Unlimited", "inf", "NaN", "0x10", "1_000",
		"99999999999999999999GB", "1/s/s",
	} {
		if v, err := ParseBandwidth(in); !errors.Is(err, ErrBadBandwidth) {
			t.Errorf("ParseBandwidth(%q) = %d, %v; want ErrBadBandwidth", in, v, err)
		}
	}
}

func TestFormatBandwidthRoundTrips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bps  int64
		want string
	}{
		{0, "unlimited"},
		{125000, "1mbit/s"},
		{32000, "256kbit/s"},
		{187500, "1500kbit/s"},
		{1234, "1234B/s"},
	}
	for _, tt := range tests {
		got := FormatBandwidth(tt.bps)
		if got != tt.want {
			t.Errorf("FormatBandwidth(%d) = %q; want %q", tt.bps, got, tt.want)
		}
		if back, err := ParseBandwidth(got); err != nil || back != tt.bps {
			t.Errorf("ParseBandwidth(%q) = %d, %v; want %d", got, back, err, tt.bps)
		}
	}
}

// FuzzParseBandwidth: no input panics, every accepted rate is non-negative, and formatting
// an accepted rate parses back to it.
func FuzzParseBandwidth(f *testing.F) {
	for _, s := range []string{"unlimited", "0", "256kbit", "1.5mbit/s", "10kB", "2MB", "1234B/s", "8bit", "1..2", "10kb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseBandwidth(s)
		if err != nil {
			if !errors.Is(err, ErrBadBandwidth) {
				t.Fatalf("ParseBandwidth(%q): error %v does not wrap ErrBadBandwidth", s, err)
			}
			return
		}
		if v < 0 {
			t.Fatalf("ParseBandwidth(%q) = %d", s, v)
		}
		back, err := ParseBandwidth(FormatBandwidth(v))
		if err != nil || back != v {
			t.Fatalf("ParseBandwidth(FormatBandwidth(%d)) = %d, %v", v, back, err)
		}
	})
}
