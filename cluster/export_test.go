package cluster

// SetMatchmakerHook makes the matchmaker call f at each step of a commit ("recorded",
// "claimed" after each ticket, "committed", "finished", "delivered"), on Run's goroutine, so
// that a test can kill the leader at any point. Set it before Run.
func SetMatchmakerHook(m *Matchmaker, f func(step string)) { m.hook = f }
