//go:build !linux

package ws

import "errors"

// Elsewhere there is no poller: a served connection keeps one goroutine blocked in its read
// (on other Unix systems that read holds no buffer while it waits; see sysio_unix.go).
const pollSupported = false

var errNoPoller = errors.New("ws: no poller on this system")

func pollArm(*Conn) error    { return errNoPoller }
func pollRemove(*Conn)       {}
func unreadBytes(*Conn) int  { return -1 }
func pollBroken() bool       { return false }
func setRcvLowat(*Conn, int) {}

// pullLowat is poll_linux.go's; no connection is pulled here, so it is never set.
const pullLowat = 1
