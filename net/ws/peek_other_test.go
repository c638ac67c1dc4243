//go:build !unix

package ws_test

import "net"

// peekByte cannot look at the socket without consuming where recv's MSG_PEEK is missing:
// the senders then stop only on a Close the reader already holds.
func peekByte(net.Conn) (byte, bool) { return 0, false }
