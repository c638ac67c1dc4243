package engine

import (
	"bytes"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// selfDecoding is an input that decodes itself, as the shooter's does: [keys, aim, fire].
type selfDecoding struct {
	Keys, Aim, Fire int64
	calls           int // DecodeMsgpack calls
}

func (in *selfDecoding) DecodeMsgpack(dec *msgpack.Decoder) error {
	in.calls++
	if _, err := dec.DecodeArrayLen(); err != nil {
		return err
	}
	var err error
	if in.Keys, err = dec.DecodeInt64(); err != nil {
		return err
	}
	if in.Aim, err = dec.DecodeInt64(); err != nil {
		return err
	}
	in.Fire, err = dec.DecodeInt64()
	return err
}

// plainInput is decoded by msgpack's reflection.
type plainInput struct {
	Keys int64 `msgpack:"keys"`
}

// TestDecodeValueAsDecodeDoes: decodeValue calls an input's own decoder directly, and
// otherwise decodes as msgpack's Decode does, with the same outcome for nil (the zero value,
// the method not called) and for bytes that do not decode.
func TestDecodeValueAsDecodeDoes(t *testing.T) {
	enc := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name    string
		msg     []byte
		want    selfDecoding
		wantErr bool
	}{
		{"values", enc([]int64{3, -1571, 1}), selfDecoding{Keys: 3, Aim: -1571, Fire: 1, calls: 1}, false},
		{"nil", enc(nil), selfDecoding{Keys: 0}, false},
		{"not an array", enc("up"), selfDecoding{calls: 1}, true},
		{"empty", nil, selfDecoding{calls: 1}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, direct := range []bool{true, false} {
				dec := msgpack.NewDecoder(bytes.NewReader(c.msg))
				in := selfDecoding{Keys: 9, Aim: 9, Fire: 9} // nil must reset it
				var err error
				if direct {
					err = decodeValue(dec, &in)
				} else {
					err = dec.Decode(&in)
				}
				if (err != nil) != c.wantErr {
					t.Fatalf("direct=%v: error %v, want one: %v", direct, err, c.wantErr)
				}
				if err == nil && in != c.want {
					t.Errorf("direct=%v: %+v, want %+v", direct, in, c.want)
				}
			}
		})
	}
	var p plainInput
	if err := decodeValue(msgpack.NewDecoder(bytes.NewReader(enc(map[string]int64{"keys": 5}))), &p); err != nil || p.Keys != 5 {
		t.Errorf("a struct msgpack decodes by reflection: %+v, %v", p, err)
	}
}

// BenchmarkDecodeSelfDecodingInput: an input that decodes itself, through decodeValue (the
// method called at once) and through msgpack's Decode (the method found by reflection).
func BenchmarkDecodeSelfDecodingInput(b *testing.B) {
	msg, _ := msgpack.Marshal([]int64{3, -1571, 1})
	for _, direct := range []bool{true, false} {
		b.Run(map[bool]string{true: "direct", false: "reflection"}[direct], func(b *testing.B) {
			var br bytes.Reader
			dec := msgpack.NewDecoder(&br)
			var in selfDecoding
			b.ReportAllocs()
			for b.Loop() {
				br.Reset(msg)
				dec.Reset(&br)
				var err error
				if direct {
					err = decodeValue(dec, &in)
				} else {
					err = dec.Decode(&in)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
