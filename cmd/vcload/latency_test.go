package main

import (
	"testing"
	"time"
)

func TestStamp(t *testing.T) {
	p := make([]byte, 100)
	stamp(p)
	got, ok := stamped(p)
	if !ok || got <= 0 || time.Since(clockEpoch)-got > time.Second {
		t.Fatalf("stamp read back as %v %v", got, ok)
	}
	if _, ok := stamped(make([]byte, 100)); ok {
		t.Fatal("an unstamped payload read as stamped")
	}
	short := make([]byte, stampOffset+stampLen-1)
	stamp(short)
	if _, ok := stamped(short); ok {
		t.Fatal("a payload too short for a stamp read as stamped")
	}
}

// TestLatencyBetween: percentiles of what was counted in the window only,
// at bucket edges.
func TestLatencyBetween(t *testing.T) {
	var h latencyHistogram
	h.add(5 * time.Second) // before the window, over the last bucket
	from := h.snapshot()
	for range 98 {
		h.add(250 * time.Microsecond)
	}
	h.add(3 * time.Millisecond)
	h.add(40 * time.Millisecond)
	f := between(from, h.snapshot())
	if f.Count != 100 || f.P50 != 0.26 || f.P99 != 3.01 || f.Max != 40.01 {
		t.Fatalf("%+v", f)
	}
	if f := between(from, from); f.Count != 0 || f.P50 != 0 {
		t.Fatalf("empty window: %+v", f)
	}
}
