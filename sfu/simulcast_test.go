package sfu

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"vclinic/internal/netem"
)

// simulcastRIDs are the test publisher's layers, lowest first, as the page
// names them.
var simulcastRIDs = []string{"q", "h", "f"}

// layerTag marks layer i's packets (at videoTagOffset).
func layerTag(i int) uint32 { return 0x51a0 + uint32(i) }

// withSimulcast adds the RID and MID header extensions simulcast needs to
// the client's configuration.
func withSimulcast(configure func(*webrtc.MediaEngine, *interceptor.Registry) error) func(*webrtc.MediaEngine, *interceptor.Registry) error {
	return func(m *webrtc.MediaEngine, r *interceptor.Registry) error {
		if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
			return err
		}
		if configure == nil {
			return webrtc.RegisterDefaultInterceptors(m, r)
		}
		return configure(m, r)
	}
}

// startSimulcast publishes Opus and three VP8 layers: q about 150 kbit/s,
// h 480 kbit/s and f 1.3 Mbit/s, each with a keyframe every half second
// and its own picture IDs, as a browser's encoder sends them.
func (tp *testPeer) startSimulcast() {
	var err error
	tp.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "cam-and-mic")
	if err != nil {
		tp.t.Fatal(err)
	}
	if _, err := tp.pub.AddTransceiverFromTrack(tp.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		tp.t.Fatal(err)
	}
	for _, rid := range simulcastRIDs {
		l, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "cam-and-mic", webrtc.WithRTPStreamID(rid))
		if err != nil {
			tp.t.Fatal(err)
		}
		tp.layers = append(tp.layers, l)
	}
	tr, err := tp.pub.AddTransceiverFromTrack(tp.layers[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		tp.t.Fatal(err)
	}
	for _, l := range tp.layers[1:] {
		if err := tr.Sender().AddEncoding(l); err != nil {
			tp.t.Fatal(err)
		}
	}
	tp.setVideoSender(tr.Sender()) // the PLIs and REMBs about the lowest layer
	tp.enqueue(tp.publish)
	tp.wg.Go(func() { tp.sendSimulcast(tr) })
}

// simulcastIDs returns the negotiated ids of the MID and RID header
// extensions and the transceiver's MID, which a browser writes into every
// packet of a layer (RFC 8852 §3.3, RFC 9143 §15) and pion's static tracks
// do not; zero until the publish answer is in.
func simulcastIDs(tr *webrtc.RTPTransceiver) (midID, ridID uint8, mid string) {
	for _, e := range tr.Sender().GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	return midID, ridID, tr.Mid()
}

// Layers implements LayerHandler: the test publisher stops sending the
// layers the SFU says no one needs, as the page does.
func (tp *testPeer) Layers(kind string, active []string) {
	if kind != "video" {
		tp.t.Errorf("Layers(%q, %v): want kind video", kind, active)
	}
	tp.mu.Lock()
	tp.activeRIDs = slices.Clone(active)
	tp.layerCalls++
	tp.layerHistory = append(tp.layerHistory, slices.Clone(active))
	tp.mu.Unlock()
}

// Downlink implements LinkHandler.
func (tp *testPeer) Downlink(level string, bitrate uint64) {
	tp.mu.Lock()
	tp.downlinks = append(tp.downlinks, level)
	tp.mu.Unlock()
}

// VideoPaused implements LinkHandler.
func (tp *testPeer) VideoPaused(publisher string, paused bool) {
	what := publisher + " resumed"
	if paused {
		what = publisher + " paused"
	}
	tp.mu.Lock()
	tp.pauses = append(tp.pauses, what)
	tp.mu.Unlock()
}

// linkEvents returns the Downlink levels and VideoPaused calls so far.
func (tp *testPeer) linkEvents() (downlinks, pauses []string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return slices.Clone(tp.downlinks), slices.Clone(tp.pauses)
}

func (tp *testPeer) layerActive(rid string) bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.activeRIDs == nil || slices.Contains(tp.activeRIDs, rid)
}

func (tp *testPeer) sendSimulcast(tr *webrtc.RTPTransceiver) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	type layerOut struct {
		packets, size int
		pic           uint16
		seq           uint16
		ts            uint32
	}
	out := []*layerOut{
		{packets: 1, size: 375, pic: 100},
		{packets: 1, size: 1200, pic: 20000},
		{packets: 3, size: 1100, pic: 32000},
	}
	for _, o := range out {
		o.seq, o.ts = uint16(rand.Uint32()), rand.Uint32()
	}
	audio := make([]byte, 120)
	audio[0] = 0xfc
	buf := make([]byte, 1200)
	var n uint32
	for {
		select {
		case <-tp.ctx.Done():
			return
		case <-tick.C:
		}
		n++
		binary.BigEndian.PutUint32(audio[1:], n)
		_ = tp.audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(n), Timestamp: n * 960}, Payload: audio})
		key := n%25 == 1
		midID, ridID, mid := simulcastIDs(tr)
		if midID == 0 || ridID == 0 || mid == "" {
			continue
		}
		for i, o := range out {
			if !tp.layerActive(simulcastRIDs[i]) {
				continue
			}
			o.pic = (o.pic + 1) & 0x7fff
			o.ts += 1800
			for k := range o.packets {
				b := buf[:o.size]
				clear(b)
				b[0] = 0x80 // X
				if k == 0 {
					b[0] |= 0x10 // S: the frame's first packet
				}
				b[1] = 0x80 // I: a picture ID, 15 bits
				b[2], b[3] = 0x80|byte(o.pic>>8), byte(o.pic)
				b[4] = 0x11 // VP8 payload header: P set, an interframe
				if key {
					b[4] = 0x10
				}
				binary.BigEndian.PutUint32(b[videoTagOffset:], layerTag(i))
				o.seq++
				p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: o.seq, Timestamp: o.ts, Marker: k == o.packets-1}, Payload: b}
				_ = p.Header.SetExtension(midID, []byte(mid))
				_ = p.Header.SetExtension(ridID, []byte(simulcastRIDs[i]))
				_ = tp.layers[i].WriteRTP(p)
			}
		}
	}
}

// layerShare returns, of the video packets tp received from publisher
// since from, the share that came from each layer.
func layerShare(tp *testPeer, publisher string, from time.Time) (share [maxLayers]float64, total int) {
	var count [maxLayers]int
	for _, p := range tp.stats(publisher, "video").pkts {
		if p.at.Before(from) {
			continue
		}
		for i := range maxLayers {
			if p.tag == layerTag(i) {
				count[i]++
				total++
			}
		}
	}
	for i := range count {
		if total > 0 {
			share[i] = float64(count[i]) / float64(total)
		}
	}
	return share, total
}

// onLayer waits until tp receives only layer i of publisher's video for a
// second, and returns when that second began.
func onLayer(t *testing.T, tp *testPeer, publisher string, i int, timeout time.Duration) time.Time {
	t.Helper()
	var since time.Time
	waitFor(t, timeout, tp.id+" on layer "+simulcastRIDs[i], func() bool {
		pkts := tp.stats(publisher, "video").pkts
		if len(pkts) == 0 || pkts[len(pkts)-1].tag != layerTag(i) {
			since = time.Time{}
			return false
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= time.Second
	})
	return since
}

// TestSimulcastCappedSubscriber: alice publishes three layers; bob's link is
// clean and carol's downlink is capped at 300 kbit/s. Each gets the layer
// its own link carries, chosen from the send-side estimate of its link:
// bob the top one, carol the lowest, and carol's cap does not take bob's
// picture down (as a REMB cap on alice would). Carol's picture IDs carry on
// across the switch, and the layer no one needs is paused at alice.
func TestSimulcastCappedSubscriber(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s := newTestSFU(t, nil)
	proxy := behindProxy(t, s)
	alice := joinPeer(t, s, "room", "alice", peerOptions{simulcast: true})
	t.Cleanup(alice.close)
	bob := joinPeer(t, s, "room", "bob", peerOptions{noMedia: true})
	t.Cleanup(bob.close)
	carol := joinPeer(t, s, "room", "carol", peerOptions{noMedia: true, via: proxy})
	t.Cleanup(carol.close)

	// Both links are clean: both climb to the top layer.
	onLayer(t, bob, "alice", 2, 30*time.Second)
	onLayer(t, carol, "alice", 2, 30*time.Second)

	capped := time.Now()
	proxy.SetDefault(netem.Impairment{}, netem.Impairment{Rate: 300_000})
	settled := onLayer(t, carol, "alice", 0, 20*time.Second)
	t.Logf("carol settled on the low layer %v after her downlink was capped at 300 kbit/s", settled.Sub(capped).Round(10*time.Millisecond))

	watch := time.Now()
	time.Sleep(6 * time.Second)
	bobShare, bobN := layerShare(bob, "alice", watch)
	carolShare, carolN := layerShare(carol, "alice", watch)
	t.Logf("over 6 s: bob %d packets, %.0f %% from f; carol %d packets, %.0f %% q, %.0f %% h, %.0f %% f",
		bobN, 100*bobShare[2], carolN, 100*carolShare[0], 100*carolShare[1], 100*carolShare[2])
	if bobShare[2] < 0.95 {
		t.Errorf("bob, on a clean link, got %.0f %% of his video from the top layer, want at least 95 %%", 100*bobShare[2])
	}
	if carolShare[0] < 0.8 || carolShare[2] > 0 {
		t.Errorf("carol, capped at 300 kbit/s, got %.0f %% of her video from the low layer and %.0f %% from the top, want at least 80 %% and none",
			100*carolShare[0], 100*carolShare[2])
	}

	// Carol's picture IDs run on through every switch: never back, never
	// a jump (a lost packet skips at most a frame or two). Retransmitted
	// packets, which come late, are left out.
	var prev int32 = -1
	var highest uint16
	padding := 0
	for i, p := range carol.stats("alice", "video").pkts {
		if p.padding {
			padding++
			continue
		}
		if p.pic < 0 {
			t.Fatal("carol received a VP8 packet without a picture ID")
		}
		if i > 0 && int16(p.seq-highest) <= 0 {
			continue
		}
		highest = p.seq
		if prev >= 0 {
			if d := (p.pic - prev) & 0x7fff; d > 50 {
				t.Fatalf("carol's picture ID went from %d to %d", prev, p.pic)
			}
		}
		prev = p.pic
	}

	if padding == 0 || s.Stats().PaddingPackets == 0 {
		t.Errorf("carol received %d padding packets (Stats: %d): her link was never probed", padding, s.Stats().PaddingPackets)
	}
	alice.mu.Lock()
	history := slices.Clone(alice.layerHistory)
	alice.mu.Unlock()
	pausedH := slices.ContainsFunc(history, func(rids []string) bool { return slices.Equal(rids, []string{"q", "f"}) })
	if !pausedH {
		t.Errorf("alice was never told to pause the middle layer no one needed: %v", history)
	}
	st := s.Stats()
	if st.LayerSwitches < 3 || st.LayerChanges == 0 {
		t.Errorf("Stats: %d layer switches, %d layer changes at the publisher; want at least 3 and 1", st.LayerSwitches, st.LayerChanges)
	}
	// Carol is told her downlink is weak; bob, never limited, hears
	// nothing of it.
	if downs, _ := carol.linkEvents(); !slices.Contains(downs, LinkWeak) {
		t.Errorf("carol's downlink reports %v, want weak among them", downs)
	}
	if downs, pauses := bob.linkEvents(); len(downs) != 0 || len(pauses) != 0 {
		t.Errorf("bob, on a clean link, was told %v and %v", downs, pauses)
	}
	if st.DownlinkLimited != 0 || len(alice.rembsSince(0)) != 0 {
		t.Errorf("a simulcast publisher was capped by REMB: DownlinkLimited %d, %d REMBs", st.DownlinkLimited, len(alice.rembsSince(0)))
	}
}

// TestSimulcastVideoPausesBelowFloor: a subscriber whose downlink falls to
// 100 kbit/s, less than the lowest layer, keeps the publisher's voice and
// loses only the picture; when the link comes back, so does the video, by
// itself.
func TestSimulcastVideoPausesBelowFloor(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s := newTestSFU(t, nil)
	proxy := behindProxy(t, s)
	alice := joinPeer(t, s, "room", "alice", peerOptions{simulcast: true})
	t.Cleanup(alice.close)
	bob := joinPeer(t, s, "room", "bob", peerOptions{noMedia: true, via: proxy})
	t.Cleanup(bob.close)
	waitMedia(t, bob, 50, alice)

	proxy.SetDefault(netem.Impairment{}, netem.Impairment{Rate: 100_000, QueueBytes: 16 << 10})
	capped := time.Now()
	waitFor(t, 20*time.Second, "bob's video paused", func() bool { return s.Stats().VideoPaused == 1 })
	t.Logf("video paused %v after the downlink fell to 100 kbit/s", time.Since(capped).Round(10*time.Millisecond))

	// Audio goes on while the video is paused: 50 packets a second.
	time.Sleep(time.Second) // what was queued before the pause drains
	audio, video := len(bob.stats("alice", "audio").pkts), len(bob.stats("alice", "video").pkts)
	time.Sleep(3 * time.Second)
	gotAudio := len(bob.stats("alice", "audio").pkts) - audio
	gotVideo := 0
	for _, p := range bob.stats("alice", "video").pkts[video:] {
		if !p.padding && p.tag != 0 {
			gotVideo++
		}
	}
	t.Logf("while paused, 3 s: %d audio packets, %d video packets", gotAudio, gotVideo)
	if gotAudio < 120 {
		t.Errorf("bob got %d audio packets in 3 s with the video paused, want at least 120 of 150", gotAudio)
	}
	if s.Stats().VideoPaused == 1 && gotVideo > 30 {
		t.Errorf("bob got %d video packets in 3 s while his video was paused", gotVideo)
	}

	proxy.SetDefault(netem.Impairment{}, netem.Impairment{})
	back := time.Now()
	waitFor(t, 30*time.Second, "bob's video back", func() bool { return s.Stats().VideoPaused == 0 })
	n := len(bob.stats("alice", "video").pkts)
	waitMedia(t, bob, 50, alice)
	if got := len(bob.stats("alice", "video").pkts); got < n+50 {
		t.Fatalf("video not flowing again: %d packets", got-n)
	}
	t.Logf("video resumed %v after the link came back", time.Since(back).Round(10*time.Millisecond))
	downs, pauses := bob.linkEvents()
	if !slices.Equal(pauses, []string{"alice paused", "alice resumed"}) {
		t.Errorf("bob was told %v, want alice's video paused, then resumed", pauses)
	}
	if !slices.Contains(downs, LinkVeryWeak) {
		t.Errorf("bob's downlink reports %v, want very-weak among them", downs)
	}
}

// TestSimulcastSilentPublisherPausesNoOne: bob's downlink carries alice's
// middle layer, not her top one, which she is told to pause. Then alice's
// own link goes black for 3 s: her layers stop arriving, and the paused top
// layer, the only one left to ask for, is out of bob's reach. That is no
// reason to pause bob's video: it comes back with alice's link, on the
// middle layer, without his video ever being paused.
func TestSimulcastSilentPublisherPausesNoOne(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s := newTestSFU(t, nil)
	alicePath, bobPath := behindProxy(t, s), behindProxy(t, s)
	alice := joinPeer(t, s, "room", "alice", peerOptions{simulcast: true, via: alicePath})
	t.Cleanup(alice.close)
	bob := joinPeer(t, s, "room", "bob", peerOptions{noMedia: true, via: bobPath})
	t.Cleanup(bob.close)
	bobPath.SetDefault(netem.Impairment{}, netem.Impairment{Rate: 900_000})
	onLayer(t, bob, "alice", 1, 30*time.Second)
	waitFor(t, 20*time.Second, "alice told to pause her top layer", func() bool { return !alice.layerActive("f") })

	alicePath.SetDefault(netem.Impairment{Blackout: true}, netem.Impairment{Blackout: true})
	time.Sleep(3 * time.Second)
	if _, pauses := bob.linkEvents(); len(pauses) != 0 {
		t.Errorf("while alice's link was down, bob was told %v", pauses)
	}
	alicePath.SetDefault(netem.Impairment{}, netem.Impairment{})
	back := time.Now()
	n := len(bob.stats("alice", "video").pkts)
	waitFor(t, 20*time.Second, "alice's video to bob again", func() bool { return len(bob.stats("alice", "video").pkts) > n+50 })
	t.Logf("bob has alice's video again %v after her link came back", time.Since(back).Round(10*time.Millisecond))
	if _, pauses := bob.linkEvents(); len(pauses) != 0 || s.Stats().VideoPaused != 0 {
		t.Errorf("bob was told %v; %d subscriptions paused; want none", pauses, s.Stats().VideoPaused)
	}
}
