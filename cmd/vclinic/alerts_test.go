package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestAlertRulesUseRealMetrics reads deploy/prometheus/vclinic-alerts.yaml
// as Prometheus does (groups of rules, each with an alert name, an
// expression, an optional for:, a severity and a summary) and checks that
// every vclinic metric its expressions name is one a cluster node's
// /metrics serves (a histogram by its _bucket, _sum and _count series), so
// that a renamed metric cannot leave an alert that never fires.
func TestAlertRulesUseRealMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy/prometheus/vclinic-alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("vclinic-alerts.yaml: %v", err)
	}

	// What a cluster node serves: every metric's TYPE line.
	nodes := startCluster(t, 1)
	resp, err := http.Get(nodes[0].srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	types := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
	}
	served := func(name string) bool {
		if _, ok := types[name]; ok {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && types[base] == "histogram" {
				return true
			}
		}
		return false
	}

	metric := regexp.MustCompile(`\bvclinic_[a-z0-9_]+`)
	rules, seen := 0, map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			rules++
			switch {
			case r.Alert == "" || seen[r.Alert]:
				t.Errorf("group %s: a rule without a name of its own (%q)", g.Name, r.Alert)
			case strings.TrimSpace(r.Expr) == "":
				t.Errorf("%s: no expression", r.Alert)
			case !slices.Contains([]string{"page", "ticket"}, r.Labels["severity"]):
				t.Errorf("%s: severity %q, want page or ticket", r.Alert, r.Labels["severity"])
			case r.Annotations["summary"] == "":
				t.Errorf("%s: no summary", r.Alert)
			}
			seen[r.Alert] = true
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			for _, name := range metric.FindAllString(r.Expr, -1) {
				if !served(name) {
					t.Errorf("%s: %s is not among a node's metrics", r.Alert, name)
				}
			}
		}
	}
	if rules < 5 {
		t.Fatalf("%d rules read", rules)
	}
}
