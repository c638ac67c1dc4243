package engine

import (
	"fmt"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// How long a client refused for too many connections is asked to wait (Retry-After, RFC
// 9110 §10.2.3): its own connections free a slot as soon as one closes, the server's as
// players leave, which takes longer.
const (
	connRetryClient = 5
	connRetryServer = 15
)

// refuse answers a request before the upgrade with status, a Retry-After in seconds (0 for
// none) and a plain-text reason.
func refuse(w http.ResponseWriter, status, retryAfter int, reason string) {
	h := w.Header()
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfter))
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Connection", "close")
	w.WriteHeader(status)
	fmt.Fprintln(w, reason)
}

// checkHost applies Options.PublicHosts to a browser request: its Host must be a pinned
// name, so that a page whose own name was made to resolve to this server (DNS rebinding)
// is refused even though its Origin and Host agree. The Origin itself is checked by
// ws.Serve, against the Host and Accept.OriginPatterns, which include the pinned names.
func (e *Engine) checkHost(w http.ResponseWriter, r *http.Request) bool {
	if len(e.publicHosts) == 0 || r.Header.Get("Origin") == "" {
		return true
	}
	for _, p := range e.publicHosts {
		if hostMatches(p, r.Host) {
			return true
		}
	}
	reason := fmt.Sprintf("origin not allowed: Host %q is not one of this server's public names", r.Host)
	e.originRefused(r, reason)
	refuse(w, http.StatusForbidden, 0, reason)
	return false
}

// hostMatches reports whether host (a Host header, with or without a port) matches pattern:
// a path.Match pattern, case-insensitive, which without a port matches any port.
func hostMatches(pattern, host string) bool {
	pattern, host = strings.ToLower(pattern), strings.ToLower(host)
	if _, _, err := net.SplitHostPort(pattern); err != nil {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		pattern = strings.TrimSuffix(strings.TrimPrefix(pattern, "["), "]")
	}
	ok, err := path.Match(pattern, host)
	return err == nil && ok
}

// originRefused counts and logs a refused browser handshake. A hostile page can make every
// visitor's browser try, so the log is rate-limited.
func (e *Engine) originRefused(r *http.Request, reason string) {
	e.metrics.OriginsRefused.Add(1)
	if ok, held := e.originLogs.allow(); ok {
		e.log.Warn("refused a browser connection for its origin", "origin", r.Header.Get("Origin"),
			"host", r.Host, "remote", r.RemoteAddr, "reason", reason, "suppressed", held)
	}
}
