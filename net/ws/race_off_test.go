//go:build !race

package ws

// raceEnabled: the race detector is on (it allocates on its own account).
const raceEnabled = false
