package scheduler

import (
	"strings"
	"testing"
)

// goodCheck is a run of the check as the page sends it.
func goodCheck(run, verdict string) CheckResult {
	return CheckResult{RunID: run, Camera: CheckPass, Microphone: CheckPass, Speaker: CheckPass,
		UDP: CheckPass, TCP: CheckPass, Relay: CheckNotConfigured, DownKbps: 4200, UpKbps: 1800,
		Verdict: verdict, DurationMs: 21000, Summary: "all parts passed"}
}

// testPreVisitCheck (conformance): a patient stores runs of the check for
// their own visit; the same run again is stored once; the newest is the
// latest, every run is kept; each stored run is audited; another patient,
// staff and a cancelled visit are refused.
func testPreVisitCheck(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	me := Actor{ID: a.PatientID, Role: RolePatient}
	if got := stMust(s.LatestCheck(ctx, a.ID))(t); got != nil {
		t.Fatalf("before any check: %+v", got)
	}
	before := auditCount(t, f)
	first, created, err := s.AddCheck(ctx, me, a.ID, goodCheck("run-00000001", CheckReady))
	if err != nil || !created {
		t.Fatalf("first check: %v, created %v", err, created)
	}
	again, created, err := s.AddCheck(ctx, me, a.ID, goodCheck("run-00000001", CheckNoConnection))
	if err != nil || created || again.ID != first.ID || again.Verdict != CheckReady {
		t.Fatalf("the same run again: %+v, created %v, %v; want the first", again, created, err)
	}
	second, created, err := s.AddCheck(ctx, me, a.ID, goodCheck("run-00000002", CheckAudioOnly))
	if err != nil || !created || !second.At.After(first.At) {
		t.Fatalf("second run: %+v, created %v, %v", second, created, err)
	}
	if n := auditCount(t, f) - before; n != 2 {
		t.Errorf("%d audit rows for two stored runs, want 2", n)
	}
	latest := stMust(s.LatestCheck(ctx, a.ID))(t)
	if latest == nil || latest.ID != second.ID || latest.Verdict != CheckAudioOnly || latest.DownKbps != 4200 ||
		latest.Relay != CheckNotConfigured || latest.Summary != "all parts passed" {
		t.Errorf("latest %+v, want the second run", latest)
	}
	if all := stMust(s.Checks(ctx, a.ID))(t); len(all) != 2 || all[0].ID != second.ID || all[1].ID != first.ID {
		t.Errorf("history %+v, want both runs, newest first", all)
	}

	other := stMust(s.CreatePatient(ctx, f.staff, Patient{Name: "Ole Berg", CPR: CPR(testCPRs[1])}))(t)
	_, _, err = s.AddCheck(ctx, Actor{ID: other.ID, Role: RolePatient}, a.ID, goodCheck("run-00000003", CheckReady))
	stErr(t, err, ErrNotFound, "no such appointment")
	_, _, err = s.AddCheck(ctx, f.staff, a.ID, goodCheck("run-00000004", CheckReady))
	stErr(t, err, ErrNotFound, "no such appointment")
	_, _, err = s.AddCheck(ctx, me, "no-such-appointment", goodCheck("run-00000005", CheckReady))
	stErr(t, err, ErrNotFound, "")
	stMust(s.SetStatus(ctx, f.staff, a.ID, StatusCancelled, ""))(t)
	_, _, err = s.AddCheck(ctx, me, a.ID, goodCheck("run-00000006", CheckReady))
	stErr(t, err, ErrConflict, "cancelled")
}

// TestCheckResultValidate: every bad field is refused by name.
func TestCheckResultValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		edit  func(*CheckResult)
		field string
	}{
		"camera":       {func(r *CheckResult) { r.Camera = "ok" }, "camera:"},
		"microphone":   {func(r *CheckResult) { r.Microphone = "" }, "microphone:"},
		"speaker":      {func(r *CheckResult) { r.Speaker = "not-configured" }, "speaker:"},
		"udp":          {func(r *CheckResult) { r.UDP = "warn" }, "udp:"},
		"tcp":          {func(r *CheckResult) { r.TCP = "PASS" }, "tcp:"},
		"relay":        {func(r *CheckResult) { r.Relay = "" }, "relay:"},
		"verdict":      {func(r *CheckResult) { r.Verdict = "fine" }, "verdict:"},
		"run id":       {func(r *CheckResult) { r.RunID = "short" }, "runId:"},
		"run id chars": {func(r *CheckResult) { r.RunID = "run 0000001" }, "runId:"},
		"down":         {func(r *CheckResult) { r.DownKbps = -1 }, "downKbps:"},
		"up":           {func(r *CheckResult) { r.UpKbps = maxCheckKbps + 1 }, "upKbps:"},
		"duration":     {func(r *CheckResult) { r.DurationMs = -5 }, "durationMs:"},
		"summary":      {func(r *CheckResult) { r.Summary = strings.Repeat("x", maxCheckSummary+1) }, "summary:"},
		"user agent":   {func(r *CheckResult) { r.Summary = "Mozilla/5.0 (X11; Linux x86_64)" }, "summary:"},
	} {
		t.Run(name, func(t *testing.T) {
			r := goodCheck("run-00000001", CheckReady)
			tc.edit(&r)
			err := r.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("got %v, want an error naming %s", err, tc.field)
			}
		})
	}
	if err := goodCheck("run-00000001", CheckReady).Validate(); err != nil {
		t.Errorf("a good result: %v", err)
	}
}

// TestVisitCheckAPI: the patient's link stores a check (201, 200 for the
// same run again), bad fields are named (422, 400 for a wrong type),
// another patient's link stores for their own visit only, staff and
// relatives may not, and staff see the newest on the appointment and day
// list.
func TestVisitCheckAPI(t *testing.T) {
	f := newAPIFixture(t)
	link := RolePatient + ":" + f.apptA.PatientID + ":" + f.apptA.ID
	body := `{"runId":"run-00000001","camera":"pass","microphone":"pass","speaker":"fail","udp":"fail","tcp":"pass",` +
		`"relay":"not-configured","downKbps":300,"upKbps":200,"verdict":"audio-only","durationMs":18000,"summary":"tcp only"}`
	first := decodeAs[Check](t, f.expect(201, "POST", "/api/v1/visit/check", link, body))
	if first.Verdict != CheckAudioOnly || first.TCP != CheckPass || first.AppointmentID != f.apptA.ID {
		t.Errorf("stored %+v", first)
	}
	again := decodeAs[Check](t, f.expect(200, "POST", "/api/v1/visit/check", link, body))
	if again.ID != first.ID {
		t.Errorf("the same run again: %+v, want the first %+v", again, first)
	}
	for field, bad := range map[string]string{
		"verdict":  strings.Replace(body, `"audio-only"`, `"great"`, 1),
		"camera":   strings.Replace(body, `"camera":"pass"`, `"camera":"yes"`, 1),
		"downKbps": strings.Replace(body, `"downKbps":300`, `"downKbps":-3`, 1),
		"runId":    strings.Replace(body, `"run-00000001"`, `"x"`, 1),
	} {
		b := f.expect(422, "POST", "/api/v1/visit/check", link, bad)
		if !strings.Contains(string(b), field) {
			t.Errorf("bad %s: %s does not name it", field, b)
		}
	}
	if b := f.expect(400, "POST", "/api/v1/visit/check", link, strings.Replace(body, `300`, `"fast"`, 1)); !strings.Contains(string(b), "downKbps") {
		t.Errorf("a string for downKbps: %s does not name it", b)
	}
	f.expect(400, "POST", "/api/v1/visit/check", link, `{"runId":"run-00000001","userAgent":"Mozilla/5.0"}`)
	f.expect(401, "POST", "/api/v1/visit/check", "", body)
	f.expect(403, "POST", "/api/v1/visit/check", schedulerToken, body)
	f.expect(403, "POST", "/api/v1/visit/check", RoleRelative+":r1:"+f.apptA.ID, body)
	// A patient's token naming another patient's appointment: no such
	// appointment, as far as they can tell.
	f.expect(404, "POST", "/api/v1/visit/check", RolePatient+":someone-else:"+f.apptA.ID, body)

	// Staff see the newest; the patient sees it on their visit.
	ready := strings.Replace(strings.Replace(body, "run-00000001", "run-00000002", 1), `"audio-only"`, `"ready"`, 1)
	f.expect(201, "POST", "/api/v1/visit/check", link, ready)
	view := decodeAs[appointmentView](t, f.expect(200, "GET", "/api/v1/appointments/"+f.apptA.ID, schedulerToken, ""))
	if view.Check == nil || view.Check.Verdict != CheckReady || view.Check.RunID != "run-00000002" {
		t.Errorf("the appointment's check %+v, want the newest run", view.Check)
	}
	day := decodeAs[[]dayEntry](t, f.expect(200, "GET", "/api/v1/clinicians/"+f.mine.ID+"/appointments"+f.day, f.mineToken, ""))
	for _, e := range day {
		switch {
		case e.Appointment.ID == f.apptA.ID && (e.Appointment.Check == nil || e.Appointment.Check.Verdict != CheckReady):
			t.Errorf("the day list's check of A: %+v", e.Appointment.Check)
		case e.Appointment.ID != f.apptA.ID && e.Appointment.Check != nil:
			t.Errorf("appointment %s shows A's check", e.Appointment.ID)
		}
	}
	v := decodeAs[struct{ Check *Check }](t, f.expect(200, "GET", "/api/v1/visit", link, ""))
	if v.Check == nil || v.Check.Verdict != CheckReady {
		t.Errorf("the patient's visit: %+v", v)
	}
	// The patient's other visit shows no check of this one.
	linkB := RolePatient + ":" + f.apptB.PatientID + ":" + f.apptB.ID
	if vb := decodeAs[struct{ Check *Check }](t, f.expect(200, "GET", "/api/v1/visit", linkB, "")); vb.Check != nil {
		t.Errorf("patient B's visit shows a check: %+v", vb.Check)
	}
}
