package state

import (
	"errors"
	"fmt"

	"github.com/rallypoint/rallypoint/protocol"
)

// Entity ids and the room state.
//
// Ids 1 to MaxGameID are the game's to choose. The engine numbers its players 1, 2, 3...
// in each room, never reusing an id in that room, so a game commonly gives a player's
// character the player's id and puts its other entities at high bases (the shooter's bots
// at 1<<24, its rockets at 1<<25). Ids above MaxGameID are reserved: RoomID is the room
// state, the rest are kept for the engine's future use, and Builder.Add panics on them.
const (
	// MaxGameID is the highest id a game may give an entity.
	MaxGameID ID = 0xFFFFFEFF
	// RoomID is the id of the room state (Builder.Room): one entity per room, of kind
	// RoomKind, that every player sees whatever their Filter says.
	RoomID ID = 0xFFFFFFFF
	// RoomKind is the kind of the room state. A Schema declares the room state's fields in
	// Schema.Room, and its entity kinds from 1.
	RoomKind uint8 = 0
)

// FieldType is what a declared field holds, as the client should read it. It is a
// promise about the values the game writes, checked by the game's own tests, not at every
// tick: the hot path compares only the number of fields (see Builder.CheckSchema).
type FieldType uint8

// Field types. Their names on the wire (Schema in PROTOCOL.md) are the lower-case words.
const (
	_      FieldType = iota // the zero FieldType is invalid: a field says what it holds
	Int                     // an integer (Fields.Int), "int"
	Uint                    // an unsigned integer (Fields.Uint), "uint"
	Float                   // a float (Fields.Float32, Fields.Float64), "float"
	Bool                    // Fields.Bool, "bool"
	String                  // Fields.String, "string"
	Bytes                   // Fields.Bytes, "bytes"
	Any                     // anything else (Fields.Value), possibly nil, "any"
)

var typeNames = [...]string{Int: "int", Uint: "uint", Float: "float", Bool: "bool", String: "string", Bytes: "bytes", Any: "any"}

// String returns the type's name on the wire.
func (t FieldType) String() string {
	if t >= 1 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("FieldType(%d)", uint8(t))
}

// Field is one declared field of an entity kind: its name, as clients read it, and type.
type Field struct {
	Name string
	Type FieldType
}

// KindSpec declares an entity kind: its number (what Builder.Add is given), its name and its
// fields in the order the kind's AppendFields writes them.
type KindSpec struct {
	Kind   uint8
	Name   string
	Fields []Field
}

// Schema declares a game's replicated state once, in Go: its entity kinds with their field
// names and types, and the fields of the room state. The engine sends it to every client
// when it joins (PROTOCOL.md, "Schema"), so that clients read fields by name while the
// snapshots stay compact arrays, and state/tsgen writes TypeScript types from it.
//
// Names are identifiers ([A-Za-z_][A-Za-z0-9_]*), unique among the kinds and among one
// kind's fields. Kinds are 1 to 255, unique (0 is RoomKind). A Schema is read-only once
// given to the engine.
type Schema struct {
	// Room is the fields of the room state (Builder.Room); nil if the game has none.
	Room []Field
	// Kinds are the entity kinds.
	Kinds []KindSpec
	// Events are the names of the events the game sends its players (the engine's
	// Room.Broadcast and Send), at most MaxEvents, each sent once in the join answer. On
	// the rallypoint.v2 wire an event with a listed name travels as its index in this
	// list, one byte, where its name takes its length and one more ("shot": 5); a name not
	// listed travels as it is. nil: every name travels as it is.
	Events []string
}

// MaxEvents is the most event names a Schema lists: their indexes are one-byte fixints.
const MaxEvents = 128

// ErrSchema is wrapped by every error of Schema.Validate.
var ErrSchema = errors.New("state: invalid schema")

// MaxFields is the most fields a declared kind may have: the changed entry of a delta
// addresses 64 with its mask (MaxMaskFields), and a kind with more is re-sent whole at
// every change; more than 255 is certainly a mistake.
const MaxFields = 255

// Validate checks the rules above: kinds in 1..255 and unique, valid and unique names, at
// most MaxFields fields, each with a valid type.
func (s *Schema) Validate() error {
	if err := validFields("room state", s.Room); err != nil {
		return err
	}
	var seen [256]bool
	names := make(map[string]bool, len(s.Kinds))
	for _, k := range s.Kinds {
		what := fmt.Sprintf("kind %d (%q)", k.Kind, k.Name)
		switch {
		case k.Kind == RoomKind:
			return fmt.Errorf("%w: %s: kind 0 is the room state's; declare its fields in Schema.Room", ErrSchema, what)
		case seen[k.Kind]:
			return fmt.Errorf("%w: %s: kind %d declared twice", ErrSchema, what, k.Kind)
		case !isIdent(k.Name):
			return fmt.Errorf("%w: %s: the name is not an identifier ([A-Za-z_][A-Za-z0-9_]*)", ErrSchema, what)
		case names[k.Name]:
			return fmt.Errorf("%w: %s: two kinds are named %q", ErrSchema, what, k.Name)
		}
		seen[k.Kind], names[k.Name] = true, true
		if err := validFields(what, k.Fields); err != nil {
			return err
		}
	}
	if len(s.Events) > MaxEvents {
		return fmt.Errorf("%w: %d event names, at most %d", ErrSchema, len(s.Events), MaxEvents)
	}
	events := make(map[string]bool, len(s.Events))
	for i, name := range s.Events {
		switch {
		case name == "":
			return fmt.Errorf("%w: event %d has no name", ErrSchema, i)
		case events[name]:
			return fmt.Errorf("%w: event %q listed twice", ErrSchema, name)
		}
		events[name] = true
	}
	return nil
}

// AppendEvents appends the event names as the join answer carries them: an array of
// strings, index i naming the event sent as i.
func (s *Schema) AppendEvents(b []byte) []byte {
	b = protocol.AppendArray(b, len(s.Events))
	for _, name := range s.Events {
		b = protocol.AppendStr(b, name)
	}
	return b
}

func validFields(what string, fields []Field) error {
	if len(fields) > MaxFields {
		return fmt.Errorf("%w: %s: %d fields, at most %d", ErrSchema, what, len(fields), MaxFields)
	}
	names := make(map[string]bool, len(fields))
	for i, f := range fields {
		switch {
		case !isIdent(f.Name):
			return fmt.Errorf("%w: %s: field %d %q: the name is not an identifier ([A-Za-z_][A-Za-z0-9_]*)", ErrSchema, what, i, f.Name)
		case names[f.Name]:
			return fmt.Errorf("%w: %s: two fields are named %q", ErrSchema, what, f.Name)
		case f.Type < Int || f.Type > Any:
			return fmt.Errorf("%w: %s: field %q has no valid type (%v)", ErrSchema, what, f.Name, f.Type)
		}
		names[f.Name] = true
	}
	return nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// Kind returns the declaration of kind k (RoomKind: the room state, named "room").
func (s *Schema) Kind(k uint8) (KindSpec, bool) {
	if k == RoomKind {
		return KindSpec{Kind: RoomKind, Name: "room", Fields: s.Room}, s.Room != nil
	}
	for _, ks := range s.Kinds {
		if ks.Kind == k {
			return ks, true
		}
	}
	return KindSpec{}, false
}

// AppendMsgpack appends the schema as it goes on the wire, a MessagePack array of the
// declared kinds, the room state first (as kind 0, "room") when it has fields:
//
//	[[kind, name, [[field, type], ...]], ...]
//
// type being the FieldType's name ("int", "uint", "float", "bool", "string", "bytes",
// "any"). The engine encodes it once, at registration.
func (s *Schema) AppendMsgpack(b []byte) []byte {
	n := len(s.Kinds)
	if s.Room != nil {
		n++
	}
	b = protocol.AppendArray(b, n)
	if s.Room != nil {
		b = appendKind(b, RoomKind, "room", s.Room)
	}
	for _, k := range s.Kinds {
		b = appendKind(b, k.Kind, k.Name, k.Fields)
	}
	return b
}

func appendKind(b []byte, kind uint8, name string, fields []Field) []byte {
	b = append(b, 0x93)
	b = protocol.AppendUint(b, uint64(kind))
	b = protocol.AppendStr(b, name)
	b = protocol.AppendArray(b, len(fields))
	for _, f := range fields {
		b = append(b, 0x92)
		b = protocol.AppendStr(b, f.Name)
		b = protocol.AppendStr(b, f.Type.String())
	}
	return b
}

// fieldCounts is what Builder.CheckSchema compares against: the declared number of fields
// of each kind, -1 for a kind not declared.
type fieldCounts [256]int16

func (s *Schema) counts() *fieldCounts {
	var c fieldCounts
	for i := range c {
		c[i] = -1
	}
	if s.Room != nil {
		c[RoomKind] = int16(len(s.Room))
	}
	for _, k := range s.Kinds {
		c[k.Kind] = int16(len(k.Fields))
	}
	return &c
}
