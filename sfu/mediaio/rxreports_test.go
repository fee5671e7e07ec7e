package mediaio

import (
	"slices"
	"testing"
	"time"
)

// TestRxStream: the sequence numbers that go missing are asked for, each at
// most NACKTries times, until they arrive; the receiver report's figures
// follow RFC 3550 A.3 across a wrap of the sequence numbers.
func TestRxStream(t *testing.T) {
	s := &rxStream{ssrc: 7, clockRate: 90000, nack: true}
	now := time.Unix(1000, 0)
	arrive := func(seqs ...uint16) {
		for _, q := range seqs {
			now = now.Add(10 * time.Millisecond)
			s.onPacket(now, q, uint32(q)*900) // 10 ms apart in both clocks: no jitter
		}
	}
	arrive(65530, 65531, 65533, 65535, 0, 1, 4)
	if got := s.missing(nil); !slices.Equal(got, []uint16{65532, 65534, 2, 3}) {
		t.Fatalf("missing %v, want 65532 65534 2 3", got)
	}
	arrive(3, 65534) // late
	for range NACKTries - 1 {
		if got := s.missing(nil); !slices.Equal(got, []uint16{65532, 2}) {
			t.Fatalf("missing %v, want 65532 2", got)
		}
	}
	if got := s.missing(nil); len(got) != 0 {
		t.Fatalf("asked %d times and still asking: %v", NACKTries, got)
	}

	r, ok := s.report(now)
	// 65530 to 4 is 11 packets; 9 arrived.
	if !ok || r.SSRC != 7 || r.LastSequenceNumber != 1<<16|4 || r.TotalLost != 2 || r.FractionLost != 2*256/11 {
		t.Fatalf("report %+v, want 2 of 11 lost, highest 1<<16|4", r)
	}
	// The next interval: 5 to 14 with 14 twice (a duplicate) and 9 missing.
	arrive(5, 6, 7, 8, 10, 11, 12, 13, 14, 14)
	r, _ = s.report(now)
	if r.TotalLost != 2 || r.FractionLost != 0 || r.LastSequenceNumber != 1<<16|14 {
		t.Fatalf("report %+v: a duplicate makes up for a loss in the cumulative and interval figures (A.3)", r)
	}
	if r.LastSenderReport != 0 || r.Delay != 0 {
		t.Fatalf("report %+v echoes a sender report that never came", r)
	}

	// Far ahead: the window is forgotten, not asked for.
	arrive(2000)
	if got := s.missing(nil); len(got) != nackWindow-1 {
		t.Fatalf("after a jump, %d missing, want the window's %d", len(got), nackWindow-1)
	}
}

// TestRxJitter: packets on time add no jitter; one 10 ms late adds 1/16 of
// its delay in timestamp units (RFC 3550 A.8).
func TestRxJitter(t *testing.T) {
	s := &rxStream{clockRate: 90000}
	now := time.Unix(1000, 0)
	for q := range uint16(10) {
		s.onPacket(now.Add(time.Duration(q)*20*time.Millisecond), q, uint32(q)*1800)
	}
	if r, _ := s.report(now); r.Jitter != 0 {
		t.Fatalf("jitter %d for packets on time", r.Jitter)
	}
	s.onPacket(now.Add(210*time.Millisecond), 10, 18000) // due at 200 ms
	if r, _ := s.report(now); r.Jitter != 900/16 {
		t.Fatalf("jitter %d, want %d", r.Jitter, 900/16)
	}
}
