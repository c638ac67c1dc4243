package shooter

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// webFiles is the browser page: index.html, shooter.js (rendering, input, prediction) and
// sim.js (the movement step, bit-exact with Step). Plain ES modules, no build step: they
// import the SDK from /client/rallypoint.js, which the server serves with client.Handler.
//
//go:embed web
var webFiles embed.FS

// webFile is one page file with everything a response needs, computed once.
type webFile struct {
	name  string // for http.ServeContent's Range handling
	body  []byte
	ctype string
	etag  string
}

// webTypes are the Content-Types of the page's files. Browsers refuse to run a module
// script served with a non-JavaScript type, so .js must not be left to sniffing (and
// mime.TypeByExtension depends on the host's /etc/mime.types).
var webTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

// webIndex maps a request path inside the page ("index.html", "shooter.js") to its file.
var webIndex = func() map[string]*webFile {
	m := map[string]*webFile{}
	err := fs.WalkDir(webFiles, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := webFiles.ReadFile(p)
		if err != nil {
			return err
		}
		ctype, ok := webTypes[path.Ext(p)]
		if !ok {
			ctype = http.DetectContentType(body)
		}
		sum := sha256.Sum256(body)
		m[strings.TrimPrefix(p, "web/")] = &webFile{
			name:  path.Base(p),
			body:  body,
			ctype: ctype,
			etag:  `"` + hex.EncodeToString(sum[:16]) + `"`,
		}
		return nil
	})
	if err != nil {
		panic("shooter: reading the embedded page: " + err.Error()) // cannot happen with go:embed
	}
	return m
}()

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
// Every file has a strong ETag (a hash of its content) and Cache-Control: no-cache, so a
// browser revalidates on each load and gets 304 Not Modified until the server is rebuilt
// with a new page: never a stale script talking to a newer server. It answers GET and
// HEAD; anything else under it is 404.
func Web() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "" {
			name = "index.html"
		}
		f, ok := webIndex[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
	})
}
