package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"page/index.html":   {Data: []byte("<!doctype html><script type=module src=./app.js></script>")},
		"page/app.js":       {Data: []byte("export const x = 1;")},
		"page/css/site.css": {Data: []byte("body{}")},
		"other.txt":         {Data: []byte("not served")},
	}
	h, err := Files(fsys, "page", Options{ContentSecurityPolicy: StrictPolicy})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path string
		status       int
		ctype, body  string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", "<!doctype html>"},
		{"GET", "/index.html", 200, "text/html; charset=utf-8", "<!doctype html>"},
		{"HEAD", "/app.js", 200, "text/javascript; charset=utf-8", ""},
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8", "export const"},
		{"GET", "/css/site.css", 200, "text/css; charset=utf-8", "body{}"},
		{"GET", "/other.txt", 404, "", ""},
		{"GET", "/../other.txt", 404, "", ""},
		{"GET", "/page/app.js", 404, "", ""},
		{"POST", "/", 405, "", ""},
		{"DELETE", "/missing", 405, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Fatalf("405 without Allow: %v", rec.Header())
			}
			if tc.status != 200 {
				return
			}
			hd := rec.Header()
			if hd.Get("Content-Type") != tc.ctype || hd.Get("Cache-Control") != "no-cache" ||
				hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("ETag") == "" {
				t.Fatalf("headers %v", hd)
			}
			if csp := hd.Get("Content-Security-Policy"); (csp == StrictPolicy) != strings.HasPrefix(tc.ctype, "text/html") {
				t.Fatalf("Content-Security-Policy %q on %s", csp, tc.ctype)
			}
			if !strings.HasPrefix(rec.Body.String(), tc.body) {
				t.Fatalf("body %q", rec.Body.String())
			}
		})
	}
}

func TestETagRevalidates(t *testing.T) {
	h := File("rallypoint.js", []byte("export {};"), Options{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/client/rallypoint.js", nil))
	etag := rec.Header().Get("ETag")
	if rec.Code != 200 || etag != ETag([]byte("export {};")) || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	for _, tc := range []struct {
		inm  string
		want int
	}{{etag, http.StatusNotModified}, {`"other"`, http.StatusOK}, {"*", http.StatusNotModified}} {
		req := httptest.NewRequest("GET", "/client/rallypoint.js", nil)
		req.Header.Set("If-None-Match", tc.inm)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Fatalf("If-None-Match %s: %d, want %d", tc.inm, rec.Code, tc.want)
		}
	}
}

func TestFilesRefusesUnknownTypesAndEmptyDirs(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"unknown type": {"page/index.html": {Data: []byte("x")}, "page/run.exe": {Data: []byte("MZ")}},
		"empty":        {"elsewhere/index.html": {Data: []byte("x")}},
	} {
		if _, err := Files(fsys, "page", Options{}); err == nil {
			t.Errorf("%s: Files accepted it", name)
		}
	}
}
