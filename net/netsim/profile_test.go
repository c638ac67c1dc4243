package netsim

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestProfileValidateRejectsOutOfRange(t *testing.T) {
	t.Parallel()
	tests := map[string]Profile{
		"negative delay":      {Up: Link{Delay: -1}},
		"negative jitter":     {Down: Link{Jitter: -time.Millisecond}},
		"unknown dist":        {Up: Link{Dist: 7}},
		"loss above one":      {Up: Link{Loss: 1.5}},
		"negative loss":       {Down: Link{Loss: -0.1}},
		"NaN loss":            {Up: Link{Loss: math.NaN()}},
		"negative retransmit": {Up: Link{Retransmit: -1}},
		"negative bandwidth":  {Down: Link{Bandwidth: -1}},
	}
	for name, p := range tests {
		if err := p.validate(); !errors.Is(err, ErrInvalidProfile) {
			t.Errorf("%s: validate = %v; want ErrInvalidProfile", name, err)
		}
	}
	good := []Profile{{}, Symmetric(50*time.Millisecond, 20*time.Millisecond), {Up: Link{Loss: 1, Bandwidth: 1, Dist: Normal}}}
	for _, p := range good {
		if err := p.validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
}

func TestProfileString(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	lossy := Symmetric(50*ms, 0)
	lossy.Up.Loss, lossy.Down.Loss = 0.01, 0.01
	lossy.Up.Bandwidth, lossy.Down.Bandwidth = 125000, 125000
	tests := []struct {
		p    Profile
		want string
	}{
		{Symmetric(50*ms, 20*ms), "one-way 50ms ± 20ms uniform each direction (RTT ~100ms), loss 0%, bandwidth unlimited"},
		{Profile{}, "one-way 0s each direction (RTT ~0s), loss 0%, bandwidth unlimited"},
		{lossy, "one-way 50ms each direction (RTT ~100ms), loss 1% (retransmit +300ms), bandwidth 1mbit/s"},
		{
			Profile{Up: Link{Delay: 20 * ms, Bandwidth: 32000}, Down: Link{Delay: 30 * ms, Jitter: 10 * ms, Dist: Normal}},
			"up 20ms, loss 0%, bandwidth 256kbit/s; down 30ms ± 10ms normal, loss 0%, bandwidth unlimited (RTT ~50ms)",
		},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}
