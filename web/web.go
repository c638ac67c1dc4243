// Package web serves a game's browser page from files embedded in the binary, so that a Go
// server ships its pages, like the SDK, without npm or a file tree beside it.
//
// Every file is read once and gets a strong ETag (a hash of its content) and
// Cache-Control: no-cache: a browser revalidates on each load and gets 304 Not Modified until
// the server is rebuilt with a new page, never a stale script talking to a newer server.
// Content types come from a fixed table, not from mime.TypeByExtension, which reads the
// host's tables: on some machines those map .js to a type browsers refuse to run as a
// module. Responses carry X-Content-Type-Options: nosniff; only GET and HEAD are answered.
package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Types are the Content-Types of the files a page may ship; other files are not served.
var Types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
	".ts":   "text/plain; charset=utf-8", // a page's generated types.d.ts (state/tsgen), for editors and readers
}

// Options configures Files and File.
type Options struct {
	// ContentSecurityPolicy is sent with HTML files when set (with Referrer-Policy:
	// same-origin). StrictPolicy suits a page whose scripts and styles are all files of
	// its own.
	ContentSecurityPolicy string
}

// StrictPolicy allows the page's own scripts, styles and WebSocket only ('self' covers ws://
// and wss:// to the same host), so that text from other players could never run as script
// even if a page had a bug that let it into the HTML.
const StrictPolicy = "default-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// file is one page file with everything a response needs, computed once.
type file struct {
	name  string // for http.ServeContent's Range handling
	body  []byte
	ctype string
	etag  string
}

// handler serves a fixed set of files by path.
type handler struct {
	files map[string]*file
	opts  Options
}

// ETag is the strong entity tag of body: a hash of it, quoted.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// Files serves the files under dir in fsys (typically an embed.FS): "/" is index.html, and
// every file is at its path relative to dir. Mount it under a folder with the prefix
// stripped, e.g. mux.Handle("/game/", http.StripPrefix("/game/", h)); a page that loads its
// scripts by relative URLs must then be reached with the trailing slash (ServeMux redirects
// /game there by itself). Files of a type not in Types make it fail.
func Files(fsys fs.FS, dir string, opts Options) (http.Handler, error) {
	h := &handler{files: map[string]*file{}, opts: opts}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		ctype, ok := Types[path.Ext(p)]
		if !ok {
			return fmt.Errorf("web: %s: no content type for %q files", p, path.Ext(p))
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		h.files[rel] = &file{name: path.Base(p), body: body, ctype: ctype, etag: ETag(body)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(h.files) == 0 {
		return nil, fmt.Errorf("web: no files under %q", dir)
	}
	return h, nil
}

// MustFiles is Files for embedded pages, whose contents are fixed when the binary is built:
// it panics on an error, which a test of the page catches.
func MustFiles(fsys fs.FS, dir string, opts Options) http.Handler {
	h, err := Files(fsys, dir, opts)
	if err != nil {
		panic(err)
	}
	return h
}

// File serves one file, body, with the type of name's extension, at whatever path it is
// mounted (the SDK at /client/rallypoint.js, a start page at /).
func File(name string, body []byte, opts Options) http.Handler {
	f := &file{name: name, body: body, ctype: Types[path.Ext(name)], etag: ETag(body)}
	if f.ctype == "" {
		f.ctype = http.DetectContentType(body)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, f, opts) })
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" {
		name = "index.html"
	}
	f := h.files[name]
	if f == nil {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w)
			return
		}
		http.NotFound(w, r)
		return
	}
	serve(w, r, f, h.opts)
}

func serve(w http.ResponseWriter, r *http.Request, f *file, opts Options) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("ETag", f.etag)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	if opts.ContentSecurityPolicy != "" && strings.HasPrefix(f.ctype, "text/html") {
		hd.Set("Content-Security-Policy", opts.ContentSecurityPolicy)
		hd.Set("Referrer-Policy", "same-origin")
	}
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}

func methodNotAllowed(w http.ResponseWriter) {
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}
