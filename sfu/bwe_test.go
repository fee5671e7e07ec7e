package sfu

import (
	"encoding/binary"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"go.uber.org/goleak"
)

// decrease is the factor of one decrease for fraction lost f (of 256).
func decrease(f uint8) float64 { return 1 - 0.5*float64(f)/256 }

func TestLossEstimate(t *testing.T) {
	const (
		lost30 = 77  // 30%
		lost5  = 13  // 5%
		lost1  = 2   // 0.8%
		lostAl = 255 // everything
	)
	// A step is one receiver report, after the previous one, with the
	// rate sent since then.
	type step struct {
		after time.Duration
		lost  uint8
		sent  float64 // bits/s since the previous step
		want  float64
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"starts at the max and stays there without loss", []step{
			{0, 0, 0, bweMaxBitrate},
			{time.Second, 0, 2e6, bweMaxBitrate},
			{time.Second, 0, 2.5e6, bweMaxBitrate},
		}},
		{"loss over 10% cuts by half the loss", []step{
			{0, lost30, 0, bweMaxBitrate * decrease(lost30)},
			{time.Second, lost30, 1e6, bweMaxBitrate * decrease(lost30) * decrease(lost30)},
		}},
		{"loss from 2% to 10% holds", []step{
			{0, lost30, 0, bweMaxBitrate * decrease(lost30)},
			{time.Second, lost5, 2e6, bweMaxBitrate * decrease(lost30)},
			{time.Second, lost5, 2e6, bweMaxBitrate * decrease(lost30)},
		}},
		{"loss under 2% raises by 8% a second", []step{
			{0, lostAl, 0, bweMaxBitrate * decrease(lostAl)},
			{time.Second, lostAl, 1.5e6, bweMaxBitrate * decrease(lostAl) * decrease(lostAl)},
			{time.Second, lost1, 1.5e6, bweMaxBitrate * decrease(lostAl) * decrease(lostAl) * 1.08},
			{500 * time.Millisecond, 0, 1.5e6, bweMaxBitrate * decrease(lostAl) * decrease(lostAl) * 1.08},
			{500 * time.Millisecond, 0, 1.5e6, bweMaxBitrate * decrease(lostAl) * decrease(lostAl) * 1.08 * 1.08},
		}},
		{"no raise before the sent rate is known", []step{
			{0, lostAl, 0, bweMaxBitrate * decrease(lostAl)},
			{100 * time.Millisecond, 0, 1e6, bweMaxBitrate * decrease(lostAl)},
		}},
		{"no raise past 1.5x the sent rate", []step{
			{0, lostAl, 0, bweMaxBitrate * decrease(lostAl)},                 // 1.506 Mbit/s
			{time.Second, 0, 1e6, bweMaxBitrate * decrease(lostAl)},          // above 1.5 Mbit/s: held, not cut
			{time.Second, 0, 1.1e6, bweMaxBitrate * decrease(lostAl) * 1.08}, // 1.626 < 1.65 limit
			{time.Second, 0, 1.1e6, 1.65e6},
			{time.Second, 0, 1.1e6, 1.65e6},
		}},
		{"one cut per 300 ms however many reports", []step{
			{0, lost30, 0, bweMaxBitrate * decrease(lost30)},
			{50 * time.Millisecond, lost30, 1e6, bweMaxBitrate * decrease(lost30)},
			{100 * time.Millisecond, lost30, 1e6, bweMaxBitrate * decrease(lost30)},
			{200 * time.Millisecond, lost30, 1e6, bweMaxBitrate * decrease(lost30) * decrease(lost30)},
		}},
		{"never under the min", []step{
			{0, lostAl, 0, bweMaxBitrate * decrease(lostAl)},
			{time.Second, lostAl, 0, bweMaxBitrate * decrease(lostAl) * decrease(lostAl)},
			{time.Second, lostAl, 0, bweMaxBitrate * decrease(lostAl) * decrease(lostAl) * decrease(lostAl)},
			{time.Second, lostAl, 0, bweMaxBitrate * math.Pow(decrease(lostAl), 4)},
			{time.Second, lostAl, 0, bweMinBitrate}, // 3 Mbit/s × 0.502⁵ = 96 kbit/s
			{time.Second, lostAl, 0, bweMinBitrate},
			{time.Second, lostAl, 0, bweMinBitrate},
		}},
		{"recovers from the min", []step{
			{0, lostAl, 0, bweMaxBitrate * decrease(lostAl)},
			{time.Second, lostAl, 200e3, bweMaxBitrate * decrease(lostAl) * decrease(lostAl)},
			{time.Second, lostAl, 200e3, bweMaxBitrate * math.Pow(decrease(lostAl), 3)},
			{time.Second, lostAl, 200e3, bweMaxBitrate * math.Pow(decrease(lostAl), 4)},
			{time.Second, lostAl, 200e3, bweMinBitrate},
			{time.Second, 0, 200e3, bweMinBitrate * 1.08},
			{time.Second, 0, 200e3, bweMinBitrate * 1.08 * 1.08},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newLossEstimate()
			now := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
			var sent float64 // bytes
			for i, s := range tt.steps {
				now = now.Add(s.after)
				sent += s.sent * s.after.Seconds() / 8
				got := e.update(now, s.lost, uint64(sent))
				if math.Abs(float64(got)-s.want) > 1 {
					t.Errorf("step %d (+%v, lost %d/256, sent %.0f bit/s): estimate %d, want %.0f", i, s.after, s.lost, s.sent, got, s.want)
				}
			}
		})
	}
}

// dropVideo is a client interceptor that, while on, drops the incoming
// video packets whose sequence number ends in 0, 1 or 2 (30%) before the
// client's other interceptors see them: its receiver reports count them as
// lost, and every retransmission of one is dropped again.
type dropVideo struct {
	interceptor.NoOp
	on *atomic.Bool
}

func (d *dropVideo) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if !strings.HasPrefix(strings.ToLower(info.MimeType), "video/") {
		return reader
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil || n < 4 || !d.on.Load() || binary.BigEndian.Uint16(b[2:4])%10 >= 3 {
				return n, attr, err
			}
		}
	})
}

type dropVideoFactory struct{ on *atomic.Bool }

func (f dropVideoFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &dropVideo{on: f.on}, nil
}

// TestDownlinkEstimate: a publisher sends video at a steady rate to two
// subscribers; one loses 30% of it. The publisher is sent REMBs for its
// video only, with the lossy subscriber's estimate (the lowest), which
// falls while the loss lasts and rises again when it ends.
func TestDownlinkEstimate(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the SFU closes
	s := newTestSFU(t, nil)
	// Four 900-byte packets every 20 ms: about 1.5 Mbit/s.
	pub := joinPeer(t, s, "room", "doctor", peerOptions{videoPackets: 4})
	defer pub.close()
	var drop atomic.Bool
	drop.Store(true)
	lossy := joinPeer(t, s, "room", "patient", peerOptions{noMedia: true, interceptors: func(_ *webrtc.MediaEngine, r *interceptor.Registry) error {
		// First, so that the report generator sees what is left.
		r.Add(dropVideoFactory{on: &drop})
		return webrtc.ConfigureRTCPReports(r)
	}})
	defer lossy.close()
	clean := joinPeer(t, s, "room", "nurse", peerOptions{noMedia: true})
	defer clean.close()
	waitMedia(t, lossy, 10, pub)
	waitMedia(t, clean, 10, pub)

	pub.mu.Lock()
	videoSSRC := uint32(pub.videoSender.GetParameters().Encodings[0].SSRC)
	pub.mu.Unlock()
	check := func(rembs []rtcp.ReceiverEstimatedMaximumBitrate) {
		t.Helper()
		for _, r := range rembs {
			if len(r.SSRCs) != 1 || r.SSRCs[0] != videoSSRC {
				t.Fatalf("REMB for SSRCs %v, want only the video's %d", r.SSRCs, videoSSRC)
			}
		}
	}
	// Reports and REMBs come once a second; allow many of them.
	const deadline = 30 * rembInterval

	// The loss brings the estimate down, and the clean subscriber does not
	// hold it up.
	var low float64
	waitFor(t, deadline, "a REMB under half the max", func() bool {
		rembs := pub.rembsSince(0)
		check(rembs)
		for _, r := range rembs {
			if float64(r.Bitrate) < bweMaxBitrate/2 {
				low = float64(r.Bitrate)
				return true
			}
		}
		return false
	})
	if est := downEstimate(t, clean, pub); float64(est) <= low {
		t.Errorf("clean subscriber's estimate %d, want above the REMB %.0f", est, low)
	}
	t.Logf("REMBs with 30%% loss: %v", bitrates(pub.rembsSince(0)))
	// The statistics count the REMBs and the one video track held back.
	if st := s.Stats(); st.DownlinkLimited != 1 || st.REMBsSent < uint64(len(pub.rembsSince(0))) {
		t.Errorf("stats %+v: want 1 track limited and at least %d REMBs", st, len(pub.rembsSince(0)))
	}

	// The loss ends: the estimate rises again.
	drop.Store(false)
	from := len(pub.rembsSince(0))
	waitFor(t, deadline, "the REMB rising", func() bool {
		rembs := pub.rembsSince(from)
		check(rembs)
		lowest := math.Inf(1)
		for _, r := range rembs {
			lowest = min(lowest, float64(r.Bitrate))
			if float64(r.Bitrate) > 1.15*lowest {
				return true
			}
		}
		return false
	})
	t.Logf("REMBs after the loss: %v", bitrates(pub.rembsSince(from)))
	if n := pub.audioREMBs.Load(); n != 0 {
		t.Errorf("%d REMBs about the audio, want none", n)
	}
}

// downEstimate returns the estimate of sub's copy of pub's video.
func downEstimate(t *testing.T, sub, pub *testPeer) uint64 {
	t.Helper()
	sub.p.mu.Lock()
	defer sub.p.mu.Unlock()
	for up, dt := range sub.p.down {
		if up.id == pub.id+"-video" {
			return dt.estimate.Load()
		}
	}
	t.Fatalf("%s does not subscribe to %s's video", sub.id, pub.id)
	return 0
}

func bitrates(rembs []rtcp.ReceiverEstimatedMaximumBitrate) []float32 {
	out := make([]float32, len(rembs))
	for i, r := range rembs {
		out[i] = r.Bitrate
	}
	return out
}

// TestDownlinkEstimateOfTrack: a downTrack takes only the report block about
// its own SSRC, and a track's estimate is its lowest subscriber's.
func TestDownlinkEstimateOfTrack(t *testing.T) {
	up := newVideoUpTrack()
	if got, ok := up.downlinkEstimate(); ok {
		t.Errorf("no subscribers: estimate %d, want none", got)
	}
	keyframes := 0
	lossy, _ := newBoundDownTrack(t, up, 4, &discardWriter{}, &keyframes)
	clean, _ := newBoundDownTrack(t, up, 4, &discardWriter{}, &keyframes)
	if got, ok := up.downlinkEstimate(); !ok || got != bweMaxBitrate {
		t.Errorf("before any report: estimate %d, %v, want %d", got, ok, bweMaxBitrate)
	}

	now := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	lossy.onReceiverReport(now, []rtcp.ReceptionReport{{SSRC: 1, FractionLost: 255}})
	if got := lossy.estimate.Load(); got != bweMaxBitrate {
		t.Errorf("after a report about another SSRC: estimate %d, want %d", got, bweMaxBitrate)
	}
	lossy.onReceiverReport(now, []rtcp.ReceptionReport{{SSRC: 1}, {SSRC: 4242, FractionLost: 77}})
	want := uint64(bweMaxBitrate * decrease(77))
	if got := lossy.estimate.Load(); got != want {
		t.Errorf("after 30%% loss: estimate %d, want %d", got, want)
	}
	clean.onReceiverReport(now, []rtcp.ReceptionReport{{SSRC: 4242}})
	if got, ok := up.downlinkEstimate(); !ok || got != want {
		t.Errorf("track estimate %d, %v, want the lossy subscriber's %d", got, ok, want)
	}

	audio := newDownTrack(newUpTrack("pub", testVP8, webrtc.RTPCodecTypeAudio), 4, &counters{})
	audio.onReceiverReport(now, []rtcp.ReceptionReport{{SSRC: 0, FractionLost: 255}})
	if audio.loss != nil || audio.estimate.Load() != 0 {
		t.Errorf("audio has an estimate: %d", audio.estimate.Load())
	}
}
