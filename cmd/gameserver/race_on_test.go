//go:build race

package main

// raceEnabled: the race detector makes everything several times slower, and timing bounds
// meant for a normal build are relaxed under it.
const raceEnabled = true
