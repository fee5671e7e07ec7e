package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vclinic/internal/records/recordstest"
	"vclinic/internal/redistest"
	"vclinic/scheduler"
	"vclinic/signaling"
	"vclinic/signaling/cluster"
)

// clusterNode is a node of a test cluster: a clinic on the shared
// PostgreSQL and Redis, served on loopback.
type clusterNode struct {
	c   *clinic
	srv *httptest.Server
}

func startNode(t *testing.T, dsn, redisURL, id string) (*clusterNode, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := serveConfig{Addr: ln.Addr().String(), Data: filepath.Join(t.TempDir(), "data"), Postgres: dsn, Redis: redisURL,
		NodeID: id, UDPPort: 0, TCPPort: -1, Grace: 20 * time.Second}
	c, err := newClinic(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "http://"+ln.Addr().String(), false)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: c.routes()}}
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.registry.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		c.Close()
	})
	return &clusterNode{c: c, srv: srv}, nil
}

// TestClusterView: nodes on one PostgreSQL and one Redis see each other in
// GET /api/v1/cluster; a second node with a live node's id refuses to
// start; -redis without -postgres is refused.
func TestClusterView(t *testing.T) {
	dsn := recordstest.Postgres(t).Database(t)
	rds := redistest.Start(t)
	a, err := startNode(t, dsn, rds.URL(), "web1-8080")
	if err != nil {
		t.Fatal(err)
	}
	b, err := startNode(t, dsn, rds.URL(), "web2-8080")
	if err != nil {
		t.Fatal(err)
	}
	// An admin's token signed on node a works on node b: the keys and the
	// users are shared.
	u, err := a.c.store.CreateUser(context.Background(), scheduler.System, "root", "Ada Admin", "admin", "a long password 4")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.c.keys.Sign(signaling.TokenRequest{Role: "admin", Subject: u.ID, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", b.srv.URL+"/api/v1/cluster", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var view struct{ Nodes []cluster.Node }
	if err := json.NewDecoder(resp.Body).Decode(&view); err != nil || resp.StatusCode != 200 {
		t.Fatalf("cluster view: %d %v", resp.StatusCode, err)
	}
	if len(view.Nodes) != 2 || view.Nodes[0].ID != "web1-8080" || view.Nodes[1].ID != "web2-8080" {
		t.Fatalf("nodes %+v", view.Nodes)
	}
	for i, n := range []*clusterNode{a, b} {
		got := view.Nodes[i]
		if got.URL != n.srv.URL || got.State != cluster.StateActive || got.MediaHost != "127.0.0.1" || time.Since(got.LastSeen) > 10*time.Second {
			t.Errorf("node %d: %+v", i, got)
		}
	}
	// The same id again: refused, saying so.
	_, err = startNode(t, dsn, rds.URL(), "web1-8080")
	if !errors.Is(err, cluster.ErrIDTaken) || !strings.Contains(err.Error(), "web1-8080") {
		t.Errorf("a second node with a live node's id: %v", err)
	}
	if _, err := parseServeConfig([]string{"-redis", rds.URL()}, io.Discard); err == nil || !strings.Contains(err.Error(), "-postgres") {
		t.Errorf("-redis without -postgres: %v", err)
	}
}
