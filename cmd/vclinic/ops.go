package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// localURL is the base URL of the node this process's environment
// describes: VCLINIC_ADDR with an unspecified host made loopback, https
// when VCLINIC_TLS_CERT is set.
func localURL() string {
	addr := envOr("VCLINIC_ADDR", "127.0.0.1:8080")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme := "http"
	if envOr("VCLINIC_TLS_CERT", "") != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// runHealth is `vclinic health`: exit 0 when the node answers /healthz (or
// /readyz with -ready). For container health checks, in images with no
// shell or curl.
func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vclinic health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", localURL(), "base `URL` of the node [default from $VCLINIC_ADDR]")
	ready := fs.Bool("ready", false, "ask /readyz (serving) rather than /healthz (alive)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := probe(ctx, strings.TrimSuffix(*base, "/")+path); err != nil {
		fmt.Fprintln(stderr, "vclinic health:", err)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}

// probe GETs url and wants 200.
func probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// The node's own certificate may name the public host only: the probe
	// checks liveness, not identity.
	client := &http.Client{Transport: insecureLocal()}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// runDrain is `vclinic drain`: it sends SIGTERM to the node's process (pid
// 1 in its container) and waits until the node has drained and stopped
// answering, or -timeout passes. A Kubernetes preStop hook runs it, so that
// the pod is removed from the Service only after its visits have moved.
func runDrain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vclinic drain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pid := fs.Int("pid", 1, "`pid` of the node's process")
	base := fs.String("url", localURL(), "base `URL` of the node [default from $VCLINIC_ADDR]")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the node to stop")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *pid <= 0 {
		fmt.Fprintln(stderr, "vclinic drain: -pid: want a process id")
		return 2
	}
	if err := syscall.Kill(*pid, syscall.SIGTERM); err != nil {
		fmt.Fprintf(stderr, "vclinic drain: signal %d: %v\n", *pid, err)
		return 1
	}
	deadline := time.Now().Add(*timeout)
	for time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := probe(pctx, strings.TrimSuffix(*base, "/")+"/healthz")
		cancel()
		if err != nil && syscall.Kill(*pid, 0) != nil {
			fmt.Fprintln(stdout, "drained")
			return 0
		}
		select {
		case <-ctx.Done():
			return 1
		case <-time.After(500 * time.Millisecond):
		}
	}
	fmt.Fprintf(stderr, "vclinic drain: the node still runs after %s\n", *timeout)
	return 1
}

// insecureLocal is the transport of the health and drain probes: they ask
// the node on this machine whether it answers, under a certificate that
// names the public host (or is the load balancer's business), so they do
// not verify it.
func insecureLocal() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // a liveness probe of the local node
}
