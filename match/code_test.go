package match

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCodeAlphabetHasNoConfusables(t *testing.T) {
	for _, group := range []string{"0OQ", "1IL", "2Z", "5S", "8B", "6G", "UV"} {
		n := 0
		for _, r := range group {
			if strings.ContainsRune(CodeAlphabet, r) {
				n++
			}
		}
		if n > 1 {
			t.Errorf("alphabet has %d of the confusable group %q", n, group)
		}
	}
	for _, r := range "0O1IL5S2Z8BQUG" {
		if strings.ContainsRune(CodeAlphabet, r) {
			t.Errorf("alphabet has %q", r)
		}
	}
	seen := map[rune]bool{}
	for _, r := range CodeAlphabet {
		if seen[r] || !(('0' <= r && r <= '9') || ('A' <= r && r <= 'Z')) {
			t.Errorf("alphabet has %q twice or out of [0-9A-Z]", r)
		}
		seen[r] = true
	}
}

func TestCodesAreShortAndUseTheAlphabet(t *testing.T) {
	for _, length := range []int{0, 4, 8, 12} {
		c, err := NewCodes(CodeOptions{Length: length})
		if err != nil {
			t.Fatal(err)
		}
		want := length
		if want == 0 {
			want = 6
		}
		seen := map[string]bool{}
		for i := range 2000 {
			code, err := c.Register(string(rune('a'+i%26)) + strings.Repeat("x", i/26))
			if err != nil {
				t.Fatal(err)
			}
			if len(code) != want || strings.Trim(code, CodeAlphabet) != "" || seen[code] {
				t.Fatalf("code %q (length %d, want %d), seen %v", code, len(code), want, seen[code])
			}
			seen[code] = true
		}
	}
	for _, bad := range []int{3, 13, -1} {
		if _, err := NewCodes(CodeOptions{Length: bad}); err == nil {
			t.Errorf("accepted length %d", bad)
		}
	}
}

func TestRegisterKeepsARoomsCode(t *testing.T) {
	c, _ := NewCodes(CodeOptions{})
	a, _ := c.Register("R")
	b, _ := c.Register("R")
	if a != b {
		t.Fatalf("two codes for one room: %s %s", a, b)
	}
	if got, ok := c.Code("R"); !ok || got != a {
		t.Fatalf("Code = %q, %v", got, ok)
	}
	if !c.Unregister("R") || c.Unregister("R") {
		t.Fatal("Unregister reported wrongly")
	}
	if _, err := c.Lookup(a, "client"); !errors.Is(err, ErrCodeNotFound) {
		t.Fatalf("Lookup after Unregister = %v", err)
	}
}

func TestLookupIsCaseInsensitive(t *testing.T) {
	c, _ := NewCodes(CodeOptions{})
	code, _ := c.Register("R")
	for _, tc := range []struct{ name, typed string }{
		{"as given", code},
		{"lower case", strings.ToLower(code)},
		{"mixed case", strings.ToLower(code[:3]) + code[3:]},
		{"with a dash", code[:3] + "-" + code[3:]},
		{"with spaces", " " + code[:3] + " " + code[3:] + " "},
	} {
		if room, err := c.Lookup(tc.typed, "client"); room != "R" || err != nil {
			t.Errorf("%s: Lookup(%q) = %q, %v", tc.name, tc.typed, room, err)
		}
	}
}

// TestLookupRateLimitsGuessing: five wrong codes a minute per client, then nothing, right
// codes included, until the bucket refills; other clients are not affected.
func TestLookupRateLimitsGuessing(t *testing.T) {
	clock := NewFakeClock(t0)
	c, _ := NewCodes(CodeOptions{Clock: clock})
	code, _ := c.Register("R")
	type step struct {
		advance      time.Duration
		client, code string
		want         error
	}
	wrong := "XXXXXX" // not a code: X... is in the alphabet, but nothing is registered
	steps := []step{
		{0, "mallory", code, nil}, // right codes spend nothing
		{0, "mallory", wrong, ErrCodeNotFound},
		{0, "mallory", wrong, ErrCodeNotFound},
		{0, "mallory", "0OOOOO", ErrCodeNotFound}, // not even in the alphabet: a miss too
		{0, "mallory", wrong, ErrCodeNotFound},
		{0, "mallory", wrong, ErrCodeNotFound},
		{0, "mallory", wrong, ErrTooManyGuesses},
		{0, "mallory", code, ErrTooManyGuesses}, // no more lookups at all
		{0, "alice", code, nil},
		{0, "alice", wrong, ErrCodeNotFound},
		{11 * time.Second, "mallory", code, ErrTooManyGuesses},
		{time.Second, "mallory", code, nil}, // 12 s earn one guess back
		{0, "mallory", wrong, ErrCodeNotFound},
		{0, "mallory", wrong, ErrTooManyGuesses},
		{time.Minute, "mallory", wrong, ErrCodeNotFound},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		room, err := c.Lookup(s.code, s.client)
		if !errors.Is(err, s.want) || (s.want == nil) != (err == nil) || (err == nil && room != "R") {
			t.Fatalf("step %d: Lookup(%q) by %s = %q, %v; want %v", i, s.code, s.client, room, err, s.want)
		}
	}
}

// TestGuessBucketsAreBounded: guesses from ever new clients keep at most MaxClients
// buckets, and a client seen recently keeps its spent allowance through the churn.
func TestGuessBucketsAreBounded(t *testing.T) {
	clock := NewFakeClock(t0)
	c, _ := NewCodes(CodeOptions{Clock: clock, MaxClients: 1024})
	for range 5 {
		c.Lookup("XXXXXX", "mallory")
	}
	for i := range 5000 {
		c.Lookup("XXXXXX", fmt.Sprint("crowd", i))
		if i%500 == 0 {
			if _, err := c.Lookup("XXXXXX", "mallory"); !errors.Is(err, ErrTooManyGuesses) {
				t.Fatalf("after %d other clients, mallory's guess: %v, want ErrTooManyGuesses", i, err)
			}
		}
	}
	if n := c.buckets.Len(); n > 1024 {
		t.Fatalf("%d buckets kept, want at most 1024", n)
	}
}

// TestRefundGivesBackOneGuess: a code another registry holds (a room on another node) costs
// the guesser nothing, but a refund never raises the bucket above its burst.
func TestRefundGivesBackOneGuess(t *testing.T) {
	c, err := NewCodes(CodeOptions{Guesses: 2, Per: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c.Refund("nobody") // no bucket yet: nothing to do
	for range 2 {
		if _, err := c.Lookup("XXXXXX", "eve"); !errors.Is(err, ErrCodeNotFound) {
			t.Fatal(err)
		}
	}
	if _, err := c.Lookup("XXXXXX", "eve"); !errors.Is(err, ErrTooManyGuesses) {
		t.Fatalf("third wrong guess: %v, want ErrTooManyGuesses", err)
	}
	c.Refund("eve")
	if _, err := c.Lookup("XXXXXX", "eve"); !errors.Is(err, ErrCodeNotFound) {
		t.Fatalf("after a refund: %v, want one more guess", err)
	}
	for range 5 {
		c.Refund("eve")
	}
	n := 0
	for ; n < 5; n++ {
		if _, err := c.Lookup("XXXXXX", "eve"); errors.Is(err, ErrTooManyGuesses) {
			break
		}
	}
	if n != 2 {
		t.Fatalf("refunds raised the bucket to %d guesses, want at most the burst of 2", n)
	}
}
