package main

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

// startPage is the page at /: a link to each game with live counts from /rooms (it fetches
// them itself) and links to the other endpoints. One self-contained file: its style and
// script are inline.
//
//go:embed site/index.html
var startPage []byte

var startPageETag = func() string {
	sum := sha256.Sum256(startPage)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// serveStartPage answers GET / (and HEAD); the route is registered for "/" exactly, so
// other unknown paths stay 404.
func serveStartPage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("ETag", startPageETag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(startPage))
}
