package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository's root, seen from this package.
const repoRoot = "../.."

// serveHelp is what `vclinic -h` prints: the flags and their environment
// variables.
func serveHelp(t *testing.T) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &out, &errOut); code != 0 {
		t.Fatalf("vclinic -h: exit %d", code)
	}
	return out.String() + errOut.String()
}

// subcommandHelp is what `vclinic <sub> -h` prints.
func subcommandHelp(t *testing.T, sub string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{sub, "-h"}, &out, &errOut); code != 0 {
		t.Fatalf("vclinic %s -h: exit %d\n%s", sub, code, errOut.String())
	}
	return out.String() + errOut.String()
}

// hasFlag reports whether help documents -name.
func hasFlag(help, name string) bool {
	return regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `\b`).MatchString(help)
}

// shellWords splits a shell command line into words, honouring single and
// double quotes (enough for the build lines of a Dockerfile and a script).
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// goBuild is a `go build` command line: its environment assignments and
// its arguments without the output path.
type goBuild struct {
	env  []string
	args []string
}

// parseGoBuild finds the go build in a line; ok is false when there is none.
func parseGoBuild(line string) (goBuild, bool) {
	words := shellWords(line)
	var b goBuild
	for i, w := range words {
		if w == "go" && i+1 < len(words) && words[i+1] == "build" {
			for j := i + 2; j < len(words); j++ {
				if words[j] == "-o" {
					j++ // the output path differs: bin/ or /out/
					continue
				}
				b.args = append(b.args, words[j])
			}
			slices.Sort(b.env)
			return b, true
		}
		if strings.Contains(w, "=") && !strings.HasPrefix(w, "-") {
			b.env = append(b.env, w)
		} else {
			b.env = b.env[:0]
		}
	}
	return goBuild{}, false
}

// TestDockerfileBuildsLikeScriptsBuild: the image's build stage runs the
// same go build (environment, flags, tags, package) as scripts/build, every
// file it copies exists, and what its ENV, HEALTHCHECK and ENTRYPOINT name
// exists in vclinic.
func TestDockerfileBuildsLikeScriptsBuild(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(repoRoot, "scripts/build"))
	if err != nil {
		t.Fatal(err)
	}
	var want goBuild
	found := false
	for _, line := range strings.Split(string(script), "\n") {
		if b, ok := parseGoBuild(line); ok && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			want, found = b, true
		}
	}
	if !found {
		t.Fatal("scripts/build runs no go build")
	}
	if !slices.Contains(want.env, "CGO_ENABLED=0") || !slices.Contains(want.args, "./cmd/vclinic") {
		t.Fatalf("scripts/build: %+v: want a static build of ./cmd/vclinic", want)
	}

	f, err := os.Open(filepath.Join(repoRoot, "deploy/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	help := serveHelp(t)
	stage, builds := 0, 0
	var copied []string // the build context's paths the build stage copies
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			stage++
		case "RUN":
			if b, ok := parseGoBuild(rest); ok {
				builds++
				if stage != 1 {
					t.Errorf("go build in stage %d, want the build stage", stage)
				}
				if !slices.Equal(b.env, want.env) || !slices.Equal(b.args, want.args) {
					t.Errorf("Dockerfile builds with %v %v, scripts/build with %v %v", b.env, b.args, want.env, want.args)
				}
			}
		case "COPY":
			words := strings.Fields(rest)
			if strings.HasPrefix(words[0], "--from=") {
				continue
			}
			for _, src := range words[:len(words)-1] {
				if strings.HasPrefix(src, "--") {
					continue
				}
				if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
					t.Errorf("COPY %s: %v", src, err)
				}
				copied = append(copied, filepath.Clean(src))
			}
		case "ENV":
			for _, name := range regexp.MustCompile(`VCLINIC_[A-Z_]+`).FindAllString(rest, -1) {
				if !strings.Contains(help, "$"+name+"]") {
					t.Errorf("ENV %s: not a variable of vclinic -h", name)
				}
			}
		case "HEALTHCHECK", "ENTRYPOINT":
			if strings.Contains(rest, `"health"`) {
				subcommandHelp(t, "health")
			}
		}
	}
	if builds != 1 {
		t.Fatalf("the Dockerfile runs go build %d times, want once", builds)
	}
	// Everything of ours the binary is built from is copied in: a new
	// top-level package would otherwise break the image alone.
	for _, p := range goList(t, "-deps", "vclinic/cmd/vclinic") {
		dir, ok := strings.CutPrefix(p.ImportPath, "vclinic/")
		if !ok {
			continue
		}
		if !slices.ContainsFunc(copied, func(c string) bool { return dir == c || strings.HasPrefix(dir, c+"/") }) {
			t.Errorf("the build needs %s, which the Dockerfile does not copy", p.ImportPath)
		}
	}
}

// vclinicUse is what a deploy file asks of vclinic: environment variables,
// serve flags, and subcommands with their flags.
type vclinicUse struct {
	env   []string
	flags []string
	subs  [][]string // argv after the binary, for subcommands
}

// collect walks a parsed YAML document for the containers and services that
// run vclinic, and what they set.
func collect(node any, use *vclinicUse) {
	switch n := node.(type) {
	case map[string]any:
		image, _ := n["image"].(string)
		_, build := n["build"]
		if strings.Contains(image, "vclinic") || build {
			switch env := n["environment"].(type) { // compose
			case map[string]any:
				for k := range env {
					use.env = append(use.env, k)
				}
			case []any:
				for _, e := range env {
					s, _ := e.(string)
					k, _, _ := strings.Cut(s, "=")
					use.env = append(use.env, k)
				}
			}
			if env, ok := n["env"].([]any); ok { // Kubernetes
				// A variable only there to be put into another's value,
				// $(NAME) (Kubernetes dependent variables), is not vclinic's.
				referenced := map[string]bool{}
				for _, e := range env {
					if m, ok := e.(map[string]any); ok {
						v, _ := m["value"].(string)
						for _, r := range regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).FindAllStringSubmatch(v, -1) {
							referenced[r[1]] = true
						}
					}
				}
				for _, e := range env {
					if m, ok := e.(map[string]any); ok {
						name, _ := m["name"].(string)
						if !referenced[name] || strings.HasPrefix(name, "VCLINIC_") {
							use.env = append(use.env, name)
						}
					}
				}
			}
			for _, key := range []string{"command", "args"} {
				if list, ok := n[key].([]any); ok {
					for _, a := range list {
						if s, ok := a.(string); ok && strings.HasPrefix(s, "-") {
							name, _, _ := strings.Cut(strings.TrimLeft(s, "-"), "=")
							use.flags = append(use.flags, name)
						}
					}
				}
			}
		}
		// exec probes and hooks: ["/vclinic", "sub", flags...]
		if cmd, ok := n["command"].([]any); ok && len(cmd) > 1 {
			if bin, _ := cmd[0].(string); filepath.Base(bin) == "vclinic" {
				var argv []string
				for _, a := range cmd[1:] {
					s, _ := a.(string)
					argv = append(argv, s)
				}
				use.subs = append(use.subs, argv)
			}
		}
		for _, v := range n {
			collect(v, use)
		}
	case []any:
		for _, v := range n {
			collect(v, use)
		}
	}
}

// TestDeployFilesUseRealFlags: every environment variable and flag that
// compose.yaml and the Kubernetes manifests give vclinic exists in
// `vclinic -h` (and every subcommand they run, with its flags), and every
// VCLINIC_ name anywhere under deploy/ is one vclinic reads: the files
// cannot drift from the program.
func TestDeployFilesUseRealFlags(t *testing.T) {
	help := serveHelp(t)
	files := []string{"deploy/compose.yaml"}
	manifests, _ := filepath.Glob(filepath.Join(repoRoot, "deploy/kubernetes/*.yaml"))
	if len(manifests) == 0 {
		t.Fatal("no Kubernetes manifests in deploy/kubernetes")
	}
	for _, m := range manifests {
		rel, _ := filepath.Rel(repoRoot, m)
		files = append(files, rel)
	}
	kinds := map[string]bool{}
	for _, file := range files {
		raw, err := os.ReadFile(filepath.Join(repoRoot, file))
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		use := &vclinicUse{}
		docs := 0
		for {
			var doc any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if doc == nil {
				continue
			}
			docs++
			if m, ok := doc.(map[string]any); ok {
				if k, ok := m["kind"].(string); ok {
					kinds[k] = true
				}
			}
			collect(doc, use)
		}
		if docs == 0 || len(use.env) == 0 {
			t.Fatalf("%s: found no vclinic container with an environment", file)
		}
		for _, name := range use.env {
			if !strings.Contains(help, "$"+name+"]") {
				t.Errorf("%s: environment variable %s is not in vclinic -h", file, name)
			}
		}
		for _, name := range use.flags {
			if !hasFlag(help, name) {
				t.Errorf("%s: flag -%s is not in vclinic -h", file, name)
			}
		}
		for _, argv := range use.subs {
			sub := subcommandHelp(t, argv[0])
			for _, a := range argv[1:] {
				if strings.HasPrefix(a, "-") && !hasFlag(sub, strings.TrimLeft(a, "-")) {
					t.Errorf("%s: vclinic %s has no flag %s", file, argv[0], a)
				}
			}
		}
	}
	for _, k := range []string{"StatefulSet", "Service", "PodDisruptionBudget", "ConfigMap", "Ingress"} {
		if !kinds[k] {
			t.Errorf("the manifests have no %s", k)
		}
	}
	// Any VCLINIC_ name anywhere under deploy/: comments, the env example,
	// the systemd unit, the Dockerfile.
	err := filepath.WalkDir(filepath.Join(repoRoot, "deploy"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, name := range regexp.MustCompile(`VCLINIC_[A-Z][A-Z_]*[A-Z]`).FindAllString(string(b), -1) {
			if !strings.Contains(help, "$"+name+"]") {
				t.Errorf("%s: %s is not a variable vclinic reads", path, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHealthAndDrain: `vclinic health` answers for a running node (the
// image's HEALTHCHECK) and fails for none; `vclinic drain` (the preStop
// hook) stops the node and returns once it has.
func TestHealthAndDrain(t *testing.T) {
	bin := vclinicBinary(t)
	addr := freeAddr(t)
	cmd := exec.Command(bin, "-addr", addr, "-data", filepath.Join(t.TempDir(), "data"), "-udp-port", "0", "-tcp-port", "-1", "-log-level", "warn")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	base := "http://" + addr
	var out, errOut bytes.Buffer
	deadline := time.Now().Add(30 * time.Second)
	for run(context.Background(), []string{"health", "-ready", "-url", base}, &out, &errOut) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("vclinic health -ready never passed: %s", errOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := run(context.Background(), []string{"health", "-url", base}, &out, &errOut); code != 0 {
		t.Fatalf("vclinic health: %d %s", code, errOut.String())
	}
	if code := run(context.Background(), []string{"health", "-url", "http://" + freeAddr(t)}, io.Discard, io.Discard); code != 1 {
		t.Fatalf("vclinic health of no node: exit %d, want 1", code)
	}
	errOut.Reset()
	code := run(context.Background(), []string{"drain", "-pid", strconv.Itoa(cmd.Process.Pid), "-url", base, "-timeout", "30s"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("vclinic drain: exit %d: %s", code, errOut.String())
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("the drained node exited with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("vclinic drain returned, and the node did not stop")
	}
}
