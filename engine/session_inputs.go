package engine

import (
	"errors"
	"io"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/rallypoint/rallypoint/protocol"
	"github.com/rallypoint/rallypoint/state"
)

// A batch of inputs, [10, first_seq, [input, ...], ack_tick, [view, ...]] (PROTOCOL.md,
// "Client to server"): a client that coalesces its inputs (the SDK's inputRate) sends the
// inputs made since its last send in one message, so the server reads, wakes and parses
// once for several. The inputs are applied exactly as if each had come as its own
// [3, seq, input, ack_tick, view] in order, with seqs first_seq, first_seq+1...: the
// per-tick bound drops the ones beyond it, and the first input that does not fit the game's
// type is refused with 0x16 code 1 together with the rest of the batch (those before it are
// applied, as they would have been if sent one by one). The ack, the views and the batch's
// shape are checked before any input is queued.

var errBatch = errors.New("inputs is [10, first_seq, [input, ...]], [..., ack_tick] or [..., ack_tick, [view, ...]], with 1 to 8 inputs and one view (or nil) per input")

// inputs handles a KindInputs message of n elements; the decoder is past the kind.
func (s *session) inputs(n int, data []byte) {
	if n < 3 || n > 5 {
		s.malformed(errBatch.Error())
		return
	}
	first, err := decodeUint(s.dec, math.MaxUint32)
	if err != nil || first == 0 {
		s.malformed("inputs: first_seq must be an unsigned 32-bit integer above 0")
		return
	}
	count, err := s.dec.DecodeArrayLen()
	if err != nil || count < 1 || count > protocol.MaxInputBatch || first > math.MaxUint32-uint64(count-1) {
		s.malformed(errBatch.Error())
		return
	}
	var starts [protocol.MaxInputBatch]int64 // where each input starts in data
	for i := range count {
		starts[i] = s.br.Size() - int64(s.br.Len())
		if err := s.dec.Skip(); err != nil {
			s.malformed(errBatch.Error())
			return
		}
	}
	var (
		ack   uint32
		views [protocol.MaxInputBatch]state.View
	)
	if n > 3 {
		if ack, err = decodeTick(s.dec); err != nil {
			s.malformed(errAck.Error())
			return
		}
	}
	if n > 4 {
		if err := decodeViews(s.dec, views[:count]); err != nil {
			s.malformed(err.Error())
			return
		}
	}
	p := s.player
	if p == nil {
		s.fail(CodeNotJoined, "join a room before sending input")
		return
	}
	for i := range count {
		if _, err := s.br.Seek(starts[i], io.SeekStart); err != nil {
			s.malformed(errBatch.Error())
			return
		}
		s.dec.Reset(s.br)
		err := p.room.sim.pushInput(p, uint32(first)+uint32(i), views[i], data[starts[i]:], s.dec, &s.scratch)
		if err == nil {
			continue
		}
		if errors.Is(err, errInputDropped) {
			s.e.metrics.InputsDropped.Add(1)
			continue
		}
		e := asError(err, CodeMalformed)
		if e.Code == CodeMalformed {
			s.malformed(e.Message)
		} else {
			s.fail(e.Code, e.Message)
		}
		return
	}
	s.ack(p, ack)
}

// decodeViews reads a batch's views: nil (none), or an array of one view (or nil) per input.
func decodeViews(dec *msgpack.Decoder, views []state.View) error {
	c, err := dec.PeekCode()
	if err != nil {
		return errView
	}
	if c == msgpcode.Nil {
		return dec.Skip()
	}
	if n, err := dec.DecodeArrayLen(); err != nil || n != len(views) {
		return errBatch
	}
	for i := range views {
		if views[i], err = decodeView(dec); err != nil {
			return err
		}
	}
	return nil
}
