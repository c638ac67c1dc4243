//go:build !unix

package main

// cpuMeter reports no CPU share where getrusage is missing.
type cpuMeter struct{}

func (*cpuMeter) share() float64 { return 0 }
