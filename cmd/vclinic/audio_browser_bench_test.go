package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"vclinic/internal/netem"
)

// pcWatchScript runs in a page before its own: it keeps the page's peer
// connections in window.__pcs so that a benchmark can read their receive
// statistics, and, with noRED, takes redundant audio (RFC 2198) out of every
// codec preference the page sets, so that the browser offers plain Opus as
// one without RED would.
func pcWatchScript(noRED bool) string {
	return fmt.Sprintf(`(() => {
  const pcs = [];
  window.__pcs = pcs;
  const Orig = window.RTCPeerConnection;
  const Watched = function (...args) { const pc = new Orig(...args); pcs.push(pc); return pc; };
  Watched.prototype = Orig.prototype;
  Object.setPrototypeOf(Watched, Orig);
  window.RTCPeerConnection = Watched;
  if (%t) {
    const set = RTCRtpTransceiver.prototype.setCodecPreferences;
    RTCRtpTransceiver.prototype.setCodecPreferences = function (codecs) {
      return set.call(this, codecs.filter((c) => c.mimeType.toLowerCase() !== 'audio/red'));
    };
  }
})();`, noRED)
}

// heard is what a page received, summed over its peer connections: audio
// packets and samples (W3C webrtc-stats inbound-rtp: packetsLost counts RTP
// packets never received; concealedSamples the samples the decoder had to
// invent, what a listener hears as a gap, after RED and Opus FEC repaired
// what they could) and the video's frames and freezes.
type heard struct {
	Received, Lost     float64
	Concealed, Samples float64
	Frames, Freezes    float64
	FreezeMs           float64
}

const heardJS = `(async () => {
  const out = {received: 0, lost: 0, concealed: 0, samples: 0, frames: 0, freezes: 0, freezeMs: 0};
  for (const pc of window.__pcs || []) {
    if (pc.connectionState === 'closed') continue;
    const r = await pc.getStats();
    for (const s of r.values()) {
      if (s.type !== 'inbound-rtp') continue;
      if (s.kind === 'audio') {
        out.received += s.packetsReceived || 0;
        out.lost += s.packetsLost || 0;
        out.concealed += s.concealedSamples || 0;
        out.samples += s.totalSamplesReceived || 0;
      } else if (s.kind === 'video') {
        out.frames += s.framesDecoded || 0;
        out.freezes += s.freezeCount || 0;
        out.freezeMs += (s.totalFreezesDuration || 0) * 1000;
      }
    }
  }
  return out;
})()`

func readHeard(b testing.TB, ctx context.Context) heard {
	b.Helper()
	return evalPage[heard](b, ctx, "receive statistics", heardJS)
}

// BenchmarkBrowserAudioUnderLoss: what a patient in Chromium hears of the
// clinician (also in Chromium) when the patient's downlink loses packets:
// 5 % and 15 % at random, and in bursts (Gilbert-Elliott, about 4 % of
// packets in runs of 4, as a fading Wi-Fi), with redundant audio (RED, as
// the pages ask for it) and without (plain Opus with in-band FEC, as a
// browser without RED). Each figure is 20 s of the call after 3 s to
// settle; the video's freezes on the same page are reported too. Browsers
// on this machine: not part of the test run, as timing is not a test.
//
//	go test -run '^$' -bench BrowserAudioUnderLoss -benchtime 1x ./cmd/vclinic
func BenchmarkBrowserAudioUnderLoss(b *testing.B) {
	requireBrowser(b, "chromium")
	impairments := []struct {
		name string
		imp  netem.Impairment
	}{
		{"loss5", netem.Impairment{Loss: 0.05}},
		{"loss15", netem.Impairment{Loss: 0.15}},
		{"bursts", netem.Impairment{BurstLoss: 0.01, BurstLength: 4}},
	}
	for _, red := range []bool{true, false} {
		name := "red"
		if !red {
			name = "opus"
		}
		b.Run(name, func(b *testing.B) {
			v := visitBehindEmulatorWith(b, pcWatchScript(!red))
			waitMedia(b, v.clin, "clinician", "patient")
			waitMedia(b, v.patient, "patient", "clinician")
			if n := metricValue(b, v.rc, "vclinic_red_audio_tracks"); (n > 0) != red {
				b.Fatalf("%v published audio tracks carry RED, want RED %v", n, red)
			}
			_, sub := pagePaths(b, v.patient)
			if sub == nil || sub.ServerUfrag == "" {
				b.Fatal("the patient's page names no subscribe path")
			}
			for _, tc := range impairments {
				b.Run(tc.name, func(b *testing.B) {
					v.forward.SetUfrag(sub.ServerUfrag, netem.Impairment{}, tc.imp)
					defer v.forward.SetUfrag(sub.ServerUfrag, netem.Impairment{}, netem.Impairment{})
					time.Sleep(3 * time.Second)
					h0 := readHeard(b, v.patient)
					time.Sleep(20 * time.Second)
					h1 := readHeard(b, v.patient)
					b.Logf("video paused for %v subscribers; %v layer switches so far; the patient's page says its connection is %q",
						metricValue(b, v.rc, "vclinic_video_paused_subscriptions"), metricValue(b, v.rc, "vclinic_layer_switches_total"),
						pageQuality(b, v.patient))
					lost, received := h1.Lost-h0.Lost, h1.Received-h0.Received
					lostPct := 100 * lost / max(lost+received, 1)
					concealedPct := 100 * (h1.Concealed - h0.Concealed) / max(h1.Samples-h0.Samples, 1)
					minutes := 20.0 / 60
					b.ReportMetric(lostPct, "audio-lost-%")
					b.ReportMetric(concealedPct, "audio-concealed-%")
					b.ReportMetric((h1.Freezes-h0.Freezes)/minutes, "freezes/min")
					b.ReportMetric((h1.FreezeMs-h0.FreezeMs)/minutes, "freeze-ms/min")
					b.ReportMetric((h1.Frames-h0.Frames)/20, "frames/s")
				})
			}
		})
	}
}

// pageQuality is a page's verdict on its own connection (window.vclinic.quality).
func pageQuality(b testing.TB, ctx context.Context) string {
	b.Helper()
	return evalPage[string](b, ctx, "quality", `JSON.stringify(window.vclinic.quality)`)
}
