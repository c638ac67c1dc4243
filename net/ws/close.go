package ws

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// StatusCode is a close status code (RFC 6455 §7.4).
type StatusCode uint16

// Close codes defined by RFC 6455 §7.4.1 and the IANA registry it created (§11.7).
const (
	StatusNormalClosure           StatusCode = 1000
	StatusGoingAway               StatusCode = 1001
	StatusProtocolError           StatusCode = 1002
	StatusUnsupportedData         StatusCode = 1003
	StatusNoStatusRcvd            StatusCode = 1005 // never on the wire: the peer sent a close without a code
	StatusAbnormalClosure         StatusCode = 1006 // never on the wire: the TCP connection ended without a close frame
	StatusInvalidFramePayloadData StatusCode = 1007
	StatusPolicyViolation         StatusCode = 1008
	StatusMessageTooBig           StatusCode = 1009
	StatusMandatoryExtension      StatusCode = 1010
	StatusInternalError           StatusCode = 1011
	StatusServiceRestart          StatusCode = 1012
	StatusTryAgainLater           StatusCode = 1013
	StatusBadGateway              StatusCode = 1014
	StatusTLSHandshake            StatusCode = 1015 // never on the wire
)

// validOnWire reports whether code may appear in a close frame (RFC 6455 §7.4.1, §7.4.2):
// 1000-1003 and 1007-1014 are defined for use; 1004 is reserved, 1005, 1006 and 1015 must
// never be sent; 1016-2999 are reserved for future RFCs; 3000-4999 belong to libraries,
// frameworks and applications; everything else is invalid.
func (c StatusCode) validOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003:
		return true
	case c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

func (c StatusCode) String() string {
	switch c {
	case StatusNormalClosure:
		return "normal closure"
	case StatusGoingAway:
		return "going away"
	case StatusProtocolError:
		return "protocol error"
	case StatusUnsupportedData:
		return "unsupported data"
	case StatusNoStatusRcvd:
		return "no status received"
	case StatusAbnormalClosure:
		return "abnormal closure"
	case StatusInvalidFramePayloadData:
		return "invalid frame payload data"
	case StatusPolicyViolation:
		return "policy violation"
	case StatusMessageTooBig:
		return "message too big"
	case StatusMandatoryExtension:
		return "mandatory extension"
	case StatusInternalError:
		return "internal error"
	case StatusServiceRestart:
		return "service restart"
	case StatusTryAgainLater:
		return "try again later"
	case StatusBadGateway:
		return "bad gateway"
	case StatusTLSHandshake:
		return "TLS handshake"
	}
	return fmt.Sprintf("status %d", uint16(c))
}

// CloseError says how a connection ended: the code and reason the peer sent, the code this
// side sent when it failed the connection, or StatusAbnormalClosure when the transport died
// without a close frame.
type CloseError struct {
	Code   StatusCode
	Reason string
	// Local is true when this side chose the code (a protocol violation, a limit, Close).
	Local bool
}

func (e *CloseError) Error() string {
	who := "peer"
	if e.Local {
		who = "local"
	}
	if e.Reason == "" {
		return fmt.Sprintf("ws: closed by %s: %d (%s)", who, uint16(e.Code), e.Code)
	}
	return fmt.Sprintf("ws: closed by %s: %d (%s): %s", who, uint16(e.Code), e.Code, e.Reason)
}

// CloseStatus returns the close code carried by err, or 0 when err is not a *CloseError.
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// maxCloseReason is what fits in a control frame after the 2-byte code (RFC 6455 §5.5).
const maxCloseReason = maxControlPayload - 2

var (
	errCloseCode   = errors.New("ws: close code not allowed on the wire (RFC 6455 §7.4)")
	errCloseReason = errors.New("ws: close reason longer than 123 bytes or not UTF-8 (RFC 6455 §5.5, §5.5.1)")
)

// parseClosePayload decodes a received close frame body (RFC 6455 §5.5.1): empty, or a
// 2-byte code followed by a UTF-8 reason. A 1-byte body or a code that may not be sent is a
// protocol error (1002); a reason that is not UTF-8 is 1007.
func parseClosePayload(p []byte) (StatusCode, string, StatusCode) {
	switch {
	case len(p) == 0:
		return StatusNoStatusRcvd, "", 0
	case len(p) == 1:
		return 0, "", StatusProtocolError
	}
	code := StatusCode(binary.BigEndian.Uint16(p))
	if !code.validOnWire() {
		return 0, "", StatusProtocolError
	}
	if !utf8.Valid(p[2:]) {
		return 0, "", StatusInvalidFramePayloadData
	}
	return code, string(p[2:]), 0
}

// appendClosePayload encodes a close body. StatusNoStatusRcvd encodes as an empty body.
func appendClosePayload(dst []byte, code StatusCode, reason string) []byte {
	if code == StatusNoStatusRcvd {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// checkClose validates what the application asks to send.
func checkClose(code StatusCode, reason string) error {
	if !code.validOnWire() && code != StatusNoStatusRcvd {
		return fmt.Errorf("%w: %d", errCloseCode, uint16(code))
	}
	if len(reason) > maxCloseReason || !utf8.ValidString(reason) || (code == StatusNoStatusRcvd && reason != "") {
		return errCloseReason
	}
	return nil
}

// truncateReason shortens an internally generated reason to fit a close frame without
// splitting a UTF-8 sequence.
func truncateReason(s string) string {
	if len(s) <= maxCloseReason {
		return s
	}
	s = s[:maxCloseReason]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
