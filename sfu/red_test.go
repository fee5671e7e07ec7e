package sfu

import (
	"bytes"
	"testing"
	"time"

	"go.uber.org/goleak"

	"vclinic/internal/netem"
)

// TestREDPrimary finds the primary encoding past RFC 2198's headers and
// redundant blocks, and refuses what does not add up.
func TestREDPrimary(t *testing.T) {
	frame := []byte{0xfc, 0, 0, 0, 7, 1, 2}
	red := redPayload(frame, 7)
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte
	}{
		{"one redundant block", red, frame},
		{"no redundant block", append([]byte{payloadTypeOpus}, frame...), frame},
		{"two redundant blocks", []byte{0x80 | 111, 0x0f, 0x00, 1, 0x80 | 111, 0x1e, 0x00, 2, 111, 0xaa, 0xbb, 0xcc, 9, 9}, []byte{9, 9}},
	} {
		got, ok := redPrimary(tc.in)
		if !ok || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, ok, tc.want)
		}
	}
	for _, bad := range [][]byte{
		nil,
		{0x80 | 111, 0, 0},                // a header cut short
		{0x80 | 111, 0, 0x0f, 0x0f, 111},  // a block longer than the payload
		{0x80 | 111, 0, 0, 1, 0x80 | 111}, // no primary header
	} {
		if got, ok := redPrimary(bad); ok {
			t.Errorf("redPrimary(%v) = %v, want an error", bad, got)
		}
	}
	if n, r := audioFrames(red, true); n != 7 || r != 6 {
		t.Errorf("audioFrames = %d, %d; want 7 and 6", n, r)
	}
}

// TestREDForwarding: a publisher's redundant audio reaches a subscriber
// that negotiated RED as it was sent, and one that did not as plain Opus
// (the primary encoding), each with its own payload type.
func TestREDForwarding(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, nil)
	a := joinPeer(t, s, "room", "alice", peerOptions{red: true})
	defer a.close()
	b := joinPeer(t, s, "room", "bob", peerOptions{red: true, noMedia: true})
	defer b.close()
	c := joinPeer(t, s, "room", "carol", peerOptions{noMedia: true})
	defer c.close()
	waitMedia(t, b, 20, a)
	waitMedia(t, c, 20, a)
	if st := s.Stats(); st.REDTracks != 1 {
		t.Errorf("Stats.REDTracks = %d, want alice's audio", st.REDTracks)
	}
	for _, p := range b.stats("alice", "audio").pkts {
		if p.pt != payloadTypeRED || p.frame == 0 || p.redundant != p.frame-1 {
			t.Fatalf("bob got %+v, want RED (PT %d) with frame n and n-1", p, payloadTypeRED)
		}
	}
	pkts := c.stats("alice", "audio").pkts
	for i, p := range pkts {
		if p.pt != payloadTypeOpus || p.redundant != 0 || (i > 0 && p.frame != pkts[i-1].frame+1) {
			t.Fatalf("carol got %+v after %+v, want plain Opus (PT %d), frame after frame", p, pkts[max(i-1, 0)], payloadTypeOpus)
		}
	}
	a.close()
	waitFor(t, 10*time.Second, "alice's RED track to be counted out", func() bool { return s.Stats().REDTracks == 0 })
}

// TestREDUnderLoss measures what redundant audio recovers: two subscribers
// behind the same lossy path, one with RED and one without, and the share
// of the publisher's frames each ends up without.
func TestREDUnderLoss(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	for _, tc := range []struct {
		name string
		imp  netem.Impairment
	}{
		{"5% random", netem.Impairment{Loss: 0.05}},
		{"15% random", netem.Impairment{Loss: 0.15}},
		{"bursts of 3 (5% lost)", netem.Impairment{BurstLoss: 0.0175, BurstLength: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSFU(t, nil)
			proxy := behindProxy(t, s)
			a := joinPeer(t, s, "room", "alice", peerOptions{red: true})
			defer a.close()
			b := joinPeer(t, s, "room", "bob", peerOptions{red: true, noMedia: true, via: proxy})
			defer b.close()
			c := joinPeer(t, s, "room", "carol", peerOptions{noMedia: true, via: proxy})
			defer c.close()
			waitMedia(t, b, 20, a)
			waitMedia(t, c, 20, a)
			last := func(tp *testPeer) uint32 {
				pkts := tp.stats("alice", "audio").pkts
				return pkts[len(pkts)-1].frame
			}
			from := max(last(b), last(c)) + 1
			proxy.SetDefault(netem.Impairment{}, tc.imp)
			time.Sleep(5 * time.Second)
			proxy.SetDefault(netem.Impairment{}, netem.Impairment{})
			to := from + 200 // 4 s of frames, inside the 5 s of loss
			time.Sleep(500 * time.Millisecond)
			missing := func(tp *testPeer) float64 {
				have := map[uint32]bool{}
				for _, p := range tp.stats("alice", "audio").pkts {
					have[p.frame] = true
					if p.redundant != 0 {
						have[p.redundant] = true
					}
				}
				n := 0
				for f := from; f < to; f++ {
					if !have[f] {
						n++
					}
				}
				return float64(n) / float64(to-from)
			}
			withRED, without := missing(b), missing(c)
			t.Logf("%s: frames missing after recovery: %.1f %% with RED, %.1f %% without", tc.name, 100*withRED, 100*without)
			if tc.imp.Loss > 0 {
				if without == 0 {
					t.Fatalf("no frame lost without RED: the path did not lose")
				}
				if withRED >= without || withRED > 0.5*tc.imp.Loss+0.01 {
					t.Errorf("RED left %.1f %% of frames missing against %.1f %% without: want it to recover most", 100*withRED, 100*without)
				}
			}
		})
	}
}
