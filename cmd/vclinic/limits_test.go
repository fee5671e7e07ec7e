package main

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"vclinic/homekit"
	"vclinic/scheduler"
)

// dayListFlagged reads the clinician's day list around the visit and
// answers the flaggedReadings of appointment id (-1 when absent).
func (a *apiClinic) dayListFlagged(id string, around time.Time) int {
	a.t.Helper()
	q := url.Values{"from": {around.Add(-12 * time.Hour).UTC().Format(time.RFC3339)}, "to": {around.Add(12 * time.Hour).UTC().Format(time.RFC3339)}}
	status, body, _ := a.do("GET", "/api/v1/clinicians/"+a.clin.ID+"/appointments?"+q.Encode(), a.clinicianToken(), "", nil)
	if status != 200 {
		a.t.Fatalf("day list: %d %s", status, body)
	}
	var entries []struct {
		Appointment struct {
			ID string `json:"id"`
		} `json:"appointment"`
		FlaggedReadings *int `json:"flaggedReadings"`
	}
	if err := json.Unmarshal(body, &entries); err != nil {
		a.t.Fatal(err)
	}
	for _, e := range entries {
		if e.Appointment.ID == id && e.FlaggedReadings != nil {
			return *e.FlaggedReadings
		}
	}
	return -1
}

// TestFlaggedReadingArrivesFlagged: the clinician sets the patient's limits
// through the API; a thermometer reading above them, sent by the patient's
// link during the visit, reaches the clinician in the call flagged, with the
// limit then in force; the day list counts it until the clinician
// acknowledges it.
func TestFlaggedReadingArrivesFlagged(t *testing.T) {
	a := newAPIClinic(t)
	b, err := a.c.store.Book(context.Background(), a.sched.Actor(), scheduler.BookRequest{ClinicianID: a.clin.ID,
		PatientID: a.patA.ID, Start: time.Now().Add(time.Minute).Truncate(time.Minute), Duration: 20 * time.Minute}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	visit := b.Appointment
	status, body, _ := a.do("POST", "/api/v1/patients/"+a.patA.ID+"/devices", a.schedulerToken(),
		`{"type":"thermometer","model":"FT 95","address":"00:09:1F:AA:BB:CD","identifiedBy":"bluetooth-address","label":"Termometer"}`, nil)
	if status != 201 {
		t.Fatalf("add device: %d %s", status, body)
	}
	var dev struct{ ID string }
	_ = json.Unmarshal(body, &dev)
	clinTok := a.clinicianToken()
	status, body, _ = a.do("PUT", "/api/v1/patients/"+a.patA.ID+"/limits", clinTok,
		`{"version":0,"limits":[{"code":"8310-5","unit":"Cel","low":35.5,"high":37.5}]}`, nil)
	if status != 200 {
		t.Fatalf("set limits: %d %s", status, body)
	}
	if n := a.dayListFlagged(visit.ID, visit.Start); n != 0 {
		t.Fatalf("day list before any reading: flaggedReadings %d, want 0", n)
	}

	patTok := a.patientToken(visit, a.patA.ID)
	_ = a.wsJoin(visit.ID, patTok)
	clin := a.wsJoin(visit.ID, clinTok)
	if status, body, _ := a.do("POST", "/api/v1/appointments/"+visit.ID+"/admit", clinTok, "", nil); status != 200 {
		t.Fatalf("admit: %d %s", status, body)
	}
	// 37.60 Cel (Health Thermometer 0x2A1C), above the high limit 37.5.
	reading := `{"readings":[{"deviceId":"` + dev.ID + `","characteristic":"2A1C","value":"02B00E00FEEA070B1A0A1E05","seq":1,` +
		`"observedAt":"` + time.Now().UTC().Format(time.RFC3339) + `"}]}`
	status, body, _ = a.do("POST", "/api/v1/readings", patTok, reading, nil)
	if status != 200 || !strings.Contains(string(body), homekit.FlagOutsideLimits) {
		t.Fatalf("post reading: %d %s", status, body)
	}
	v := waitVitals(t, clin, "8310-5")
	if v.Value != "37.60" || v.Outside != homekit.OutsideAbove || v.LimitHigh != "37.5" || v.LimitLow != "35.5" ||
		v.LimitUnit != "Cel" || v.ReadingID == "" || v.ReceivedAt.IsZero() {
		t.Fatalf("temperature vital %+v, want flagged above 37.5 Cel with its reading id", v)
	}
	if n := a.dayListFlagged(visit.ID, visit.Start); n != 1 {
		t.Fatalf("day list: flaggedReadings %d, want 1", n)
	}
	status, body, _ = a.do("POST", "/api/v1/patients/"+a.patA.ID+"/flagged-readings/"+v.ReadingID+"/acknowledge", clinTok, `{"note":"ringet op"}`, nil)
	if status != 201 || !strings.Contains(string(body), `"byName":"Dr. Anna Holm"`) {
		t.Fatalf("acknowledge: %d %s", status, body)
	}
	if n := a.dayListFlagged(visit.ID, visit.Start); n != 0 {
		t.Fatalf("day list after acknowledgement: flaggedReadings %d, want 0", n)
	}
	// The day list counts since the patient's previous held visit: a
	// later appointment does not count what came before this visit ended.
	later, err := a.c.store.Book(context.Background(), a.sched.Actor(), scheduler.BookRequest{ClinicianID: a.clin.ID,
		PatientID: a.patA.ID, Start: visit.End.Add(3 * time.Hour), Duration: 20 * time.Minute}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	status, body, _ = a.do("POST", "/api/v1/readings", patTok, strings.Replace(reading, `"seq":1`, `"seq":2`, 1), nil)
	if status != 200 || !strings.Contains(string(body), homekit.FlagOutsideLimits) {
		t.Fatalf("post second reading: %d %s", status, body)
	}
	if n := a.dayListFlagged(later.ID, later.Start); n != 1 {
		t.Fatalf("later appointment before this visit is held: flaggedReadings %d, want 1", n)
	}
	if status, body, _ := a.do("POST", "/api/v1/appointments/"+visit.ID+"/end", clinTok, "", nil); status != 204 {
		t.Fatalf("end the visit: %d %s", status, body)
	}
	if n := a.dayListFlagged(later.ID, later.Start); n != 0 {
		t.Fatalf("later appointment after this visit was held: flaggedReadings %d, want 0 (the reading came before)", n)
	}
	if n := a.dayListFlagged(visit.ID, visit.Start); n != 1 {
		t.Fatalf("the held visit itself: flaggedReadings %d, want 1", n)
	}
	// The other clinician, without a care relation, may not acknowledge.
	status, _, _ = a.do("POST", "/api/v1/patients/"+a.patA.ID+"/flagged-readings/"+v.ReadingID+"/acknowledge", a.otherClinicianToken(), "", nil)
	if status != 403 {
		t.Fatalf("another clinician acknowledges: %d, want 403", status)
	}
}

// TestTypeLimitsSeedThePatient: a patient without limits booked for an
// appointment type with default limits gets the type's.
func TestTypeLimitsSeedThePatient(t *testing.T) {
	a := newAPIClinic(t)
	ctx := context.Background()
	typ, err := a.c.store.CreateAppointmentType(ctx, scheduler.System, scheduler.AppointmentType{Name: "KOL-kontrol", Duration: 20 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	high := json.Number("38.0")
	if _, err := a.c.kit.SetWatch(ctx, homekit.Actor{ID: "user-admin", Role: "admin"}, homekit.Watch{Owner: homekit.WatchOfType, OwnerID: typ.ID,
		SpO2Scale: homekit.SpO2Scale2, Limits: []homekit.Limit{{Code: "8310-5", High: &high}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(30 * time.Hour).Truncate(time.Hour).UTC().Format(time.RFC3339)
	status, body, _ := a.do("POST", "/api/v1/appointments", a.schedulerToken(),
		`{"clinicianId":"`+a.clin.ID+`","patientId":"`+a.patB.ID+`","typeId":"`+typ.ID+`","start":"`+start+`","durationMinutes":20}`, nil)
	if status != 201 {
		t.Fatalf("book: %d %s", status, body)
	}
	w, err := a.c.kit.Watch(ctx, homekit.Actor{ID: "test", Role: "system"}, a.patB.ID)
	if err != nil || w.SeededFrom != typ.ID || w.SpO2Scale != 2 || len(w.Limits) != 1 || w.Limits[0].High.String() != "38.0" {
		t.Fatalf("patient B's watch after booking = %+v, %v", w, err)
	}
}
