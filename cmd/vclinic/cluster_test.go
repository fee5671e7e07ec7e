package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

func startNode(t testing.TB, dsn, redisURL, id string, edits ...func(*serveConfig)) (*clusterNode, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := serveConfig{Addr: ln.Addr().String(), Data: filepath.Join(t.TempDir(), "data"), Postgres: dsn, Redis: redisURL,
		NodeID: id, UDPPort: 0, TCPPort: -1, Grace: 20 * time.Second, CPRKeyFile: sharedCPRKey(t, dsn)}
	for _, edit := range edits {
		edit(&cfg)
	}
	c, err := newClinic(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "http://"+ln.Addr().String(), false)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: c.routes()}}
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.runCluster(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		c.Close()
	})
	return &clusterNode{c: c, srv: srv}, nil
}

// TestClusterView: nodes on one PostgreSQL and one Redis see each other in
// GET /api/v1/cluster (one reaches Redis by its unix socket, the other over
// TCP, both with its password); a node with the wrong password refuses to
// start and says why; a second node with a live node's id refuses to
// start; -redis without -postgres is refused.
func TestClusterView(t *testing.T) {
	dsn := recordstest.Postgres(t).Database(t)
	rds := redistest.StartTCP(t)
	a, err := startNode(t, dsn, rds.URL(), "web1-8080")
	if err != nil {
		t.Fatal(err)
	}
	b, err := startNode(t, dsn, rds.TCPURL(), "web2-8080")
	if err != nil {
		t.Fatal(err)
	}
	wrong := strings.Replace(rds.TCPURL(), ":pw-", ":not-pw-", 1)
	if _, err := startNode(t, dsn, wrong, "web3-8080"); err == nil {
		t.Error("a node with the wrong Redis password started")
	} else {
		t.Logf("the wrong Redis password: %v", err)
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

// TestClusterBookingStorm: 200 bookings of overlapping times for one
// clinician, sent at once and spread over three nodes on one PostgreSQL
// and one Redis: every booking is either made or refused as overlapping,
// and the ones made never overlap.
func TestClusterBookingStorm(t *testing.T) {
	nodes := startCluster(t, 3)
	ctx := context.Background()
	s := nodes[0].c.store
	sched, err := s.CreateUser(ctx, scheduler.System, "mette", "Mette Lund", "scheduler", "a long password 1")
	if err != nil {
		t.Fatal(err)
	}
	clin, err := s.CreateClinician(ctx, sched.Actor(), scheduler.Clinician{Name: "Dr. Anna Holm", Zone: scheduler.DefaultZone})
	if err != nil {
		t.Fatal(err)
	}
	av := scheduler.Availability{ClinicianID: clin.ID, Zone: clin.Zone}
	for d := time.Sunday; d <= time.Saturday; d++ {
		av.Rules = append(av.Rules, scheduler.WeeklyRule{Weekday: d, Start: 0, End: scheduler.Clock(24, 0)})
	}
	if _, err := s.PutAvailability(ctx, sched.Actor(), clin.ID, av); err != nil {
		t.Fatal(err)
	}
	pat, err := s.CreatePatient(ctx, sched.Actor(), scheduler.Patient{Name: "Karen Jensen"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := nodes[0].c.keys.Sign(signaling.TokenRequest{Role: "scheduler", Subject: sched.ID, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	const bookers = 200
	type result struct {
		status int
		start  time.Time
		end    time.Time
	}
	results := make([]result, bookers)
	var wg sync.WaitGroup
	for i := range bookers {
		wg.Go(func() {
			// Starts every 5 minutes over ~8 h, lengths 10-60 min: many overlap.
			start := base.Add(time.Duration(i*5%480) * time.Minute)
			minutes := 10 + (i*7)%51
			body := fmt.Sprintf(`{"clinicianId":%q,"patientId":%q,"start":%q,"durationMinutes":%d}`,
				clin.ID, pat.ID, start.UTC().Format(time.RFC3339), minutes)
			req, _ := http.NewRequest("POST", nodes[i%3].srv.URL+"/api/v1/appointments", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results[i] = result{resp.StatusCode, start, start.Add(time.Duration(minutes) * time.Minute)}
		})
	}
	wg.Wait()
	var made []result
	for i, r := range results {
		switch r.status {
		case 201:
			made = append(made, r)
		case 409:
		default:
			t.Errorf("booking %d: %d, want 201 or 409", i, r.status)
		}
	}
	for i := range made {
		for j := i + 1; j < len(made); j++ {
			if made[i].start.Before(made[j].end) && made[j].start.Before(made[i].end) {
				t.Errorf("bookings %v-%v and %v-%v overlap", made[i].start, made[i].end, made[j].start, made[j].end)
			}
		}
	}
	// What the nodes answered is what the records hold.
	booked, err := s.ListAppointments(ctx, sched.Actor(), clin.ID, base.Add(-time.Hour), base.Add(10*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(booked) != len(made) || len(made) == 0 {
		t.Errorf("%d bookings answered 201, %d in the records", len(made), len(booked))
	}
	t.Logf("%d of %d bookings made across three nodes, none overlapping", len(made), bookers)
}

// cprKeys are the CPR key files of the test databases: the nodes on one
// database share one, as a cluster's must.
var cprKeys sync.Map // dsn -> file

// sharedCPRKey is the CPR key file of the nodes on dsn.
func sharedCPRKey(t testing.TB, dsn string) string {
	t.Helper()
	if f, ok := cprKeys.Load(dsn); ok {
		return f.(string)
	}
	f := filepath.Join(t.TempDir(), "cpr.key")
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	if err := os.WriteFile(f, []byte(base64.StdEncoding.EncodeToString(secret)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	actual, _ := cprKeys.LoadOrStore(dsn, f)
	return actual.(string)
}
