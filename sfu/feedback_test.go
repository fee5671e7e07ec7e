package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"vclinic/sfu/mediaio"
)

// TestTransportWideCC with real pion peers: a publisher that numbers its
// packets (as browsers do) gets transport-cc feedback acknowledging them,
// and what a subscriber receives is numbered by the SFU, in one increasing
// sequence across its tracks.
func TestTransportWideCC(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, nil)
	numbering := func(m *webrtc.MediaEngine, r *interceptor.Registry) error {
		if err := webrtc.RegisterDefaultInterceptors(m, r); err != nil {
			return err
		}
		return webrtc.ConfigureTWCCHeaderExtensionSender(m, r)
	}
	a := joinPeer(t, s, "room", "alice", peerOptions{interceptors: numbering})
	defer a.close()
	b := joinPeer(t, s, "room", "bob", peerOptions{noMedia: true})
	defer b.close()
	waitMedia(t, b, 50, a)
	waitFor(t, 5*time.Second, "alice's packets acknowledged by transport-cc feedback", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.twccAcks >= 50
	})

	seen := map[int32]bool{}
	for _, kind := range []string{"audio", "video"} {
		pkts := b.stats("alice", kind).pkts
		for i, p := range pkts {
			if p.twcc < 0 {
				t.Fatalf("%s packet %d reached bob without a transport-wide number", kind, i)
			}
			if i > 0 && int16(uint16(p.twcc)-uint16(pkts[i-1].twcc)) <= 0 {
				t.Fatalf("%s packets numbered %d then %d", kind, pkts[i-1].twcc, p.twcc)
			}
			if seen[p.twcc] {
				t.Fatalf("transport-wide number %d used twice", p.twcc)
			}
			seen[p.twcc] = true
		}
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
		if n > mediaio.NACKTries {
			t.Errorf("asked for packet %d %d times", seq, n)
		}
	}
}

// TestUnrepairableNACK: a subscriber that asks for a packet the history no
// longer keeps (after a black-out longer than it, say) cannot repair its
// picture, so the publisher is asked for a keyframe at once.
func TestUnrepairableNACK(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, func(c *Config) { c.KeyframeInterval = 20 * time.Millisecond })
	a := joinPeer(t, s, "room", "alice", peerOptions{})
	defer a.close()
	b := joinPeer(t, s, "room", "bob", peerOptions{noMedia: true})
	defer b.close()
	waitMedia(t, b, 20, a)
	time.Sleep(100 * time.Millisecond) // the keyframe requests of the join are past the throttle
	pkts := b.stats("alice", "video").pkts
	last := pkts[len(pkts)-1]
	before, sent := a.plis.Load(), s.Stats().PLIsSent
	old := last.seq - 1000 // far past the 256 packets kept
	if err := b.sub.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: last.ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{old})}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "alice asked for a keyframe after bob's unrepairable NACK", func() bool {
		return a.plis.Load() > before && s.Stats().PLIsSent > sent
	})
}
