//go:build !linux

package main

import "time"

// onCore cannot pin a thread here: the probe reports nothing.
func onCore(int, func()) (time.Duration, bool) { return 0, false }
