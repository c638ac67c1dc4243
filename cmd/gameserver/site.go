package main

import (
	_ "embed"

	"github.com/rallypoint/rallypoint/web"
)

// startPage is the page at /: a link to each game with live counts from /rooms (it fetches
// them itself) and links to the other endpoints. One self-contained file: its style and
// script are inline.
//
//go:embed site/index.html
var startPage []byte

// serveStartPage answers GET / (and HEAD); the route is registered for "/" exactly, so
// other unknown paths stay 404.
var serveStartPage = web.File("index.html", startPage, web.Options{})
