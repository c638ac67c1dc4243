package protocol

import (
	"bytes"

	"github.com/vmihailenco/msgpack/v5"
)

// JoinOptions is the map a client sends with KindJoin (PROTOCOL.md, "Client to server", join
// options). One of Game, Room, Token or Reservation is needed.
type JoinOptions struct {
	Game   string `msgpack:"game,omitempty"`
	Room   string `msgpack:"room,omitempty"`
	Code   string `msgpack:"code,omitempty"`
	Create bool   `msgpack:"create,omitempty"`
	Token  string `msgpack:"token,omitempty"`
	// Reservation is a seat reservation token from KindMatched (or from a Go server).
	Reservation string `msgpack:"reservation,omitempty"`
	// Private, with Create, makes a private room: unlisted, joined by its code (or a seat
	// reservation) only; a join by its room id is refused with CodePrivate.
	Private bool               `msgpack:"private,omitempty"`
	Meta    msgpack.RawMessage `msgpack:"meta,omitempty"`
}

// MatchOptions is the map a client sends with KindMatch (PROTOCOL.md, "Client to server").
type MatchOptions struct {
	Game    string             `msgpack:"game"`
	Strings map[string]string  `msgpack:"strings,omitempty"` // e.g. {"region": "eu"}
	Numbers map[string]float64 `msgpack:"numbers,omitempty"` // e.g. {"rating": 1500}
	// Party and PartySize queue a party that must play together: each member sends the same
	// random Party id and size, and one ticket is made when the last has arrived. The
	// options of the first member (rating, region) stand for the party.
	Party     string `msgpack:"party,omitempty"`
	PartySize int    `msgpack:"party_size,omitempty"`
}

// Marshal encodes a protocol message (or any value) the way the server does: msgpack with
// integers in their shortest form (PROTOCOL.md, "Transport"). It uses reflection and
// allocates the result; a sender on a hot path appends with the Append functions instead.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	enc.Reset(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
