package ws

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func handshakeRequest(mod func(r *http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://game.example.com/ws", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "keep-alive, Upgrade")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	r.Header.Set("Sec-WebSocket-Version", "13")
	if mod != nil {
		mod(r)
	}
	return r
}

// TestAcceptRefusals checks each refusal of RFC 6455 §4.2.1/§4.2.2 gets its exact status.
// Accepted requests fail to hijack the recorder, which Accept reports as 500: that is how
// the table tells "passed validation" apart.
func TestAcceptRefusals(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(r *http.Request)
		opts   *AcceptOptions
		status int
		header [2]string
	}{
		{"valid request passes validation", nil, nil, 500, [2]string{}},
		{"POST is 405 with Allow: GET", func(r *http.Request) { r.Method = http.MethodPost }, nil, 405, [2]string{"Allow", "GET"}},
		{"HTTP/1.0 is 400", func(r *http.Request) { r.ProtoMajor, r.ProtoMinor = 1, 0 }, nil, 400, [2]string{}},
		{"missing Upgrade is 400", func(r *http.Request) { r.Header.Del("Upgrade") }, nil, 400, [2]string{}},
		{"Upgrade other than websocket is 400", func(r *http.Request) { r.Header.Set("Upgrade", "h2c") }, nil, 400, [2]string{}},
		{"Upgrade token is case-insensitive", func(r *http.Request) { r.Header.Set("Upgrade", "WebSocket") }, nil, 500, [2]string{}},
		{"missing Connection: Upgrade is 400", func(r *http.Request) { r.Header.Set("Connection", "keep-alive") }, nil, 400, [2]string{}},
		{"version 8 is 426 naming 13", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, nil, 426, [2]string{"Sec-WebSocket-Version", "13"}},
		{"missing version is 400", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, nil, 400, [2]string{}},
		{"missing key is 400", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }, nil, 400, [2]string{}},
		{"key not 16 bytes is 400", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "c2hvcnQ=") }, nil, 400, [2]string{}},
		{"key not base64 is 400", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==") }, nil, 400, [2]string{}},
		{"two keys is 400", func(r *http.Request) { r.Header.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") }, nil, 400, [2]string{}},
		{"same-host origin passes", func(r *http.Request) { r.Header.Set("Origin", "https://game.example.com") }, nil, 500, [2]string{}},
		{"cross origin is 403", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example.net") }, nil, 403, [2]string{}},
		{"origin matching a pattern passes", func(r *http.Request) { r.Header.Set("Origin", "https://cdn.example.org") },
			&AcceptOptions{OriginPatterns: []string{"*.example.org"}}, 500, [2]string{}},
		{"origin pattern with scheme", func(r *http.Request) { r.Header.Set("Origin", "http://cdn.example.org") },
			&AcceptOptions{OriginPatterns: []string{"https://*.example.org"}}, 403, [2]string{}},
		{"origin check opt-out", func(r *http.Request) { r.Header.Set("Origin", "https://evil.example.net") },
			&AcceptOptions{InsecureSkipOriginCheck: true}, 500, [2]string{}},
		{"malformed origin is 403", func(r *http.Request) { r.Header.Set("Origin", "::not a url") }, nil, 403, [2]string{}},
		{"oversized headers are 431", func(r *http.Request) { r.Header.Set("X-Big", string(make([]byte, 9000))) }, nil, 431, [2]string{}},
		{"malformed extension header is 400", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate; =") }, nil, 400, [2]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			_, err := accept(rec, handshakeRequest(tt.mod), tt.opts)
			if err == nil {
				t.Fatal("Accept succeeded on a recorder")
			}
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (%v)", rec.Code, tt.status, err)
			}
			if tt.header[0] != "" && rec.Header().Get(tt.header[0]) != tt.header[1] {
				t.Fatalf("%s: %q, want %q", tt.header[0], rec.Header().Get(tt.header[0]), tt.header[1])
			}
			if tt.status != 500 && rec.Body.Len() == 0 {
				t.Fatal("refusal without a reason in the body")
			}
		})
	}
}

func TestAcceptKeyMatchesRFCExample(t *testing.T) {
	// RFC 6455 §1.3.
	if got := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("acceptKey = %q", got)
	}
}

func TestSelectSubprotocolPrefersOurOrder(t *testing.T) {
	tests := []struct {
		offered string
		ours    []string
		want    string
	}{
		{"chat, rallypoint.v1", []string{"rallypoint.v1", "chat"}, "rallypoint.v1"},
		{"chat", []string{"rallypoint.v1"}, ""},
		{"", []string{"rallypoint.v1"}, ""},
		{"rallypoint.v1", nil, ""},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.offered != "" {
			h.Set("Sec-WebSocket-Protocol", tt.offered)
		}
		if got := selectSubprotocol(h, tt.ours); got != tt.want {
			t.Errorf("offered %q, ours %v: got %q, want %q", tt.offered, tt.ours, got, tt.want)
		}
	}
}
