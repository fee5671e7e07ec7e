package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"vclinic/internal/records/recordstest"
	"vclinic/internal/redistest"
)

func TestMain(m *testing.M) {
	code := recordstest.Main(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func client(t *testing.T, srv *redistest.Server) redis.UniversalClient {
	t.Helper()
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1 // a test that restarts Redis wants the error at once
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// fast are durations short enough for a test to watch a node die.
func fast(id string, load Load) Config {
	return Config{NodeID: id, URL: "http://" + id, MediaHost: id + ".example", Load: func() Load { return load },
		Heartbeat: 50 * time.Millisecond, DeadAfter: 300 * time.Millisecond}
}

// eventually polls cond every 20 ms for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: not %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run starts r's heartbeat; the returned func stops it (a node that dies
// without leaving).
func run(t *testing.T, r *Registry) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func nodes(t *testing.T, r *Registry) map[string]Node {
	t.Helper()
	ns, err := r.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Node{}
	for _, n := range ns {
		out[n.ID] = n
	}
	return out
}

func TestRegistry(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv)
	ctx := context.Background()
	a, _ := New(fast("web1-8080", Load{Rooms: 2, Participants: 5}), rdb, nil)
	b, _ := New(fast("web2-8080", Load{Rooms: 1, Participants: 2}), rdb, nil)
	for _, r := range []*Registry{a, b} {
		if err := r.Join(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stopA := run(t, a)
	run(t, b)
	got := nodes(t, b)
	if len(got) != 2 || got["web1-8080"].State != StateActive || got["web1-8080"].Participants != 5 ||
		got["web1-8080"].URL != "http://web1-8080" || got["web2-8080"].Rooms != 1 {
		t.Fatalf("nodes %+v", got)
	}
	if cpu := got["web1-8080"].CPU; cpu < 0 || cpu > 1 {
		t.Errorf("cpu %v outside 0-1", cpu)
	}

	// A second process with a live node's id refuses to start.
	dup, _ := New(fast("web1-8080", Load{}), rdb, nil)
	if err := dup.Join(ctx); !errors.Is(err, ErrIDTaken) {
		t.Fatalf("a second node with a live id: %v, want ErrIDTaken", err)
	}

	// Draining shows at once.
	b.Drain(ctx)
	if s := nodes(t, a)["web2-8080"].State; s != StateDraining {
		t.Errorf("a draining node is %s", s)
	}

	// Node a dies (no leave): dead after DeadAfter, and its id may be taken
	// by its restart once its claim lapsed.
	stopA()
	eventually(t, "dead", func() bool { return nodes(t, b)["web1-8080"].State == StateDead })
	restarted, _ := New(fast("web1-8080", Load{}), rdb, nil)
	if err := restarted.Join(ctx); err != nil {
		t.Fatalf("the dead node's restart: %v", err)
	}
	run(t, restarted)
	eventually(t, "alive again", func() bool { return nodes(t, b)["web1-8080"].State == StateActive })

	// A node that leaves gives its id up at once.
	restarted.Leave(ctx)
	again, _ := New(fast("web1-8080", Load{}), rdb, nil)
	start := time.Now()
	if err := again.Join(ctx); err != nil || time.Since(start) > 200*time.Millisecond {
		t.Errorf("joining after a leave: %v after %v", err, time.Since(start))
	}
}

// TestRegistryRedisRestart: Redis restarts empty; the nodes register again by
// themselves, with no restart of theirs.
func TestRegistryRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv)
	ctx := context.Background()
	a, _ := New(fast("web1-8080", Load{}), rdb, nil)
	b, _ := New(fast("web2-8080", Load{}), rdb, nil)
	for _, r := range []*Registry{a, b} {
		if err := r.Join(ctx); err != nil {
			t.Fatal(err)
		}
		run(t, r)
	}
	srv.Stop()
	if _, err := a.Nodes(ctx); err == nil {
		t.Fatal("nodes listed with Redis down")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, "both nodes listed again", func() bool {
		ns, err := a.Nodes(ctx)
		return err == nil && len(ns) == 2 && ns[0].State == StateActive && ns[1].State == StateActive
	})
	t.Logf("cluster view whole again %v after Redis answered", time.Since(start).Round(time.Millisecond))
}

func TestRegistryAlone(t *testing.T) {
	r, err := New(Config{NodeID: "solo-8080", URL: "http://127.0.0.1:8080", Load: func() Load { return Load{Rooms: 1} }}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	ns, err := r.Nodes(context.Background())
	if err != nil || len(ns) != 1 || ns[0].ID != "solo-8080" || ns[0].State != StateActive || ns[0].Rooms != 1 {
		t.Fatalf("a node alone: %+v, %v", ns, err)
	}
	for _, bad := range []Config{{}, {NodeID: string(make([]byte, 65))}, {NodeID: "x", Heartbeat: 5 * time.Second, DeadAfter: time.Second}} {
		if _, err := New(bad, nil, nil); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}
