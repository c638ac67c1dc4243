package ws

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// This file parses Sec-WebSocket-Extensions (RFC 6455 §9.1) and negotiates the
// permessage-deflate extension (RFC 7692 §5, §7). It is pure: no I/O, no state.
//
// The grammar of RFC 6455 §9.1, with the OWS that RFC 6455's implied *LWS allows between
// the elements, and the empty list elements that RFC 7230 §7 requires a recipient to accept:
//
//	Extension-List  = 1#extension
//	extension       = extension-token *( ";" extension-param )
//	extension-token = registered-token
//	registered-token = token
//	extension-param = token [ "=" (token | quoted-string) ]
//	    ; When using the quoted-string syntax variant, the value after
//	    ; quoted-string unescaping MUST conform to the 'token' ABNF.
//
// Names are compared exactly. RFC 6455 spells out "ASCII case-insensitive" where it wants
// it (the Upgrade and Connection values of §4.2.1, the Origin of §10.2) and says nothing of
// the kind for extension tokens, and RFC 7692 §7 defines its parameter names in lower case
// only; so "Permessage-Deflate" is a different extension, which a server ignores and a
// client refuses as one it never offered. Browsers and the common libraries agree.

// Errors of the extension grammar (RFC 6455 §9.1) and of permessage-deflate parameters
// (RFC 7692 §7). Callers test them with errors.Is; the returned errors add the offending
// name or position.
var (
	errExtSyntax          = errors.New("malformed extension list")
	errExtQuotedValue     = errors.New("quoted extension parameter value is not a token")
	errExtUnknownParam    = errors.New("unknown permessage-deflate parameter")
	errExtDuplicateParam  = errors.New("duplicate permessage-deflate parameter")
	errExtUnexpectedValue = errors.New("permessage-deflate parameter takes no value")
	errExtMissingValue    = errors.New("permessage-deflate parameter needs a value")
	errExtBadWindowBits   = errors.New("permessage-deflate window bits must be 8 to 15 without leading zeroes")
	errExtNotOffered      = errors.New("server accepted an extension that was not offered")
	errExtTooMany         = errors.New("server accepted more extensions than were offered")
	errExtTakeover        = errors.New("server did not accept server_no_context_takeover")
)

// extension is one element of a Sec-WebSocket-Extensions list (RFC 6455 §9.1).
type extension struct {
	name   string
	params []extParam
}

// extParam is one extension-param. value is unescaped when it was a quoted-string.
type extParam struct {
	name, value string
	hasValue    bool
}

// parseExtensions parses all Sec-WebSocket-Extensions header values, each a comma list, into
// one list in order (RFC 6455 §9.1: the field may be split over several header lines).
// Empty list elements are skipped (RFC 7230 §7). Any other departure from the grammar above
// is an error wrapping errExtSyntax or errExtQuotedValue.
func parseExtensions(headerValues []string) ([]extension, error) {
	var exts []extension
	for _, v := range headerValues {
		var err error
		if exts, err = appendExtensions(exts, v); err != nil {
			return nil, err
		}
	}
	return exts, nil
}

// appendExtensions parses one header value, a comma list of extensions.
func appendExtensions(exts []extension, s string) ([]extension, error) {
	syntax := func(i int, want string) error {
		return fmt.Errorf("%w: %s at offset %d", errExtSyntax, want, i)
	}
	i := 0
	for {
		i = skipOWS(s, i)
		if i == len(s) {
			return exts, nil
		}
		if s[i] == ',' { // empty element
			i++
			continue
		}
		var e extension
		if e.name, i = scanToken(s, i); e.name == "" {
			return nil, syntax(i, "expected an extension name")
		}
		for {
			if i = skipOWS(s, i); i == len(s) || s[i] == ',' {
				break
			}
			if s[i] != ';' {
				return nil, syntax(i, "expected ';' or ','")
			}
			var p extParam
			if p.name, i = scanToken(s, skipOWS(s, i+1)); p.name == "" {
				return nil, syntax(i, "expected a parameter name")
			}
			if i = skipOWS(s, i); i < len(s) && s[i] == '=' {
				p.hasValue = true
				if i = skipOWS(s, i+1); i < len(s) && s[i] == '"' {
					start := i
					var ok bool
					if p.value, i, ok = scanQuoted(s, i); !ok {
						return nil, syntax(start, "malformed or unterminated quoted-string")
					}
					if !isToken(p.value) {
						return nil, fmt.Errorf("%w: %.32q", errExtQuotedValue, p.value)
					}
				} else if p.value, i = scanToken(s, i); p.value == "" {
					return nil, syntax(i, "expected a parameter value")
				}
			}
			e.params = append(e.params, p)
		}
		exts = append(exts, e)
	}
}

// skipOWS skips spaces and horizontal tabs (RFC 7230 §3.2.3).
func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// scanToken returns the token starting at i (empty if there is none) and the index after it.
func scanToken(s string, i int) (string, int) {
	start := i
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[start:i], i
}

// scanQuoted reads the quoted-string starting at s[i] == '"' (RFC 7230 §3.2.6) and returns
// its unescaped content and the index after the closing quote.
func scanQuoted(s string, i int) (string, int, bool) {
	i++
	start := i
	var b []byte // nil until the first quoted-pair
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			if b == nil {
				return s[start:i], i + 1, true
			}
			return string(b), i + 1, true
		case c == '\\':
			// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
			if i+1 == len(s) || !isQuotedPairChar(s[i+1]) {
				return "", i, false
			}
			if b == nil {
				b = append(make([]byte, 0, 16), s[start:i]...)
			}
			b = append(b, s[i+1])
			i += 2
		case isQdtext(c):
			if b != nil {
				b = append(b, c)
			}
			i++
		default:
			return "", i, false
		}
	}
	return "", i, false
}

// isTokenChar reports whether c is a tchar (RFC 7230 §3.2.6).
func isTokenChar(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isToken reports whether s is a non-empty token (RFC 7230 §3.2.6).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// isQdtext reports whether c may stand unescaped in a quoted-string (RFC 7230 §3.2.6):
// HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
func isQdtext(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || 0x23 <= c && c <= 0x5B || 0x5D <= c && c <= 0x7E || c >= 0x80
}

// isQuotedPairChar reports whether c may follow a backslash: HTAB / SP / VCHAR / obs-text.
func isQuotedPairChar(c byte) bool {
	return c == '\t' || c == ' ' || 0x21 <= c && c <= 0x7E || c >= 0x80
}

// The permessage-deflate extension name and its parameters (RFC 7692 §7, §7.1).
const (
	extPermessageDeflate         = "permessage-deflate"
	paramServerNoContextTakeover = "server_no_context_takeover"
	paramClientNoContextTakeover = "client_no_context_takeover"
	paramServerMaxWindowBits     = "server_max_window_bits"
	paramClientMaxWindowBits     = "client_max_window_bits"
)

// deflateParams are the parameters of one permessage-deflate offer or response.
type deflateParams struct {
	serverNoContextTakeover bool // RFC 7692 §7.1.1.1
	clientNoContextTakeover bool // RFC 7692 §7.1.1.2
	serverMaxWindowBits     int  // RFC 7692 §7.1.2.1; 0: absent; else 8..15
	clientMaxWindowBits     int  // RFC 7692 §7.1.2.2; 0: absent; -1: no value (offer only); else 8..15
}

// deflateStrings interns String's results. Every connection keeps its negotiated
// extensions (Conn.Extensions), and nearly all of a server's agree on the same parameters:
// one string for them all, instead of about 80 bytes of every idle connection's memory
// (bench/idlemem's heap profile of /play). The parameters that validate are at most a few
// hundred combinations, so the map stays small; others are not interned.
var deflateStrings sync.Map // deflateParams -> string

// String renders "permessage-deflate" and its parameters, for a response or an offer.
func (p deflateParams) String() string {
	if s, ok := deflateStrings.Load(p); ok {
		return s.(string)
	}
	s := p.format()
	if validBits(p.serverMaxWindowBits, false) && validBits(p.clientMaxWindowBits, true) {
		deflateStrings.Store(p, s)
	}
	return s
}

// validBits reports whether a window-bits parameter is absent, in range, or (noValue) the
// value-less form an offer may use.
func validBits(bits int, noValue bool) bool {
	return bits == 0 || (noValue && bits == -1) || (8 <= bits && bits <= 15)
}

func (p deflateParams) format() string {
	b := make([]byte, 0, 128)
	b = append(b, extPermessageDeflate...)
	if p.serverNoContextTakeover {
		b = append(b, "; "+paramServerNoContextTakeover...)
	}
	if p.clientNoContextTakeover {
		b = append(b, "; "+paramClientNoContextTakeover...)
	}
	if p.serverMaxWindowBits > 0 {
		b = append(b, "; "+paramServerMaxWindowBits+"="...)
		b = strconv.AppendInt(b, int64(p.serverMaxWindowBits), 10)
	}
	if p.clientMaxWindowBits != 0 {
		b = append(b, "; "+paramClientMaxWindowBits...)
		if p.clientMaxWindowBits > 0 {
			b = append(b, '=')
			b = strconv.AppendInt(b, int64(p.clientMaxWindowBits), 10)
		}
	}
	return string(b)
}

// parseDeflateParams validates the parameters of one permessage-deflate element (the caller
// has matched the name), as RFC 7692 §7.1 requires of both offers and responses: only the
// four parameters of §7.1 (errExtUnknownParam), none twice (errExtDuplicateParam), the
// *_no_context_takeover parameters without a value (errExtUnexpectedValue, §7.1.1),
// server_max_window_bits with a value (errExtMissingValue, §7.1.2.1), and window bits in
// range (errExtBadWindowBits). client_max_window_bits may go without a value only in an
// offer (isOffer), where it means "I can honour a value in your response" (§7.1.2.2).
func parseDeflateParams(e extension, isOffer bool) (deflateParams, error) {
	var p deflateParams
	var seen uint8
	for _, prm := range e.params {
		var bit uint8
		switch prm.name {
		case paramServerNoContextTakeover:
			bit = 1
		case paramClientNoContextTakeover:
			bit = 2
		case paramServerMaxWindowBits:
			bit = 4
		case paramClientMaxWindowBits:
			bit = 8
		default:
			return deflateParams{}, fmt.Errorf("%w %.32q", errExtUnknownParam, prm.name)
		}
		if seen&bit != 0 {
			return deflateParams{}, fmt.Errorf("%w %s", errExtDuplicateParam, prm.name)
		}
		seen |= bit
		var err error
		switch prm.name {
		case paramServerNoContextTakeover, paramClientNoContextTakeover:
			if prm.hasValue {
				return deflateParams{}, fmt.Errorf("%w: %s", errExtUnexpectedValue, prm.name)
			}
			if bit == 1 {
				p.serverNoContextTakeover = true
			} else {
				p.clientNoContextTakeover = true
			}
		case paramServerMaxWindowBits:
			if !prm.hasValue {
				return deflateParams{}, fmt.Errorf("%w: %s", errExtMissingValue, prm.name)
			}
			if p.serverMaxWindowBits, err = parseWindowBits(prm.value); err != nil {
				return deflateParams{}, fmt.Errorf("%w: %s=%.32q", err, prm.name, prm.value)
			}
		case paramClientMaxWindowBits:
			if !prm.hasValue {
				if !isOffer {
					return deflateParams{}, fmt.Errorf("%w in a response: %s", errExtMissingValue, prm.name)
				}
				p.clientMaxWindowBits = -1
				continue
			}
			if p.clientMaxWindowBits, err = parseWindowBits(prm.value); err != nil {
				return deflateParams{}, fmt.Errorf("%w: %s=%.32q", err, prm.name, prm.value)
			}
		}
	}
	return p, nil
}

// parseWindowBits reads a max_window_bits value: "a decimal integer value without leading
// zeroes between 8 to 15, inclusive" (RFC 7692 §7.1.2.1, §7.1.2.2). So "08" is refused
// even though 1*DIGIT would match it: the prose forbids leading zeroes, and a peer that
// sends them is not one whose other parameters we should guess at. Signs, spaces and
// other spellings never reach here as numbers.
func parseWindowBits(v string) (int, error) {
	switch {
	case len(v) == 1 && '8' <= v[0] && v[0] <= '9':
		return int(v[0] - '0'), nil
	case len(v) == 2 && v[0] == '1' && '0' <= v[1] && v[1] <= '5':
		return 10 + int(v[1]-'0'), nil
	}
	return 0, errExtBadWindowBits
}

// deflateConfig is what this endpoint wants, mapped from CompressionOptions.
type deflateConfig struct {
	ourNoContextTakeover  bool // we compress each message we send on its own
	peerNoContextTakeover bool // we want the peer to do the same (so we keep no inflate window)
}

// negotiateDeflate is the server side of RFC 7692 §5 and §7.1. It considers the client's
// offers in order, skips those that are not permessage-deflate, and declines (§7.1) a
// permessage-deflate offer with an unknown, duplicate or invalid parameter, moving on to
// the next. The first acceptable offer gives the agreed parameters, which are also the
// response (via String):
//
//   - server_no_context_takeover if offered (§7.1.1.1: we must honour it) or if we reset
//     our compressor anyway (cfg.ourNoContextTakeover; a server MAY add it);
//   - client_no_context_takeover if offered or cfg.peerNoContextTakeover (§7.1.1.2: a
//     server MAY add it, and the client must then reset its compressor per message);
//   - server_max_window_bits=N only if offered, echoed: we compress with a 2^N window
//     (§7.1.2.1). We never add it: it would save the client memory, not us;
//   - client_max_window_bits never: the offer only says the client could honour a limit,
//     and our inflater takes any window up to 2^15 (§7.1.2.2).
//
// ok is false when no offer is acceptable; the connection then uses no extension.
func negotiateDeflate(offers []extension, cfg deflateConfig) (p deflateParams, ok bool) {
	for _, o := range offers {
		if o.name != extPermessageDeflate {
			continue
		}
		op, err := parseDeflateParams(o, true)
		if err != nil {
			continue
		}
		return deflateParams{
			serverNoContextTakeover: op.serverNoContextTakeover || cfg.ourNoContextTakeover,
			clientNoContextTakeover: op.clientNoContextTakeover || cfg.peerNoContextTakeover,
			serverMaxWindowBits:     op.serverMaxWindowBits,
		}, true
	}
	return deflateParams{}, false
}

// deflateOffer is the client's offer: permessage-deflate with client_max_window_bits (we
// can compress with whatever window the server asks for, §7.1.2.2), plus
// client_no_context_takeover when we reset our compressor per message (a hint the server
// may use to keep no inflate window, §7.1.1.2) and server_no_context_takeover when we want
// to keep no inflate window ourselves (§7.1.1.1).
func deflateOffer(cfg deflateConfig) string {
	return deflateParams{
		serverNoContextTakeover: cfg.peerNoContextTakeover,
		clientNoContextTakeover: cfg.ourNoContextTakeover,
		clientMaxWindowBits:     -1,
	}.String()
}

// acceptDeflateResponse is the client side of RFC 7692 §7.1: it checks the server's
// Sec-WebSocket-Extensions against the offer deflateOffer(cfg) made. No element means the
// server declined (ok false, no error). Anything the offer does not allow is an error, and
// the client must then _Fail the WebSocket Connection_ (RFC 6455 §4.1, RFC 7692 §7.1):
// more than one element or another name (errExtTooMany, errExtNotOffered), invalid
// parameters (see parseDeflateParams; client_max_window_bits needs a value in a response),
// or server_no_context_takeover missing when we offered it (errExtTakeover: the server
// accepts that parameter by echoing it, §7.1.1.1, and we keep no window to inflate with).
//
// In the agreed parameters, client_max_window_bits=N means our compressor must use a window
// of at most 2^N; server_max_window_bits=N may come unasked (§7.1.2.1) and only shrinks the
// window we inflate with; client_no_context_takeover means we reset our compressor after
// each message.
func acceptDeflateResponse(exts []extension, cfg deflateConfig) (p deflateParams, ok bool, err error) {
	switch {
	case len(exts) == 0:
		return deflateParams{}, false, nil
	case len(exts) > 1:
		return deflateParams{}, false, fmt.Errorf("%w: %d extensions for one offer", errExtTooMany, len(exts))
	case exts[0].name != extPermessageDeflate:
		return deflateParams{}, false, fmt.Errorf("%w: %.32q", errExtNotOffered, exts[0].name)
	}
	if p, err = parseDeflateParams(exts[0], false); err != nil {
		return deflateParams{}, false, err
	}
	if cfg.peerNoContextTakeover && !p.serverNoContextTakeover {
		return deflateParams{}, false, errExtTakeover
	}
	return p, true, nil
}
