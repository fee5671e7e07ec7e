package scheduler

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"vclinic/internal/callquality"
)

// qualityRecord is a session's record of n samples of 2 s at rtt ms.
func qualityRecord(participant, role, person string, start time.Time, n int, rtt float64) *callquality.Record {
	r := callquality.NewRecord(participant, role, start)
	r.Person = person
	for i := range n {
		s := callquality.Unknown()
		s.RTTMs, s.LossPct, s.Width, s.Height, s.FPS, s.Candidate = rtt, 0, 640, 360, 25, callquality.CandidateHost
		r.Add(start.Add(time.Duration(i+1)*2*time.Second), 2*time.Second, s)
	}
	return r
}

// testVisitQuality: a session's later checkpoint replaces its earlier one;
// one person's two sessions read as one with a reconnect; the visit's own
// clinician and admins read it, nobody else; no audit rows.
func testVisitQuality(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	u := f.signedInClinician("q.lund", "Dr. Lund")
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	own := Actor{ID: u.ID, Role: RoleClinician}
	if got := stMust(s.VisitQuality(ctx, own, a.ID))(t); len(got) != 0 {
		t.Fatalf("before anyone joined: %+v", got)
	}
	start := stTime(t, "2026-06-02T10:01:00+02:00")
	before := auditCount(t, f)
	// The clinician: a checkpoint, then the final record of the session.
	stMust(0, s.SaveVisitQuality(ctx, a.ID, qualityRecord("c1", RoleClinician, u.ID, start, 5, 40)))(t)
	stMust(0, s.SaveVisitQuality(ctx, a.ID, qualityRecord("c1", RoleClinician, u.ID, start, 30, 40)))(t)
	// The patient: a session that ended, and another after a reload.
	stMust(0, s.SaveVisitQuality(ctx, a.ID, qualityRecord("p1", "patient", "guest-1", start.Add(time.Second), 10, 200)))(t)
	stMust(0, s.SaveVisitQuality(ctx, a.ID, qualityRecord("p2", "patient", "guest-1", start.Add(time.Minute), 20, 200)))(t)
	if after := auditCount(t, f); after != before {
		t.Errorf("quality records wrote %d audit rows, want none", after-before)
	}
	got := stMust(s.VisitQuality(ctx, own, a.ID))(t)
	if len(got) != 2 {
		t.Fatalf("quality: %d people, want 2: %+v", len(got), got)
	}
	c, p := got[0], got[1]
	if c.ID != "c1" || c.Role != RoleClinician || c.Seconds != 60 || c.Sessions != 1 || c.Reconnects != 0 {
		t.Errorf("clinician: %+v; want c1, 60 s (the later checkpoint), one session", c)
	}
	if p.ID != "p2" || p.Seconds != 60 || p.Sessions != 2 || p.Reconnects != 1 {
		t.Errorf("patient: %+v; want the latest session p2, 60 s over 2 sessions, one reconnect", p)
	}
	if p.RTTMs == nil || *p.RTTMs <= 150 || *p.RTTMs > 200 || p.CandidateType != callquality.CandidateHost || len(p.Resolutions) != 1 {
		t.Errorf("patient's figures: rtt %v, path %q, resolutions %+v", p.RTTMs, p.CandidateType, p.Resolutions)
	}
	if got := stMust(s.VisitQuality(ctx, f.admin, a.ID))(t); len(got) != 2 {
		t.Errorf("admin reads %d people, want 2", len(got))
	}
	_, err := s.VisitQuality(ctx, Actor{ID: "user-other", Role: RoleClinician}, a.ID)
	stErr(t, err, ErrForbidden, "another clinician's")
	_, err = s.VisitQuality(ctx, f.staff, a.ID)
	stErr(t, err, ErrForbidden, "clinician and admins")
	_, err = s.VisitQuality(ctx, Actor{ID: "guest-1", Role: "patient"}, a.ID)
	stErr(t, err, ErrForbidden, "clinician and admins")
	_, err = s.VisitQuality(ctx, f.admin, "no-such-appointment")
	stErr(t, err, ErrNotFound, "no-such-appointment")
	// A record for no appointment is refused by the database, and loses
	// nothing of the others.
	if err := s.SaveVisitQuality(ctx, "no-such-appointment", qualityRecord("x", "patient", "g", start, 1, 10)); err == nil {
		t.Error("a record of no appointment was kept")
	}
	if err := s.SaveVisitQuality(ctx, a.ID, &callquality.Record{}); err == nil {
		t.Error("a record without a session was kept")
	}
}

// TestVisitQualityAPI: GET /api/v1/appointments/{id}/quality answers the
// visit's clinician with the fields the contract names, and refuses
// another clinician and schedulers.
func TestVisitQualityAPI(t *testing.T) {
	f := newAPIFixture(t)
	start := stTime(t, "2026-06-02T10:01:00+02:00")
	rec := qualityRecord("p1", "patient", "guest-1", start, 10, 80)
	if err := f.s.SaveVisitQuality(f.ctx, f.apptA.ID, rec); err != nil {
		t.Fatal(err)
	}
	status, b := f.do("GET", "/api/v1/appointments/"+f.apptA.ID+"/quality", f.mineToken, "")
	if status != http.StatusOK {
		t.Fatalf("own clinician: %d %s", status, b)
	}
	var body struct {
		Participants []map[string]json.RawMessage `json:"participants"`
	}
	if err := json.Unmarshal(b, &body); err != nil || len(body.Participants) != 1 {
		t.Fatalf("answer %s: %v", b, err)
	}
	for _, field := range []string{"id", "role", "seconds", "rttMs", "lossPct", "jitterMs", "sendKbps", "recvKbps",
		"resolutions", "freezes", "freezeMs", "layerSwitches", "reconnects", "candidateType", "p95"} {
		if _, ok := body.Participants[0][field]; !ok {
			t.Errorf("answer %s lacks %q", b, field)
		}
	}
	if !strings.Contains(string(b), `"seconds":20`) || !strings.Contains(string(b), `"candidateType":"host"`) {
		t.Errorf("answer %s: want 20 s on a host path", b)
	}
	for who, token := range map[string]string{"another clinician": RoleClinician + ":user-other", "a scheduler": RoleScheduler + ":user-scheduler"} {
		if status, b := f.do("GET", "/api/v1/appointments/"+f.apptA.ID+"/quality", token, ""); status != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", who, status, b)
		}
	}
	if status, _ := f.do("GET", "/api/v1/appointments/"+f.apptA.ID+"/quality", "", ""); status != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", status)
	}
}
