package sfu

import (
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRxStream: the sequence numbers that go missing are asked for, each at
// most nackTries times, until they arrive; the receiver report's figures
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
	for range nackTries - 1 {
		if got := s.missing(nil); !slices.Equal(got, []uint16{65532, 2}) {
			t.Fatalf("missing %v, want 65532 2", got)
		}
	}
	if got := s.missing(nil); len(got) != 0 {
		t.Fatalf("asked %d times and still asking: %v", nackTries, got)
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

// TestPublisherFeedback with real pion peers: a publisher whose video
// loses packets on the way is asked for them (NACK) and told what arrived
// (receiver reports with the loss, echoing its sender reports' time).
func TestPublisherFeedback(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, nil)
	lost := func(seq uint16) bool { return seq%50 == 25 }
	a := joinPeer(t, s, "room", "alice", peerOptions{dropVideo: lost})
	defer a.close()
	waitFor(t, 10*time.Second, "NACKs for alice's lost video packets", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.nacked[25] > 0 && a.nacked[75] > 0
	})
	waitFor(t, 10*time.Second, "a receiver report on alice's video with loss and her sender report's time", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, r := range a.reports {
			if r.TotalLost > 0 && r.LastSenderReport != 0 && r.LastSequenceNumber > 75 {
				return true
			}
		}
		return false
	})
	a.mu.Lock()
	defer a.mu.Unlock()
	for seq, n := range a.nacked {
		if !lost(seq) {
			t.Errorf("asked for packet %d, which arrived", seq)
		}
		if n > nackTries {
			t.Errorf("asked for packet %d %d times", seq, n)
		}
	}
}
