// Command gameserver runs Rallypoint on its embedded defaults.
//
//	go run ./cmd/gameserver            # listens on :8080
//	go run ./cmd/gameserver -addr 127.0.0.1:9000
//
// It serves /echo, a WebSocket echo service in the manner of the public ones WebSocket
// developers test against, and /healthz. SIGINT or SIGTERM shuts it down gracefully: every
// WebSocket client gets close 1001 (going away) and in-flight HTTP requests finish.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "addr", *addr, "err", err)
		os.Exit(1)
	}
	if err := run(ctx, ln, log); err != nil {
		log.Error("server stopped", "err", err)
		os.Exit(1)
	}
}

// run serves on ln until ctx ends, then shuts down gracefully.
func run(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	s := newServer(log)
	hs := &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("rallypoint listening", "addr", ln.Addr().String(), "echo", fmt.Sprintf("ws://%s/echo", ln.Addr()))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Hijacked WebSocket connections are not tracked by http.Server: close them ourselves.
	// Rooms run a last tick, so inputs already received are applied, then say 1001.
	if err := s.engine.Shutdown(shutdownCtx); err != nil {
		log.Warn("rooms did not all end in time", "err", err)
	}
	s.closeAll(shutdownCtx)
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
