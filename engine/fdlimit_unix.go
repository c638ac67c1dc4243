//go:build unix

package engine

import "syscall"

// fdLimit is the process's limit on open files (0 if unknown). Go raises the soft limit to
// the hard one at start-up, so this is what the process can really open.
func fdLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 0
	}
	return int(r.Cur)
}
