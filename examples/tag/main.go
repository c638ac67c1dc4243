// Tag is the game docs/first-game.md builds: runners on a field, one of them "it", who passes
// it on by touching another. It is a whole server of its own, written against Rallypoint's
// public API only:
//
//	go run ./examples/tag            # then open http://localhost:8081 in two windows
//	go run ./examples/tag -addr :9000
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rallypoint/rallypoint/client"
	"github.com/rallypoint/rallypoint/engine"
	"github.com/rallypoint/rallypoint/match"
	"github.com/rallypoint/rallypoint/web"
)

//go:embed web
var pageFiles embed.FS

// newServer registers the game with the engine, turns on matchmaking and mounts what a
// browser needs: the page, the SDK, the game endpoint and the room listing.
func newServer(log *slog.Logger) (*engine.Engine, http.Handler, error) {
	e := engine.New(engine.Options{Logger: log})
	room := engine.RoomConfig{TickRate: TickRate, MaxPlayers: 8, Schema: Schema}
	if err := engine.Register(e, "tag", room, New); err != nil {
		return nil, nil, err
	}
	// "Find a match": two to eight players, into a running field with room first.
	queue := match.QueueConfig{Mode: "tag", MinPlayers: 2, MaxPlayers: 8, Backfill: true}
	if err := e.EnableMatchmaking(engine.MatchmakingOptions{Queues: []match.QueueConfig{queue}}); err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/play", e)
	mux.Handle("/rooms", e.RoomsHandler())
	mux.Handle("/client/rallypoint.js", client.Handler())
	mux.Handle("/", web.MustFiles(pageFiles, "web", web.Options{ContentSecurityPolicy: web.StrictPolicy}))
	return e, mux, nil
}

func main() {
	addr := flag.String("addr", ":8081", "listen address")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	e, handler, err := newServer(log)
	if err != nil {
		log.Error("tag: cannot start", "err", err)
		os.Exit(1)
	}
	srv := &http.Server{Addr: *addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		// Rooms end with close 1001, then the HTTP server stops.
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Shutdown(shutdown)
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("tag: serving", "addr", *addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Error("tag: serve", "err", err)
		os.Exit(1)
	}
}
