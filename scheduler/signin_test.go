package scheduler

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/recordstest"
)

// Add moves the clock on by d.
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// clocked opens a second store on s's database whose clock is c.
func clocked(t *testing.T, s *Store, c *testClock) *Store {
	t.Helper()
	rc, ok := testDBs.Load(s)
	if !ok {
		t.Fatal("not a test store")
	}
	cfg := s.cfg
	cfg.Clock = c.Now
	return openStoreOn(t, rc.(records.Config), cfg, nil)
}

func TestLockFor(t *testing.T) {
	for failures, want := range map[int]time.Duration{
		1: 0, 4: 0, 5: 15 * time.Minute, 6: 30 * time.Minute, 7: time.Hour, 11: 16 * time.Hour, 12: 24 * time.Hour, 40: 24 * time.Hour,
	} {
		if got := lockFor(failures); got != want {
			t.Errorf("lockFor(%d) = %v, want %v", failures, got, want)
		}
	}
}

func testSignInThrottle(t *testing.T, f *storeFixture) {
	c := &testClock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	s, ctx := clocked(t, f.s, c), f.ctx
	u := stMust(s.CreateUser(ctx, f.admin, "anna", "Dr. Anna Holm", RoleClinician, "correct horse battery"))(t)
	for _, name := range []string{"anna", "ghost"} {
		for i := range LockAfter {
			_, err := s.Authenticate(ctx, name, "wrong password!", "192.0.2.1")
			stErr(t, err, ErrBadCredentials, "")
			_ = i
		}
		// Locked: even the right password is not checked. A name that
		// exists and one that does not answer alike.
		_, err := s.Authenticate(ctx, name, "correct horse battery", "192.0.2.1")
		if !errors.Is(err, ErrThrottled) || RetryAfter(err) != LockFor {
			t.Fatalf("%s after %d failures: %v (retry after %v), want ErrThrottled for %v", name, LockAfter, err, RetryAfter(err), LockFor)
		}
	}
	c.Add(LockFor)
	if _, err := s.Authenticate(ctx, "anna", "correct horse battery", "192.0.2.1"); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	// The success cleared the count: four failures do not lock.
	for range LockAfter - 1 {
		s.Authenticate(ctx, "anna", "wrong password!", "192.0.2.1")
	}
	if _, err := s.Authenticate(ctx, "anna", "correct horse battery", "192.0.2.1"); err != nil {
		t.Fatalf("after four failures: %v", err)
	}
	// Locked again; attempts while locked do not count, the first failure
	// after the lock doubles it. An admin unlocks, a scheduler may not.
	for range LockAfter + 3 {
		s.Authenticate(ctx, "anna", "wrong password!", "192.0.2.1")
	}
	c.Add(LockFor)
	if _, err := s.Authenticate(ctx, "anna", "wrong password!", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("a failure after the lock: %v", err)
	}
	if _, err := s.Authenticate(ctx, "anna", "correct horse battery", "192.0.2.1"); !errors.Is(err, ErrThrottled) || RetryAfter(err) != 2*LockFor {
		t.Fatalf("after %d failures: %v, %v; want locked for %v", LockAfter+1, err, RetryAfter(err), 2*LockFor)
	}
	stErr(t, s.Unlock(ctx, f.staff, u.ID), ErrForbidden, "admin")
	if err := s.Unlock(ctx, f.admin, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "anna", "correct horse battery", "192.0.2.1"); err != nil {
		t.Fatalf("after the unlock: %v", err)
	}
	stErr(t, s.Unlock(ctx, f.admin, "nobody"), ErrNotFound, "")
	var locked int
	for _, e := range stMust(readAudit(ctx, s, f.admin, ""))(t) {
		if e.Action == AuditDenied && e.Detail == "locked" {
			locked++
		}
	}
	if locked != 6 {
		t.Errorf("%d attempts on a locked name logged, want 6", locked)
	}
}

func testSessions(t *testing.T, f *storeFixture) {
	c := &testClock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	s, ctx := clocked(t, f.s, c), f.ctx
	u := stMust(s.CreateUser(ctx, f.admin, "anna", "Dr. Anna Holm", RoleClinician, "correct horse battery"))(t)
	other := stMust(s.CreateUser(ctx, f.admin, "peter", "Dr. Peter Berg", RoleClinician, "correct horse battery"))(t)
	const idle = 30 * time.Minute
	check := func(ss Session, issued time.Time) error { return s.CheckStaff(ctx, u.ID, ss.ID, issued, idle) }
	issued := c.Now()
	ss := stMust(s.OpenSession(ctx, u, 12*time.Hour, "192.0.2.1"))(t)
	if err := check(ss, issued); err != nil {
		t.Fatal(err)
	}
	// Used every 20 minutes it stays open; 30 minutes unused, it ends.
	for range 3 {
		c.Add(20 * time.Minute)
		if err := check(ss, issued); err != nil {
			t.Fatalf("used 20 minutes after its last use: %v", err)
		}
	}
	c.Add(idle)
	if err := check(ss, issued); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("idle for %v: %v", idle, err)
	}
	// Another user's session is not this user's.
	theirs := stMust(s.OpenSession(ctx, other, 12*time.Hour, ""))(t)
	if err := check(theirs, c.Now()); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("another user's session: %v", err)
	}
	// Logout ends it; another user's logout of it does nothing.
	ss = stMust(s.OpenSession(ctx, u, 12*time.Hour, ""))(t)
	if err := s.EndSession(ctx, other.Actor(), ss.ID); err != nil || check(ss, c.Now()) != nil {
		t.Fatalf("another user ended the session: %v, %v", err, check(ss, c.Now()))
	}
	if err := s.EndSession(ctx, u.Actor(), ss.ID); err != nil {
		t.Fatal(err)
	}
	if err := check(ss, c.Now()); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("after logout: %v", err)
	}
	// Its lifetime ends it.
	ss = stMust(s.OpenSession(ctx, u, time.Hour, ""))(t)
	for range 4 {
		c.Add(15 * time.Minute)
	}
	if err := check(ss, c.Now()); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("after its lifetime: %v", err)
	}
	// Sign out everywhere: sessions and tokens issued before end, later
	// ones work. Only the user or an admin may.
	a1, a2 := stMust(s.OpenSession(ctx, u, 12*time.Hour, ""))(t), stMust(s.OpenSession(ctx, u, 12*time.Hour, ""))(t)
	before := c.Now()
	stErr(t, s.SignOutEverywhere(ctx, other.Actor(), u.ID), ErrForbidden, "")
	if err := s.SignOutEverywhere(ctx, u.Actor(), u.ID); err != nil {
		t.Fatal(err)
	}
	for _, x := range []Session{a1, a2} {
		if err := check(x, before); !errors.Is(err, ErrSessionEnded) {
			t.Errorf("a session after signing out everywhere: %v", err)
		}
	}
	if err := s.CheckStaff(ctx, u.ID, "", before, idle); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("an operator token issued before signing out everywhere: %v", err)
	}
	c.Add(2 * time.Second)
	if err := s.CheckStaff(ctx, u.ID, "", c.Now(), idle); err != nil {
		t.Errorf("an operator token issued after: %v", err)
	}
	// A new password signs out everywhere.
	c.Add(time.Minute)
	ss = stMust(s.OpenSession(ctx, u, 12*time.Hour, ""))(t)
	if err := s.SetPassword(ctx, u.Actor(), u.ID, "a new long password"); err != nil {
		t.Fatal(err)
	}
	if err := check(ss, c.Now()); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("after a new password: %v", err)
	}
	// A disabled user is signed out and cannot sign in; enabled, they can.
	c.Add(time.Minute)
	ss = stMust(s.OpenSession(ctx, u, 12*time.Hour, ""))(t)
	stErr(t, s.SetDisabled(ctx, f.staff, u.ID, true), ErrForbidden, "admin")
	if err := s.SetDisabled(ctx, f.admin, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := check(ss, c.Now()); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("a disabled user's session: %v", err)
	}
	_, err := s.Authenticate(ctx, "anna", "a new long password", "")
	stErr(t, err, ErrBadCredentials, "")
	if err := s.SetDisabled(ctx, f.admin, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "anna", "a new long password", ""); err != nil {
		t.Errorf("enabled again: %v", err)
	}
	stErr(t, s.SetDisabled(ctx, f.admin, "nobody", true), ErrNotFound, "")
	if err := s.CheckStaff(ctx, "nobody", "", c.Now(), idle); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("a token of no user: %v", err)
	}
}

// TestLoginFloodMemory: 40 sign-ins at once (each an argon2id hash of 19
// MiB) leave the heap flat: the hashes take turns. Without the bound they
// took the server from 89 MB to 928 MB.
func TestLoginFloodMemory(t *testing.T) {
	// Every sign-in must get its turn, however slow hashing is here (the
	// race detector, a busy machine): this measures memory, not HashWait.
	s := openStore(t, recordstest.Backends()[0], Config{HashWait: 5 * time.Minute})
	ctx := context.Background()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	const logins = 40
	var wg sync.WaitGroup
	for i := range logins {
		wg.Go(func() {
			_, err := s.Authenticate(ctx, fmt.Sprintf("flood-%d", i), "a wrong password", "192.0.2.9")
			if !errors.Is(err, ErrBadCredentials) {
				t.Errorf("login %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	grew := int64(peak) - int64(base.HeapInuse)
	t.Logf("heap in use: %d MiB before, %d MiB at the peak of %d concurrent sign-ins (%d at a time)",
		base.HeapInuse>>20, peak>>20, logins, s.cfg.HashSlots)
	// 40 unbounded hashes need 760 MiB; two at a time, with the garbage
	// collector's slack, stay far below 250.
	if grew > 250<<20 {
		t.Errorf("the heap grew by %d MiB under a sign-in flood", grew>>20)
	}
}
