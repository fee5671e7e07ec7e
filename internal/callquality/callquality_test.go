package callquality

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// sample is a sample with the given RTT and loss, everything else unknown.
func sample(rtt, loss float64) Sample {
	s := Unknown()
	s.RTTMs, s.LossPct = rtt, loss
	return s
}

func TestQuantilesFromBuckets(t *testing.T) {
	r := NewRecord("p1", "patient", t0)
	// 90 samples at 40 ms and 10 at 400 ms: the median is in the 30-40 ms
	// bucket, the 95th percentile in the 300-400 ms one.
	for i := range 100 {
		rtt := 40.0
		if i%10 == 0 {
			rtt = 400
		}
		r.Add(t0.Add(time.Duration(i+1)*2*time.Second), 2*time.Second, sample(rtt, 0))
	}
	s := r.Summary()
	if s.Seconds != 200 {
		t.Errorf("seconds = %d, want 200", s.Seconds)
	}
	if s.RTTMs == nil || *s.RTTMs <= 30 || *s.RTTMs > 40 {
		t.Errorf("median rtt = %v, want in (30, 40]", s.RTTMs)
	}
	if s.P95.RTTMs == nil || *s.P95.RTTMs <= 300 || *s.P95.RTTMs > 400 {
		t.Errorf("p95 rtt = %v, want in (300, 400]", s.P95.RTTMs)
	}
	if s.LossPct == nil || *s.LossPct != 0 {
		t.Errorf("median loss = %v, want 0", s.LossPct)
	}
	// Never measured: null, not zero.
	if s.JitterMs != nil || s.SendKbps != nil || s.FrameRate != nil {
		t.Errorf("unmeasured figures: jitter %v, send %v, frame rate %v; want null", s.JitterMs, s.SendKbps, s.FrameRate)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"id":"p1"`, `"role":"patient"`, `"seconds":200`, `"jitterMs":null`, `"resolutions":[]`, `"freezes":0`,
		`"freezeMs":0`, `"layerSwitches":0`, `"reconnects":0`, `"candidateType":""`, `"sendKbps":null`, `"recvKbps":null`, `"lossPct":0`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("summary %s lacks %s", b, field)
		}
	}
}

func TestOverflowAndLoss(t *testing.T) {
	r := NewRecord("p1", "clinician", t0)
	for i := range 10 {
		r.Add(t0.Add(time.Duration(i)*time.Second), time.Second, sample(9000, 12))
	}
	s := r.Summary()
	if *s.RTTMs != 3000 {
		t.Errorf("rtt past the last bucket = %v, want the last bound 3000", *s.RTTMs)
	}
	if *s.LossPct <= 10 || *s.LossPct > 15 {
		t.Errorf("loss = %v, want in (10, 15]", *s.LossPct)
	}
}

func TestVideoAndPath(t *testing.T) {
	r := NewRecord("p1", "patient", t0)
	add := func(n int, w, h int, fps float64, cand string, freezes, freezeMs int64) {
		for range n {
			s := Unknown()
			s.Width, s.Height, s.FPS, s.Candidate, s.Freezes, s.FreezeMs = w, h, fps, cand, freezes, freezeMs
			r.Add(r.End.Add(2*time.Second), 2*time.Second, s)
		}
	}
	add(30, 1280, 720, 30, CandidateHost, 0, 0)
	add(10, 320, 180, 12, CandidateTCP, 1, 700)
	add(10, 0, 0, 0, CandidateTCP, 0, 0) // video paused: no size, no frame rate
	s := r.Summary()
	if len(s.Resolutions) != 2 || s.Resolutions[0].Width != 1280 || s.Resolutions[0].Seconds != 60 || s.Resolutions[1].Height != 180 {
		t.Fatalf("resolutions = %+v", s.Resolutions)
	}
	if math.Abs(s.Resolutions[0].Share-0.6) > 0.001 {
		t.Errorf("share of 1280x720 = %v, want 0.6 (60 of 100 s)", s.Resolutions[0].Share)
	}
	if s.FrameRate == nil || s.FrameRate.Median <= 28 || s.FrameRate.Median > 30 || s.FrameRate.P5 > 12 {
		t.Errorf("frame rate = %+v, want median in (28, 30] and p5 <= 12", s.FrameRate)
	}
	if s.Freezes != 10 || s.FreezeMs != 7000 {
		t.Errorf("freezes = %d, %d ms; want 10, 7000", s.Freezes, s.FreezeMs)
	}
	if s.CandidateType != CandidateHost {
		t.Errorf("candidate type = %q, want host (60 s against 40 s over TCP)", s.CandidateType)
	}
}

func TestMergeAndDecode(t *testing.T) {
	a := NewRecord("p1", "patient", t0)
	a.Add(t0.Add(10*time.Second), 10*time.Second, sample(20, 0))
	a.Reconnects = 1
	b := NewRecord("p2", "patient", t0.Add(time.Minute))
	b.Add(t0.Add(2*time.Minute), 60*time.Second, sample(200, 5))
	b.LayerSwitches = 3
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	a.Merge(back)
	s := a.Summary()
	if s.ID != "p2" || s.Sessions != 2 || s.Seconds != 70 || s.LayerSwitches != 3 {
		t.Errorf("merged = %+v; want the later session's id p2, 2 sessions, 70 s, 3 switches", s)
	}
	if s.Reconnects != 2 {
		t.Errorf("reconnects = %d, want 2 (one resume, one new session)", s.Reconnects)
	}
	if !s.Start.Equal(t0) || !s.End.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("span %v - %v", s.Start, s.End)
	}

	if _, err := Decode([]byte(`{"hists":{"rttMs":[1,2]}}`)); err == nil {
		t.Error("a histogram of the wrong shape was taken")
	}
	if _, err := Decode([]byte(`{`)); err == nil {
		t.Error("broken JSON was taken")
	}
}

func TestTotals(t *testing.T) {
	var tot Totals
	tot.Observe(sample(45, 1))
	tot.Observe(sample(45, -1))
	s := Unknown()
	s.FPS = 30 // no video size: not a frame rate of decoded video
	tot.Observe(s)
	buckets, n, sum := tot.Snapshot(RTT)
	if n != 2 || sum != 90 || buckets[40] != 0 || buckets[50] != 2 || buckets[3000] != 2 {
		t.Errorf("rtt: %d samples, sum %v, buckets %v", n, sum, buckets)
	}
	if _, n, _ := tot.Snapshot(Loss); n != 1 {
		t.Errorf("loss samples = %d, want 1 (unknown is not counted)", n)
	}
	if _, n, _ := tot.Snapshot(FPS); n != 0 {
		t.Errorf("fps samples = %d, want 0", n)
	}
}
