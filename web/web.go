// Package web serves the embedded browser pages of vclinic — the patient's visit
// page, the clinician's call page and day list (console), the scheduler's
// calendar, the clinic's configuration (admin), its review figures and the
// sign-in page — and their static assets (plain ES modules and style sheets,
// no build step); it imports nothing of vclinic. It knows nothing of tokens, rooms, the
// signaling server or the REST API: the pages read an access token from the
// link's fragment or rely on the session cookie, and speak the signaling
// protocol and the API themselves.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed static
var embedded embed.FS

// ContentSecurityPolicy is sent with every page of a request to host. It
// allows scripts, styles and connections only from this origin, the
// signaling WebSocket of this host included (wss:, and ws: when the page
// itself came over plain HTTP), so no inline script or style may appear in
// the pages and no script could talk to another host.
func ContentSecurityPolicy(host string, tls bool) string {
	ws := "wss://" + host
	if !tls {
		ws += " ws://" + host
	}
	return "default-src 'self'; connect-src 'self' " + ws + "; " +
		"media-src 'self' blob: mediastream:; img-src 'self' data:; style-src 'self'; " +
		"script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
		"frame-ancestors 'none'"
}

// maxAssetMaxAge bounds Config.AssetMaxAge.
const maxAssetMaxAge = 365 * 24 * time.Hour

// Config configures the pages. The zero value is ready to use.
type Config struct {
	// AssetMaxAge is how long a browser may use a static asset without asking
	// again. Zero, the default, makes it revalidate every time with the asset's
	// ETag: one small round trip per file, but old and new modules never mix
	// after an upgrade, since asset names carry no version.
	AssetMaxAge time.Duration
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.AssetMaxAge < 0 || c.AssetMaxAge > maxAssetMaxAge {
		return fmt.Errorf("web: AssetMaxAge %v: want 0 to %v", c.AssetMaxAge, maxAssetMaxAge)
	}
	return nil
}

// Web serves the pages and assets. It holds no mutable state; its handlers are
// safe for concurrent use.
type Web struct {
	assetCache string
	assets     map[string]*asset // by name under static/, pages excluded
	pages      map[string]*asset // by file name: visit.html, call.html, ...
}

// pageFiles names the embedded pages; each is served only at its route.
var pageFiles = []string{"visit.html", "call.html", "login.html", "console.html", "calendar.html", "admin.html", "patient.html", "review.html", "triage.html"}

// Permissions-Policy values: only the call pages may use the camera and
// microphone, and only the clinician's may share a screen.
const (
	callPermissions      = "camera=(self), microphone=(self), display-capture=(), geolocation=()"
	clinicianPermissions = "camera=(self), microphone=(self), display-capture=(self), geolocation=()"
	staffPermissions     = "camera=(), microphone=(), display-capture=(), geolocation=()"
)

// asset is one embedded file, ready to send.
type asset struct {
	name        string
	contentType string
	body        []byte
	etag        string
	gzipBody    []byte // nil when compression does not pay
	gzipETag    string
}

// New reads the embedded files and prepares them for serving.
func New(cfg Config) (*Web, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Web{assets: map[string]*asset{}, pages: map[string]*asset{}, assetCache: "no-cache"}
	if cfg.AssetMaxAge > 0 {
		w.assetCache = "public, max-age=" + strconv.Itoa(int(cfg.AssetMaxAge/time.Second))
	}
	err := fs.WalkDir(embedded, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		a, err := newAsset(p)
		if err != nil {
			return err
		}
		if path.Ext(a.name) == ".html" {
			w.pages[a.name] = a
		} else {
			w.assets[a.name] = a
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read embedded files: %w", err)
	}
	for _, name := range pageFiles {
		if w.pages[name] == nil {
			return nil, fmt.Errorf("web: embedded page %s missing", name)
		}
	}
	return w, nil
}

func newAsset(p string) (*asset, error) {
	body, err := embedded.ReadFile(p)
	if err != nil {
		return nil, err
	}
	a := &asset{
		name:        strings.TrimPrefix(p, "static/"),
		contentType: contentType(p),
		body:        body,
		etag:        etag(body, ""),
	}
	if compressible(a.contentType) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", p, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", p, err)
		}
		if buf.Len() < len(body)*9/10 {
			a.gzipBody = buf.Bytes()
			a.gzipETag = etag(body, "-gz")
		}
	}
	return a, nil
}

func etag(body []byte, suffix string) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:12]) + suffix + `"`
}

// contentTypes names the types of the files we embed; anything else is sent as
// application/octet-stream rather than guessed from the host's MIME tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

func contentType(name string) string {
	if t, ok := contentTypes[path.Ext(name)]; ok {
		return t
	}
	return "application/octet-stream"
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || contentType == "image/svg+xml" ||
		contentType == "application/json"
}

// Static serves GET and HEAD for the assets under /static/. Mount it at
// "/static/" as it is; it also accepts paths with that prefix already stripped.
// Pages are not served here, and unknown names get 404.
func (w *Web) Static() http.Handler {
	return http.HandlerFunc(w.serveStatic)
}

func (w *Web) serveStatic(rw http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/static/"), "/")
	a, ok := w.assets[name]
	if !ok || !fs.ValidPath(name) {
		http.NotFound(rw, r)
		return
	}
	h := rw.Header()
	h.Set("Cache-Control", w.assetCache)
	h.Set("X-Content-Type-Options", "nosniff")
	w.serve(rw, r, a)
}

// VisitPage serves the patient's visit page, wired at GET /visit/{room}. The page
// reads the room from its own path and the access token from the link's
// fragment (#t=…), which never reaches the server.
func (w *Web) VisitPage(rw http.ResponseWriter, r *http.Request) {
	w.servePage(rw, r, "visit.html", callPermissions)
}

// CallPage serves the clinician's call page, wired at GET /call/{room}. Like the
// visit page, it takes the access token from the fragment (#t=…) and otherwise
// relies on the session cookie.
func (w *Web) CallPage(rw http.ResponseWriter, r *http.Request) {
	w.servePage(rw, r, "call.html", clinicianPermissions)
}

// LoginPage serves the staff sign-in page, wired at GET /login. It posts to
// /api/v1/login and then goes to ?next= (a path on this site) or to the
// start page of the user's role.
func (w *Web) LoginPage(rw http.ResponseWriter, r *http.Request) {
	w.servePage(rw, r, "login.html", staffPermissions)
}

// ConsolePage serves the clinician's day list, wired at GET /console: today's
// appointments, who is in the waiting room now, Admit and Join.
func (w *Web) ConsolePage(rw http.ResponseWriter, r *http.Request) {
	w.servePage(rw, r, "console.html", staffPermissions)
}

// PatientPage serves the clinician's picture of a patient, wired at GET
// /patients/{id}: the partial early-warning score, 30 days of home readings
// as trends against the patient's limits, the limits to change, and the
// readings outside them to acknowledge.
func (w *Web) PatientPage(rw http.ResponseWriter, r *http.Request) {
	w.servePage(rw, r, "patient.html", staffPermissions)
}

// TriagePage serves the clinician's triage list, wired at GET /triage: their
// patients, most urgent first, with why in words.
func (w *Web) TriagePage(rw http.ResponseWriter, r *http.Request) {
	w.servePage(rw, r, "triage.html", staffPermissions)
}

// CalendarPage serves the scheduler's calendar, wired at GET /calendar: a
// clinician's week, free slots, patients, booking, cancelling and moving.
func (w *Web) CalendarPage(rw http.ResponseWriter, r *http.Request) {
	w.servePage(rw, r, "calendar.html", staffPermissions)
}

// AdminPage serves the clinic's configuration, wired at GET /admin: its
// settings and appointment types, which staff read and admins change.
func (w *Web) AdminPage(rw http.ResponseWriter, r *http.Request) {
	w.servePage(rw, r, "admin.html", staffPermissions)
}

// ReviewPage serves the clinic's review figures ("eftersyn"), wired at GET
// /review: GET /api/v1/stats for a period and grouping as a table, bar
// charts and a CSV export. Staff get the page; only admins get the figures.
func (w *Web) ReviewPage(rw http.ResponseWriter, r *http.Request) {
	w.servePage(rw, r, "review.html", staffPermissions)
}

func (w *Web) servePage(rw http.ResponseWriter, r *http.Request, name, permissions string) {
	h := rw.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy(r.Host, r.TLS != nil))
	// The fragment never travels in a Referer, but the path names the room.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Permissions-Policy", permissions)
	h.Set("Cache-Control", "no-cache")
	w.serve(rw, r, w.pages[name])
}

// serve writes a with its type, ETag and, when the client accepts it, gzip.
func (w *Web) serve(rw http.ResponseWriter, r *http.Request, a *asset) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := rw.Header()
	h.Set("Content-Type", a.contentType)
	body, tag := a.body, a.etag
	if a.gzipBody != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			body, tag = a.gzipBody, a.gzipETag
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", tag)
	http.ServeContent(rw, r, a.name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether Accept-Encoding lists gzip without q=0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
				return false
			}
			return true
		}
	}
	return false
}

// Register mounts the assets and the pages on mux: /static/, GET /visit/{room},
// GET /call/{room}, GET /login, GET /console, GET /calendar, GET /admin and
// GET /review.
// Use it, or mount the handlers one by one.
func (w *Web) Register(mux *http.ServeMux) {
	mux.Handle("GET /static/", w.Static())
	mux.HandleFunc("GET /visit/{room}", w.VisitPage)
	mux.HandleFunc("GET /call/{room}", w.CallPage)
	mux.HandleFunc("GET /login", w.LoginPage)
	mux.HandleFunc("GET /console", w.ConsolePage)
	mux.HandleFunc("GET /calendar", w.CalendarPage)
	mux.HandleFunc("GET /admin", w.AdminPage)
	mux.HandleFunc("GET /patients/{id}", w.PatientPage)
	mux.HandleFunc("GET /review", w.ReviewPage)
	mux.HandleFunc("GET /triage", w.TriagePage)
}
