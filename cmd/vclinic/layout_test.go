package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// goPackage is the part of `go list -json` the layout tests read.
type goPackage struct {
	ImportPath   string
	Name         string
	Doc          string
	Standard     bool
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
}

func goList(t *testing.T, args ...string) []goPackage {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-json"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	pkgs := goList(t, "vclinic/...")
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages, want the whole module", len(pkgs))
	}
	return pkgs
}

// anyOfOurs marks a package that may import any package of the module: the
// commands, which wire the parts together.
const anyOfOurs = "*"

// importRules is the architecture of DESIGN.md: imports point one way. Each
// package of the module may import (directly or not, tests included) only
// the module's packages listed; a package with no rule fails the test, so
// that a new package says where it stands.
var importRules = map[string][]string{
	"vclinic/sfu":                          {"vclinic/sfu/mediaio"},
	"vclinic/sfu/mediaio":                  {},
	"vclinic/web":                          {},
	"vclinic/signaling":                    {"vclinic/sfu/...", "vclinic/internal/callquality"},
	"vclinic/signaling/cluster":            {"vclinic/internal/records"}, // room leases live in the records
	"vclinic/internal/redistest":           {},
	"vclinic/internal/netem":               {},
	"vclinic/internal/callquality":         {},
	"vclinic/internal/notify":              {"vclinic/internal/notify/notifytest"}, // carries messages; the scheduler writes them
	"vclinic/internal/notify/notifytest":   {},
	"vclinic/scheduler":                    {"vclinic/internal/records/...", "vclinic/internal/callquality"},
	"vclinic/homekit":                      {"vclinic/internal/records/...", "vclinic/homekit/gatt"},
	"vclinic/homekit/gatt":                 {},
	"vclinic/internal/records":             {},
	"vclinic/internal/keystore":            {"vclinic/internal/records", "vclinic/signaling", "vclinic/sfu/...", "vclinic/internal/callquality"},
	"vclinic/internal/records/audit":       {"vclinic/internal/records"},
	"vclinic/internal/records/recordstest": {"vclinic/internal/records", "vclinic/internal/records/audit"},
	"vclinic/cmd/vclinic":                  {anyOfOurs},
	"vclinic/cmd/homegw":                   {"vclinic/homekit/gatt"},
	"vclinic/cmd/kitsim":                   {anyOfOurs},
	"vclinic/cmd/vcload":                   {anyOfOurs},
}

// testImportRules lets tests import more than the package itself may: the
// records database's own tests start their databases with recordstest; the
// home gateway's tests run it against the real readings API.
var testImportRules = map[string][]string{
	"vclinic/sfu":                    {"vclinic/sfu/mediaio", "vclinic/internal/netem"}, // impaired paths in media tests
	"vclinic/internal/records":       {"vclinic/internal/records/recordstest"},
	"vclinic/internal/records/audit": {"vclinic/internal/records/recordstest"},
	"vclinic/cmd/homegw":             {"vclinic/homekit", "vclinic/internal/records/..."},
	"vclinic/signaling/cluster":      {"vclinic/internal/redistest", "vclinic/internal/records/..."},
	"vclinic/internal/keystore":      {"vclinic/internal/records/..."},
}

// forbiddenDeps are modules and packages a package must not link at all.
var forbiddenDeps = map[string][]string{
	"vclinic/sfu": {"net/http", "github.com/gorilla/websocket"},
}

// allows reports whether rule lets a package import dep.
func allows(rule []string, self, dep string) bool {
	if dep == self {
		return true // an external test package imports the package it tests
	}
	for _, r := range rule {
		switch {
		case r == anyOfOurs, r == dep:
			return true
		case strings.HasSuffix(r, "/..."):
			base := strings.TrimSuffix(r, "/...")
			if dep == base || strings.HasPrefix(dep, base+"/") {
				return true
			}
		}
	}
	return false
}

func TestImportDirection(t *testing.T) {
	pkgs := listPackages(t)
	found := map[string]bool{}
	for _, p := range pkgs {
		found[p.ImportPath] = true
		rule, ok := importRules[p.ImportPath]
		if !ok {
			t.Errorf("package %s has no import rule: add it to importRules (DESIGN.md says where it stands)", p.ImportPath)
			continue
		}
		check := func(kind string, rule, deps []string) {
			for _, dep := range deps {
				if strings.HasPrefix(dep, "vclinic/") && !allows(rule, p.ImportPath, dep) {
					t.Errorf("%s %s %s; allowed: %v", p.ImportPath, kind, dep, rule)
				}
			}
		}
		check("depends on", rule, p.Deps)
		testRule := append(slices.Clone(rule), testImportRules[p.ImportPath]...)
		check("imports in tests", testRule, p.TestImports)
		check("imports in external tests", testRule, p.XTestImports)
		for _, f := range forbiddenDeps[p.ImportPath] {
			for _, dep := range p.Deps {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s", p.ImportPath, dep)
				}
			}
		}
	}
	for pkg := range importRules {
		if !found[pkg] {
			t.Errorf("importRules names %s, which is not in the module", pkg)
		}
	}
}

// TestImportRulesRefuse shows that the rules bite: each line is an import
// the architecture forbids.
func TestImportRulesRefuse(t *testing.T) {
	for _, tc := range [][2]string{
		{"vclinic/scheduler", "vclinic/homekit"},
		{"vclinic/homekit", "vclinic/scheduler"},
		{"vclinic/homekit", "vclinic/signaling"},
		{"vclinic/internal/records", "vclinic/scheduler"},
		{"vclinic/internal/records/audit", "vclinic/internal/records/recordstest"},
		{"vclinic/homekit/gatt", "vclinic/internal/records"},
		{"vclinic/cmd/homegw", "vclinic/homekit"},
		{"vclinic/sfu", "vclinic/signaling"},
		{"vclinic/signaling", "vclinic/scheduler"},
		{"vclinic/scheduler", "vclinic/internalx"},
	} {
		if allows(importRules[tc[0]], tc[0], tc[1]) {
			t.Errorf("%s may import %s", tc[0], tc[1])
		}
	}
	if !allows(importRules["vclinic/scheduler"], "vclinic/scheduler", "vclinic/internal/records/audit") {
		t.Error("scheduler may not import the audit log")
	}
	if !slices.Contains(importRules["vclinic/cmd/vclinic"], anyOfOurs) {
		t.Error("cmd/vclinic cannot wire the parts")
	}
}

// TestDecoderStandsAlone: the Bluetooth decoder imports the standard library
// only, and the home gateway, which runs on small Linux boxes, links the
// decoder but no database driver, records package or HTTP router (its
// binary, not its tests).
func TestDecoderStandsAlone(t *testing.T) {
	for _, p := range goList(t, "-deps", "vclinic/homekit/gatt") {
		if !p.Standard && p.ImportPath != "vclinic/homekit/gatt" {
			t.Errorf("homekit/gatt depends on %s, which is not the standard library", p.ImportPath)
		}
	}
	deps := goList(t, "-deps", "vclinic/cmd/homegw")
	var linksDecoder bool
	for _, p := range deps {
		linksDecoder = linksDecoder || p.ImportPath == "vclinic/homekit/gatt"
		for _, bad := range []string{"vclinic/internal/records", "vclinic/homekit", "modernc.org/sqlite",
			"github.com/jackc/pgx", "github.com/julienschmidt/httprouter", "database/sql"} {
			if p.ImportPath == bad || strings.HasPrefix(p.ImportPath, bad+"/") && !strings.HasPrefix(p.ImportPath, "vclinic/homekit/gatt") {
				t.Errorf("the home gateway links %s", p.ImportPath)
			}
		}
	}
	if !linksDecoder {
		t.Error("the home gateway does not link the decoder")
	}
}

// TestPackageDocs: every package says what it owns.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}
