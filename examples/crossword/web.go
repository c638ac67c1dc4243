package crossword

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

// web holds the browser page: index.html, its ES modules and its stylesheet. They import
// the SDK from /client/rallypoint.js and connect to /play on the page's own host, so the
// server that mounts Web must serve both there (cmd/gameserver does).
//
//go:embed web
var web embed.FS

// contentTypes are the types of the files the page ships, set here rather than looked up
// with mime.TypeByExtension, which reads the system's tables: on some machines those map
// .js to something a browser refuses to run as a module.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// webFile is one embedded file, read once, with its strong ETag.
type webFile struct {
	name  string
	body  []byte
	etag  string
	ctype string
}

// webFiles maps a path under web/ ("index.html", "crossword.js") to its file.
var webFiles = func() map[string]*webFile {
	files := map[string]*webFile{}
	err := fs.WalkDir(web, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := web.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "web/")
		files[name] = &webFile{name: name, body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`,
			ctype: contentTypes[path.Ext(p)]}
		return nil
	})
	if err != nil {
		panic("crossword: reading the embedded page: " + err.Error()) // cannot happen: embed.FS
	}
	return files
}()

// pagePolicy is the page's Content-Security-Policy: its own scripts, styles and socket
// only ('self' covers ws:// and wss:// to the same host), so that a player name could
// never run as script even if the page had a bug that let it into the HTML.
const pagePolicy = "default-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Web serves the crossword's browser page: GET / is index.html, and /crossword.js,
// /puzzle.js, /view.js and /crossword.css its parts; anything else is 404. Mount it under
// a prefix with http.StripPrefix, for example
//
//	mux.Handle("/crossword/", http.StripPrefix("/crossword", crossword.Web()))
//
// next to the engine at /play and the SDK at /client/rallypoint.js (client.Handler). The
// page's links are relative, so any prefix works. Files carry a strong ETag and
// Cache-Control: no-cache: browsers revalidate on each load and get 304 Not Modified until
// a new binary ships a new page.
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
		f := webFiles[name]
		if f == nil || f.ctype == "" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		if f.ctype == contentTypes[".html"] {
			h.Set("Content-Security-Policy", pagePolicy)
			h.Set("Referrer-Policy", "same-origin")
		}
		http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
	})
}
