package state

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// fieldBytes builds a one-entity snapshot from v and returns each field's bytes.
func fieldBytes(t *testing.T, v vals) [][]byte {
	t.Helper()
	s := build(1, ent{1, 0, v})
	es := SnapshotEntities(s, nil)
	out := make([][]byte, len(es[0].Fields))
	for i, f := range es[0].Fields {
		out[i] = f
	}
	return out
}

func TestFieldsWriteEachTypeAsOneMsgpackValue(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
		back any // what msgpack decodes the field to, into a value of the same type
	}{
		{"int small", 5, "05", int64(5)},
		{"int negative", -200, "d1 ff 38", int64(-200)},
		{"uint", uint(300), "cd 01 2c", uint64(300)},
		{"float32", float32(0.25), "ca 3e 80 00 00", float32(0.25)},
		{"float64", 0.25, "cb 3f d0 00 00 00 00 00 00", 0.25},
		{"bool", true, "c3", true},
		{"string", "ab", "a2 61 62", "ab"},
		{"bytes", []byte{1, 2}, "c4 02 01 02", []byte{1, 2}},
		{"nil", nil, "c0", nil},
		{"value slice", []int{1, 2}, "92 01 02", []int{1, 2}},
		{"value struct", struct{ A, B int }{1, -1}, "82 a1 41 01 a1 42 ff", map[string]any{"A": int8(1), "B": int8(-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fieldBytes(t, vals{tt.v})
			if len(got) != 1 || !bytes.Equal(got[0], unhex(t, tt.want)) {
				t.Fatalf("field = % x, want %s", got, tt.want)
			}
			if tt.back == nil {
				return
			}
			p := reflect.New(reflect.TypeOf(tt.back))
			if err := msgpack.Unmarshal(got[0], p.Interface()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.Elem().Interface(), tt.back) {
				t.Errorf("decoded %#v, want %#v", p.Elem().Interface(), tt.back)
			}
		})
	}
}

func TestFieldsValueSortsMapKeys(t *testing.T) {
	type inner struct {
		Tags  map[int]string
		Score map[string]float64
	}
	strs := map[string]int{}
	ints := map[int]string{}
	for i, k := range strings.Fields("q w e r t y u i o p a s d f g h j k l z x c v b n m") {
		strs[k] = i
		ints[i*7919] = k
	}
	tests := []struct {
		name string
		v    any
		back func([]byte) (any, error) // decodes the field, to check that sorting kept the value
	}{
		{"map[string]int", strs, decodeAs[map[string]int]},
		{"map[int]string", ints, decodeAs[map[int]string]},
		{"maps nested in a struct in a slice", []inner{{ints, map[string]float64{"a": 1, "b": 2, "c": 3}}, {nil, nil}}, decodeAs[[]inner]},
		{"map of maps", map[string]map[int]string{"x": ints, "y": ints, "z": {}}, decodeAs[map[string]map[int]string]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := fieldBytes(t, vals{tt.v})[0]
			for range 20 {
				if again := fieldBytes(t, vals{tt.v})[0]; !bytes.Equal(again, first) {
					t.Fatalf("the same value encoded differently:\n% x\n% x", first, again)
				}
			}
			got, err := tt.back(first)
			if err != nil || !reflect.DeepEqual(got, tt.v) {
				t.Errorf("decoded %v (%v), want %v", got, err, tt.v)
			}
		})
	}
}

func decodeAs[T any](b []byte) (any, error) {
	var v T
	err := msgpack.Unmarshal(b, &v)
	return v, err
}

// encodesTwice is a faulty custom encoder that writes two values.
type encodesTwice struct{}

func (encodesTwice) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeInt(1); err != nil {
		return err
	}
	return e.EncodeInt(2)
}

// encodesNothing is a faulty custom encoder that writes nothing.
type encodesNothing struct{}

func (encodesNothing) EncodeMsgpack(*msgpack.Encoder) error { return nil }

// valueThenInt writes v with Value, then an Int, recording Value's error.
type valueThenInt struct {
	v   any
	err *error
}

func (e valueThenInt) AppendFields(f *Fields) {
	*e.err = f.Value(e.v)
	f.Int(7)
}

func TestFieldsValueErrorWritesNilAndKeepsIndexes(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"unencodable channel", make(chan int)},
		{"encoder writing two values", encodesTwice{}},
		{"encoder writing nothing", encodesNothing{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			var b Builder
			b.Begin(1)
			b.Add(1, 0, valueThenInt{tt.v, &err})
			s := b.Finish()
			if err == nil {
				t.Fatal("Value returned no error")
			}
			got := SnapshotEntities(s, nil)[0].Fields
			if len(got) != 2 || !bytes.Equal(got[0], []byte{mpNil}) || !bytes.Equal(got[1], []byte{7}) {
				t.Errorf("fields = % x, want [c0] [07]", got)
			}
		})
	}
}

// stash keeps the Fields it is given, which is a bug.
type stash struct{ f **Fields }

func (s stash) AppendFields(f *Fields) { *s.f = f }

func TestFieldsUsedOutsideAddPanics(t *testing.T) {
	var kept *Fields
	var b Builder
	b.Begin(1)
	b.Add(1, 0, stash{&kept})
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "outside Builder.Add") {
			t.Errorf("recovered %v, want a panic naming the misuse", r)
		}
	}()
	kept.Int(1)
}

func TestFieldsValueWrapsEncoderError(t *testing.T) {
	var err error
	var b Builder
	b.Begin(1)
	b.Add(1, 0, valueThenInt{make(chan int), &err})
	b.Finish()
	if err == nil || !strings.HasPrefix(err.Error(), "state: Fields.Value") {
		t.Errorf("err = %v, want it prefixed with state: Fields.Value", err)
	}
	if errors.Unwrap(err) == nil {
		t.Errorf("err = %v does not wrap the encoder's error", err)
	}
}
