package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vclinic/internal/redistest"
)

// TestScriptsCluster: scripts/cluster brings up three nodes on a throwaway
// PostgreSQL and Redis and prints the demo's links; the patient's link
// opened on node 1 and the clinician's on node 2 make a visit in Chromium;
// Ctrl-C stops everything and removes the temporary directory.
func TestScriptsCluster(t *testing.T) {
	requireBrowser(t, "chromium")
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv(redistest.EnvRequire) == "1" {
			t.Fatal("no redis-server, and " + redistest.EnvRequire + "=1")
		}
		t.Skip("no redis-server")
	}
	port := freePortBase(t)
	cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts/cluster"))
	cmd.Env = append(os.Environ(), fmt.Sprintf("VCLINIC_CLUSTER_PORT=%d", port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	links := map[string]string{}
	var dir string
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(3 * time.Minute) // it builds vclinic first
	for len(links) < 3 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("scripts/cluster ended before printing its links:\n%s", stderr.String())
			}
			for _, who := range []string{"scheduler", "clinician", "patient"} {
				if v, ok := strings.CutPrefix(line, who+": "); ok {
					links[who] = v
				}
			}
			if m := regexp.MustCompile(`log (/tmp/vclinic-cluster\.[A-Za-z0-9]+)/`).FindStringSubmatch(line); m != nil {
				dir = m[1]
			}
		case <-timeout:
			t.Fatalf("scripts/cluster printed no links within 3 minutes:\n%s", stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	node1 := fmt.Sprintf("http://127.0.0.1:%d", port)
	node2 := fmt.Sprintf("http://127.0.0.1:%d", port+1)
	if !strings.HasPrefix(links["patient"], node1+"/visit/") || !strings.HasPrefix(links["clinician"], node1+"/console#t=") {
		t.Fatalf("links %v: want them on %s", links, node1)
	}
	pat := chromiumPage(t, links["patient"])
	waitState(t, pat, "patient", "waiting")
	clin := chromiumPage(t, strings.Replace(links["clinician"], node1, node2, 1))
	admit := `button[data-action="admit"]`
	wctx, cancel := context.WithTimeout(clin, 30*time.Second)
	err = chromedp.Do(wctx, chromedp.WaitVisible(admit), chromedp.Click(admit))
	cancel()
	if err != nil {
		t.Fatalf("the clinician's link on node 2: no admit button: %v", err)
	}
	waitMedia(t, pat, "patient (node 1)", "clinician")
	waitMedia(t, clin, "clinician (node 2)", "patient")

	// Ctrl-C: everything stops and the directory goes.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		stopped = true
	case <-time.After(60 * time.Second):
		t.Fatal("scripts/cluster did not stop within 60 s of Ctrl-C")
	}
	if dir == "" {
		t.Fatal("scripts/cluster printed no directory")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s is left behind (%v)", dir, err)
	}
}

// freePortBase finds three consecutive free TCP ports on loopback.
func freePortBase(t *testing.T) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		base := 20000 + (os.Getpid()*7+try*97)%20000
		ok := true
		for p := base; p < base+3; p++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no three free ports in a row")
	return 0
}
