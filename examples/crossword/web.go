package crossword

import (
	"embed"
	"net/http"

	"github.com/rallypoint/rallypoint/web"
)

// pageFiles holds the browser page: index.html, its ES modules and its stylesheet. They
// import the SDK from /client/rallypoint.js and connect to /play on the page's own host, so
// the server that mounts Web must serve both there (cmd/gameserver does).
//
//go:embed web
var pageFiles embed.FS

var page = web.MustFiles(pageFiles, "web", web.Options{ContentSecurityPolicy: web.StrictPolicy})

// Web serves the crossword's browser page: GET / is index.html, and /crossword.js,
// /puzzle.js, /view.js and /crossword.css its parts; anything else is 404. Mount it under
// a prefix with http.StripPrefix, for example
//
//	mux.Handle("/crossword/", http.StripPrefix("/crossword", crossword.Web()))
//
// next to the engine at /play and the SDK at /client/rallypoint.js (client.Handler). The
// page's links are relative, so any prefix works. Files are served by package web (strong
// ETags, no-cache, fixed content types), the HTML with web.StrictPolicy as its
// Content-Security-Policy: the page's own scripts, styles and socket only, so that a player
// name could never run as script even if the page had a bug that let it into the HTML.
func Web() http.Handler { return page }
