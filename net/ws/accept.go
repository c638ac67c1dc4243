package ws

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/rallypoint/rallypoint/internal/bpool"
)

// AcceptOptions configures the server side of the opening handshake. The zero value accepts
// same-host origins, no subprotocol, and permessage-deflate without context takeover.
type AcceptOptions struct {
	// Subprotocols are the subprotocols this server speaks, in order of preference; the
	// first one the client also offered is selected (RFC 6455 §4.2.2 step 5.4/§1.9). A client
	// offering none of them is still accepted, with no subprotocol: check Conn.Subprotocol
	// when you require one.
	Subprotocols []string
	// OriginPatterns are host patterns (path.Match syntax, e.g. "*.example.com",
	// "localhost:*") from which browsers may connect besides the request's own host.
	// Browsers send Origin; a cross-origin request from an origin not listed is refused with
	// 403, which stops other sites from using a visitor's browser against this server
	// (RFC 6455 §10.2). Requests without Origin (non-browser clients) are accepted.
	OriginPatterns []string
	// InsecureSkipOriginCheck accepts every origin. Only for servers that authenticate by
	// something a foreign page cannot send (not cookies).
	InsecureSkipOriginCheck bool
	Compression             CompressionOptions
	Limits                  Limits
	Metrics                 *Metrics
	// ResponseHeader is added to the 101 response (e.g. Set-Cookie).
	ResponseHeader http.Header
}

// HandshakeError is returned by Serve when it refused the request; the HTTP response with
// Status has already been written.
type HandshakeError struct {
	Status int
	Reason string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("ws: handshake refused: %d %s: %s", e.Status, http.StatusText(e.Status), e.Reason)
}

// accept validates the opening handshake of r (RFC 6455 §4.2.1), answers 101 Switching
// Protocols and takes over the connection (Serve documents the refusals). It hijacks through
// http.ResponseController, so it works through middleware that wraps the ResponseWriter.
// Bytes the client sent right after its request are kept.
//
// It is not exported: a server connection read by a ReadMessage loop of the caller's keeps a
// goroutine per connection (inside the HTTP handler, net/http's, with its deep stack), which
// bench/idlemem measured at 18.4 KiB of RSS per idle connection against about 4 through Serve.
func accept(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	if opts == nil {
		opts = &AcceptOptions{}
	}
	lim := opts.Limits.withDefaults()
	m := opts.Metrics
	if m == nil {
		m = DefaultMetrics
	}
	refuse := func(status int, reason string, hdr ...string) (*Conn, error) {
		m.Refused.Add(1)
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		fmt.Fprintln(w, reason)
		return nil, &HandshakeError{Status: status, Reason: reason}
	}
	// RFC 6455 §4.2.1: an HTTP/1.1 or higher GET request.
	if r.Method != http.MethodGet {
		return refuse(http.StatusMethodNotAllowed, "WebSocket handshake must be a GET request", "Allow", http.MethodGet)
	}
	if !r.ProtoAtLeast(1, 1) {
		return refuse(http.StatusBadRequest, "WebSocket handshake requires HTTP/1.1")
	}
	if headerBytes(r.Header) > lim.MaxHeaderBytes {
		return refuse(http.StatusRequestHeaderFieldsTooLarge, "request headers too large")
	}
	if !hasToken(r.Header, "Upgrade", "websocket") {
		return refuse(http.StatusBadRequest, `missing "Upgrade: websocket" header`)
	}
	if !hasToken(r.Header, "Connection", "upgrade") {
		return refuse(http.StatusBadRequest, `missing "Connection: Upgrade" header`)
	}
	// §4.2.2: a version we do not speak gets 426 with the versions we do.
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		if len(v) == 0 {
			return refuse(http.StatusBadRequest, "missing Sec-WebSocket-Version header", "Sec-WebSocket-Version", "13")
		}
		return refuse(http.StatusUpgradeRequired, "unsupported WebSocket version; this server speaks 13", "Sec-WebSocket-Version", "13")
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 || !validKey(strings.TrimSpace(keys[0])) {
		return refuse(http.StatusBadRequest, "missing or invalid Sec-WebSocket-Key (must be the base64 of 16 bytes)")
	}
	key := strings.TrimSpace(keys[0])
	if !opts.InsecureSkipOriginCheck {
		if err := checkOrigin(r, opts.OriginPatterns); err != nil {
			return refuse(http.StatusForbidden, err.Error())
		}
	}

	subprotocol := selectSubprotocol(r.Header, opts.Subprotocols)

	var dp deflateParams
	useDeflate := false
	if opts.Compression.Mode != CompressionDisabled {
		exts, err := parseExtensions(r.Header.Values("Sec-WebSocket-Extensions"))
		if err != nil {
			return refuse(http.StatusBadRequest, "malformed Sec-WebSocket-Extensions header: "+err.Error())
		}
		dp, useDeflate = negotiateDeflate(exts, opts.Compression.config())
	}

	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return refuse(http.StatusInternalServerError, "connection cannot be taken over: "+err.Error())
	}
	// Write the 101 response straight to the socket (RFC 6455 §4.2.2 step 5).
	buf := bpool.Get(256)
	b := append(*buf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = append(b, acceptKey(key)...)
	b = append(b, "\r\n"...)
	if subprotocol != "" {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		b = append(b, subprotocol...)
		b = append(b, "\r\n"...)
	}
	if useDeflate {
		b = append(b, "Sec-WebSocket-Extensions: "...)
		b = append(b, dp.String()...)
		b = append(b, "\r\n"...)
	}
	for k, vs := range opts.ResponseHeader {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	*buf = b
	_ = nc.SetDeadline(time.Now().Add(lim.HandshakeTimeout))
	_, err = nc.Write(b)
	bpool.Put(buf)
	_ = nc.SetDeadline(time.Time{})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("ws: write handshake response: %w", err)
	}

	c := newConn(nc, true, lim, m)
	c.subprotocol = subprotocol
	if useDeflate {
		c.useDeflate(dp, opts.Compression)
	}
	keepBuffered(c, brw.Reader)
	m.Accepted.Add(1)
	return c, nil
}

// keepBuffered moves bytes the HTTP server had already read past the handshake (a client may
// send its first frames right behind the request) into the connection's read buffer.
func keepBuffered(c *Conn, br *bufio.Reader) {
	if br == nil {
		return
	}
	if n := br.Buffered(); n > 0 {
		p, _ := br.Peek(n)
		c.r.buf = bpool.Get(max(n, readBufSize))
		*c.r.buf = append(*c.r.buf, p...)
	}
}

var errOriginRefused = errors.New("origin not allowed")

// checkOrigin applies the Origin policy: no Origin (not a browser), the request's own host,
// or a host matching one of the patterns.
func checkOrigin(r *http.Request, patterns []string) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: malformed Origin %q", errOriginRefused, origin)
	}
	if strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(p), strings.ToLower(target)); err == nil && ok {
			return nil
		}
	}
	return fmt.Errorf("%w: %q is not %q and matches no allowed pattern", errOriginRefused, u.Host, r.Host)
}

// selectSubprotocol picks the first of ours that the client offered.
func selectSubprotocol(h http.Header, ours []string) string {
	if len(ours) == 0 {
		return ""
	}
	offered := headerTokens(h, "Sec-WebSocket-Protocol")
	for _, p := range ours {
		for _, o := range offered {
			if o == p {
				return p
			}
		}
	}
	return ""
}
