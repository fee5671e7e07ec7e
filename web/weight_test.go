package web

import (
	"path"
	"regexp"
	"strings"
	"testing"
)

// pageLoad lists what a browser fetches to show page (an entry of pageFiles)
// on its first load: the page, its style sheets and script, and every module
// those import.
func pageLoad(t testing.TB, w *Web, page string) []*asset {
	t.Helper()
	p := w.pages[page]
	if p == nil {
		t.Fatalf("no page %s", page)
	}
	out := []*asset{p}
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		a := w.assets[name]
		if a == nil {
			t.Fatalf("%s refers to %s, which is not embedded", page, name)
		}
		out = append(out, a)
		if strings.HasSuffix(name, ".js") {
			for _, m := range importRE.FindAllStringSubmatch(string(a.body), -1) {
				visit(path.Join(path.Dir(name), m[1]+m[2]))
			}
		}
	}
	for _, m := range staticRE.FindAllStringSubmatch(string(p.body), -1) {
		visit(m[1])
	}
	return out
}

// staticRE finds what a page loads from /static/ (its modules' imports are
// read with importRE, as TestModuleImports reads them).
var staticRE = regexp.MustCompile(`(?:src|href)="/static/([^"]+)"`)

// BenchmarkPatientPageFirstLoad reports what the patient's page costs on a
// phone's first visit: the bytes of the page, its style sheet and every
// module it loads, as sent with Content-Encoding gzip, and without. Goal:
// under 150 KB compressed. Run: go test -run '^$' -bench PatientPageFirstLoad ./web
func BenchmarkPatientPageFirstLoad(b *testing.B) {
	w, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	var files, raw, sent int
	for range b.N {
		files, raw, sent = 0, 0, 0
		for _, a := range pageLoad(b, w, "visit.html") {
			files++
			raw += len(a.body)
			if a.gzipBody != nil {
				sent += len(a.gzipBody)
			} else {
				sent += len(a.body)
			}
		}
	}
	b.ReportMetric(float64(files), "files")
	b.ReportMetric(float64(raw)/1024, "KiB-raw")
	b.ReportMetric(float64(sent)/1024, "KiB-gzip")
}

// TestPageLoadFindsModules keeps the benchmark honest: the patient's page
// loads its entry module, the shared page module and the clinic's.
func TestPageLoadFindsModules(t *testing.T) {
	w, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, a := range pageLoad(t, w, "visit.html") {
		names[a.name] = true
	}
	for _, want := range []string{"visit.html", "style.css", "visit.js", "ui.js", "clinic.js", "call.js", "devices.js"} {
		if !names[want] {
			t.Errorf("the patient's first load misses %s: %v", want, names)
		}
	}
}
