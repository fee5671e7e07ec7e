package web

import (
	"bytes"
	"compress/gzip"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	w, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	w.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// get fetches url without transparent decompression, so Content-Encoding is visible.
func get(t *testing.T, method, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, body
}

// staticFiles lists the embedded files by name under static/.
func staticFiles(t *testing.T) []string {
	t.Helper()
	var names []string
	err := fs.WalkDir(embedded, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, strings.TrimPrefix(p, "static/"))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"zero", Config{}, false},
		{"an hour", Config{AssetMaxAge: time.Hour}, false},
		{"negative", Config{AssetMaxAge: -time.Second}, true},
		{"over a year", Config{AssetMaxAge: 400 * 24 * time.Hour}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if _, err := New(tt.cfg); (err != nil) != tt.wantErr {
				t.Fatalf("New() error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestPages(t *testing.T) {
	srv := newTestServer(t, Config{})
	const (
		callPerm  = "camera=(self), microphone=(self), display-capture=(), geolocation=()"
		clinPerm  = "camera=(self), microphone=(self), display-capture=(self), geolocation=()"
		staffPerm = "camera=(), microphone=(), display-capture=(), geolocation=()"
	)
	tests := []struct {
		path   string
		script string
		perm   string
	}{
		{"/visit/room-1", `<script type="module" src="/static/visit.js"></script>`, callPerm},
		{"/call/room-1", `<script type="module" src="/static/call-page.js"></script>`, clinPerm},
		{"/visit/r%C3%B8d%20stue", `<script type="module" src="/static/visit.js"></script>`, callPerm},
		{"/login", `<script type="module" src="/static/login.js"></script>`, staffPerm},
		{"/login?next=%2Fconsole", `<script type="module" src="/static/login.js"></script>`, staffPerm},
		{"/console", `<script type="module" src="/static/console.js"></script>`, staffPerm},
		{"/calendar", `<script type="module" src="/static/calendar.js"></script>`, staffPerm},
		{"/admin", `<script type="module" src="/static/admin.js"></script>`, staffPerm},
		{"/patients/p-1", `<script type="module" src="/static/patient.js"></script>`, staffPerm},
		{"/review", `<script type="module" src="/static/review.js"></script>`, staffPerm},
		{"/review?from=2026-01-01&to=2026-03-31&by=week", `<script type="module" src="/static/review.js"></script>`, staffPerm},
		{"/triage", `<script type="module" src="/static/triage.js"></script>`, staffPerm},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				resp, body := get(t, method, srv.URL+tt.path, nil)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d, want 200", method, resp.StatusCode)
				}
				want := map[string]string{
					"Content-Type":            "text/html; charset=utf-8",
					"Content-Security-Policy": ContentSecurityPolicy(strings.TrimPrefix(srv.URL, "http://"), false),
					"Referrer-Policy":         "no-referrer",
					"X-Content-Type-Options":  "nosniff",
					"X-Frame-Options":         "DENY",
					"Cache-Control":           "no-cache",
					"Permissions-Policy":      tt.perm,
				}
				for k, v := range want {
					if got := resp.Header.Get(k); got != v {
						t.Errorf("%s: %s = %q, want %q", method, k, got, v)
					}
				}
				if resp.Header.Get("ETag") == "" {
					t.Errorf("%s: no ETag", method)
				}
				if method == http.MethodGet && !strings.Contains(string(body), tt.script) {
					t.Errorf("page lacks %s", tt.script)
				}
			}
		})
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	// The directives the pages rely on; a change here must be a decision.
	csp := ContentSecurityPolicy("clinic.example.org", true)
	for _, d := range []string{
		"default-src 'self'",
		"connect-src 'self' wss://clinic.example.org",
		"media-src 'self' blob: mediastream:",
		"img-src 'self' data:",
		"style-src 'self'",
		"script-src 'self'",
	} {
		if !strings.Contains(csp+";", d+";") {
			t.Errorf("CSP lacks %q", d)
		}
	}
	// WebSockets to this host only: never any host, never plain ws: under TLS.
	for _, bad := range []string{"unsafe-", " ws:", " wss:;", "ws://"} {
		if strings.Contains(csp, bad) {
			t.Errorf("CSP holds %q: %s", bad, csp)
		}
	}
	if plain := ContentSecurityPolicy("127.0.0.1:8080", false); !strings.Contains(plain, "connect-src 'self' wss://127.0.0.1:8080 ws://127.0.0.1:8080;") {
		t.Errorf("CSP over plain HTTP: %s", plain)
	}
}

func TestStaticAssets(t *testing.T) {
	srv := newTestServer(t, Config{})
	types := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
	}
	served := 0
	for _, name := range staticFiles(t) {
		if path.Ext(name) == ".html" {
			continue
		}
		served++
		t.Run(name, func(t *testing.T) {
			want, err := embedded.ReadFile("static/" + name)
			if err != nil {
				t.Fatal(err)
			}
			url := srv.URL + "/static/" + name
			resp, body := get(t, http.MethodGet, url, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			if wantType, ok := types[path.Ext(name)]; ok {
				if got := resp.Header.Get("Content-Type"); got != wantType {
					t.Errorf("Content-Type = %q, want %q", got, wantType)
				}
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", got)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if !bytes.Equal(body, want) {
				t.Errorf("body differs from the embedded file")
			}
			tag := resp.Header.Get("ETag")
			if tag == "" {
				t.Fatal("no ETag")
			}
			resp, _ = get(t, http.MethodGet, url, http.Header{"If-None-Match": {tag}})
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match: status %d, want 304", resp.StatusCode)
			}

			resp, body = get(t, http.MethodGet, url, http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("gzip: %v", err)
				}
				plain, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(plain, want) {
					t.Errorf("gzip body does not decode to the file (err %v)", err)
				}
				if resp.Header.Get("ETag") == tag {
					t.Errorf("gzip and identity share ETag %s", tag)
				}
				if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
					t.Errorf("gzip response without Vary: Accept-Encoding")
				}
			} else if len(want) > 2048 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/") {
				t.Errorf("%d-byte text asset sent uncompressed to a gzip client", len(want))
			}
		})
	}
	if served == 0 {
		t.Fatal("no static assets embedded")
	}
}

func TestAssetMaxAge(t *testing.T) {
	srv := newTestServer(t, Config{AssetMaxAge: time.Hour})
	resp, _ := get(t, http.MethodGet, srv.URL+"/static/style.css", nil)
	if got, want := resp.Header.Get("Cache-Control"), "public, max-age=3600"; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
}

func TestNotFound(t *testing.T) {
	srv := newTestServer(t, Config{})
	for _, p := range []string{
		"/static/nope.js",
		"/static/",
		"/static/visit.html", // pages are served only at their routes
		"/static/call.html",
		"/static/../web.go",
		"/static/%2e%2e/web.go",
		"/static/style.css/x",
		"/static/login.html",
		"/static/console.html",
		"/static/calendar.html",
		"/static/admin.html",
		"/static/triage.html",
		"/visit/",
		"/call/",
		"/login/x",
		"/console/",
		"/calendar/2025",
		"/admin/",
		"/admin/types",
		"/static/review.html",
		"/review/",
		"/review/2026",
		"/triage/",
	} {
		t.Run(p, func(t *testing.T) {
			resp, _ := get(t, http.MethodGet, srv.URL+p, nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("status %d, want 404", resp.StatusCode)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	w, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.Handler{
		"static":   w.Static(),
		"visit":    http.HandlerFunc(w.VisitPage),
		"call":     http.HandlerFunc(w.CallPage),
		"login":    http.HandlerFunc(w.LoginPage),
		"console":  http.HandlerFunc(w.ConsolePage),
		"calendar": http.HandlerFunc(w.CalendarPage),
		"admin":    http.HandlerFunc(w.AdminPage),
		"review":   http.HandlerFunc(w.ReviewPage),
		"triage":   http.HandlerFunc(w.TriagePage),
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/static/style.css", nil))
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("POST: status %d, want 405", rec.Code)
			}
		})
	}
}

// TestStaticWithoutPrefix covers mounting Static behind http.StripPrefix.
func TestStaticWithoutPrefix(t *testing.T) {
	w, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := http.StripPrefix("/static/", w.Static())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/static/protocol.js", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("status %d, want 200", rec.Code)
	}
}

var (
	scriptRE    = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	handlerRE   = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	styleAttrRE = regexp.MustCompile(`(?i)\sstyle\s*=`)
	styleElemRE = regexp.MustCompile(`(?i)<style\b`)
	refRE       = regexp.MustCompile(`(?i)\s(?:src|href)\s*=\s*"([^"]*)"`)
)

// TestPagesNoInlineCode checks what the CSP would refuse: inline scripts, event
// handler attributes, inline styles; and that every asset and page a page
// names exists.
func TestPagesNoInlineCode(t *testing.T) {
	w, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.Register(mux)
	for _, page := range pageFiles {
		t.Run(page, func(t *testing.T) {
			b, err := embedded.ReadFile("static/" + page)
			if err != nil {
				t.Fatal(err)
			}
			html := string(b)
			scripts := scriptRE.FindAllStringSubmatch(html, -1)
			if len(scripts) == 0 {
				t.Error("no script")
			}
			for _, m := range scripts {
				if !strings.Contains(m[1], `src="/static/`) {
					t.Errorf("script without a /static/ src: <script%s>", m[1])
				}
				if !strings.Contains(m[1], `type="module"`) {
					t.Errorf("script is not a module: <script%s>", m[1])
				}
				if strings.TrimSpace(m[2]) != "" {
					t.Errorf("inline script body: %q", m[2])
				}
			}
			if handlerRE.MatchString(html) {
				t.Errorf("event handler attribute: %q", handlerRE.FindString(html))
			}
			if styleAttrRE.MatchString(html) || styleElemRE.MatchString(html) {
				t.Error("inline style")
			}
			if strings.Contains(strings.ToLower(html), "javascript:") {
				t.Error("javascript: URL")
			}
			for _, m := range refRE.FindAllStringSubmatch(html, -1) {
				ref := m[1]
				if strings.HasPrefix(ref, "data:") {
					continue
				}
				name, ok := strings.CutPrefix(ref, "/static/")
				if !ok {
					// A link to another page: it must be one this package serves.
					req := httptest.NewRequest(http.MethodGet, ref, nil)
					if _, pattern := mux.Handler(req); !strings.HasPrefix(ref, "/") || pattern == "" {
						t.Errorf("reference to something no page route serves: %q", ref)
					}
					continue
				}
				if _, err := fs.Stat(embedded, "static/"+name); err != nil {
					t.Errorf("reference to missing asset %q", ref)
				}
				if path.Ext(name) == ".html" {
					t.Errorf("reference to a page under /static/: %q", ref)
				}
			}
		})
	}
}

// TestEveryPageServed checks that each embedded page has a route and that
// everything it loads — style sheets, scripts and, through the imports, every
// module — is served from /static/ with status 200.
func TestEveryPageServed(t *testing.T) {
	srv := newTestServer(t, Config{})
	routes := map[string]string{
		"visit.html":    "/visit/r1",
		"call.html":     "/call/r1",
		"login.html":    "/login",
		"console.html":  "/console",
		"calendar.html": "/calendar",
		"admin.html":    "/admin",
		"patient.html":  "/patients/p-1",
		"review.html":   "/review",
		"triage.html":   "/triage",
	}
	for _, name := range staticFiles(t) {
		if path.Ext(name) == ".html" && routes[name] == "" {
			t.Errorf("page %s has no route", name)
		}
	}
	if len(routes) != len(pageFiles) {
		t.Errorf("routes for %d pages, pageFiles lists %d", len(routes), len(pageFiles))
	}
	for name, route := range routes {
		t.Run(name, func(t *testing.T) {
			resp, body := get(t, http.MethodGet, srv.URL+route, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status %d", route, resp.StatusCode)
			}
			seen := map[string]bool{}
			var queue []string
			for _, m := range refRE.FindAllStringSubmatch(string(body), -1) {
				if n, ok := strings.CutPrefix(m[1], "/static/"); ok {
					queue = append(queue, n)
				}
			}
			for len(queue) > 0 {
				n := queue[0]
				queue = queue[1:]
				if seen[n] {
					continue
				}
				seen[n] = true
				resp, b := get(t, http.MethodGet, srv.URL+"/static/"+n, nil)
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s loads /static/%s: status %d", route, n, resp.StatusCode)
					continue
				}
				if path.Ext(n) == ".js" {
					for _, m := range importRE.FindAllStringSubmatch(string(b), -1) {
						queue = append(queue, path.Join(path.Dir(n), m[1]+m[2]))
					}
				}
			}
			if len(seen) < 2 {
				t.Errorf("%s loads only %v", route, seen)
			}
		})
	}
}

var importRE = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']+)'|^\s*import\s+'([^']+)'`)

// TestModuleImports checks that every relative import names an embedded file.
func TestModuleImports(t *testing.T) {
	for _, name := range staticFiles(t) {
		if path.Ext(name) != ".js" {
			continue
		}
		b, err := embedded.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range importRE.FindAllStringSubmatch(string(b), -1) {
			spec := m[1] + m[2]
			if !strings.HasPrefix(spec, "./") {
				t.Errorf("%s: import %q is not relative to /static/", name, spec)
				continue
			}
			target := path.Join(path.Dir(name), spec)
			if _, err := fs.Stat(embedded, "static/"+target); err != nil {
				t.Errorf("%s: import %q: no such embedded file", name, spec)
			}
		}
	}
}

// writeStatic copies the embedded files to static/ in a temporary directory for
// node, and returns that directory.
func writeStatic(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range staticFiles(t) {
		b, err := embedded.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "static", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Mark the directory as ES modules so node parses the files as the browser does.
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type":"module"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func nodePath(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found on PATH")
	}
	return node
}

// TestJavaScriptSyntax runs node --check on every embedded module.
func TestJavaScriptSyntax(t *testing.T) {
	node := nodePath(t)
	dir := writeStatic(t)
	for _, name := range staticFiles(t) {
		if path.Ext(name) != ".js" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(node, "--check", filepath.Join(dir, "static", filepath.FromSlash(name))).CombinedOutput()
			if err != nil {
				t.Errorf("node --check: %v\n%s", err, out)
			}
		})
	}
}

// TestJavaScriptUnits runs the node tests in testdata/ (signal, token, stats,
// api, time, session: the modules that need no browser) against the embedded
// modules.
func TestJavaScriptUnits(t *testing.T) {
	node := nodePath(t)
	dir := writeStatic(t)
	files, err := filepath.Glob(filepath.Join("testdata", "*.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no node tests in testdata (err %v)", err)
	}
	var tests []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "testdata", filepath.Base(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".test.mjs") {
			tests = append(tests, dst)
		}
	}
	cmd := exec.Command(node, append([]string{"--test"}, tests...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}

// TestProtocolMirror checks that protocol.js exports every constant of
// signaling/protocol.go with the same value. It reads the Go file as text;
// package web imports nothing of vclinic.
func TestProtocolMirror(t *testing.T) {
	src := filepath.Join("..", "signaling", "protocol.go")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("no %s: %v", src, err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	js, err := embedded.ReadFile("static/protocol.js")
	if err != nil {
		t.Fatal(err)
	}
	jsConst := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^export const (\w+) = ([^;]+);`).FindAllStringSubmatch(string(js), -1) {
		jsConst[m[1]] = strings.TrimSpace(m[2])
	}
	n := 0
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if !id.IsExported() || i >= len(vs.Values) {
					continue
				}
				want, ok := goConstValue(vs.Values[i])
				if !ok {
					continue
				}
				n++
				got, ok := jsConst[id.Name]
				if !ok {
					t.Errorf("protocol.js lacks %s (= %s)", id.Name, want)
					continue
				}
				if v, ok := jsValue(got); !ok || v != want {
					t.Errorf("protocol.js: %s = %s, protocol.go has %s", id.Name, got, want)
				}
			}
		}
	}
	if n < 30 {
		t.Errorf("found only %d constants in %s", n, src)
	}
}

// goConstValue evaluates the constant forms protocol.go uses: a string or int
// literal, or a shift of two int literals.
func goConstValue(e ast.Expr) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind == token.STRING {
			s, err := strconv.Unquote(v.Value)
			return strconv.Quote(s), err == nil
		}
		if v.Kind == token.INT {
			return v.Value, true
		}
	case *ast.BinaryExpr:
		x, ok1 := v.X.(*ast.BasicLit)
		y, ok2 := v.Y.(*ast.BasicLit)
		if ok1 && ok2 && v.Op == token.SHL {
			a, err1 := strconv.Atoi(x.Value)
			b, err2 := strconv.Atoi(y.Value)
			if err1 == nil && err2 == nil {
				return strconv.Itoa(a << b), true
			}
		}
	}
	return "", false
}

// jsValue normalises a JS constant initialiser of the same forms.
func jsValue(s string) (string, bool) {
	if strings.HasPrefix(s, "'") && strings.HasSuffix(s, "'") && len(s) >= 2 {
		return strconv.Quote(s[1 : len(s)-1]), true
	}
	if a, b, ok := strings.Cut(s, "<<"); ok {
		x, err1 := strconv.Atoi(strings.TrimSpace(a))
		y, err2 := strconv.Atoi(strings.TrimSpace(b))
		return strconv.Itoa(x << y), err1 == nil && err2 == nil
	}
	if _, err := strconv.Atoi(s); err == nil {
		return s, true
	}
	return "", false
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		in   []string
		want bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"gzip, deflate, br"}, true},
		{[]string{"br", "GZIP;q=0.5"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.0"}, false},
		{[]string{"identity"}, false},
		{[]string{"x-gzip"}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.in, "|"), func(t *testing.T) {
			if got := acceptsGzip(tt.in); got != tt.want {
				t.Errorf("acceptsGzip(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
