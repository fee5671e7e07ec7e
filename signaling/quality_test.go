package signaling

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"vclinic/internal/callquality"
)

// testQualityLog keeps the records handed to it, the latest of each
// session, standing in for the scheduler's table (tested against the real
// stores in package scheduler).
type testQualityLog struct {
	mu      sync.Mutex
	records map[string][]callquality.Record // by session: every hand-over, in order
}

func (l *testQualityLog) RecordQuality(_ context.Context, room string, r *callquality.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room != "appt-q" {
		return nil
	}
	// Kept as the records database keeps it: the sampler goes on with r.
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	kept, err := callquality.Decode(b)
	if err != nil {
		return err
	}
	l.records[r.Participant] = append(l.records[r.Participant], *kept)
	return nil
}

func (l *testQualityLog) handed(id string) []callquality.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]callquality.Record(nil), l.records[id]...)
}

// TestQualityRecorded: two pion participants in an appointment's room; the
// server samples their links, takes what the patient's page says of the
// video it decodes and its path, hands the records over while they are in
// the call and once more when the patient leaves, and counts the patient's
// ICE restart as a reconnect.
func TestQualityRecorded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	visits := newTestVisits(map[string]string{"appt-q": WindowOpen})
	visits.admitted = map[string]bool{"appt-q": true}
	log := &testQualityLog{records: map[string][]callquality.Record{}}
	ts := newTestServer(t, Config{Visits: visits, Quality: log, QualityInterval: 250 * time.Millisecond, QualityCheckpoint: time.Second})
	clin := ts.pionJoin(ctx, "appt-q", ts.token(RoleClinician, testPractitioner, ""))
	pat := ts.pionJoin(ctx, "appt-q", ts.apptToken(RolePatient, "p", "appt-q"))
	waitFor(t, 20*time.Second, "media both ways", func() bool {
		return clin.count(pat.id, "video") > 50 && pat.count(clin.id, "video") > 50
	})
	// What a page adds: the video it decodes, its freezes, its path.
	st := Stats{FrameWidth: 640, FrameHeight: 360, FramesPerSecond: 24, FreezeCount: 1, FreezeMillis: 600, CandidateType: callquality.CandidateRelay, RoundTripSeconds: 0.08}
	pat.sendLocked(TypeStats, st)
	pat.sendLocked(TypeICERestart, ICERestart{PC: PCSubscribe})
	waitFor(t, 20*time.Second, "a checkpoint of the patient's record", func() bool {
		return len(log.handed(pat.id)) > 0 && log.handed(pat.id)[0].Seconds > 0.5
	})
	time.Sleep(1500 * time.Millisecond)
	st.FreezeCount, st.FreezeMillis = 2, 900
	pat.sendLocked(TypeStats, st)
	time.Sleep(600 * time.Millisecond)
	left := time.Now()
	pat.sendLocked(TypeLeave, Leave{})
	var last callquality.Record
	waitFor(t, 20*time.Second, "the patient's record after leaving", func() bool {
		h := log.handed(pat.id)
		last = h[len(h)-1]
		return last.End.After(left)
	})
	n := len(log.handed(pat.id))
	time.Sleep(time.Second)
	if more := len(log.handed(pat.id)) - n; more != 0 {
		t.Errorf("%d records of the patient after the one on leaving", more)
	}
	s := last.Summary()
	b, _ := json.Marshal(s)
	t.Logf("patient: %s", b)
	if s.Role != RolePatient || s.Seconds < 2 {
		t.Errorf("patient's record: role %q, %d s; want patient, 2 s or more", s.Role, s.Seconds)
	}
	if s.SendKbps == nil || *s.SendKbps <= 0 || s.RecvKbps == nil || *s.RecvKbps <= 0 {
		t.Errorf("bitrates: send %v, receive %v kbit/s; want both measured", s.SendKbps, s.RecvKbps)
	}
	if s.LossPct == nil || *s.LossPct != 0 {
		t.Errorf("loss on loopback = %v, want 0 from the receiver reports", s.LossPct)
	}
	if s.JitterMs == nil {
		t.Error("no jitter from the receiver reports")
	}
	if s.RTTMs == nil || *s.RTTMs <= 0 {
		t.Errorf("rtt = %v, want the page's or the server's", s.RTTMs)
	}
	if len(s.Resolutions) != 1 || s.Resolutions[0].Width != 640 || s.Resolutions[0].Height != 360 || s.Resolutions[0].Share > 1 || s.FrameRate == nil {
		t.Errorf("resolutions %+v, frame rate %+v: want 640x360 as the page said", s.Resolutions, s.FrameRate)
	}
	if s.Freezes != 2 || s.FreezeMs != 900 {
		t.Errorf("freezes = %d, %d ms; want 2, 900 (the page's counters)", s.Freezes, s.FreezeMs)
	}
	if s.CandidateType != callquality.CandidateRelay {
		t.Errorf("candidate type = %q, want relay as the page said", s.CandidateType)
	}
	if s.Reconnects != 1 {
		t.Errorf("reconnects = %d, want 1 (one ICE restart)", s.Reconnects)
	}
	// The clinician's record goes on; its path is the server's view.
	if h := log.handed(clin.id); len(h) == 0 || h[len(h)-1].Summary().CandidateType == "" {
		t.Errorf("clinician's records %+v: want a checkpoint naming the path", h)
	}
	if _, n, _ := ts.srv.QualityHistogram(callquality.RecvKbps); n == 0 {
		t.Error("no samples in the node's histograms")
	}
}

// waitFor polls cond every 50 ms until it holds, or fails t after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
