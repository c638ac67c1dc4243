package ws

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DialOptions configures the client side of the opening handshake.
type DialOptions struct {
	// Header is added to the handshake request (Origin, Authorization, cookies...).
	Header http.Header
	// Subprotocols are offered in order; the server's choice must be one of them.
	Subprotocols []string
	// Compression: CompressionDisabled offers no permessage-deflate.
	Compression CompressionOptions
	Limits      Limits
	Metrics     *Metrics
	// NetDialContext dials the TCP connection; nil uses a net.Dialer.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig is used for wss:// URLs.
	TLSConfig *tls.Config
}

// ErrBadHandshake is wrapped by Dial errors caused by the server's response.
var ErrBadHandshake = errors.New("ws: bad handshake response")

// Dial opens a WebSocket connection to a ws:// or wss:// URL (http:// and https:// are taken
// as their WebSocket twins). ctx bounds the whole handshake, and so does
// Limits.HandshakeTimeout. The response is returned even on a refused handshake so that a
// caller can read the status and body.
//
// Per RFC 6455 §4.1, Dial checks that the server switched protocols, echoed the right
// Sec-WebSocket-Accept, chose a subprotocol only from those offered and agreed only to the
// extension parameters we offered; anything else fails the connection.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, *http.Response, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	lim := opts.Limits.withDefaults()
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("ws: dial: %w", err)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "ws"
	case "wss", "https":
		u.Scheme = "wss"
	default:
		return nil, nil, fmt.Errorf("ws: dial: unsupported URL scheme %q", u.Scheme)
	}
	if u.Fragment != "" {
		return nil, nil, errors.New("ws: dial: URL must not have a fragment (RFC 6455 §3)")
	}
	host := u.Host
	if u.Port() == "" {
		if u.Scheme == "wss" {
			host = net.JoinHostPort(u.Hostname(), "443")
		} else {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	ctx, cancel := context.WithTimeout(ctx, lim.HandshakeTimeout)
	defer cancel()

	dial := opts.NetDialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	nc, err := dial(ctx, "tcp", host)
	if err != nil {
		return nil, nil, fmt.Errorf("ws: dial: %w", err)
	}
	if u.Scheme == "wss" {
		cfg := opts.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("ws: dial: TLS: %w", err)
		}
		nc = tc
	}
	// Abort blocking I/O when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c, resp, err := clientHandshake(nc, u, opts, lim)
	if !stop() || err != nil {
		nc.Close()
		if err == nil {
			err = ctx.Err()
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("ws: dial: %w (%v)", ctxErr, err)
		}
		return nil, resp, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, resp, nil
}

func clientHandshake(nc net.Conn, u *url.URL, opts *DialOptions, lim Limits) (*Conn, *http.Response, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, nil, err
	}
	key := base64.StdEncoding.EncodeToString(raw[:])
	cfg := opts.Compression.config()

	var b strings.Builder
	b.WriteString("GET ")
	b.WriteString(u.RequestURI())
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(u.Host)
	b.WriteString("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ")
	b.WriteString(key)
	b.WriteString("\r\n")
	if len(opts.Subprotocols) > 0 {
		b.WriteString("Sec-WebSocket-Protocol: ")
		b.WriteString(strings.Join(opts.Subprotocols, ", "))
		b.WriteString("\r\n")
	}
	if opts.Compression.Mode != CompressionDisabled {
		b.WriteString("Sec-WebSocket-Extensions: ")
		b.WriteString(deflateOffer(cfg))
		b.WriteString("\r\n")
	}
	for k, vs := range opts.Header {
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\r\n")
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(nc, b.String()); err != nil {
		return nil, nil, fmt.Errorf("ws: dial: write request: %w", err)
	}

	br := bufio.NewReaderSize(&headerLimiter{r: nc, left: lim.MaxHeaderBytes + 512}, 4096)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet, URL: u})
	if err != nil {
		return nil, nil, fmt.Errorf("ws: dial: read response: %w", err)
	}
	fail := func(format string, args ...any) (*Conn, *http.Response, error) {
		return nil, resp, fmt.Errorf("%w: "+format, append([]any{ErrBadHandshake}, args...)...)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		// Keep a little of the body for the caller's error message.
		body, _ := io.ReadAll(io.LimitReader(br, 1024))
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		return fail("status %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if !hasToken(resp.Header, "Upgrade", "websocket") || !hasToken(resp.Header, "Connection", "upgrade") {
		return fail("missing Upgrade/Connection headers")
	}
	if resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		return fail("wrong Sec-WebSocket-Accept")
	}
	sub := resp.Header.Get("Sec-WebSocket-Protocol")
	if sub != "" {
		ok := false
		for _, p := range opts.Subprotocols {
			ok = ok || p == sub
		}
		if !ok {
			return fail("server chose subprotocol %q, which was not offered", sub)
		}
	}
	exts, err := parseExtensions(resp.Header.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return fail("malformed Sec-WebSocket-Extensions: %v", err)
	}
	var dp deflateParams
	useDeflate := false
	if len(exts) > 0 {
		if opts.Compression.Mode == CompressionDisabled {
			return fail("server agreed to extensions that were not offered")
		}
		dp, useDeflate, err = acceptDeflateResponse(exts, cfg)
		if err != nil {
			return fail("%v", err)
		}
	}
	if headerBytes(resp.Header) > lim.MaxHeaderBytes {
		return fail("response headers larger than %d bytes", lim.MaxHeaderBytes)
	}
	c := newConn(nc, false, lim, opts.Metrics)
	c.subprotocol = sub
	if useDeflate {
		c.useDeflate(dp, opts.Compression)
	}
	keepBuffered(c, br)
	c.metrics.Dialed.Add(1)
	return c, resp, nil
}

// headerLimiter stops a server that sends an endless response header.
type headerLimiter struct {
	r    io.Reader
	left int
}

func (h *headerLimiter) Read(p []byte) (int, error) {
	if h.left <= 0 {
		return 0, errors.New("ws: dial: response headers too large")
	}
	if len(p) > h.left {
		p = p[:h.left]
	}
	n, err := h.r.Read(p)
	h.left -= n
	return n, err
}
