package sfu

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDependencies holds the import rule of DESIGN.md: sfu knows nothing of
// HTTP, WebSockets or the rest of vclinic, directly or through what it
// imports (pion included).
func TestDependencies(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "vclinic/sfu").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %q", deps)
	}
	for _, d := range deps {
		switch {
		case d == "vclinic/sfu", d == "vclinic/sfu/mediaio":
		case d == "net/http" || strings.HasPrefix(d, "net/http/"),
			d == "github.com/gorilla/websocket",
			d == "vclinic" || strings.HasPrefix(d, "vclinic/"):
			t.Errorf("vclinic/sfu depends on %s", d)
		}
	}
}
