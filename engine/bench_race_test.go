//go:build race

package engine

// raceBench: the race detector is on. It makes every memory access several times slower,
// so that 1,000 rooms of BenchmarkManyRooms could not keep up on 2 cores and the run did not
// end within go test's 10 minutes; under it the benchmark checks its own code, not figures,
// with fewer rooms (defaultBenchRooms).
const raceBench = true
