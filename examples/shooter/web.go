package shooter

import (
	"embed"
	"net/http"

	"github.com/rallypoint/rallypoint/web"
)

// webFiles is the browser page: index.html, shooter.js (rendering, input, prediction) and
// sim.js (the movement step, bit-exact with Step). Plain ES modules, no build step: they
// import the SDK from /client/rallypoint.js, which the server serves with client.Handler.
//
//go:embed web
var webFiles embed.FS

var page = web.MustFiles(webFiles, "web", web.Options{})

// Web serves the shooter's browser page: index.html at the root it is mounted on, and the
// scripts next to it. Mount it under a folder with the prefix stripped, beside the engine
// at /play and the SDK at /client/rallypoint.js (the page connects to both on its own
// host):
//
//	mux.Handle("/play", e)
//	mux.Handle("/client/rallypoint.js", client.Handler())
//	mux.Handle("/shooter/", http.StripPrefix("/shooter/", shooter.Web()))
//
// The page loads its scripts by relative URLs, so the folder must be reached with its
// trailing slash (ServeMux redirects /shooter to /shooter/ by itself).
//
// Files are served by package web: strong ETags, no-cache, fixed content types, GET and
// HEAD only; anything else under it is 404.
func Web() http.Handler { return page }
