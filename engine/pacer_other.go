//go:build !linux

package engine

// newPacerTimer has no precise timer to offer off Linux: rooms keep the runtime's timing.
func newPacerTimer() pacerTimer { return nil }
