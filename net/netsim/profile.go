package netsim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Distribution is how a chunk's delay spreads around Link.Delay.
type Distribution int

const (
	// Uniform draws the delay uniformly from [Delay-Jitter, Delay+Jitter] (clamped at 0):
	// bounded, so the worst case is known, and what netem does without a correlation or
	// table.
	Uniform Distribution = iota
	// Normal draws the delay from a normal distribution of mean Delay and standard deviation
	// Jitter, clamped at 0: a long tail (one chunk in 40 is more than two Jitters late),
	// closer to a busy radio link, with no lower bound other than 0.
	Normal
)

// String returns "uniform" or "normal".
func (d Distribution) String() string {
	switch d {
	case Uniform:
		return "uniform"
	case Normal:
		return "normal"
	}
	return "Distribution(" + strconv.Itoa(int(d)) + ")"
}

// Link is one direction of a path. Its zero value is a perfect link: no delay, no loss,
// unlimited bandwidth.
type Link struct {
	// Delay is the mean one-way delay of a chunk.
	Delay time.Duration
	// Jitter is the spread of each chunk's delay, as Dist says. The ordering rule (a chunk is
	// never delivered before the one ahead of it) turns jitter into bunching, not reordering.
	Jitter time.Duration
	// Dist is the shape of the spread; the zero value is Uniform.
	Dist Distribution
	// Loss is the probability, in [0, 1], that a chunk is "lost": TCP retransmits its
	// segment, so it arrives Retransmit late, and everything behind it waits for it.
	Loss float64
	// Retransmit is the extra delay a lost chunk takes. Zero means 200ms + 2*Delay: Linux's
	// minimum retransmission timeout plus the round trip of the retransmission.
	Retransmit time.Duration
	// Bandwidth is in bytes per second; 0 is unlimited. A chunk of n bytes occupies the link
	// for n/Bandwidth before its delay starts, and chunks queue behind it. The queue holds
	// at most a second of the link's bandwidth (a router's buffer); beyond that the proxy
	// stops reading, so the sender's socket fills, and chunks are read at most 20 ms of the
	// link at a time so that a bulk transfer trickles out rather than arriving in 32 KiB
	// bursts.
	Bandwidth int64
}

// Profile is a whole path.
type Profile struct {
	Up   Link // client to server
	Down Link // server to client
	// Seed seeds the random delays and losses: connection k gets its own streams derived
	// from Seed and k. Zero picks a random seed. A seed applies to connections accepted
	// after it is set.
	Seed uint64
}

// Symmetric returns a profile with the same one-way delay and jitter in both directions:
// "100 ± 20 ms RTT" in a game developer's words is Symmetric(50ms, 20ms), each direction 50
// ± 20 ms, as netem's "delay 50ms 20ms" on both ends.
func Symmetric(delay, jitter time.Duration) Profile {
	l := Link{Delay: delay, Jitter: jitter}
	return Profile{Up: l, Down: l}
}

// ErrInvalidProfile is wrapped by the errors of Listen and SetProfile for a profile out of
// range.
var ErrInvalidProfile = errors.New("netsim: invalid profile")

// validate reports the first field of p out of range.
func (p Profile) validate() error {
	for _, d := range []struct {
		name string
		l    Link
	}{{"up", p.Up}, {"down", p.Down}} {
		if err := d.l.validate(); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidProfile, d.name, err)
		}
	}
	return nil
}

func (l Link) validate() error {
	switch {
	case l.Delay < 0:
		return fmt.Errorf("delay %v is negative", l.Delay)
	case l.Jitter < 0:
		return fmt.Errorf("jitter %v is negative", l.Jitter)
	case l.Dist != Uniform && l.Dist != Normal:
		return fmt.Errorf("unknown distribution %v", l.Dist)
	case !(l.Loss >= 0 && l.Loss <= 1): // also catches NaN
		return fmt.Errorf("loss %v is not in [0, 1]", l.Loss)
	case l.Retransmit < 0:
		return fmt.Errorf("retransmit %v is negative", l.Retransmit)
	case l.Bandwidth < 0:
		return fmt.Errorf("bandwidth %d is negative", l.Bandwidth)
	}
	return nil
}

// sample draws one chunk's delay.
func (l Link) sample(r *rand.Rand) time.Duration {
	d := float64(l.Delay)
	if l.Jitter > 0 {
		switch l.Dist {
		case Normal:
			d += r.NormFloat64() * float64(l.Jitter)
		default:
			d += (2*r.Float64() - 1) * float64(l.Jitter)
		}
	}
	return time.Duration(max(d, 0))
}

// retransmit is the extra delay of a lost chunk, the default filled in.
func (l Link) retransmit() time.Duration {
	if l.Retransmit > 0 {
		return l.Retransmit
	}
	return 200*time.Millisecond + 2*l.Delay
}

// String describes l: "50ms ± 20ms uniform, loss 1% (retransmit +300ms), bandwidth 1mbit/s".
func (l Link) String() string {
	s := l.Delay.String()
	if l.Jitter > 0 {
		s += " ± " + l.Jitter.String() + " " + l.Dist.String()
	}
	return s + ", " + l.lossAndBandwidth()
}

func (l Link) lossAndBandwidth() string {
	s := "loss " + strconv.FormatFloat(l.Loss*100, 'g', 4, 64) + "%"
	if l.Loss > 0 {
		s += " (retransmit +" + l.retransmit().String() + ")"
	}
	return s + ", bandwidth " + FormatBandwidth(l.Bandwidth)
}

// String describes p on one line, as the netsim command prints it: "one-way 50ms ± 20ms
// uniform each direction (RTT ~100ms), loss 0%, bandwidth unlimited", or each direction in
// turn when they differ.
func (p Profile) String() string {
	rtt := "RTT ~" + (p.Up.Delay + p.Down.Delay).String()
	if p.Up == p.Down {
		l := p.Up
		s := "one-way " + l.Delay.String()
		if l.Jitter > 0 {
			s += " ± " + l.Jitter.String() + " " + l.Dist.String()
		}
		return s + " each direction (" + rtt + "), " + l.lossAndBandwidth()
	}
	return "up " + p.Up.String() + "; down " + p.Down.String() + " (" + rtt + ")"
}
