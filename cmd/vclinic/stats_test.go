package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"vclinic/homekit"
	"vclinic/internal/callquality"
	"vclinic/internal/records"
	"vclinic/internal/records/recordstest"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// statsClock is the clinic's clock in the statistics tests, moved by hand.
type statsClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func (c *statsClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *statsClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// statsClinic is a clinic with a generated history whose statistics are
// known: the real scheduler and home kit stores on one records database.
type statsClinic struct {
	ctx   context.Context
	clock *statsClock
	sched *scheduler.Store
	kit   *homekit.Store
	db    *records.DB
	admin scheduler.Actor
}

var cph = func() *time.Location {
	l, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		panic(err)
	}
	return l
}()

// local is a wall-clock time in Copenhagen.
func local(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, cph)
}

// openStatsClinic opens the stores on a fresh database of b's kind.
func openStatsClinic(t testing.TB, b recordstest.Backend) *statsClinic {
	t.Helper()
	ctx := context.Background()
	clock := &statsClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	db, trail := recordstest.OpenAt(t, b.Config(t, records.Config{MaxConns: 8}), clock.now)
	key, err := scheduler.NewCPRKey(make([]byte, scheduler.CPRSecretSize))
	if err != nil {
		t.Fatal(err)
	}
	sched, err := scheduler.NewStore(ctx, db, trail, scheduler.Config{Clock: clock.now, CPRKey: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kit, err := homekit.NewStore(ctx, db, trail, homekit.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &statsClinic{ctx: ctx, clock: clock, sched: sched, kit: kit, db: db, admin: scheduler.Actor{ID: "admin-1", Role: scheduler.RoleAdmin}}
}

// statsVisit is one visit of the generated history: its start, and what
// happened (seconds from arrival to admission and of the visit, or its
// end as cancelled or no-show), and the patient's weight readings.
type statsVisit struct {
	start        time.Time
	outcome      scheduler.Status // fulfilled, cancelled or noshow
	wait, length int              // seconds, when fulfilled
	readings     []time.Time      // the patient's weight readings
	quality      []qualitySession // the call's quality records, when fulfilled
}

// qualitySession is one session's quality record in a visit: n samples of
// 5 s, each with the same round-trip time and loss.
type qualitySession struct {
	role      string
	rtt, loss float64
	n         int
}

// generate books and plays the visits with clinician c and type typ, each
// for a patient of its own, at the clock's time of booking booked.
func (sc *statsClinic) generate(t testing.TB, c scheduler.Clinician, typ scheduler.AppointmentType, booked time.Time, vs []statsVisit) {
	t.Helper()
	staff := scheduler.Actor{ID: "scheduler-1", Role: scheduler.RoleScheduler}
	for i, v := range vs {
		sc.clock.set(booked)
		p, err := sc.sched.CreatePatient(sc.ctx, staff, scheduler.Patient{Name: fmt.Sprintf("Patient %s %d", c.Name, i), Contact: ""})
		if err != nil {
			t.Fatal(err)
		}
		b, err := sc.sched.Book(sc.ctx, staff, scheduler.BookRequest{ClinicianID: c.ID, PatientID: p.ID, TypeID: typ.ID, Start: v.start}, booked)
		if err != nil {
			t.Fatalf("book %s: %v", v.start, err)
		}
		// What the server's Booked hook does: the kit expects the type's
		// measurements.
		if err := sc.kit.SetExpected(sc.ctx, homekit.Actor{ID: staff.ID, Role: staff.Role}, b.ID, p.ID, typ.Expected); err != nil {
			t.Fatal(err)
		}
		for _, at := range v.readings {
			_, err := sc.kit.AddManual(sc.ctx, homekit.Submitter{PatientID: p.ID, Role: "patient"},
				homekit.ManualReading{ObservedAt: at, Values: []homekit.ManualValue{{Code: "29463-7", Value: "80.5", Unit: "kg"}}}, at.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
		}
		patient := scheduler.Actor{ID: p.ID, Role: scheduler.RolePatient}
		clinician := scheduler.Actor{ID: "clinician-" + c.ID, Role: scheduler.RoleClinician}
		switch v.outcome {
		case scheduler.StatusFulfilled:
			arrive := v.start.Add(-time.Duration(v.wait) * time.Second)
			sc.clock.set(arrive)
			if _, _, err := sc.sched.Advance(sc.ctx, patient, b.ID, scheduler.StatusArrived); err != nil {
				t.Fatal(err)
			}
			sc.clock.set(v.start)
			if _, _, err := sc.sched.Advance(sc.ctx, clinician, b.ID, scheduler.StatusCheckedIn); err != nil {
				t.Fatal(err)
			}
			sc.clock.set(v.start.Add(time.Duration(v.length) * time.Second))
			if _, _, err := sc.sched.Advance(sc.ctx, clinician, b.ID, scheduler.StatusFulfilled); err != nil {
				t.Fatal(err)
			}
			for j, qs := range v.quality {
				rec := callquality.NewRecord(fmt.Sprintf("%s-%d", qs.role, j), qs.role, v.start)
				for k := range qs.n {
					s := callquality.Unknown()
					s.RTTMs, s.LossPct = qs.rtt, qs.loss
					rec.Add(v.start.Add(time.Duration(k+1)*5*time.Second), 5*time.Second, s)
				}
				if err := sc.sched.SaveVisitQuality(sc.ctx, b.ID, rec); err != nil {
					t.Fatal(err)
				}
			}
		case scheduler.StatusCancelled:
			if _, err := sc.sched.SetStatus(sc.ctx, staff, b.ID, scheduler.StatusCancelled, "ill"); err != nil {
				t.Fatal(err)
			}
		case scheduler.StatusNoShow:
			// Left booked: the no-show job marks it.
		}
	}
}

// knownClinic generates the history the statistics tests know the answers
// of, around the change to summer time on Sunday 29 March 2026 (week 13
// lasts 167 hours):
//
//   - Dr. Aa (department hjerte), week 13: 12 visits, 8 held (waits 1-8
//     min, lengths 10-17 min), 2 cancelled, 2 no-shows; of the 8 held, 6
//     sent their weight before the visit, one only during it, one never.
//   - Dr. Bo (department lunge): Sunday 29 March 10:00 summer time, held
//     (wait 30 s, length 5 min); 1-3 April, 5 held (waits 100-500 s,
//     lengths 1000-1400 s) and 1 cancelled; every held visit measured.
func knownClinic(t testing.TB, b recordstest.Backend) *statsClinic {
	t.Helper()
	sc := openStatsClinic(t, b)
	st, err := sc.sched.Settings(sc.ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Departments = []scheduler.Department{{ID: "hjerte", Names: scheduler.Names{DA: "Hjerteambulatoriet", EN: "Cardiac clinic"}},
		{ID: "lunge", Names: scheduler.Names{DA: "Lungeambulatoriet", EN: "Lung clinic"}}}
	if _, err := sc.sched.PutSettings(sc.ctx, sc.admin, st); err != nil {
		t.Fatal(err)
	}
	typ, err := sc.sched.CreateAppointmentType(sc.ctx, sc.admin, scheduler.AppointmentType{
		Names: scheduler.Names{DA: "Kontrol", EN: "Follow-up"}, Duration: 30 * time.Minute, Horizon: 90 * 24 * time.Hour,
		Expected: []string{"29463-7"}})
	if err != nil {
		t.Fatal(err)
	}
	var all []scheduler.WeeklyRule
	for d := time.Sunday; d <= time.Saturday; d++ {
		all = append(all, scheduler.WeeklyRule{Weekday: d, Start: 0, End: 1440})
	}
	clin := func(name, dept string) scheduler.Clinician {
		c, err := sc.sched.CreateClinician(sc.ctx, sc.admin, scheduler.Clinician{Name: name, Department: dept})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.sched.PutAvailability(sc.ctx, sc.admin, c.ID, scheduler.Availability{Rules: all}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	aa, bo := clin("Dr. Aa", "hjerte"), clin("Dr. Bo", "lunge")
	booked := time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
	before := []time.Time{time.Date(2026, 3, 22, 12, 0, 0, 0, time.UTC)}

	var avs []statsVisit
	for i := range 8 {
		v := statsVisit{start: local(2026, 3, 23+i%5, 9+i, 0), outcome: scheduler.StatusFulfilled, wait: 60 * (i + 1), length: 600 + 60*i}
		switch {
		case i < 6:
			v.readings = before
		case i == 6:
			v.readings = []time.Time{v.start.Add(5 * time.Minute)} // during the visit: too late
		}
		if i < 3 {
			v.quality = []qualitySession{{scheduler.RolePatient, 280, 18, 12}}
		}
		avs = append(avs, v)
	}
	avs = append(avs,
		statsVisit{start: local(2026, 3, 24, 8, 0), outcome: scheduler.StatusCancelled},
		statsVisit{start: local(2026, 3, 25, 8, 0), outcome: scheduler.StatusCancelled},
		statsVisit{start: local(2026, 3, 26, 8, 0), outcome: scheduler.StatusNoShow},
		statsVisit{start: local(2026, 3, 29, 8, 0), outcome: scheduler.StatusNoShow}) // summer time since 03:00
	sc.generate(t, aa, typ, booked, avs)

	// Bo's patients' calls: each visit's median round-trip time and loss
	// are the middle of the histogram bucket its samples fall in (the
	// summary interpolates within a bucket): 15, 33, 35, 45, 88 and 125 ms,
	// 0.75, 1.5, 2.5, 4, 6.25 and 8.75 %. The second visit's patient
	// joined twice: 10 samples at 25 ms, then 30 at 35 ms, merged to a
	// median of 30 + 10*(20-10)/30 = 33 ms. The clinician's own records
	// (2 s round trips, 50 % loss) are not the patient's and do not count.
	patientQuality := []qualitySession{{scheduler.RolePatient, 12, 0.8, 10}, {scheduler.RolePatient, 32, 2.2, 10},
		{scheduler.RolePatient, 42, 3.5, 10}, {scheduler.RolePatient, 90, 6, 10}, {scheduler.RolePatient, 120, 9, 10}}
	clinicianQuality := qualitySession{scheduler.RoleClinician, 2000, 50, 10}
	bvs := []statsVisit{{start: local(2026, 3, 29, 10, 0), outcome: scheduler.StatusFulfilled, wait: 30, length: 300, readings: before,
		quality: []qualitySession{patientQuality[0], clinicianQuality}}}
	for i := range 5 {
		q := []qualitySession{{scheduler.RolePatient, 25, 1.5, 10}, {scheduler.RolePatient, 35, 1.5, 30}, clinicianQuality}
		if i > 0 {
			q = []qualitySession{patientQuality[i], clinicianQuality}
		}
		bvs = append(bvs, statsVisit{start: local(2026, 4, 1+i%3, 10+i, 0), outcome: scheduler.StatusFulfilled,
			wait: 100 * (i + 1), length: 1000 + 100*i, readings: before, quality: q})
	}
	bvs = append(bvs, statsVisit{start: local(2026, 4, 2, 8, 0), outcome: scheduler.StatusCancelled})
	sc.generate(t, bo, typ, booked, bvs)

	// A week on, the no-show job has marked the patients who never came.
	sc.clock.set(time.Date(2026, 4, 10, 12, 0, 0, 0, time.UTC))
	if n, err := sc.sched.MarkNoShows(sc.ctx); err != nil || n != 2 {
		t.Fatalf("no-shows marked: %d, %v; want 2", n, err)
	}
	return sc
}

// figures is a group's figures as the test states them: "-" for null.
type figures struct {
	key                              string
	hours                            int
	booked, held, cancelled, noShows string
	waitMed, waitP90, lenMed, lenP90 string
	share, readings                  string
	rtt, loss                        string
	suppressed                       []string
}

func show[T int | int64 | float64](v *T) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

func figuresOf(g scheduler.StatsGroup) figures {
	return figures{key: g.Key, hours: g.Hours, booked: show(g.Booked), held: show(g.Held), cancelled: show(g.Cancelled), noShows: show(g.NoShows),
		waitMed: show(g.WaitMedianSeconds), waitP90: show(g.WaitP90Seconds), lenMed: show(g.LengthMedianSeconds), lenP90: show(g.LengthP90Seconds),
		share: show(g.MeasuredShare), readings: show(g.ReadingsPerPatient), rtt: show(g.RTTMsMedian), loss: show(g.LossPctMedian),
		suppressed: g.SuppressedFields}
}

// TestStatsKnownAnswers reads the generated history's statistics by week
// (the DST week has 167 hours), month, department, clinician and type, on
// SQLite and PostgreSQL, small counts suppressed.
func TestStatsKnownAnswers(t *testing.T) {
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			sc := knownClinic(t, b)
			from, to := scheduler.Date{Year: 2026, Month: 3, Day: 16}, scheduler.Date{Year: 2026, Month: 4, Day: 5}
			// Hjerte: waits 60..480 s (median 240, p90 480), lengths
			// 600..1020 s (780, 1020); 6 of 8 measured in time, the 2
			// missing suppressed; readings per patient over 10 patients
			// who came or were expected: seven 1s (one sent during the
			// visit), three 0s, median 1.
			// Lunge: waits 30,100..500 (200, 500), lengths 300,1000..1400
			// (1100, 1400); cancelled 1 suppressed, and no-shows 0 with it
			// so that booked - held does not give it back.
			hjerte := figures{"hjerte", 0, "12", "8", "-", "-", "240", "480", "780", "1020", "-", "1", "-", "-",
				[]string{"cancelled", "noShows", "rttMsMedian", "lossPctMedian", "measuredShare"}}
			lunge := figures{"lunge", 0, "7", "6", "-", "-", "200", "500", "1100", "1400", "1", "1", "35", "2.5", []string{"cancelled", "noShows"}}
			for _, tc := range []struct {
				by   string
				want []figures
			}{
				{scheduler.ByDepartment, []figures{hjerte, lunge}},
				{scheduler.ByWeek, []figures{
					{"2026-W12", 168, "0", "0", "0", "0", "-", "-", "-", "-", "-", "-", "-", "-", []string{}},
					// Week 13: Aa's 12 and Bo's Sunday visit (summer time):
					// waits 30,60..480 (240, 480), lengths 300,600..1020
					// (780, 1020); 7 of 9 in time, 2 missing suppressed;
					// readings per patient: the reading of 22 March is in
					// week 12, so every patient has 0 in week 13.
					{"2026-W13", 167, "13", "9", "-", "-", "240", "480", "780", "1020", "-", "0", "-", "-",
						[]string{"cancelled", "noShows", "rttMsMedian", "lossPctMedian", "measuredShare"}},
					{"2026-W14", 168, "6", "5", "-", "-", "300", "500", "1200", "1400", "1", "0", "45", "4", []string{"cancelled", "noShows"}},
				}},
				{scheduler.ByMonth, []figures{
					// 16 March to 1 April less the hour summer time took.
					{"2026-03", 383, "13", "9", "-", "-", "240", "480", "780", "1020", "-", "1", "-", "-",
						[]string{"cancelled", "noShows", "rttMsMedian", "lossPctMedian", "measuredShare"}},
					{"2026-04", 120, "6", "5", "-", "-", "300", "500", "1200", "1400", "1", "0", "45", "4", []string{"cancelled", "noShows"}},
				}},
			} {
				rep, err := sc.sched.Stats(sc.ctx, sc.admin, scheduler.StatsQuery{From: from, To: to, By: tc.by}, kitFigures{sc.kit})
				if err != nil {
					t.Fatalf("by %s: %v", tc.by, err)
				}
				if len(rep.Groups) != len(tc.want) {
					t.Fatalf("by %s: %d groups %+v, want %d", tc.by, len(rep.Groups), rep.Groups, len(tc.want))
				}
				for i, g := range rep.Groups {
					if got := figuresOf(g); fmt.Sprint(got) != fmt.Sprint(tc.want[i]) {
						t.Errorf("by %s, group %d:\n got %+v\nwant %+v", tc.by, i, got, tc.want[i])
					}
					if g.Suppressed != (len(g.SuppressedFields) > 0) {
						t.Errorf("by %s, %s: suppressed %v with fields %v", tc.by, g.Key, g.Suppressed, g.SuppressedFields)
					}
				}
			}
			// The week of the change to summer time starts and ends at
			// local midnight.
			rep, err := sc.sched.Stats(sc.ctx, sc.admin, scheduler.StatsQuery{From: from, To: to, By: scheduler.ByWeek}, nil)
			if err != nil {
				t.Fatal(err)
			}
			w13 := rep.Groups[1]
			if !w13.Start.Equal(local(2026, 3, 23, 0, 0)) || !w13.End.Equal(local(2026, 3, 30, 0, 0)) {
				t.Errorf("week 13 from %s to %s", w13.Start, w13.End)
			}
			// Without the home kit its figures are unknown, not zero.
			if w13.MeasuredShare != nil || w13.ReadingsPerPatient != nil {
				t.Errorf("without the kit: share %v, readings %v", w13.MeasuredShare, w13.ReadingsPerPatient)
			}
			// Labels are the departments', clinicians' and types' names,
			// in the clinic's language (English when not set).
			rep, err = sc.sched.Stats(sc.ctx, sc.admin, scheduler.StatsQuery{From: from, To: to, By: scheduler.ByClinician}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Groups) != 2 || rep.Groups[0].Label != "Dr. Aa" || show(rep.Groups[0].Booked) != "12" || rep.Groups[1].Label != "Dr. Bo" {
				t.Errorf("by clinician: %+v", rep.Groups)
			}
			rep, err = sc.sched.Stats(sc.ctx, sc.admin, scheduler.StatsQuery{From: from, To: to, By: scheduler.ByType}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Groups) != 1 || rep.Groups[0].Label != "Follow-up" || rep.Groups[0].Names.DA != "Kontrol" || show(rep.Groups[0].Booked) != "19" || show(rep.Groups[0].NoShows) != "-" {
				t.Errorf("by type: %+v", rep.Groups)
			}
			// Others may not; bad questions are named.
			for _, tc := range []struct {
				actor  scheduler.Actor
				q      scheduler.StatsQuery
				reason string
			}{
				{scheduler.Actor{ID: "c", Role: scheduler.RoleClinician}, scheduler.StatsQuery{From: from, To: to, By: "week"}, "only admins"},
				{scheduler.Actor{ID: "s", Role: scheduler.RoleScheduler}, scheduler.StatsQuery{From: from, To: to, By: "week"}, "only admins"},
				{sc.admin, scheduler.StatsQuery{From: to, To: from, By: "week"}, "to: 2026-03-16 is before from 2026-04-05"},
				{sc.admin, scheduler.StatsQuery{From: scheduler.Date{Year: 2025, Month: 1, Day: 1}, To: to, By: "week"}, "to: at most 366 days"},
				{sc.admin, scheduler.StatsQuery{From: from, To: to, By: "patient"}, "by: want one of"},
			} {
				_, err := sc.sched.Stats(sc.ctx, tc.actor, tc.q, nil)
				if got := scheduler.Reason(err); err == nil || !strings.Contains(got, tc.reason) {
					t.Errorf("%s %+v: %v, want %q", tc.actor.Role, tc.q, err, tc.reason)
				}
			}
		})
	}
}

// TestStatsAPI asks GET /api/v1/stats as each role, as JSON and as CSV
// (format=csv and Accept: text/csv), reads the CSV back with an RFC 4180
// reader and compares it with the JSON, and sends bad questions.
func TestStatsAPI(t *testing.T) {
	a := newAPIClinic(t)
	ctx := context.Background()
	s := a.c.store
	admin, err := s.CreateUser(ctx, scheduler.System, "ida", "Ida Admin", scheduler.RoleAdmin, "a long password 3")
	if err != nil {
		t.Fatal(err)
	}
	adminTok := a.token(signaling.TokenRequest{Role: "admin", Subject: admin.ID, Name: admin.Name})
	// A clinician whose name a CSV must quote, with six visits tomorrow.
	odd, err := s.CreateClinician(ctx, a.sched.Actor(), scheduler.Clinician{Name: `Holm, "Anna"`, Zone: scheduler.DefaultZone})
	if err != nil {
		t.Fatal(err)
	}
	av := scheduler.Availability{ClinicianID: odd.ID, Zone: odd.Zone}
	for d := time.Sunday; d <= time.Saturday; d++ {
		av.Rules = append(av.Rules, scheduler.WeeklyRule{Weekday: d, Start: 0, End: scheduler.Clock(24, 0)})
	}
	if _, err := s.PutAvailability(ctx, a.sched.Actor(), odd.ID, av); err != nil {
		t.Fatal(err)
	}
	tomorrow := time.Now().In(cph).AddDate(0, 0, 1)
	for i := range 6 {
		start := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 8+i, 0, 0, 0, cph)
		if _, err := s.Book(ctx, a.sched.Actor(), scheduler.BookRequest{ClinicianID: odd.ID, PatientID: a.patB.ID, Start: start,
			Duration: 30 * time.Minute}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	from := time.Now().In(cph).Format(time.DateOnly)
	to := time.Now().In(cph).AddDate(0, 0, 7).Format(time.DateOnly)
	q := "/api/v1/stats?from=" + from + "&to=" + to + "&by=clinician"

	for _, tc := range []struct {
		who    string
		token  string
		status int
	}{{"nobody", "", 401}, {"clinician", a.clinicianToken(), 403}, {"scheduler", a.schedulerToken(), 403},
		{"patient", a.patientToken(a.apptA, a.patA.ID), 403}, {"admin", adminTok, 200}} {
		if status, body, _ := a.do("GET", q, tc.token, "", nil); status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.who, status, body, tc.status)
		}
	}

	status, body, ctype := a.do("GET", q, adminTok, "", nil)
	if status != 200 || !strings.HasPrefix(ctype, "application/json") {
		t.Fatalf("JSON: %d %s %s", status, ctype, body)
	}
	var rep scheduler.StatsReport
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	// No patient's identity anywhere in the answer.
	for _, p := range []scheduler.Patient{a.patA, a.patB} {
		if strings.Contains(string(body), p.ID) || strings.Contains(string(body), p.Name) {
			t.Errorf("the statistics name patient %s", p.Name)
		}
	}
	for _, hdr := range []map[string]string{nil, {"Accept": "text/csv"}} {
		path := q + "&format=csv"
		if hdr != nil {
			path = q
		}
		status, raw, ctype := a.do("GET", path, adminTok, "", hdr)
		if status != 200 || !strings.HasPrefix(ctype, "text/csv") {
			t.Fatalf("CSV (%v): %d %s %s", hdr, status, ctype, raw)
		}
		if !strings.Contains(string(raw), "\r\n") || !strings.Contains(string(raw), `"Holm, ""Anna"""`) {
			t.Errorf("CSV is not RFC 4180 (CRLF, quoted quotes):\n%s", raw)
		}
		rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(rep.Groups)+1 || rows[0][0] != "key" || rows[0][5] != "booked" {
			t.Fatalf("CSV rows %q for %d groups", rows, len(rep.Groups))
		}
		for i, g := range rep.Groups {
			row := rows[i+1]
			want := []string{g.Key, g.Label, blank(show(g.Booked)), blank(show(g.Held)), blank(show(g.Cancelled)), blank(show(g.NoShows)),
				fmt.Sprint(g.Suppressed), strings.Join(g.SuppressedFields, " ")}
			got := []string{row[0], row[1], row[5], row[6], row[7], row[8], row[17], row[18]}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("CSV row %q, want %q", got, want)
			}
		}
	}
	var oddRow *scheduler.StatsGroup
	for i, g := range rep.Groups {
		if g.Key == odd.ID {
			oddRow = &rep.Groups[i]
		}
		if g.Key == a.clin.ID && (g.Booked != nil || !g.Suppressed) {
			t.Errorf("one visit shown: %+v", g)
		}
	}
	// Six visits, all of one patient: the readings per patient would be
	// one patient's, and are suppressed.
	if oddRow == nil || show(oddRow.Booked) != "6" || oddRow.Label != `Holm, "Anna"` || fmt.Sprint(oddRow.SuppressedFields) != "[readingsPerPatient]" {
		t.Errorf("six visits: %+v", oddRow)
	}

	for _, tc := range []struct {
		query  string
		status int
		detail string
	}{
		{"?to=" + to, 400, "from: required"},
		{"?from=2026-02-30&to=" + to, 400, `is not a date YYYY-MM-DD`},
		{"?from=" + from + "&to=" + to + "&by=patient", 400, "by: want one of department, clinician, type, week, month"},
		{"?from=" + from + "&to=" + to + "&format=xlsx", 400, "format: want csv or json"},
		{"?from=2024-01-01&to=" + to, 422, "to: at most 366 days"},
	} {
		status, body, _ := a.do("GET", "/api/v1/stats"+tc.query, adminTok, "", nil)
		if status != tc.status || !strings.Contains(string(body), tc.detail) {
			t.Errorf("%s: %d %s, want %d %q", tc.query, status, body, tc.status, tc.detail)
		}
	}
	// Each question is on the audit log, naming no patient.
	var asked int
	for _, e := range a.auditLog("") {
		if e.Entity == "statistics" {
			asked++
			if e.PatientID != "" || e.ActorID != admin.ID {
				t.Errorf("audit row %+v", e)
			}
		}
	}
	if asked != 4 {
		t.Errorf("%d statistics questions on the audit log, want 4", asked)
	}
}

// blank is show's "-" as the CSV writes it: an empty field.
func blank(s string) string {
	if s == "-" {
		return ""
	}
	return s
}
