//go:build unix && (!linux || race)

package ws

import "syscall"

// readFD and writeFD are read(2) and write(2) through the syscall package: on Unixes other
// than Linux, and under the race detector. rawsys_linux.go says why Linux makes them raw.
func readFD(fd uintptr, p []byte) (int, error)  { return syscall.Read(int(fd), p) }
func writeFD(fd uintptr, p []byte) (int, error) { return syscall.Write(int(fd), p) }
