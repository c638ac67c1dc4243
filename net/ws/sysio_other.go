//go:build !unix

package ws

// Elsewhere the connection uses the portable net.Conn path: a read buffer is held while
// waiting and writes go through the flushing goroutine.
const sysIOSupported = false

func (r *reader) rawRead(fd uintptr) bool  { panic("unreachable") }
func (r *reader) sysRead() (int, error)    { panic("unreachable") }
func (w *writer) rawWrite(fd uintptr) bool { panic("unreachable") }
func (w *writer) tryWrite(p []byte) (int, error) {
	panic("unreachable")
}
