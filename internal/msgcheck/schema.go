package msgcheck

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// A Schema checks that a msgpack value fits a Go type the way vmihailenco/msgpack (v5)
// decodes into it, and says where it does not. The decoder's own errors name no field
// ("msgpack: invalid code=a4 decoding int64"), and it converts integers to a narrower field
// without a word: 500 lands in an int8 as -12, -1 in a uint8 as 255, 2^63 in an int64 as a
// negative number. A Schema refuses those, naming the field ("row", "moves[2].x"), before
// the decoder runs.
//
// It follows the decoder's rules for structs (the "msgpack" tag, "-", omitted unexported
// fields, inlined embedded structs, "alias"), which take a map by field name (unknown
// names are skipped) or an array of every field in order, and for nil, which every type
// takes as its zero value. A type with a decoder of its own (msgpack.CustomDecoder,
// msgpack.Unmarshaler, encoding.BinaryUnmarshaler or TextUnmarshaler, on the type or its
// pointer) and an interface take anything: what they accept is their business.
//
// Check walks the bytes once and allocates nothing unless it refuses; a Schema is built
// once per type and is safe for concurrent use.
type Schema struct {
	root *node
}

// FieldError says which part of a value does not fit the Go type, and how.
type FieldError struct {
	Path string // "row", "moves[2].x", "" for the value itself
	Want string // "an integer in -128..127 (int8)"
	Got  string // "500", "a string"
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return "want " + e.Want + ", got " + e.Got
	}
	return "field " + strconv.Quote(e.Path) + ": want " + e.Want + ", got " + e.Got
}

type kind uint8

const (
	kAny kind = iota
	kBool
	kInt     // signed: lo..hi
	kUint    // unsigned: 0..max
	kFloat32 // float32 or any integer (the decoder takes no float64 here)
	kFloat64
	kString // str, bin
	kBytes  // str, bin; a Go array of bytes holds at most n
	kSlice
	kArray // at most n elements
	kMap
	kStruct
	kPtr
)

type node struct {
	kind   kind
	goType string
	lo, hi int64            // kInt
	max    uint64           // kUint
	n      int              // kArray, kBytes of a Go array (-1: no bound)
	elem   *node            // kSlice, kArray, kMap values, kPtr
	key    *node            // kMap
	fields map[string]*node // a struct's fields by every name the decoder takes
	keys   []string         // the same, as a list, for small structs
	vals   []*node
	list   []*node  // a struct's fields in order, for the array form
	names  []string // their names, parallel to list
}

// For builds the schema of t.
func For(t reflect.Type) *Schema {
	return &Schema{root: build(t, map[reflect.Type]*node{})}
}

var (
	customDecoder   = reflect.TypeFor[msgpack.CustomDecoder]()
	unmarshaler     = reflect.TypeFor[msgpack.Unmarshaler]()
	binaryDecoder   = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodesItself reports whether msgpack hands t (or *t) to a decoder of its own.
func decodesItself(t reflect.Type) bool {
	for _, i := range []reflect.Type{customDecoder, unmarshaler, binaryDecoder, textUnmarshaler} {
		if t.Implements(i) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(i)) {
			return true
		}
	}
	return false
}

func build(t reflect.Type, seen map[reflect.Type]*node) *node {
	if n := seen[t]; n != nil {
		return n // a recursive type: its node is being built
	}
	n := &node{goType: t.String()}
	seen[t] = n
	if decodesItself(t) {
		return n // kAny
	}
	switch t.Kind() {
	case reflect.Bool:
		n.kind = kBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		n.kind, n.lo, n.hi = kInt, -1<<(bits-1), 1<<(bits-1)-1
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n.kind, n.max = kUint, math.MaxUint64>>(64-t.Bits())
	case reflect.Float32:
		n.kind = kFloat32
	case reflect.Float64:
		n.kind = kFloat64
	case reflect.String:
		n.kind = kString
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			n.kind, n.n = kBytes, -1
		} else {
			n.kind, n.elem = kSlice, build(t.Elem(), seen)
		}
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			n.kind, n.n = kBytes, t.Len()
		} else {
			n.kind, n.n, n.elem = kArray, t.Len(), build(t.Elem(), seen)
		}
	case reflect.Map:
		n.kind, n.key, n.elem = kMap, build(t.Key(), seen), build(t.Elem(), seen)
	case reflect.Pointer:
		n.kind, n.elem = kPtr, build(t.Elem(), seen)
	case reflect.Struct:
		n.kind, n.fields = kStruct, map[string]*node{}
		addFields(n, t, seen)
	}
	return n
}

// addFields adds t's fields to the struct node n as vmihailenco/msgpack's getFields does.
func addFields(n *node, t reflect.Type, seen map[reflect.Type]*node) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("msgpack"), ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fn := build(f.Type, seen)
		if f.Anonymous && !hasOpt(opts, "noinline") {
			if inline(n, f.Type, hasOpt(opts, "inline"), seen) {
				n.set(name, fn)
				continue
			}
		}
		n.add(name, fn)
		if alias := optValue(opts, "alias"); alias != "" {
			n.set(alias, fn)
		}
	}
}

// inline adds the fields of an embedded struct (or pointer to one) to n, as the decoder
// does when forced (the "inline" option) or when none of them is shadowed and the struct
// has no decoder of its own.
func inline(n *node, t reflect.Type, forced bool, seen map[reflect.Type]*node) bool {
	st := t
	for st.Kind() == reflect.Pointer {
		if decodesItself(st) {
			return false
		}
		st = st.Elem()
	}
	if st.Kind() != reflect.Struct || (!forced && decodesItself(st)) {
		return false
	}
	inner := &node{kind: kStruct, fields: map[string]*node{}}
	addFields(inner, st, seen)
	if !forced {
		for _, name := range inner.names {
			if n.fields[name] != nil {
				return false
			}
		}
	}
	for i, name := range inner.names {
		if n.fields[name] == nil {
			n.add(name, inner.list[i])
		}
	}
	return true
}

// field finds a struct's field by the name a client sent, without allocating: a game's
// input has a handful of fields, which a scan compares faster than a map hashes the name.
func (n *node) field(name []byte) *node {
	if len(n.fields) > 8 {
		return n.fields[string(name)]
	}
	for j, k := range n.keys {
		if k == string(name) {
			return n.vals[j]
		}
	}
	return nil
}

// set maps a name (a field's, an alias, an inlined struct's own) to its node.
func (n *node) set(name string, f *node) {
	if _, dup := n.fields[name]; !dup {
		n.keys = append(n.keys, name)
		n.vals = append(n.vals, f)
	} else {
		n.vals[slices.Index(n.keys, name)] = f
	}
	n.fields[name] = f
}

func (n *node) add(name string, f *node) {
	n.set(name, f)
	n.list = append(n.list, f)
	n.names = append(n.names, name)
}

func hasOpt(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

func optValue(opts, key string) string {
	for o := range strings.SplitSeq(opts, ",") {
		if k, v, ok := strings.Cut(o, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// MaxSchemaDepth bounds how deep Check follows a value into nested arrays and maps.
const MaxSchemaDepth = MaxDepth

// Check reports whether the msgpack value at the start of b fits the schema's type, and how
// many bytes it takes. An error is a *FieldError when the value is well formed but does not
// fit, or one of this package's errors when it is not well formed.
func (s *Schema) Check(b []byte) (int, error) {
	return s.root.check(b, 0)
}

func (n *node) check(b []byte, depth int) (int, error) {
	if len(b) == 0 {
		return 0, ErrTruncated
	}
	c := b[0]
	if c == 0xc0 || n.kind == kAny { // nil: every type's zero value
		return Size(b)
	}
	switch n.kind {
	case kBool:
		if c == 0xc2 || c == 0xc3 {
			return 1, nil
		}
	case kInt, kUint, kFloat32, kFloat64:
		return n.checkNumber(b)
	case kString, kBytes:
		if isStr(c) || isBin(c) {
			size, err := Size(b)
			if err == nil && n.kind == kBytes && n.n >= 0 {
				if l, _ := strLen(b); l > uint64(n.n) {
					return 0, n.refuse(fmt.Sprintf("%d bytes", l))
				}
			}
			return size, err
		}
	case kSlice, kArray:
		if hdr, count, ok := arrayHeader(b); ok {
			if n.kind == kArray && count > uint64(n.n) {
				return 0, n.refuse(fmt.Sprintf("an array of %d elements", count))
			}
			return n.checkElems(b, hdr, count, depth)
		}
	case kMap:
		if hdr, pairs, ok := mapHeader(b); ok {
			return n.checkMap(b, hdr, pairs, depth)
		}
	case kStruct:
		if hdr, pairs, ok := mapHeader(b); ok {
			return n.checkStructMap(b, hdr, pairs, depth)
		}
		if hdr, count, ok := arrayHeader(b); ok {
			if count != 0 && count != uint64(len(n.list)) {
				return 0, n.refuse(fmt.Sprintf("an array of %d elements", count))
			}
			return n.checkStructArray(b, hdr, count, depth)
		}
	case kPtr:
		return n.elem.check(b, depth)
	}
	return 0, n.refuse(describe(b))
}

func (n *node) checkElems(b []byte, i int, count uint64, depth int) (int, error) {
	if depth >= MaxSchemaDepth {
		return 0, ErrTooDeep
	}
	for k := uint64(0); k < count; k++ {
		m, err := n.elem.check(b[i:], depth+1)
		if err != nil {
			return 0, under(err, "["+strconv.FormatUint(k, 10)+"]")
		}
		i += m
	}
	return i, nil
}

func (n *node) checkMap(b []byte, i int, pairs uint64, depth int) (int, error) {
	if depth >= MaxSchemaDepth {
		return 0, ErrTooDeep
	}
	for range pairs {
		m, err := n.key.check(b[i:], depth+1)
		if err != nil {
			return 0, under(err, "[key]")
		}
		key := b[i : i+m]
		i += m
		if m, err = n.elem.check(b[i:], depth+1); err != nil {
			return 0, under(err, "["+keyText(key)+"]")
		}
		i += m
	}
	return i, nil
}

func (n *node) checkStructMap(b []byte, i int, pairs uint64, depth int) (int, error) {
	if depth >= MaxSchemaDepth {
		return 0, ErrTooDeep
	}
	for range pairs {
		if i >= len(b) {
			return 0, ErrTruncated
		}
		var (
			f    *node
			name []byte
		)
		switch c := b[i]; {
		case c == 0xc0:
			i++
		case isStr(c) || isBin(c):
			l, hdr := strLen(b[i:])
			if uint64(len(b)-i-hdr) < l {
				return 0, ErrTruncated
			}
			name = b[i+hdr : i+hdr+int(l)]
			f = n.field(name)
			i += hdr + int(l)
		default:
			return 0, &FieldError{Want: "field names that are strings", Got: describe(b[i:]) + " as a field name"}
		}
		if f == nil {
			m, err := Size(b[i:]) // an unknown field: the decoder skips it
			if err != nil {
				return 0, err
			}
			i += m
			continue
		}
		m, err := f.check(b[i:], depth+1)
		if err != nil {
			return 0, under(err, string(name))
		}
		i += m
	}
	return i, nil
}

func (n *node) checkStructArray(b []byte, i int, count uint64, depth int) (int, error) {
	if depth >= MaxSchemaDepth {
		return 0, ErrTooDeep
	}
	for k := range count {
		m, err := n.list[k].check(b[i:], depth+1)
		if err != nil {
			return 0, under(err, n.names[k])
		}
		i += m
	}
	return i, nil
}

// under prefixes a FieldError's path with seg ("[3]" or a field name).
func under(err error, seg string) error {
	fe, ok := err.(*FieldError)
	if !ok {
		return err
	}
	switch {
	case fe.Path == "":
		fe.Path = seg
	case strings.HasPrefix(fe.Path, "["):
		fe.Path = seg + fe.Path
	default:
		fe.Path = seg + "." + fe.Path
	}
	return fe
}

func (n *node) checkNumber(b []byte) (int, error) {
	size, err := Size(b)
	if err != nil {
		return 0, err
	}
	c := b[0]
	var (
		neg   bool   // the integer is negative: its value is int64(mag)
		mag   uint64 // the integer's bits
		isInt = true
		f     float64
	)
	switch {
	case c <= 0x7f:
		mag = uint64(c)
	case c >= 0xe0:
		neg, mag = true, uint64(int64(int8(c)))
	case c == 0xcc:
		mag = uint64(b[1])
	case c == 0xcd:
		mag = uint64(binary.BigEndian.Uint16(b[1:]))
	case c == 0xce:
		mag = uint64(binary.BigEndian.Uint32(b[1:]))
	case c == 0xcf:
		mag = binary.BigEndian.Uint64(b[1:])
	case c == 0xd0:
		v := int64(int8(b[1]))
		neg, mag = v < 0, uint64(v)
	case c == 0xd1:
		v := int64(int16(binary.BigEndian.Uint16(b[1:])))
		neg, mag = v < 0, uint64(v)
	case c == 0xd2:
		v := int64(int32(binary.BigEndian.Uint32(b[1:])))
		neg, mag = v < 0, uint64(v)
	case c == 0xd3:
		v := int64(binary.BigEndian.Uint64(b[1:]))
		neg, mag = v < 0, uint64(v)
	case c == 0xca:
		isInt, f = false, float64(math.Float32frombits(binary.BigEndian.Uint32(b[1:])))
	case c == 0xcb:
		isInt, f = false, math.Float64frombits(binary.BigEndian.Uint64(b[1:]))
	default:
		return 0, n.refuse(describe(b))
	}
	got := func() string {
		switch {
		case !isInt:
			return strconv.FormatFloat(f, 'g', -1, 64)
		case neg:
			return strconv.FormatInt(int64(mag), 10)
		}
		return strconv.FormatUint(mag, 10)
	}
	switch n.kind {
	case kInt:
		// The decoder reads every integer as int64 bits: above MaxInt64 they turn negative.
		if isInt && (neg || mag <= math.MaxInt64) && int64(mag) >= n.lo && int64(mag) <= n.hi {
			return size, nil
		}
	case kUint:
		if isInt && !neg && mag <= n.max {
			return size, nil
		}
	case kFloat32:
		// The decoder takes a float32 or an integer here, never a float64.
		if c == 0xca || (isInt && (neg || mag <= math.MaxInt64)) {
			return size, nil
		}
		if c == 0xcb {
			return 0, n.refuse("the float64 " + got())
		}
	case kFloat64:
		if !isInt || neg || mag <= math.MaxInt64 {
			return size, nil
		}
	}
	return 0, n.refuse(got())
}

// refuse makes the error for a value (described by got) that does not fit n.
func (n *node) refuse(got string) *FieldError {
	var want string
	switch n.kind {
	case kBool:
		want = "a boolean"
	case kInt:
		want = fmt.Sprintf("an integer in %d..%d", n.lo, n.hi)
	case kUint:
		want = fmt.Sprintf("an integer in 0..%d", n.max)
	case kFloat32:
		want = "a float32 or an integer"
	case kFloat64:
		want = "a number"
	case kString:
		want = "a string"
	case kBytes:
		want = "a string or binary"
		if n.n >= 0 {
			want += fmt.Sprintf(" of at most %d bytes", n.n)
		}
	case kSlice:
		want = "an array"
	case kArray:
		want = fmt.Sprintf("an array of at most %d elements", n.n)
	case kMap:
		want = "a map"
	case kStruct:
		want = fmt.Sprintf("a map (or an array of its %d fields)", len(n.list))
	}
	return &FieldError{Want: want + " (" + n.goType + ")", Got: got}
}

// describe names the msgpack type at b[0], for an error.
func describe(b []byte) string {
	c := b[0]
	switch {
	case c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3):
		return "an integer"
	case c == 0xca || c == 0xcb:
		return "a float"
	case c == 0xc2 || c == 0xc3:
		return "a boolean"
	case isStr(c):
		l, hdr := strLen(b)
		if uint64(len(b)-hdr) >= l && l <= 32 {
			return strconv.Quote(string(b[hdr : hdr+int(l)]))
		}
		return "a string"
	case isBin(c):
		return "binary"
	case (c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd:
		return "an array"
	case (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf:
		return "a map"
	case c == 0xc0:
		return "nil"
	}
	return "an extension"
}

// keyText shows a map key in an error's path: a short string or an integer as such.
func keyText(key []byte) string {
	if d := describe(key); d != "an integer" || len(key) > 1 {
		if strings.HasPrefix(d, `"`) {
			return d
		}
		return "key"
	}
	return strconv.Itoa(int(int8(key[0])))
}

func isStr(c byte) bool { return (c >= 0xa0 && c <= 0xbf) || c == 0xd9 || c == 0xda || c == 0xdb }
func isBin(c byte) bool { return c == 0xc4 || c == 0xc5 || c == 0xc6 }

// strLen returns the length of the str or bin at b[0] and the size of its header.
func strLen(b []byte) (uint64, int) {
	c := b[0]
	switch {
	case c >= 0xa0 && c <= 0xbf:
		return uint64(c & 0x1f), 1
	case c == 0xd9 || c == 0xc4:
		if len(b) < 2 {
			return math.MaxUint64, 1
		}
		return uint64(b[1]), 2
	case c == 0xda || c == 0xc5:
		if len(b) < 3 {
			return math.MaxUint64, 1
		}
		return uint64(binary.BigEndian.Uint16(b[1:])), 3
	}
	if len(b) < 5 {
		return math.MaxUint64, 1
	}
	return uint64(binary.BigEndian.Uint32(b[1:])), 5
}

// arrayHeader reads an array header: its size and the element count.
func arrayHeader(b []byte) (hdr int, count uint64, ok bool) {
	c := b[0]
	switch {
	case c >= 0x90 && c <= 0x9f:
		return 1, uint64(c & 0x0f), true
	case c == 0xdc && len(b) >= 3:
		return 3, uint64(binary.BigEndian.Uint16(b[1:])), true
	case c == 0xdd && len(b) >= 5:
		return 5, uint64(binary.BigEndian.Uint32(b[1:])), true
	}
	return 0, 0, false
}

// mapHeader reads a map header: its size and the pair count.
func mapHeader(b []byte) (hdr int, pairs uint64, ok bool) {
	c := b[0]
	switch {
	case c >= 0x80 && c <= 0x8f:
		return 1, uint64(c & 0x0f), true
	case c == 0xde && len(b) >= 3:
		return 3, uint64(binary.BigEndian.Uint16(b[1:])), true
	case c == 0xdf && len(b) >= 5:
		return 5, uint64(binary.BigEndian.Uint32(b[1:])), true
	}
	return 0, 0, false
}
