package match

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/lithammer/shortuuid/v4"
)

// CodeAlphabet is the alphabet of join codes: 22 characters that read and type unambiguously
// when spoken, handwritten or shown in any font. Left out, in pairs or groups that are
// easily mistaken for one another:
//
//	0 O Q      (and D is kept: with 0, O and Q gone it is unambiguous)
//	1 I L      (J is kept)
//	2 Z
//	5 S
//	8 B
//	G          (like 6 and C; 6 and C are kept)
//	U          (like V; also keeps a few unfortunate words out of codes)
//
// Lookup is case-insensitive, so a code read aloud and typed in lower case works.
const CodeAlphabet = "34679ACDEFHJKMNPRTVWXY"

// Errors of the code registry.
var (
	ErrCodeNotFound   = errors.New("match: no room with that code")
	ErrTooManyGuesses = errors.New("match: too many wrong join codes; wait and try again")
	ErrCodesExhausted = errors.New("match: no free join code found")
)

// CodeOptions configure a Codes registry. The zero value is usable.
type CodeOptions struct {
	// Length is the number of characters of a code, 4 to 12; default 6. Six characters give
	// 22⁶ ≈ 113 million codes.
	Length int
	// Guesses is how many wrong codes a client may try in a burst (default 5), and Per the
	// time it takes to earn them all back (default a minute): a token bucket per client key.
	// With the defaults and 10,000 private rooms open, a client that guesses without pause
	// finds one room a day in expectation: 5 per minute × 1,440 minutes × 10⁴/1.13·10⁸.
	// Raise Length, or key clients more coarsely (by network rather than connection), if
	// that is too much.
	Guesses int
	Per     time.Duration
	// MaxClients bounds how many clients' buckets are kept (default 65,536, about 6 MiB at
	// most): the least recently seen client is forgotten first. Without a bound, guesses from
	// ever new addresses (an IPv6 block, a botnet) would grow the table without end; what the
	// bound costs is that such a crowd, once past it, evicts buckets and earns fresh guesses,
	// which it could do anyway by being that many clients.
	MaxClients int
	// Clock drives the buckets' refill; nil is the wall clock.
	Clock Clock
}

// Codes gives private rooms short join codes and finds rooms by code.
//
// Memory: two map entries per room, and a bucket (about 100 bytes) per client that guessed
// wrong, in an LRU of at most CodeOptions.MaxClients.
type Codes struct {
	clock   Clock
	length  int
	burst   float64
	perSec  float64 // refill rate in guesses per second
	mu      sync.Mutex
	rooms   map[string]string // code -> room
	codes   map[string]string // room -> code
	buckets *lru.Cache[string, *bucket]
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewCodes makes an empty registry.
func NewCodes(opts CodeOptions) (*Codes, error) {
	c := &Codes{
		clock:  clockOrSystem(opts.Clock),
		length: opts.Length,
		burst:  float64(opts.Guesses),
		rooms:  make(map[string]string),
		codes:  make(map[string]string),
	}
	if c.length == 0 {
		c.length = 6
	}
	if c.length < 4 || c.length > 12 {
		// Above 12, 22^Length nears 2⁶², the UUID's random low bits, and codes skew.
		return nil, fmt.Errorf("match: code length %d: want 4 to 12", c.length)
	}
	if opts.Guesses < 0 || opts.Per < 0 {
		return nil, errors.New("match: negative Guesses or Per")
	}
	if c.burst == 0 {
		c.burst = 5
	}
	maxClients := opts.MaxClients
	if maxClients <= 0 {
		maxClients = 1 << 16
	}
	var err error
	if c.buckets, err = lru.New[string, *bucket](maxClients); err != nil {
		return nil, fmt.Errorf("match: %w", err)
	}
	per := opts.Per
	if per == 0 {
		per = time.Minute
	}
	c.perSec = c.burst / per.Seconds()
	return c, nil
}

// newCode draws a code: the last Length digits of a random v4 UUID written in CodeAlphabet
// by shortuuid, that is the UUID modulo m = 22^Length. The UUID's low 62 bits are uniformly
// random (crypto/rand; only version and variant bits above them are fixed), so each code's
// probability is within a factor 1 ± m/2⁶² of 1/m: a bias under 10⁻¹⁰ for six characters,
// under 0.3% at twelve.
func (c *Codes) newCode() string {
	s := shortuuid.NewWithAlphabet(CodeAlphabet)
	return s[len(s)-c.length:]
}

// Register gives room a code, or returns the one it has. A collision with a live code is
// drawn again.
func (c *Codes) Register(room string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if code, ok := c.codes[room]; ok {
		return code, nil
	}
	for range 64 {
		code := c.newCode()
		if _, used := c.rooms[code]; !used {
			c.rooms[code] = room
			c.codes[room] = code
			return code, nil
		}
	}
	return "", ErrCodesExhausted
}

// Unregister withdraws the room's code (the room ended or became public). It reports
// whether the room had one.
func (c *Codes) Unregister(room string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	code, ok := c.codes[room]
	if ok {
		delete(c.codes, room)
		delete(c.rooms, code)
	}
	return ok
}

// Code returns the room's code, if it has one.
func (c *Codes) Code(room string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	code, ok := c.codes[room]
	return code, ok
}

// NormalizeCode upper-cases a code and drops the spaces and dashes people type in.
func NormalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			return -1
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// Lookup finds the room of a code, in any case, for client: a key that stands for whoever
// is guessing (a user id, an address). Each wrong code spends one of the client's guesses;
// a client without any left gets ErrTooManyGuesses, for right and wrong codes alike, until
// its bucket refills. Right codes spend nothing.
func (c *Codes) Lookup(code, client string) (string, error) {
	code = NormalizeCode(code)
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	b, _ := c.buckets.Get(client)
	if b != nil {
		c.refill(b, now)
		if b.tokens < 1 {
			return "", ErrTooManyGuesses
		}
	}
	if room, ok := c.rooms[code]; ok {
		return room, nil
	}
	if b == nil {
		b = &bucket{tokens: c.burst, at: now}
		c.buckets.Add(client, b)
	}
	b.tokens--
	return "", ErrCodeNotFound
}

// Refund gives back the guess a Lookup spent on a code this registry does not hold but
// another one does: in a cluster, a code of a room on another node.
func (c *Codes) Refund(client string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, _ := c.buckets.Get(client); b != nil {
		b.tokens = min(c.burst, b.tokens+1)
	}
}

func (c *Codes) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(c.burst, b.tokens+d.Seconds()*c.perSec)
	}
	b.at = now
}
