package sfu

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the test advances it. After
// registers a waiter; waiting reports when the code under test has reached
// one, which is how a test knows that code has decided to wait.
type fakeClock struct {
	mu      sync.Mutex // guards the following
	now     time.Time
	waiters []fakeWaiter
	changed chan struct{} // closed and replaced when waiters changes
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC), changed: make(chan struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	c.notify()
	return ch
}

// Advance moves the clock and fires the waiters that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
	c.notify()
}

func (c *fakeClock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// waiting waits until n waiters are registered.
func (c *fakeClock) waiting(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		got, changed := len(c.waiters), c.changed
		c.mu.Unlock()
		if got == n {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("clock has %d waiters, want %d", got, n)
		}
	}
}

func TestKeyframeThrottle(t *testing.T) {
	const interval = 500 * time.Millisecond
	clk := newFakeClock()
	sent := make(chan time.Time, 100)
	k := newKeyframeRequester(interval, clk, func() { sent <- clk.Now() })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.run(ctx) })
	defer func() {
		cancel()
		wg.Wait()
	}()

	expectSent := func(want time.Time) {
		t.Helper()
		select {
		case got := <-sent:
			if !got.Equal(want) {
				t.Fatalf("keyframe request sent at %v, want %v", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no keyframe request sent, want one at %v", want)
		}
	}
	expectNoneSent := func() {
		t.Helper()
		if n := len(sent); n != 0 {
			t.Fatalf("%d keyframe requests sent, want none", n)
		}
	}
	start := clk.Now()

	// A burst is answered by one request at once.
	for range 5 {
		k.request()
	}
	expectSent(start)

	// A request inside the interval waits for its end.
	k.request()
	clk.waiting(t, 1) // the requester has decided to wait
	expectNoneSent()
	k.request() // more while waiting: coalesced
	k.request()
	clk.Advance(interval - time.Millisecond)
	clk.waiting(t, 1) // still waiting
	expectNoneSent()
	clk.Advance(time.Millisecond)
	expectSent(start.Add(interval))

	// The requests made while waiting were answered by that one: a new
	// request must wait a whole interval again.
	k.request()
	clk.waiting(t, 1)
	expectNoneSent()
	clk.Advance(interval)
	expectSent(start.Add(2 * interval))

	// After a quiet interval a request goes out at once.
	clk.Advance(3 * interval)
	k.request()
	expectSent(start.Add(5 * interval))
	clk.waiting(t, 0)
}
