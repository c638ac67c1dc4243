//go:build !linux

package uring

import "errors"

// Supported is false: io_uring is Linux's.
const Supported = false

const (
	MsgDontWait = 0x40
	MsgNoSignal = 0x4000
)

var errUnsupported = errors.New("uring: io_uring is Linux's")

// Ring is never made here.
type Ring struct{}

func New(uint32) (*Ring, error)                { return nil, errUnsupported }
func (*Ring) Entries() int                     { return 0 }
func (*Ring) Close()                           {}
func (*Ring) Send(uint64, int, []byte, uint32) { panic("uring: no ring") }
func (*Ring) Recv(uint64, int, []byte, uint32) { panic("uring: no ring") }
func (*Ring) Submit(func(uint64, int32)) error { return errUnsupported }
