package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"vclinic/scheduler"
	"vclinic/signaling"
)

// TestCareRelation: a patient's readings are for the clinicians caring for
// them. Another clinician is refused, then reads after breaking the glass
// with a reason (on the audit log, listed for admins); an appointment
// outside the care window gives no relation, one inside it does; an admin's
// care-team assignment does; schedulers and admins never read values.
func TestCareRelation(t *testing.T) {
	a := newAPIClinic(t)
	ctx := context.Background()
	otherUser, err := a.c.store.CreateUser(ctx, scheduler.System, "peter", "Dr. Peter Berg", scheduler.RoleClinician, "a long password 7")
	if err != nil {
		t.Fatal(err)
	}
	thirdUser, err := a.c.store.CreateUser(ctx, scheduler.System, "lis", "Dr. Lis Dahl", scheduler.RoleClinician, "a long password 8")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := a.c.store.CreateUser(ctx, scheduler.System, "root", "Ada Admin", scheduler.RoleAdmin, "a long password 9")
	if err != nil {
		t.Fatal(err)
	}
	other := a.token(signaling.TokenRequest{Role: "clinician", Subject: otherUser.ID})
	third := a.token(signaling.TokenRequest{Role: "clinician", Subject: thirdUser.ID})
	adminTok := a.token(signaling.TokenRequest{Role: "admin", Subject: admin.ID})
	readings := "/api/v1/patients/" + a.patA.ID + "/readings"
	observations := "/fhir/r4/Observation?patient=" + a.patA.ID

	if status, b, _ := a.do("GET", readings, a.clinicianToken(), "", nil); status != 200 {
		t.Fatalf("patient A's own clinician: %d %s", status, b)
	}
	for who, tok := range map[string]string{"another clinician": other, "a scheduler": a.schedulerToken(), "an admin": adminTok} {
		if status, b, _ := a.do("GET", readings, tok, "", nil); status != 403 {
			t.Errorf("%s reads patient A's readings: %d %s", who, status, b)
		}
		if status, b, _ := a.do("GET", observations, tok, "", nil); status != 403 {
			t.Errorf("%s reads patient A's Observations: %d %s", who, status, b)
		}
	}

	// Breaking the glass: a reason is required; then four hours of access.
	glass := "/api/v1/patients/" + a.patA.ID + "/break-glass"
	if status, b, _ := a.do("POST", glass, other, `{"reason":"need"}`, nil); status != 422 {
		t.Fatalf("breaking the glass without a real reason: %d %s", status, b)
	}
	if status, b, _ := a.do("POST", glass, a.schedulerToken(), `{"reason":"covering the ward tonight"}`, nil); status != 403 {
		t.Fatalf("a scheduler breaks the glass: %d %s", status, b)
	}
	status, b, _ := a.do("POST", glass, other, `{"reason":"covering the ward tonight, patient called in"}`, nil)
	var opened scheduler.BreakGlass
	if status != 201 || json.Unmarshal(b, &opened) != nil {
		t.Fatalf("break the glass: %d %s", status, b)
	}
	if d := opened.Until.Sub(opened.OpenedAt); d != scheduler.BreakGlassFor {
		t.Fatalf("the glass opens for %s, want %s", d, scheduler.BreakGlassFor)
	}
	if status, b, _ := a.do("GET", readings, other, "", nil); status != 200 {
		t.Fatalf("after breaking the glass: %d %s", status, b)
	}
	status, b, _ = a.do("GET", "/api/v1/break-glass", adminTok, "", nil)
	var list struct{ Entries []scheduler.BreakGlass }
	if status != 200 || json.Unmarshal(b, &list) != nil || len(list.Entries) != 1 ||
		list.Entries[0].UserID != otherUser.ID || !strings.Contains(list.Entries[0].Reason, "covering the ward") {
		t.Fatalf("the admins' review: %d %s", status, b)
	}
	found := false
	for _, e := range a.auditLog(a.patA.ID) {
		if e.Action == scheduler.AuditBreakGlass && e.ActorID == otherUser.ID && strings.Contains(e.Detail, "covering the ward") {
			found = true
		}
	}
	if !found {
		t.Fatal("breaking the glass is not on the audit log")
	}

	// The care window: an appointment 40 days ahead gives no relation, one
	// 20 days ahead does.
	thirdClin, err := a.c.store.CreateClinician(ctx, a.sched.Actor(), scheduler.Clinician{Name: "Dr. Lis Dahl", Zone: scheduler.DefaultZone, UserID: thirdUser.ID})
	if err != nil {
		t.Fatal(err)
	}
	av := scheduler.Availability{ClinicianID: thirdClin.ID, Zone: thirdClin.Zone}
	for d := time.Sunday; d <= time.Saturday; d++ {
		av.Rules = append(av.Rules, scheduler.WeeklyRule{Weekday: d, Start: 0, End: scheduler.Clock(24, 0)})
	}
	if _, err := a.c.store.PutAvailability(ctx, a.sched.Actor(), thirdClin.ID, av); err != nil {
		t.Fatal(err)
	}
	book := func(in time.Duration) {
		t.Helper()
		if _, err := a.c.store.Book(ctx, a.sched.Actor(), scheduler.BookRequest{ClinicianID: thirdClin.ID, PatientID: a.patA.ID,
			Start: time.Now().Add(in).Truncate(time.Hour), Duration: 30 * time.Minute}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	book(40 * 24 * time.Hour)
	if status, _, _ := a.do("GET", readings, third, "", nil); status != 403 {
		t.Fatalf("an appointment 40 days ahead: %d, want 403", status)
	}
	book(20 * 24 * time.Hour)
	if status, _, _ := a.do("GET", readings, third, "", nil); status != 200 {
		t.Fatalf("an appointment 20 days ahead: %d, want 200", status)
	}

	// The care team: an admin assigns; only clinicians can be on it.
	team := "/api/v1/patients/" + a.patB.ID + "/care-team"
	if status, b, _ := a.do("POST", team, adminTok, `{"userId":"`+a.sched.ID+`"}`, nil); status != 422 {
		t.Fatalf("a scheduler on a care team: %d %s", status, b)
	}
	if status, b, _ := a.do("POST", team, other, `{"userId":"`+thirdUser.ID+`"}`, nil); status != 403 {
		t.Fatalf("a clinician assigns a care team: %d %s", status, b)
	}
	if status, _, _ := a.do("GET", "/api/v1/patients/"+a.patB.ID+"/readings", third, "", nil); status != 403 {
		t.Fatalf("before the assignment: %d", status)
	}
	if status, b, _ := a.do("POST", team, adminTok, `{"userId":"`+thirdUser.ID+`"}`, nil); status != 201 {
		t.Fatalf("assign: %d %s", status, b)
	}
	if status, b, _ := a.do("GET", "/api/v1/patients/"+a.patB.ID+"/readings", third, "", nil); status != 200 {
		t.Fatalf("on the care team: %d %s", status, b)
	}
}

// TestLiveVitalsNeedCareRelation: in a room with the patient, a clinician
// caring for the patient is shown their live readings; another clinician in
// the same room is not, and no record says they were.
func TestLiveVitalsNeedCareRelation(t *testing.T) {
	a := newAPIClinic(t)
	ctx := context.Background()
	otherUser, err := a.c.store.CreateUser(ctx, scheduler.System, "peter", "Dr. Peter Berg", scheduler.RoleClinician, "a long password 7")
	if err != nil {
		t.Fatal(err)
	}
	const room = "ward-round"
	a.wsJoin(room, a.token(signaling.TokenRequest{Role: "patient", Subject: a.patA.ID, Room: room}))
	caring := a.wsJoin(room, a.clinicianToken())
	other := a.wsJoin(room, a.token(signaling.TokenRequest{Role: "clinician", Subject: otherUser.ID}))
	time.Sleep(200 * time.Millisecond) // all three in the room
	a.c.pushVitals(a.patA.ID, []signaling.Vital{{Code: "8867-4", Value: "72", Unit: "/min", At: time.Now().UTC(), Source: "device"}})
	if v := waitVitals(t, caring, "8867-4"); v.Value != "72" {
		t.Fatalf("the caring clinician was shown %+v", v)
	}
	_ = other.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		var env signaling.Envelope
		if err := other.ReadJSON(&env); err != nil {
			break // nothing more within the deadline
		}
		if env.Type == signaling.TypeVitals {
			t.Fatalf("a clinician without a care relation was shown the patient's live readings: %s", env.Payload)
		}
	}
	for _, e := range a.auditLog(a.patA.ID) {
		if e.ActorID == otherUser.ID {
			t.Fatalf("an audit row says the other clinician was shown the readings: %+v", e)
		}
	}
}
