package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"

	"github.com/rallypoint/rallypoint/net/netsim"
)

// The bots' simulated network path. With any -net-* flag, loadgen starts a net/netsim proxy
// in front of the server and the bots' TCP dials go to it instead. Only the dial changes:
// the URL, the Host header, the Origin and the TLS server name stay the server's, so the
// server sees the browsers it expects and a wss:// server works through the path too. The
// -metrics-url scrape stays direct: it measures the server, not the path.
//
// The proxy runs in the load generator's process and costs four goroutines and at least 8
// KiB of buffers per bot (net/netsim's doc), so very large runs through it measure the
// load generator as much as the path.

// netProfile returns the path cfg asks for, and whether it asks for one. Both directions
// are the same; the seed is the run's, so a seeded run draws the same delays.
func (cfg *config) netProfile() (netsim.Profile, bool) {
	l := netsim.Link{Delay: cfg.NetDelay, Jitter: cfg.NetJitter, Loss: cfg.NetLoss, Bandwidth: cfg.NetBandwidth}
	if l == (netsim.Link{}) {
		return netsim.Profile{}, false
	}
	return netsim.Profile{Up: l, Down: l, Seed: cfg.Seed}, true
}

// startNetPath starts the proxy when the config asks for a path, points the bots' dials at
// it and says so on progress. It returns nil when there is no path; the caller closes the
// proxy at the end of the run.
func (r *runner) startNetPath(progress io.Writer) (*netsim.Proxy, error) {
	p, ok := r.cfg.netProfile()
	if !ok {
		return nil, nil
	}
	target, err := serverAddr(r.cfg.URL)
	if err != nil {
		return nil, err
	}
	px, err := netsim.Listen("127.0.0.1:0", target, p)
	if err != nil {
		return nil, fmt.Errorf("-net-*: %w", err)
	}
	addr := px.Addr().String()
	r.netDial = func(ctx context.Context, network, to string) (net.Conn, error) {
		var d net.Dialer
		if to != target {
			// Another node of a cluster, reached by a redirect: the path fronts -url only,
			// so this connection goes direct.
			return d.DialContext(ctx, network, to)
		}
		return d.DialContext(ctx, network, addr)
	}
	fmt.Fprintf(progress, "loadgen: bots connect through netsim %s -> %s, %s\n", addr, target, p)
	return px, nil
}

// serverAddr is the host:port a normalized ws:// or wss:// URL dials.
func serverAddr(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("-url: %w", err)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "wss" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}
