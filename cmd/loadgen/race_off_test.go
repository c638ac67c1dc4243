//go:build !race

package main

// raceEnabled: the race detector's instrumentation allocates where the code does not, so
// allocation counts are checked only without it.
const raceEnabled = false
