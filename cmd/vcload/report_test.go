package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted
	}
	tests := []struct {
		name string
		xs   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 95, 7 * time.Millisecond},
		{"p0 is the minimum", ms(3, 1, 2), 0, time.Millisecond},
		{"median of odd", ms(5, 1, 3), 50, 3 * time.Millisecond},
		{"median of even is the lower (nearest rank)", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p95 of 1..100", ms(hundred...), 95, 95 * time.Millisecond},
		{"p100 is the maximum", ms(hundred...), 100, 100 * time.Millisecond},
		{"p95 of 10 is the maximum", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 95, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.xs...)
			if got := percentile(tt.xs, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.xs, tt.p, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.xs[i] {
					t.Fatal("percentile reordered its input")
				}
			}
		})
	}
}

func TestSeqCounterLoss(t *testing.T) {
	seqs := func(from uint16, n int, skip ...uint16) []uint16 {
		skipped := map[uint16]bool{}
		for _, s := range skip {
			skipped[s] = true
		}
		var out []uint16
		for i := 0; i < n; i++ {
			if s := from + uint16(i); !skipped[s] {
				out = append(out, s)
			}
		}
		return out
	}
	tests := []struct {
		name               string
		in                 []uint16
		expected, received int64
	}{
		{"none lost", seqs(10, 100), 100, 100},
		{"two lost", seqs(10, 100, 20, 50), 100, 98},
		{"across the wrap", seqs(65530, 20), 20, 20},
		{"lost across the wrap", seqs(65530, 20, 65535, 0, 1), 20, 17},
		{"reordered across the wrap", []uint16{65534, 0, 65535, 1}, 4, 4},
		{"first packet late", []uint16{5, 4, 6}, 3, 3},
		{"first packet late across the wrap", []uint16{0, 65535, 1}, 3, 3},
		{"duplicate (retransmission)", []uint16{1, 2, 2, 3}, 3, 4},
		{"several wraps", seqs(0, 3*65536+10), 3*65536 + 10, 3*65536 + 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c seqCounter
			for _, s := range tt.in {
				c.add(s)
			}
			exp, rec := windowLoss(seqSnapshot{}, c.snapshot())
			if exp != tt.expected || rec != tt.received {
				t.Errorf("expected, received = %d, %d; want %d, %d", exp, rec, tt.expected, tt.received)
			}
		})
	}
}

func TestWindowLoss(t *testing.T) {
	var c seqCounter
	for s := uint16(65000); s != 100; s++ { // warm-up, across the wrap
		c.add(s)
	}
	from := c.snapshot()
	for s := uint16(100); s < 1100; s++ {
		if s%100 != 0 { // lose 10 of 1000
			c.add(s)
		}
	}
	exp, rec := windowLoss(from, c.snapshot())
	if exp != 1000 || rec != 990 {
		t.Fatalf("window: expected %d received %d, want 1000 and 990", exp, rec)
	}
	if got, want := lossPercent(exp, rec), 1.0; got != want {
		t.Errorf("loss %v%%, want %v%%", got, want)
	}
	if got := lossPercent(10, 11); got != 0 {
		t.Errorf("loss with duplicates %v%%, want 0 (clamped)", got)
	}
	if got := lossPercent(0, 0); got != 0 {
		t.Errorf("loss of nothing %v%%, want 0", got)
	}
	if exp, rec := windowLoss(from, seqSnapshot{}); exp != 0 || rec != 0 {
		t.Errorf("a track with no packets: %d, %d; want 0, 0", exp, rec)
	}
}

func TestPacketsAdd(t *testing.T) {
	var p packets
	p.add(100, 90)  // 10 lost
	p.add(100, 101) // a duplicate does not cancel the other track's loss
	if p.Expected != 200 || p.Received != 191 || p.Lost != 10 || p.LossPercent != 5 {
		t.Errorf("got %+v, want expected 200, received 191, lost 10, 5%%", p)
	}
}
