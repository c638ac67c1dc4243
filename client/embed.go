// Package client holds the Rallypoint browser SDK, built from the TypeScript sources in this
// folder (src/, see README.md) into dist/rallypoint.js, and embedded here so that a Go
// binary serves it without npm. It is unrelated to engine/client, the Go client of the same
// protocol.
package client

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

// JS is the SDK: one ES module (dist/rallypoint.js). Do not modify it.
//
//go:embed dist/rallypoint.js
var JS []byte

// etag is a strong validator of JS: its SHA-256.
var etag = func() string {
	sum := sha256.Sum256(JS)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// ETag is the strong entity tag Handler serves JS with.
func ETag() string { return etag }

// Handler serves JS (at whatever path it is mounted, e.g. /client/rallypoint.js) as
// text/javascript with a strong ETag; browsers revalidate it on every load (no-cache) and
// get 304 Not Modified while it is unchanged. It answers GET and HEAD.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("ETag", etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "rallypoint.js", time.Time{}, bytes.NewReader(JS))
	})
}
