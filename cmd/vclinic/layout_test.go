package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// goPackage is the part of `go list -json` the layout tests read.
type goPackage struct {
	ImportPath string
	Name       string
	Doc        string
	Deps       []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "vclinic/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
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
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages, want the whole module", len(pkgs))
	}
	return pkgs
}

// TestImportDirection holds the architecture of DESIGN.md: imports point one way.
// Each package may depend only on the vclinic packages listed; the media core
// stays free of HTTP and WebSockets.
func TestImportDirection(t *testing.T) {
	allowed := map[string][]string{
		"vclinic/sfu":       {},
		"vclinic/web":       {},
		"vclinic/homekit":   {},
		"vclinic/signaling": {"vclinic/sfu"},
	}
	forbidden := map[string][]string{
		"vclinic/sfu": {"net/http", "github.com/gorilla/websocket"},
	}
	for _, p := range listPackages(t) {
		rule, ok := allowed[p.ImportPath]
		if !ok {
			continue // commands wire packages together
		}
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, "vclinic/") && !contains(rule, dep) {
				t.Errorf("%s imports %s; allowed: %v", p.ImportPath, dep, rule)
			}
			for _, f := range forbidden[p.ImportPath] {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s", p.ImportPath, dep)
				}
			}
		}
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

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
