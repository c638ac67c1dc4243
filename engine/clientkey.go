package engine

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientKey is who a request comes from, for every per-client limit (connections, join-code
// guesses, and any limit an embedder adds): one function, so that the limits agree on who a
// client is.
//
//   - The peer's address, unless it is one of Options.TrustedProxies: then the address that
//     proxy says it forwarded for (Options.ForwardedHeader), walking the header from its
//     right end, the hop the nearest proxy added, past further trusted proxies. Entries a
//     client wrote itself sit further left and are never reached unless every hop to
//     their right is trusted; a hop that is not an address ("unknown", an obfuscated
//     identifier, RFC 7239 §6.3) stops the walk at the proxy that forwarded it.
//   - An IPv4 address is its own key. An IPv6 address is keyed by its network, the first
//     Options.IPv6Prefix bits (default 64): an end site is given at least a /64 (RFC 6177),
//     so one host has 2^64 addresses to rotate through and a per-address limit would be
//     none. The cost is that hosts sharing a /64 share their limits, as hosts behind one
//     IPv4 NAT always have.
//
// Without trusted proxies, every client behind a reverse proxy has the proxy's key, so one
// of them can spend everyone's allowance: configure the proxies.
func (e *Engine) ClientKey(r *http.Request) string {
	ip, ok := parseNode(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if e.trusted(ip) {
		hops := forwardedHops(r.Header, e.fwdHeader)
		for i := len(hops) - 1; i >= 0 && e.trusted(ip); i-- {
			next, ok := parseNode(hops[i])
			if !ok {
				break
			}
			ip = next
		}
	}
	return e.keyOf(ip)
}

func (e *Engine) trusted(ip netip.Addr) bool {
	for _, p := range e.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (e *Engine) keyOf(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.WithZone("").Prefix(e.v6Prefix)
	if err != nil {
		return ip.String()
	}
	return p.String()
}

// parseNode reads an address as proxies write it: "192.0.2.1", "192.0.2.1:4711",
// "2001:db8::1", "[2001:db8::1]:4711", optionally in double quotes (RFC 7239 §6).
func parseNode(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

// forwardedHops lists the hops of the forwarding header, first (client side) to last.
// For Forwarded (RFC 7239 §4) a hop is its element's for= value, "" when it has none; for
// X-Forwarded-For, each comma-separated entry.
func forwardedHops(h http.Header, header string) []string {
	var hops []string
	if header == "Forwarded" {
		for _, line := range h.Values("Forwarded") {
			for _, elem := range splitQuoted(line, ',') {
				var hop string
				for _, pair := range splitQuoted(elem, ';') {
					k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						hop = v
					}
				}
				hops = append(hops, hop)
			}
		}
		return hops
	}
	for _, line := range h.Values(header) {
		hops = append(hops, strings.Split(line, ",")...)
	}
	return hops
}

// splitQuoted splits s at sep outside double-quoted strings (RFC 7230 §3.2.6 quoted-string,
// with backslash escapes).
func splitQuoted(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
