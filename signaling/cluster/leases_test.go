package cluster

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/recordstest"
)

func openLeaseDB(t *testing.T) *records.DB {
	t.Helper()
	dsn := recordstest.Postgres(t).Database(t)
	db, err := records.Open(context.Background(), records.Config{PostgresURL: dsn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// lostRooms collects what a Leases reports lost.
type lostRooms struct {
	mu    sync.Mutex
	rooms []string
}

func (l *lostRooms) add(rooms []string) {
	l.mu.Lock()
	l.rooms = append(l.rooms, rooms...)
	l.mu.Unlock()
}

func (l *lostRooms) has(room string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.rooms, room)
}

func newLeases(t *testing.T, db *records.DB, node string, ttl time.Duration) (*Leases, *lostRooms) {
	t.Helper()
	l, err := NewLeases(context.Background(), db, node, ttl, nil)
	if err != nil {
		t.Fatal(err)
	}
	lost := &lostRooms{}
	l.OnLost(lost.add)
	return l, lost
}

// TestLeases: one node at a time hosts a room; renewal keeps it; a node that
// stops renewing (a paused process) loses it at its own deadline and is
// fenced by the new token when it comes back; a closed room's lease is
// released at the next renewal; a restarted instance of a node takes its
// rooms over from the dead one.
func TestLeases(t *testing.T) {
	ctx := context.Background()
	db := openLeaseDB(t)
	const ttl = 600 * time.Millisecond
	a, lostA := newLeases(t, db, "web1", ttl)
	b, _ := newLeases(t, db, "web2", ttl)

	if err := a.Open(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Open(ctx, "r1"); !errors.Is(err, ErrElsewhere) {
		t.Fatalf("second node takes a held room: %v", err)
	}
	node, tokA, ok, err := a.Holder(ctx, "r1")
	if err != nil || !ok || node != "web1" || tokA == 0 || a.Token("r1") != tokA {
		t.Fatalf("holder %q %d %v %v, token %d", node, tokA, ok, err, a.Token("r1"))
	}

	// Renewed past several TTLs, the lease stays with a.
	for range 6 {
		time.Sleep(ttl / 3)
		if err := a.Renew(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !a.Holds("r1") {
		t.Fatal("a renewed lease is not held")
	}
	if err := b.Open(ctx, "r1"); !errors.Is(err, ErrElsewhere) {
		t.Fatalf("a renewed lease was taken: %v", err)
	}

	// a pauses past its lease: it stops hosting at its own deadline, b
	// takes the room with a greater token, and a's renewal on waking
	// matches nothing.
	time.Sleep(ttl + 50*time.Millisecond)
	if a.Holds("r1") {
		t.Fatal("a still hosts past its deadline")
	}
	if err := b.Open(ctx, "r1"); err != nil {
		t.Fatalf("the lapsed lease: %v", err)
	}
	if tokB := b.Token("r1"); tokB <= tokA {
		t.Fatalf("fencing token %d after %d", tokB, tokA)
	}
	if err := a.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if !lostA.has("r1") {
		t.Fatal("a was not told it lost r1")
	}
	if node, _, _, _ := b.Holder(ctx, "r1"); node != "web2" {
		t.Fatalf("r1 is on %q after a's renewal", node)
	}

	// A lease taken from under a node (its renewal names the old token) is
	// reported lost at the next renewal, before its local deadline.
	if err := a.Open(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	a2, _ := newLeases(t, db, "web1", ttl) // web1 restarted: a is its dead instance
	if err := a2.Open(ctx, "r2"); err != nil {
		t.Fatalf("a restarted node takes its own room: %v", err)
	}
	if err := a.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Holds("r2") || !lostA.has("r2") || !a2.Holds("r2") {
		t.Fatalf("the dead instance still holds r2: a %v a2 %v", a.Holds("r2"), a2.Holds("r2"))
	}
	if c := a.Counters(); c.LostTaken != 1 || c.LostDeadline != 1 {
		t.Errorf("a's counters %+v: want r1 given up at its deadline, r2 taken", c)
	}

	// A closed room's lease goes at the next renewal; opened again before
	// then, it stays.
	if err := b.Open(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	b.Closed("r3")
	if err := b.Open(ctx, "r3"); err != nil || !b.Holds("r3") {
		t.Fatalf("reopened: %v", err)
	}
	if err := b.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := b.Holder(ctx, "r3"); !ok {
		t.Fatal("a reopened room's lease was released")
	}
	b.Closed("r3")
	if err := b.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := b.Holder(ctx, "r3"); ok || b.Holds("r3") {
		t.Fatal("a closed room's lease was kept")
	}
	if err := a2.Open(ctx, "r3"); err != nil {
		t.Fatalf("a released room: %v", err)
	}

	// A drain releases everything at once.
	if err := a2.ReleaseAll(ctx); err != nil {
		t.Fatal(err)
	}
	for _, room := range []string{"r2", "r3"} {
		if err := b.Open(ctx, room); err != nil {
			t.Fatalf("%s after the drain: %v", room, err)
		}
	}
	if err := a2.Open(ctx, "r4"); !errors.Is(err, ErrDraining) {
		t.Fatalf("a drained node takes a room: %v", err)
	}
	if got := b.Rooms(); len(got) != 3 {
		t.Fatalf("b holds %v", got)
	}
}

// TestLeaseGivenUpAtDeadline: a node cut off from PostgreSQL while it
// hosts a room (its renewals fail) gives the room up at its own deadline,
// before the lease ends in PostgreSQL and another node can take it: never
// two hosts at once, and no waiting for the next renewal to notice.
func TestLeaseGivenUpAtDeadline(t *testing.T) {
	ctx := t.Context()
	dsn := recordstest.Postgres(t).Database(t)
	open := func() *records.DB {
		db, err := records.Open(ctx, records.Config{PostgresURL: dsn}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbA := open()
	// Long enough that the tenth given up early (300 ms) outlasts a late
	// wake-up on a loaded machine.
	const ttl = 3 * time.Second
	a, err := NewLeases(ctx, dbA, "web1", ttl, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newLeases(t, open(), "web2", ttl)
	var mu sync.Mutex
	var lostAt time.Time
	a.OnLost(func(rooms []string) {
		mu.Lock()
		defer mu.Unlock()
		if slices.Contains(rooms, "r1") && lostAt.IsZero() {
			lostAt = time.Now()
		}
	})
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go a.Run(runCtx)
	// The room opens between two renewals, as rooms do: its deadline is
	// not on a renewal's tick.
	time.Sleep(ttl / 7)
	if err := a.Open(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	dbA.Close() // a's renewals fail from now on
	var tookAt time.Time
	deadline := time.Now().Add(10 * ttl)
	for {
		err := b.Open(ctx, "r1")
		if err == nil {
			tookAt = time.Now()
			break
		}
		if !errors.Is(err, ErrElsewhere) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease of a node that cannot renew never lapsed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	switch {
	case lostAt.IsZero():
		t.Fatalf("b took r1 and a was never told it lost it")
	case !lostAt.Before(tookAt):
		t.Fatalf("a gave r1 up %v after b took it: two hosts at once", lostAt.Sub(tookAt))
	}
	if a.Holds("r1") {
		t.Fatal("a still holds r1")
	}
	if c := a.Counters(); c.Held != 0 || c.LostDeadline != 1 || c.LostTaken != 0 {
		t.Errorf("a's counters %+v: want none held, one given up at its deadline", c)
	}
	if c := b.Counters(); c.Held != 1 || c.LostDeadline+c.LostTaken != 0 {
		t.Errorf("b's counters %+v", c)
	}
	t.Logf("a gave r1 up %v before b took it", tookAt.Sub(lostAt).Round(time.Millisecond))
}

// TestLeaseRace: nodes that open the same room at once: exactly one wins.
func TestLeaseRace(t *testing.T) {
	db := openLeaseDB(t)
	var nodes []*Leases
	for _, id := range []string{"web1", "web2", "web3", "web4", "web5"} {
		l, _ := newLeases(t, db, id, 5*time.Second)
		nodes = append(nodes, l)
	}
	for round := range 20 {
		room := "race-" + string(rune('a'+round))
		var wg sync.WaitGroup
		errs := make([]error, len(nodes))
		for i, n := range nodes {
			wg.Go(func() { errs[i] = n.Open(context.Background(), room) })
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrElsewhere):
				t.Fatalf("node %d: %v", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%s: %d nodes host it", room, won)
		}
	}
}

// TestLeasesNeedPostgres: the embedded database has no cluster.
func TestLeasesNeedPostgres(t *testing.T) {
	db, err := records.Open(context.Background(), records.Config{SQLitePath: t.TempDir() + "/x.db"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := NewLeases(context.Background(), db, "web1", 0, nil); err == nil {
		t.Fatal("leases on SQLite")
	}
}
