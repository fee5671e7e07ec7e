package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"vclinic/scheduler"
	"vclinic/signaling"
)

// The tests in this file each hold one defect found by probing the clinic as
// an attacker would; each names it.

// otherClinicianToken signs in the clinician of apptB (a second user made
// for it): a member of staff, but not apptA's clinician.
func (a *apiClinic) otherClinicianToken() string {
	a.t.Helper()
	ctx := context.Background()
	u, err := a.c.store.CreateUser(ctx, scheduler.System, "peter", "Dr. Peter Berg", scheduler.RoleClinician, "a long password 3")
	if err != nil {
		a.t.Fatal(err)
	}
	return a.token(signaling.TokenRequest{Role: "clinician", Subject: u.ID, Name: u.Name})
}

// linkOf takes the token out of an invitation link.
func linkToken(t *testing.T, link string) string {
	t.Helper()
	_, tok, ok := strings.Cut(link, "#t=")
	if !ok {
		t.Fatalf("no token in link %q", link)
	}
	return tok
}

// Defect: another clinician was handed a fresh patient invitation for an
// appointment not theirs (the appointment, its ICS and its FHIR view), and
// with it took the patient's place in the call.
func TestSecurityLinksOnlyForWhoRunsTheVisit(t *testing.T) {
	a := newAPIClinic(t)
	own, other, sched := a.clinicianToken(), a.otherClinicianToken(), a.schedulerToken()
	path := "/api/v1/appointments/" + a.apptA.ID
	for _, tc := range []struct {
		name, token string
		link        bool
	}{
		{"the appointment's clinician", own, true},
		{"a scheduler", sched, true},
		{"another clinician", other, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, b, _ := a.do("GET", path, tc.token, "", nil)
			if status != 200 {
				t.Fatalf("GET appointment: %d %s", status, b)
			}
			var v struct{ PatientLink string }
			_ = json.Unmarshal(b, &v)
			if (v.PatientLink != "") != tc.link {
				t.Errorf("patientLink %q, want a link: %v", v.PatientLink, tc.link)
			}
			status, b, _ = a.do("GET", "/fhir/r4/Appointment/"+a.apptA.ID, tc.token, "", nil)
			if status != 200 || strings.Contains(string(b), "#t=") != tc.link {
				t.Errorf("FHIR Appointment: %d, link in it: %v, want %v", status, strings.Contains(string(b), "#t="), tc.link)
			}
			want := 200
			if !tc.link {
				want = 403
			}
			if status, b, _ := a.do("GET", path+"/invite.ics", tc.token, "", nil); status != want || strings.Contains(string(b), "#t=") != tc.link {
				t.Errorf("invite.ics: %d, want %d", status, want)
			}
		})
	}
	// The other clinician cannot join as the patient with anything they got.
	if got := a.wsDial(a.apptA.ID, other); got != 403 {
		t.Errorf("the other clinician's WebSocket to the visit: %d, want 403", got)
	}
}

// Defect: any clinician could cancel any appointment.
func TestSecurityCancelAsksWhoRunsTheVisit(t *testing.T) {
	a := newAPIClinic(t)
	other := a.otherClinicianToken()
	if status, b, _ := a.do("POST", "/api/v1/appointments/"+a.apptA.ID+"/cancel", other, `{"reason":"mine now"}`, nil); status != 403 {
		t.Fatalf("another clinician cancels: %d %s, want 403", status, b)
	}
	if ap, err := a.c.store.LinkState(context.Background(), a.apptA.ID); err != nil || ap.Status != scheduler.StatusBooked {
		t.Fatalf("after the refused cancel: %+v, %v", ap, err)
	}
	if status, b, _ := a.do("POST", "/api/v1/appointments/"+a.apptA.ID+"/cancel", a.clinicianToken(), `{"reason":"ill"}`, nil); status != 200 {
		t.Fatalf("the appointment's clinician cancels: %d %s", status, b)
	}
}

// Defect: an invitation link was a year-long credential that read the
// patient's whole history and stored readings after the visit was cancelled.
func TestSecurityInvitationLinkSpan(t *testing.T) {
	a := newAPIClinic(t)
	ctx := context.Background()
	status, b, _ := a.do("GET", "/api/v1/appointments/"+a.apptA.ID, a.schedulerToken(), "", nil)
	if status != 200 {
		t.Fatalf("%d %s", status, b)
	}
	var v struct{ PatientLink string }
	_ = json.Unmarshal(b, &v)
	tok := linkToken(t, v.PatientLink)
	claims, err := a.c.keys.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	until := a.apptA.End.Add(24 * time.Hour)
	if d := claims.ExpiresAt.Sub(until); d < -time.Second || d > time.Second {
		t.Errorf("the link's token expires %v, want a day after the visit's end (%v)", claims.ExpiresAt.Time, until)
	}
	// Never the history; the kit, yes (the page pairs devices with it).
	if status, _, _ := a.do("GET", "/api/v1/patients/"+a.patA.ID+"/readings", tok, "", nil); status != 403 {
		t.Errorf("the link reads the patient's readings: %d, want 403", status)
	}
	if status, _, _ := a.do("GET", "/api/v1/patients/"+a.patA.ID+"/devices", tok, "", nil); status != 200 {
		t.Errorf("the link lists the patient's kit: %d, want 200", status)
	}
	// Before the visit (it starts in two hours) it opens the page but sends
	// no readings.
	if status, b, _ := a.do("GET", "/api/v1/visit", tok, "", nil); status != 200 || !strings.Contains(string(b), `"state":"early"`) {
		t.Errorf("the visit page before the visit: %d %s", status, b)
	}
	if status, _, _ := a.do("POST", "/api/v1/readings", tok, `{"readings":[]}`, nil); status != 403 {
		t.Errorf("readings before the visit: %d, want 403", status)
	}

	auth := clinicAuth{keys: a.c.keys, store: a.c.store, links: scheduler.LinkPolicy{}, now: time.Now}
	check := func(token string, at time.Time) error {
		auth.now = func() time.Time { return at }
		a.c.keys.SetClock(auth.now)
		defer a.c.keys.SetClock(time.Now)
		r := httptest.NewRequest("GET", "/api/v1/visit", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		_, err := auth.Authenticate(r)
		return err
	}
	if err := check(tok, a.apptA.End.Add(23*time.Hour)); err != nil {
		t.Errorf("the link a day after the visit, less an hour: %v", err)
	}
	if err := check(tok, a.apptA.End.Add(25*time.Hour)); err == nil {
		t.Error("the link works more than a day after the visit")
	}
	// Rescheduled a week later: the same link follows, past its token's
	// own expiry, until a day after the new end.
	moved, err := a.c.store.Reschedule(ctx, a.sched.Actor(), a.apptA.ID, a.apptA.Start.Add(7*24*time.Hour), 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := check(tok, moved.End.Add(time.Hour)); err != nil {
		t.Errorf("the link after a reschedule, past its token's expiry: %v", err)
	}
	if err := check(tok, moved.End.Add(25*time.Hour)); err == nil {
		t.Error("the link works more than a day after the moved visit")
	}
	// Cancelled: the page says so for a day, then the link is dead.
	if _, err := a.c.store.SetStatus(ctx, a.sched.Actor(), a.apptA.ID, scheduler.StatusCancelled, ""); err != nil {
		t.Fatal(err)
	}
	if status, b, _ := a.do("GET", "/api/v1/visit", tok, "", nil); status != 200 || !strings.Contains(string(b), `"status":"cancelled"`) {
		t.Errorf("the visit page after the cancellation: %d %s", status, b)
	}
	if err := check(tok, time.Now().Add(25*time.Hour)); err == nil {
		t.Error("the link works more than a day after the cancellation")
	}
	// A link naming an appointment that is not its patient's is refused.
	forged := a.token(signaling.TokenRequest{Role: "patient", Subject: a.patB.ID, Appt: a.apptA.ID})
	if status, _, _ := a.do("GET", "/api/v1/visit", forged, "", nil); status != 401 {
		t.Errorf("a patient token for another patient's appointment: %d, want 401", status)
	}
}

// Defect: PUT .../expected trusted the body's patientId and filed the row
// under another patient.
func TestSecurityExpectedIsTheAppointmentsPatient(t *testing.T) {
	a := newAPIClinic(t)
	clin := a.clinicianToken()
	path := "/api/v1/appointments/" + a.apptA.ID + "/expected"
	if status, b, _ := a.do("PUT", path, clin, `{"patientId":"`+a.patB.ID+`","codes":["8310-5"]}`, nil); status != 422 {
		t.Fatalf("another patient's id in the body: %d %s, want 422", status, b)
	}
	if status, b, _ := a.do("GET", path, clin, "", nil); status != 200 || strings.Contains(string(b), "8310-5") {
		t.Fatalf("after the refused PUT: %d %s, want nothing expected", status, b)
	}
	if status, b, _ := a.do("PUT", path, clin, `{"codes":["8310-5"]}`, nil); status != 200 || !strings.Contains(string(b), "8310-5") {
		t.Fatalf("PUT without a patientId: %d %s", status, b)
	}
	for _, e := range a.auditLog(a.patB.ID) {
		if e.Entity == "expected" {
			t.Errorf("an expected-measurements row under the other patient: %+v", e)
		}
	}
}

// Defect: reads of a patient's kit left no audit row (the API, FHIR Device,
// a gateway's own list).
func TestSecurityKitReadsAreAudited(t *testing.T) {
	a := newAPIClinic(t)
	sched := a.schedulerToken()
	if status, b, _ := a.do("POST", "/api/v1/patients/"+a.patA.ID+"/gateways", sched, `{"id":"gw-karen","label":"hall"}`, nil); status != 201 {
		t.Fatalf("gateway: %d %s", status, b)
	}
	gw := a.token(signaling.TokenRequest{Role: "gateway", Subject: "gw-karen"})
	for _, tc := range []struct {
		name, path, token, actor string
	}{
		{"the API, staff", "/api/v1/patients/" + a.patA.ID + "/devices", a.clinicianToken(), a.clinUser.ID},
		{"the API, the patient's gateway", "/api/v1/patients/" + a.patA.ID + "/devices", gw, "gw-karen"},
		{"FHIR Device", "/fhir/r4/Device?patient=" + a.patA.ID, sched, a.sched.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(a.auditLog(a.patA.ID))
			if status, b, _ := a.do("GET", tc.path, tc.token, "", nil); status != 200 {
				t.Fatalf("%d %s", status, b)
			}
			log := a.auditLog(a.patA.ID)
			if len(log) != before+1 {
				t.Fatalf("%d audit rows for the read, want 1", len(log)-before)
			}
			if e := log[len(log)-1]; e.ActorID != tc.actor || e.Entity != "device" || e.Address == "" {
				t.Errorf("audit row %+v", e)
			}
		})
	}
}

// Defect: gateways and devices could be registered for a patient who does
// not exist.
func TestSecurityKitOfNoPatient(t *testing.T) {
	a := newAPIClinic(t)
	sched := a.schedulerToken()
	for _, tc := range []struct{ path, body string }{
		{"/api/v1/patients/no-such-patient/gateways", `{"label":"hall"}`},
		{"/api/v1/patients/no-such-patient/devices", `{"type":"scale","address":"00:09:1F:00:00:09","identifiedBy":"bluetooth-address"}`},
	} {
		if status, b, _ := a.do("POST", tc.path, sched, tc.body, nil); status != http.StatusNotFound {
			t.Errorf("POST %s: %d %s, want 404", tc.path, status, b)
		}
	}
	for _, e := range a.auditLog("no-such-patient") {
		t.Errorf("a row about a patient who does not exist: %+v", e)
	}
}
