package engine

import (
	"sync"
	"time"
)

// logLimiter lets through a burst of log lines and then one per interval, and counts what
// it held back, so that a client repeating what gets logged (a refused Origin, an input
// that makes the game's decoder panic) cannot fill the disk or spend the server's CPU on
// formatting: the operator still sees the first lines and how many followed.
type logLimiter struct {
	every time.Duration
	burst float64

	mu         sync.Mutex
	tokens     float64
	at         time.Time
	suppressed int
}

func newLogLimiter(burst int, every time.Duration) *logLimiter {
	return &logLimiter{every: every, burst: float64(burst), tokens: float64(burst)}
}

// allow reports whether a line may be logged now and, if so, how many were held back since
// the last one that was.
func (l *logLimiter) allow() (ok bool, suppressed int) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.at.IsZero() {
		l.tokens = min(l.burst, l.tokens+float64(now.Sub(l.at))/float64(l.every))
	}
	l.at = now
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
