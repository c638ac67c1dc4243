//go:build !race

package engine

// raceBench: the race detector is off (see bench_race_test.go).
const raceBench = false
