package state

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/rallypoint/rallypoint/protocol"
)

// Entity is implemented by a game's replicated types. AppendFields writes the entity's
// replicated fields, always the same ones in the same order: a field is known by its index,
// so the first call of AppendFields is field 0, the next field 1, and so on. A delta sends
// only the fields whose encoded bytes differ from the baseline, so write values as the client
// should see them (quantize a position here, not after).
type Entity interface {
	AppendFields(f *Fields)
}

// Fields is how an Entity writes its replicated fields, each call appending one field as a
// MessagePack value to the snapshot under construction. The typed methods use no reflection
// and do not allocate once the Builder's buffers have grown to the scene's size.
//
// A Fields is only valid inside the Builder.Add call that passed it; using it afterwards
// panics.
type Fields struct {
	b *Builder // nil outside Builder.Add
}

func (f *Fields) snap() *Snapshot {
	if f.b == nil {
		panic("state: Fields used outside Builder.Add")
	}
	return f.b.cur
}

// end records the end of the field just appended.
func (f *Fields) end(s *Snapshot) {
	s.bounds = append(s.bounds, uint32(len(s.arena)))
}

// Int appends v as the smallest MessagePack integer that holds it (1 byte for -32..127).
func (f *Fields) Int(v int64) {
	s := f.snap()
	s.arena = protocol.AppendInt(s.arena, v)
	f.end(s)
}

// Uint appends v as the smallest MessagePack unsigned integer that holds it (1 byte below 128).
func (f *Fields) Uint(v uint64) {
	s := f.snap()
	s.arena = protocol.AppendUint(s.arena, v)
	f.end(s)
}

// Float32 appends v as a MessagePack float 32 (5 bytes). Fields are compared by their bytes,
// so -0 and +0, or two NaNs with different bits, count as a change.
func (f *Fields) Float32(v float32) {
	s := f.snap()
	s.arena = appendFloat32(s.arena, v)
	f.end(s)
}

// Float64 appends v as a MessagePack float 64 (9 bytes). Prefer Float32, or an Int of a
// quantized value, for what changes every tick: it is what the delta resends.
func (f *Fields) Float64(v float64) {
	s := f.snap()
	s.arena = protocol.AppendFloat64(s.arena, v)
	f.end(s)
}

// Bool appends v (1 byte).
func (f *Fields) Bool(v bool) {
	s := f.snap()
	s.arena = protocol.AppendBool(s.arena, v)
	f.end(s)
}

// String appends v as a MessagePack str (1 to 5 bytes of header). MessagePack requires str to
// be UTF-8; v is not checked.
func (f *Fields) String(v string) {
	s := f.snap()
	s.arena = protocol.AppendStr(s.arena, v)
	f.end(s)
}

// Bytes appends v as a MessagePack bin (2 to 5 bytes of header).
func (f *Fields) Bytes(v []byte) {
	s := f.snap()
	s.arena = appendBin(s.arena, v)
	f.end(s)
}

// Nil appends nil (1 byte), for instance for a field that has no value at the moment.
func (f *Fields) Nil() {
	s := f.snap()
	s.arena = append(s.arena, mpNil)
	f.end(s)
}

// Value appends any value that vmihailenco/msgpack can encode (structs, slices, maps, types
// with an EncodeMsgpack method), as one field. It costs reflection and may allocate; keep it
// for fields that change rarely. Integers are encoded in their smallest form and map keys are
// sorted (by their encoded bytes, at any depth), so that the same value always has the same
// bytes: fields are compared by bytes, and Go's random map order would otherwise resend a map
// every tick.
//
// If v cannot be encoded, or its encoding is not exactly one MessagePack value (a faulty
// EncodeMsgpack), Value appends nil in its place, so that the following fields keep their
// indexes, and returns the error.
func (f *Fields) Value(v any) error {
	s := f.snap()
	b := f.b
	if b.enc == nil {
		b.enc = msgpack.NewEncoder(&b.encw)
		b.enc.UseCompactInts(true)
	}
	start := len(s.arena)
	b.encw.s = s
	err := b.enc.Encode(v)
	b.encw.s = nil
	if err == nil {
		r := reader{b: s.arena[start:]}
		if _, serr := r.skip(); serr != nil || r.remaining() != 0 {
			err = fmt.Errorf("state: Fields.Value: %T does not encode as exactly one MessagePack value", v)
		} else if r.sawMap {
			err = b.canonicalize(s, start)
		}
	} else {
		err = fmt.Errorf("state: Fields.Value: %w", err)
	}
	if err != nil {
		s.arena = append(s.arena[:start], mpNil)
	}
	f.end(s)
	return err
}

// canonicalize rewrites the value at s.arena[start:] with its map entries sorted.
func (b *Builder) canonicalize(s *Snapshot, start int) error {
	var err error
	b.canon, err = canonicalize(b.canon[:0], s.arena[start:], 0)
	if err != nil {
		return fmt.Errorf("state: Fields.Value: %w", err)
	}
	s.arena = append(s.arena[:start], b.canon...)
	return nil
}

// arenaWriter lets the msgpack Encoder append to a snapshot's arena. WriteByte spares the
// Encoder from wrapping it in a writer that allocates a slice per byte.
type arenaWriter struct{ s *Snapshot }

func (w *arenaWriter) Write(p []byte) (int, error) {
	w.s.arena = append(w.s.arena, p...)
	return len(p), nil
}

func (w *arenaWriter) WriteByte(c byte) error {
	w.s.arena = append(w.s.arena, c)
	return nil
}
