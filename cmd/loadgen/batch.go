package main

import "github.com/rallypoint/rallypoint/protocol"

// inputBatch holds a bot's inputs until -input-batch of them are made, then they go as one
// [10, first_seq, [input, ...], ack_tick, [view, ...]] (PROTOCOL.md), as the browser SDK
// sends them with inputRate set. Scheduler only.
type inputBatch struct {
	first  uint32   // the seq of the first input held
	inputs []byte   // the held inputs' msgpack, one after the other
	views  []uint32 // per input, the snapshot tick it aimed at (0: none)
	ack    uint32   // the latest tick to acknowledge that the held inputs took
	msg    []byte   // the message's scratch
}

// reset forgets the held inputs: they were numbered for a connection that is gone.
func (q *inputBatch) reset() {
	q.inputs, q.views, q.ack = q.inputs[:0], q.views[:0], 0
}

// batchInput holds the input beginInput and the behavior made (its msgpack), and sends the
// batch once it is full.
func (b *bot) batchInput(input []byte) {
	q := &b.batch
	if len(q.views) == 0 {
		q.first = b.seq
	}
	q.inputs = append(q.inputs, input...)
	q.views = append(q.views, b.inputView)
	if b.inputAck != 0 {
		q.ack = b.inputAck
	}
	b.n.inputs.Add(1)
	if len(q.views) < b.r.cfg.InputBatch {
		return
	}
	viewed := false
	for _, v := range q.views {
		viewed = viewed || v != 0
	}
	n := 3
	switch {
	case viewed:
		n = 5
	case q.ack != 0:
		n = 4
	}
	p := protocol.AppendArray(q.msg[:0], n)
	p = protocol.AppendUint(protocol.AppendUint(p, protocol.KindInputs), uint64(q.first))
	p = append(protocol.AppendArray(p, len(q.views)), q.inputs...)
	switch {
	case q.ack != 0:
		p = protocol.AppendUint(p, uint64(q.ack))
	case viewed:
		p = append(p, 0xc0) // nil: no acknowledgement, the views follow
	}
	if viewed {
		p = protocol.AppendArray(p, len(q.views))
		for _, v := range q.views {
			if v == 0 {
				p = append(p, 0xc0)
				continue
			}
			p = protocol.AppendUint(protocol.AppendUint(protocol.AppendUint(protocol.AppendArray(p, 3), uint64(v)), 0), 0)
		}
	}
	q.msg = p
	q.reset()
	b.stepWrite(p)
}
