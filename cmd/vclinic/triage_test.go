package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"vclinic/homekit"
	"vclinic/homekit/gatt"
	"vclinic/internal/records/recordstest"
	"vclinic/scheduler"
)

// triageAnswer is GET /api/v1/triage as the tests read it.
type triageAnswer struct {
	Patients []struct {
		PatientID string `json:"patientId"`
		Name      string `json:"name"`
		Next      *struct {
			ID    string    `json:"id"`
			Start time.Time `json:"start"`
		} `json:"next"`
		Previous *struct {
			ID string `json:"id"`
		} `json:"previous"`
		Flagged struct {
			Count  int `json:"count"`
			Newest *struct {
				Code, Value, Unit, Outside string
			} `json:"newest"`
		} `json:"flagged"`
		NEWS2 struct {
			Total, Scored, Of, Scale int
			RedScore                 bool
			Risk                     string
		} `json:"news2"`
		MissingExpected []string   `json:"missingExpected"`
		LastReadingAt   *time.Time `json:"lastReadingAt"`
		Group           int        `json:"group"`
		Reasons         []string   `json:"reasons"`
	} `json:"patients"`
	Cut bool `json:"cut"`
}

// triageSet is a generated clinic of patients, one for each step of the
// triage rule, each with an appointment with the clinician.
type triageSet struct {
	// want is the order the rule gives, by patient name.
	want []string
	// otherPatient is another clinician's patient, with a red score.
	otherPatient, cancelledPatient string
	ids                            map[string]string // name -> id
	expectedAppt                   string
}

// seedTriage books and measures the generated set on a.
func seedTriage(t *testing.T, a *apiClinic) triageSet {
	t.Helper()
	ctx := context.Background()
	s, kit := a.c.store, a.c.kit
	actor := a.sched.Actor()
	clin := homekit.Actor{ID: a.clinUser.ID, Role: "clinician"}
	now := time.Now()
	set := triageSet{ids: map[string]string{}}
	slot := 0
	patient := func(name, clinicianID string) (string, scheduler.Appointment) {
		t.Helper()
		p, err := s.CreatePatient(ctx, actor, scheduler.Patient{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		slot++
		b, err := s.Book(ctx, actor, scheduler.BookRequest{ClinicianID: clinicianID, PatientID: p.ID,
			Start: now.Add(time.Duration(2+slot) * time.Hour).Truncate(time.Minute), Duration: 30 * time.Minute}, now)
		if err != nil {
			t.Fatal(err)
		}
		set.ids[name] = p.ID
		return p.ID, b.Appointment
	}
	measure := func(id string, at time.Time, vs ...homekit.ManualValue) {
		t.Helper()
		if _, err := kit.AddManual(ctx, homekit.Submitter{PatientID: id, Role: "patient"}, homekit.ManualReading{ObservedAt: at, Values: vs}, at); err != nil {
			t.Fatal(err)
		}
	}
	v := func(code, value, unit string) homekit.ManualValue {
		return homekit.ManualValue{Code: code, Value: value, Unit: unit}
	}
	limits := func(id string, scale int) {
		t.Helper()
		high := json.Number("37.5")
		if _, err := kit.SetWatch(ctx, clin, homekit.Watch{Owner: homekit.WatchOfPatient, OwnerID: id, SpO2Scale: scale,
			Limits: []homekit.Limit{{Code: gatt.LOINCBodyTemperature, Unit: gatt.UnitCelsius, High: &high}}}); err != nil {
			t.Fatal(err)
		}
	}
	recent := now.Add(-30 * time.Minute)

	// 1. SpO2 91 % on scale 1 scores 3: a red score.
	red, _ := patient("Red Score", a.clin.ID)
	measure(red, recent, v(gatt.LOINCSpO2, "91", gatt.UnitPercent))
	// 2. Two readings outside limits, then one.
	two, _ := patient("Two Flagged", a.clin.ID)
	limits(two, 1)
	measure(two, recent, v(gatt.LOINCBodyTemperature, "38.2", gatt.UnitCelsius))
	measure(two, recent.Add(time.Minute), v(gatt.LOINCBodyTemperature, "38.4", gatt.UnitCelsius))
	one, _ := patient("One Flagged", a.clin.ID)
	limits(one, 1)
	measure(one, recent, v(gatt.LOINCBodyTemperature, "38.0", gatt.UnitCelsius))
	// 3. Pulse 115 (2) + systolic 100 (2) + temperature 38.5 (1) = 5: medium.
	medium, _ := patient("Medium Band", a.clin.ID)
	measure(medium, recent, v(gatt.LOINCSystolic, "100", gatt.UnitMmHg), v(gatt.LOINCDiastolic, "70", gatt.UnitMmHg), v(gatt.LOINCHeartRate, "115", gatt.UnitPerMinute))
	measure(medium, recent, v(gatt.LOINCBodyTemperature, "38.5", gatt.UnitCelsius))
	// 4. Weight expected before a visit within 24 h, not received.
	exp, expAppt := patient("Weight Missing", a.clin.ID)
	if err := kit.SetExpected(ctx, clin, expAppt.ID, exp, []string{gatt.LOINCBodyWeight}); err != nil {
		t.Fatal(err)
	}
	measure(exp, recent, v(gatt.LOINCBodyTemperature, "36.8", gatt.UnitCelsius))
	set.expectedAppt = expAppt.ID
	// 5. Everyone else: never read (Karen Jensen, the seeded patient, with
	// the nearest visit), nine days quiet, read today on SpO2 scale 2 (91 %
	// scores 0 there: not red).
	quiet, _ := patient("Nine Days Quiet", a.clin.ID)
	measure(quiet, now.Add(-9*24*time.Hour), v(gatt.LOINCBodyWeight, "80.0", gatt.UnitKilogram))
	scale2, _ := patient("Scale Two", a.clin.ID)
	limits(scale2, 2)
	measure(scale2, recent, v(gatt.LOINCSpO2, "91", gatt.UnitPercent))
	set.ids["Karen Jensen"] = a.patA.ID

	// Not the clinician's: another clinician's patient, and a patient whose
	// only visit with the clinician was cancelled.
	set.otherPatient, _ = patient("Other Clinician's", a.other.ID)
	measure(set.otherPatient, recent, v(gatt.LOINCSpO2, "85", gatt.UnitPercent))
	var cancelled scheduler.Appointment
	set.cancelledPatient, cancelled = patient("Cancelled Visit", a.clin.ID)
	measure(set.cancelledPatient, recent, v(gatt.LOINCSpO2, "85", gatt.UnitPercent))
	if _, err := s.SetStatus(ctx, actor, cancelled.ID, scheduler.StatusCancelled, "patient cancelled"); err != nil {
		t.Fatal(err)
	}

	set.want = []string{"Red Score", "Two Flagged", "One Flagged", "Medium Band", "Weight Missing",
		"Karen Jensen", "Nine Days Quiet", "Scale Two"}
	return set
}

// TestTriageList: the clinician's triage list, on SQLite and PostgreSQL,
// lists their own patients only, in the rule's order with the figures that
// put them there, refuses every other role, and leaves one audit row per
// patient shown.
func TestTriageList(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var a *apiClinic
			if db == "postgres" {
				dsn := recordstest.Postgres(t).Database(t)
				a = newAPIClinicWith(t, func(c *serveConfig) { c.Postgres = dsn; c.CPRKeyFile = sharedCPRKey(t, dsn) })
			} else {
				a = newAPIClinic(t)
			}
			testTriageList(t, a)
		})
	}
}

func testTriageList(t *testing.T, a *apiClinic) {
	set := seedTriage(t, a)
	for _, tc := range []struct {
		who, token string
		want       int
	}{
		{"nobody", "", 401},
		{"scheduler", a.schedulerToken(), 403},
		{"patient", a.patientToken(a.apptA, a.patA.ID), 403},
	} {
		if status, body, _ := a.do("GET", "/api/v1/triage", tc.token, "", nil); status != tc.want {
			t.Errorf("%s: status %d, want %d (%s)", tc.who, status, tc.want, body)
		}
	}
	status, body, _ := a.do("GET", "/api/v1/triage", a.clinicianToken(), "", nil)
	if status != 200 {
		t.Fatalf("clinician: status %d %s", status, body)
	}
	var got triageAnswer
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	var names []string
	byName := map[string]int{}
	for i, p := range got.Patients {
		names = append(names, p.Name)
		byName[p.Name] = i
	}
	if !slices.Equal(names, set.want) {
		t.Fatalf("order:\n got %q\nwant %q", names, set.want)
	}
	p := func(name string) int { return byName[name] }
	e := got.Patients
	checks := []struct {
		what string
		ok   bool
	}{
		{"red score: red, 1 of 7, group 1", e[p("Red Score")].NEWS2.RedScore && e[p("Red Score")].NEWS2.Total == 3 && e[p("Red Score")].NEWS2.Scored == 1 && e[p("Red Score")].NEWS2.Of == 7 && e[p("Red Score")].Group == 1},
		{"two flagged: count 2, newest 38.4 above", e[p("Two Flagged")].Flagged.Count == 2 && e[p("Two Flagged")].Flagged.Newest != nil && e[p("Two Flagged")].Flagged.Newest.Value == "38.4" && e[p("Two Flagged")].Flagged.Newest.Outside == "above" && e[p("Two Flagged")].Group == 2},
		{"one flagged: count 1", e[p("One Flagged")].Flagged.Count == 1},
		{"medium: total 5, medium, 3 of 7", e[p("Medium Band")].NEWS2.Total == 5 && e[p("Medium Band")].NEWS2.Risk == "medium" && e[p("Medium Band")].NEWS2.Scored == 3 && e[p("Medium Band")].Group == 3},
		{"weight missing before the visit", slices.Equal(e[p("Weight Missing")].MissingExpected, []string{gatt.LOINCBodyWeight}) && e[p("Weight Missing")].Group == 4 && e[p("Weight Missing")].Next != nil && e[p("Weight Missing")].Next.ID == set.expectedAppt},
		{"never read: no last reading, quiet", e[p("Karen Jensen")].LastReadingAt == nil && slices.Contains(e[p("Karen Jensen")].Reasons, "quiet") && e[p("Karen Jensen")].Group == 5},
		{"nine days quiet", e[p("Nine Days Quiet")].LastReadingAt != nil && time.Since(*e[p("Nine Days Quiet")].LastReadingAt) > 8*24*time.Hour && slices.Contains(e[p("Nine Days Quiet")].Reasons, "quiet")},
		{"scale 2: SpO2 91 scores 0, not red", e[p("Scale Two")].NEWS2.Scale == 2 && !e[p("Scale Two")].NEWS2.RedScore && e[p("Scale Two")].NEWS2.Total == 0 && len(e[p("Scale Two")].Reasons) == 0},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.what, got.Patients)
		}
	}
	if strings.Contains(string(body), set.otherPatient) || strings.Contains(string(body), set.cancelledPatient) {
		t.Errorf("the list shows a patient the clinician does not care for: %s", body)
	}
	// One audit row per patient shown, naming the clinician; none for the
	// others.
	for _, name := range set.want {
		n := 0
		for _, row := range a.auditLog(set.ids[name]) {
			if row.Entity == homekit.EntityTriage && row.ActorID == a.clinUser.ID && row.Action == homekit.AuditRead {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d triage audit rows, want 1", name, n)
		}
	}
	for _, id := range []string{set.otherPatient, set.cancelledPatient} {
		for _, row := range a.auditLog(id) {
			if row.Entity == homekit.EntityTriage {
				t.Errorf("patient %s not on the list has a triage audit row: %+v", id, row)
			}
		}
	}
}

// BenchmarkTriage200 reads the triage list of a clinician with 200
// patients, each with a week of four readings a day, a limit and an
// expected measurement (SQLite).
func BenchmarkTriage200(b *testing.B) {
	a := newAPIClinic(b)
	ctx := context.Background()
	s, kit := a.c.store, a.c.kit
	actor := a.sched.Actor()
	clin := homekit.Actor{ID: a.clinUser.ID, Role: "clinician"}
	now := time.Now()
	high := json.Number("37.5")
	for i := range 199 {
		p, err := s.CreatePatient(ctx, actor, scheduler.Patient{Name: fmt.Sprintf("Patient %03d", i)})
		if err != nil {
			b.Fatal(err)
		}
		bk, err := s.Book(ctx, actor, scheduler.BookRequest{ClinicianID: a.clin.ID, PatientID: p.ID,
			Start: now.Add(3*time.Hour + time.Duration(i)*40*time.Minute).Truncate(time.Minute), Duration: 30 * time.Minute}, now)
		if err != nil {
			b.Fatal(err)
		}
		if err := kit.SetExpected(ctx, clin, bk.Appointment.ID, p.ID, []string{gatt.LOINCBodyWeight}); err != nil {
			b.Fatal(err)
		}
		if _, err := kit.SetWatch(ctx, clin, homekit.Watch{Owner: homekit.WatchOfPatient, OwnerID: p.ID, SpO2Scale: 1,
			Limits: []homekit.Limit{{Code: gatt.LOINCBodyTemperature, Unit: gatt.UnitCelsius, High: &high}}}); err != nil {
			b.Fatal(err)
		}
		for d := range 7 {
			for h := range 4 {
				at := now.Add(-time.Duration(d)*24*time.Hour - time.Duration(h)*5*time.Hour)
				temp := fmt.Sprintf("%.1f", 36.5+float64((i+d+h)%20)/10)
				for _, vs := range [][]homekit.ManualValue{
					{{Code: gatt.LOINCBodyTemperature, Value: temp, Unit: gatt.UnitCelsius}},
					{{Code: gatt.LOINCSpO2, Value: "95", Unit: gatt.UnitPercent}},
				} {
					if _, err := kit.AddManual(ctx, homekit.Submitter{PatientID: p.ID, Role: "patient"}, homekit.ManualReading{ObservedAt: at, Values: vs}, now); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	tok := a.clinicianToken()
	b.ResetTimer()
	for b.Loop() {
		status, body, _ := a.do("GET", "/api/v1/triage", tok, "", nil)
		if status != 200 {
			b.Fatalf("status %d %s", status, body)
		}
	}
}
