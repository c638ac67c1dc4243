// Package client holds the Rallypoint browser SDK, built from the TypeScript sources in this
// folder (src/, see README.md) into dist/rallypoint.js, and embedded here so that a Go
// binary serves it without npm. The Go client of the same protocol is package gameclient.
package client

import (
	_ "embed"
	"net/http"

	"github.com/rallypoint/rallypoint/web"
)

// JS is the SDK: one ES module (dist/rallypoint.js). Do not modify it.
//
//go:embed dist/rallypoint.js
var JS []byte

var etag = web.ETag(JS)

// ETag is the strong entity tag Handler serves JS with.
func ETag() string { return etag }

var handler = web.File("rallypoint.js", JS, web.Options{})

// Handler serves JS (at whatever path it is mounted, e.g. /client/rallypoint.js) as
// text/javascript with a strong ETag; browsers revalidate it on every load (no-cache) and
// get 304 Not Modified while it is unchanged. It answers GET and HEAD.
func Handler() http.Handler { return handler }
