//go:build unix

package ws_test

import (
	"net"
	"syscall"
)

// peekByte returns the next byte the kernel holds for c without consuming it or waiting
// (recv with MSG_PEEK|MSG_DONTWAIT); false when there is none or c is not a socket.
func peekByte(c net.Conn) (byte, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var (
		buf     [1]byte
		n       int
		recvErr error
	)
	err = raw.Read(func(fd uintptr) bool {
		n, _, recvErr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // done either way: never wait for readability
	})
	return buf[0], err == nil && recvErr == nil && n == 1
}
