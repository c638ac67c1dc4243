package netsim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrBadBandwidth is wrapped by ParseBandwidth's errors.
var ErrBadBandwidth = errors.New("netsim: bad bandwidth")

// ParseBandwidth parses a rate into bytes per second, the unit of Link.Bandwidth:
//
//	bandwidth = "unlimited" | number [unit] ["/s"]
//	number    = digits ["." digits]
//	unit      = "bit" | "kbit" | "mbit" | "gbit"    (bits: k = 1000; any case)
//	          | "B" | "kB" | "KB" | "MB" | "GB"      (bytes: k = 1000)
//
// A bare number is bytes per second; "0" is unlimited, like "unlimited". "256kbit" is 32000,
// "1mbit" 125000, "10kB" 10000. "kb" and "mb" are refused as ambiguous (bits or bytes?). A
// positive rate that rounds to less than one byte per second is refused rather than read as
// unlimited.
func ParseBandwidth(s string) (int64, error) {
	if s == "unlimited" {
		return 0, nil
	}
	body := strings.TrimSuffix(s, "/s")
	i := 0
	for i < len(body) && (body[i] >= '0' && body[i] <= '9' || body[i] == '.') {
		i++
	}
	num, unit := body[:i], body[i:]
	if !isDecimal(num) {
		return 0, fmt.Errorf("%w %q: want a number with an optional unit (kbit, mbit, kB, MB) or \"unlimited\"", ErrBadBandwidth, s)
	}
	factor, ok := bandwidthUnit(unit)
	if !ok {
		return 0, fmt.Errorf("%w %q: unknown unit %q (want bit, kbit, mbit, gbit, B, kB, MB or GB)", ErrBadBandwidth, s, unit)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %q: %v", ErrBadBandwidth, s, err)
	}
	bps := math.Round(v * factor)
	switch {
	case v == 0:
		return 0, nil
	case bps < 1:
		return 0, fmt.Errorf("%w %q: below one byte per second", ErrBadBandwidth, s)
	case bps >= math.MaxInt64:
		return 0, fmt.Errorf("%w %q: too large", ErrBadBandwidth, s)
	}
	return int64(bps), nil
}

// isDecimal reports whether s is digits with at most one '.' between digits.
func isDecimal(s string) bool {
	intPart, frac, hasDot := strings.Cut(s, ".")
	digits := func(t string) bool {
		return t != "" && strings.Trim(t, "0123456789") == ""
	}
	return digits(intPart) && (!hasDot || digits(frac))
}

// bandwidthUnit returns how many bytes per second one unit is.
func bandwidthUnit(u string) (float64, bool) {
	switch strings.ToLower(u) {
	case "bit":
		return 1.0 / 8, true
	case "kbit":
		return 1e3 / 8, true
	case "mbit":
		return 1e6 / 8, true
	case "gbit":
		return 1e9 / 8, true
	}
	switch u {
	case "", "B":
		return 1, true
	case "kB", "KB":
		return 1e3, true
	case "MB":
		return 1e6, true
	case "GB":
		return 1e9, true
	}
	return 0, false
}

// FormatBandwidth writes bytes per second the way ParseBandwidth reads them: "unlimited",
// "2mbit/s", "256kbit/s", or "1234B/s" when no bit unit is exact.
func FormatBandwidth(bps int64) string {
	switch {
	case bps <= 0:
		return "unlimited"
	case bps%125000 == 0:
		return strconv.FormatInt(bps/125000, 10) + "mbit/s"
	case bps%125 == 0:
		return strconv.FormatInt(bps/125, 10) + "kbit/s"
	}
	return strconv.FormatInt(bps, 10) + "B/s"
}
