package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/recordstest"
)

// testClock is a store clock the test moves by hand.
type testClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// expiryFixture is a storeFixture whose store runs on clock, which starts
// at f.now.
type expiryFixture struct {
	*storeFixture
	clock *testClock
}

// bookAt books req for f's scheduler with the store's clock at t, judging
// the booking at t too.
func (f *expiryFixture) bookAt(t time.Time, req BookRequest) (Booking, error) {
	f.clock.Set(t)
	return f.s.Book(f.ctx, f.staff, req, t)
}

// keys lists the idempotency keys stored, sorted.
func (f *expiryFixture) keys() []string {
	f.t.Helper()
	var keys []string
	err := records.QueryRows(f.ctx, f.s.db, `SELECT idem_key FROM idempotency_keys`, nil, func(r *sql.Rows) error {
		var k string
		err := r.Scan(&k)
		keys = append(keys, k)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// TestIdempotencyExpiry runs the expiry of idempotency keys on each store,
// with the default retention of 24 h and an injected clock.
func TestIdempotencyExpiry(t *testing.T) {
	const retention = 24 * time.Hour
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				test func(t *testing.T, f *expiryFixture)
			}{
				{"FreshKeyReplays", testFreshKeyReplays},
				{"ExpiredKeyBooksAnew", testExpiredKeyBooksAnew},
				{"ExpiredKeyConcurrent", testExpiredKeyConcurrent},
				{"Purge", testPurgeKeys},
				{"PurgeLoop", testPurgeLoop},
				{"Index", testKeysIndex},
			} {
				t.Run(tc.name, func(t *testing.T) {
					clock := &testClock{t: stTime(t, "2026-06-01T07:00:00+02:00")}
					s := openStore(t, b, Config{Clock: clock.Now})
					if got := s.cfg.IdempotencyRetention; got != retention {
						t.Fatalf("default retention %v, want %v", got, retention)
					}
					tc.test(t, &expiryFixture{storeFixture: newStoreFixture(t, s), clock: clock})
				})
			}
		})
	}
}

func (f *expiryFixture) request(key, start string) BookRequest {
	return BookRequest{ClinicianID: f.clin.ID, PatientID: f.pat.ID, TypeID: f.typ.ID,
		Start: stTime(f.t, start), IdempotencyKey: key}
}

func testFreshKeyReplays(t *testing.T, f *expiryFixture) {
	req := f.request("k", "2026-06-03T10:00:00+02:00")
	first := stMust(f.bookAt(f.now, req))(t)
	// The last instant of the retention still replays.
	last := f.now.Add(f.s.cfg.IdempotencyRetention - time.Millisecond)
	again := stMust(f.bookAt(last, req))(t)
	if !again.Replayed || again.Appointment != first.Appointment {
		t.Errorf("retry at the end of the retention: %+v, want a replay of %+v", again, first)
	}
	// A fresh key with another request is still refused.
	other := f.request("k", "2026-06-03T11:00:00+02:00")
	_, err := f.bookAt(last, other)
	stErr(t, err, ErrUnprocessable, "idempotency key reused with a different request")
	if got := f.keys(); !slices.Equal(got, []string{"k"}) {
		t.Errorf("keys %q, want [k]", got)
	}
}

func testExpiredKeyBooksAnew(t *testing.T, f *expiryFixture) {
	req := f.request("k", "2026-06-03T10:00:00+02:00")
	first := stMust(f.bookAt(f.now, req))(t)
	expired := f.now.Add(f.s.cfg.IdempotencyRetention)

	// The same request is new now: it meets the appointment it booked.
	_, err := f.bookAt(expired, req)
	stErr(t, err, ErrConflict, "busy")
	// Another request books, rather than being refused.
	other := f.request("k", "2026-06-03T11:00:00+02:00")
	second := stMust(f.bookAt(expired, other))(t)
	if second.Replayed || second.ID == first.ID || !second.Start.Equal(other.Start) {
		t.Errorf("expired key booked %+v, want a new appointment at %v", second, other.Start)
	}
	// The old appointment is untouched.
	if got := stMust(f.s.GetAppointment(f.ctx, f.staff, first.ID))(t); got != first.Appointment {
		t.Errorf("the first appointment is now %+v, want %+v", got, first.Appointment)
	}
	// The key, recorded anew, replays the new booking for another
	// retention and refuses the first request.
	later := expired.Add(time.Hour)
	if again := stMust(f.bookAt(later, other))(t); !again.Replayed || again.ID != second.ID {
		t.Errorf("retry of the new booking: %+v, want a replay of %s", again, second.ID)
	}
	_, err = f.bookAt(later, req)
	stErr(t, err, ErrUnprocessable, "idempotency key reused with a different request")
	if got := f.keys(); !slices.Equal(got, []string{"k"}) {
		t.Errorf("keys %q, want [k]", got)
	}
}

// testExpiredKeyConcurrent: concurrent requests that carry the same expired
// key, half for one clinician and half for another, book once: one request
// wins, its twins replay it, and the other request is refused.
func testExpiredKeyConcurrent(t *testing.T, f *expiryFixture) {
	stMust(f.bookAt(f.now, f.request("k", "2026-06-03T10:00:00+02:00")))(t)
	other := stMust(f.s.CreateClinician(f.ctx, f.staff, Clinician{Name: "Dr. Berg", Department: "Cardiology"}))(t)
	avail := stMust(f.s.GetAvailability(f.ctx, f.clin.ID))(t)
	stMust(f.s.PutAvailability(f.ctx, f.staff, other.ID, Availability{Rules: avail.Rules}))(t)
	reqs := [2]BookRequest{f.request("k", "2026-06-03T11:00:00+02:00"), f.request("k", "2026-06-03T11:00:00+02:00")}
	reqs[1].ClinicianID = other.ID

	expired := f.now.Add(f.s.cfg.IdempotencyRetention + time.Minute)
	f.clock.Set(expired)
	const n = 8
	var wg sync.WaitGroup
	results := make([]Booking, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = f.s.Book(f.ctx, f.staff, reqs[i%2], expired) })
	}
	wg.Wait()
	winner := -1
	for i := range n {
		if errs[i] == nil && !results[i].Replayed {
			if winner >= 0 {
				t.Fatalf("requests %d and %d both booked", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no request booked: %v", errs)
	}
	for i := range n {
		switch {
		case i%2 == winner%2:
			if errs[i] != nil || results[i].ID != results[winner].ID {
				t.Errorf("twin %d of the winner: %+v, %v; want %s", i, results[i], errs[i], results[winner].ID)
			}
		case !errors.Is(errs[i], ErrUnprocessable):
			t.Errorf("request %d for the other clinician: %v, want ErrUnprocessable", i, errs[i])
		}
	}
}

func testPurgeKeys(t *testing.T, f *expiryFixture) {
	retention := f.s.cfg.IdempotencyRetention
	purgeAt := f.now.Add(retention + 2*time.Hour)
	var booked []Appointment
	for _, k := range []struct {
		key, start string
		age        time.Duration // at purge time
	}{
		{"old-1", "2026-06-03T09:00:00+02:00", retention + 2*time.Hour},
		{"old-2", "2026-06-03T10:00:00+02:00", retention + time.Hour},
		{"edge", "2026-06-03T11:00:00+02:00", retention},
		{"fresh", "2026-06-03T12:00:00+02:00", retention - time.Millisecond},
		{"new", "2026-06-03T13:00:00+02:00", 0},
	} {
		booked = append(booked, stMust(f.bookAt(purgeAt.Add(-k.age), f.request(k.key, k.start)))(t).Appointment)
	}

	// Batches of two: the three expired keys take two batches.
	n, err := f.s.purgeKeys(f.ctx, purgeAt, 2)
	if err != nil || n != 3 {
		t.Errorf("purge: %d keys, %v; want 3", n, err)
	}
	if got, want := f.keys(), []string{"fresh", "new"}; !slices.Equal(got, want) {
		t.Errorf("keys left %q, want %q", got, want)
	}
	// Nothing more has expired.
	if n, err := f.s.PurgeIdempotencyKeys(f.ctx, purgeAt); err != nil || n != 0 {
		t.Errorf("purge again: %d keys, %v; want 0", n, err)
	}
	// The appointments stay.
	for _, a := range booked {
		if got := stMust(f.s.GetAppointment(f.ctx, f.staff, a.ID))(t); got != a {
			t.Errorf("appointment %s is now %+v, want %+v", a.ID, got, a)
		}
	}
	// A day on, the rest go.
	if n, err := f.s.PurgeIdempotencyKeys(f.ctx, purgeAt.Add(retention)); err != nil || n != 2 {
		t.Errorf("purge a day on: %d keys, %v; want 2", n, err)
	}
	if got := f.keys(); len(got) != 0 {
		t.Errorf("keys left %q, want none", got)
	}
}

// recordHandler passes the log records of the purge loop to a channel.
type recordHandler struct{ records chan<- slog.Record }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recordHandler) WithGroup(string) slog.Handler            { return h }

func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "scheduler store: purged idempotency keys" || r.Message == "scheduler store: purging idempotency keys" {
		h.records <- r
	}
	return nil
}

// runPurge runs RunIdempotencyPurge on a second store over f's database
// (closed first when closed is set), and returns the first record it logs.
func (f *expiryFixture) runPurge(t *testing.T, closed bool) slog.Record {
	records := make(chan slog.Record)
	s := reopen(t, f.s, slog.New(recordHandler{records}))
	if closed {
		s.db.Close()
	}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunIdempotencyPurge(ctx, time.Hour)
	}()
	defer func() {
		cancel()
		<-done
	}()
	guard := time.NewTimer(time.Minute)
	defer guard.Stop()
	select {
	case r := <-records:
		return r
	case <-guard.C:
		t.Fatal("the purge loop logged nothing")
		return slog.Record{}
	}
}

// testPurgeLoop: the loop purges at once, by the store's clock, and logs
// the count at debug level and a failure at warn.
func testPurgeLoop(t *testing.T, f *expiryFixture) {
	stMust(f.bookAt(f.now, f.request("old", "2026-06-03T10:00:00+02:00")))(t)
	stMust(f.bookAt(f.now.Add(2*time.Hour), f.request("fresh", "2026-06-03T11:00:00+02:00")))(t)
	f.clock.Set(f.now.Add(f.s.cfg.IdempotencyRetention + time.Hour))

	r := f.runPurge(t, false)
	var keys int64 = -1
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "keys" {
			keys = a.Value.Int64()
		}
		return true
	})
	if r.Level != slog.LevelDebug || keys != 1 {
		t.Errorf("logged %v %q keys=%d, want DEBUG with keys=1", r.Level, r.Message, keys)
	}
	if got := f.keys(); !slices.Equal(got, []string{"fresh"}) {
		t.Errorf("keys left %q, want [fresh]", got)
	}

	if r := f.runPurge(t, true); r.Level != slog.LevelWarn {
		t.Errorf("on a closed store logged %v %q, want WARN", r.Level, r.Message)
	}
}

// testKeysIndex: migration 2 indexes the keys by age for the purge.
func testKeysIndex(t *testing.T, f *expiryFixture) {
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = $1`
	if f.s.db.Dialect() == records.Postgres {
		q = `SELECT count(*) FROM pg_indexes WHERE tablename = 'idempotency_keys' AND indexname = $1`
	}
	var n int
	if err := f.s.db.QueryRowContext(f.ctx, q, "idempotency_keys_created").Scan(&n); err != nil || n != 1 {
		t.Errorf("index idempotency_keys_created: %d, %v; want 1", n, err)
	}
}
