package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/audit"
)

// testStore is the conformance suite: every store must pass it.
func testStore(t *testing.T, open func(t *testing.T) *Store) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, f *storeFixture)
	}{
		{"Migrations", testMigrations},
		{"Clinicians", testClinicians},
		{"Patients", testPatients},
		{"CPR", testCPR},
		{"AppointmentTypes", testAppointmentTypes},
		{"TypeChanges", testTypeChanges},
		{"PatientContact", testPatientContact},
		{"Settings", testSettings},
		{"OneHorizon", testOneHorizon},
		{"Availability", testAvailability},
		{"BookingRules", testBookingRules},
		{"BookingDST", testBookingDST},
		{"Buffers", testBuffers},
		{"Reschedule", testReschedule},
		{"StatusTransitions", testStatusTransitions},
		{"Idempotency", testIdempotency},
		{"Audit", testAudit},
		{"PatientIsolation", testPatientIsolation},
		{"Busy", testBusy},
		{"AppointmentStates", testAppointmentStates},
		{"PractitionerOf", testPractitionerOf},
		{"Advance", testAdvance},
		{"Encounters", testEncounters},
		{"Users", testUsers},
		{"SignInThrottle", testSignInThrottle},
		{"Sessions", testSessions},
		{"ExclusionBackstop", testExclusionBackstop},
		{"CareRelation", testCareRelation},
		{"UsersEmail", testUsersEmail},
		{"ExternalSignIn", testExternalSignIn},
		{"VisitQuality", testVisitQuality},
		{"VisitChat", testVisitChat},
		{"PreVisitCheck", testPreVisitCheck},
		{"GuestsLet", testGuestsLet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.test(t, newStoreFixture(t, open(t)))
		})
	}
}

// storeFixture is a store with a clinician available Monday to Friday
// 08:00-16:00 Copenhagen time, a patient, and an appointment type of 30 min
// with 5 min before and 10 min after, 2 h notice and a 30-day horizon. now is
// Monday 2026-06-01 07:00 CEST.
type storeFixture struct {
	t     *testing.T
	ctx   context.Context
	s     *Store
	staff Actor
	admin Actor
	clin  Clinician
	pat   Patient
	typ   AppointmentType
	now   time.Time
}

// signedInClinician makes a clinician who signs in as username, available
// when the fixture's clinician is, and makes them the fixture's clinician
// (f.mustBook books with them); it returns their user.
func (f *storeFixture) signedInClinician(username, name string) User {
	f.t.Helper()
	s, ctx, t := f.s, f.ctx, f.t
	u := stMust(s.CreateUser(ctx, f.admin, username, name, RoleClinician, "correct horse battery"))(t)
	c := stMust(s.CreateClinician(ctx, f.staff, Clinician{Name: name, UserID: u.ID}))(t)
	av := stMust(s.GetAvailability(ctx, f.clin.ID))(t)
	stMust(s.PutAvailability(ctx, f.staff, c.ID, Availability{Rules: av.Rules}))(t)
	f.clin = c
	return u
}

func newStoreFixture(t *testing.T, s *Store) *storeFixture {
	f := &storeFixture{
		t: t, ctx: context.Background(), s: s,
		staff: Actor{ID: "user-scheduler", Role: RoleScheduler},
		admin: Actor{ID: "user-admin", Role: RoleAdmin},
		now:   stTime(t, "2026-06-01T07:00:00+02:00"),
	}
	f.clin = stMust(s.CreateClinician(f.ctx, f.staff, Clinician{Name: "Dr. Hansen", Department: "Cardiology"}))(t)
	f.pat = stMust(s.CreatePatient(f.ctx, f.staff, Patient{Name: "Ida Jensen", Contact: "ida@example.dk", CPR: CPR(testCPRs[0])}))(t)
	f.typ = stMust(s.CreateAppointmentType(f.ctx, f.admin, AppointmentType{
		Name: "Video consultation", Duration: 30 * time.Minute, BufferBefore: 5 * time.Minute, BufferAfter: 10 * time.Minute,
		MinNotice: 2 * time.Hour, Horizon: 30 * 24 * time.Hour,
	}))(t)
	var rules []WeeklyRule
	for d := time.Monday; d <= time.Friday; d++ {
		rules = append(rules, WeeklyRule{Weekday: d, Start: Clock(8, 0), End: Clock(16, 0)})
	}
	stMust(s.PutAvailability(f.ctx, f.staff, f.clin.ID, Availability{Rules: rules}))(t)
	return f
}

// stMust returns v, failing the test given to its result if err is set:
// stMust(s.GetPatient(...))(t).
func stMust[T any](v T, err error) func(t testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// book books for f's patient and clinician; typeID "" books by duration.
func (f *storeFixture) book(start string, d time.Duration, typeID string) (Booking, error) {
	f.t.Helper()
	return f.s.Book(f.ctx, f.staff, BookRequest{
		ClinicianID: f.clin.ID, PatientID: f.pat.ID, TypeID: typeID, Duration: d, Start: stTime(f.t, start),
	}, f.now)
}

// mustBook books with f's type and fails the test if that fails.
func (f *storeFixture) mustBook(start string) Appointment {
	f.t.Helper()
	return stMust(f.book(start, 0, f.typ.ID))(f.t).Appointment
}

// stErr checks that err wraps want and that its reason holds reason.
func stErr(t testing.TB, err, want error, reason string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	if !strings.Contains(Reason(err), reason) {
		t.Fatalf("reason %q, want it to hold %q", Reason(err), reason)
	}
}

func testMigrations(t *testing.T, f *storeFixture) {
	// Opening the database again applies nothing and keeps the records.
	again := reopen(t, f.s, nil)
	var versions []int
	err := records.QueryRows(f.ctx, again.db, `SELECT version FROM scheduler_schema_migrations ORDER BY version`, nil, func(r *sql.Rows) error {
		var v int
		err := r.Scan(&v)
		versions = append(versions, v)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, m := range migrations(nil) {
		want = append(want, m.Version)
	}
	if !slices.Equal(versions, want) {
		t.Errorf("applied versions %v, want %v", versions, want)
	}
	if _, err := again.GetClinician(f.ctx, f.clin.ID); err != nil {
		t.Errorf("clinician lost on reopening: %v", err)
	}
}

func testClinicians(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	if f.clin.Zone != DefaultZone || f.clin.ID == "" || f.clin.CreatedAt.IsZero() {
		t.Errorf("created %+v, want an id, a creation time and zone %s", f.clin, DefaultZone)
	}
	got := stMust(s.GetClinician(ctx, f.clin.ID))(t)
	if got != f.clin {
		t.Errorf("GetClinician = %+v, want %+v", got, f.clin)
	}
	u := stMust(s.CreateUser(ctx, f.admin, "a.berg", "Anna Berg", RoleClinician, "correct horse battery"))(t)
	berg := stMust(s.CreateClinician(ctx, f.staff, Clinician{Name: "Anna Berg", Department: "Endocrinology", Zone: "Europe/Oslo", UserID: u.ID}))(t)
	list := stMust(s.ListClinicians(ctx))(t)
	if len(list) != 2 || list[0] != berg || list[1] != f.clin {
		t.Errorf("ListClinicians = %+v, want Berg then Hansen", list)
	}

	_, err := s.GetClinician(ctx, "nobody")
	stErr(t, err, ErrNotFound, "no clinician nobody")
	_, err = s.CreateClinician(ctx, f.staff, Clinician{Name: "X", Zone: "Europe/Atlantis"})
	stErr(t, err, ErrUnprocessable, "unknown time zone")
	_, err = s.CreateClinician(ctx, f.staff, Clinician{Name: " "})
	stErr(t, err, ErrUnprocessable, "name is required")
	_, err = s.CreateClinician(ctx, f.staff, Clinician{Name: "X", UserID: "nobody"})
	stErr(t, err, ErrUnprocessable, "unknown user")
	_, err = s.CreateClinician(ctx, Actor{}, Clinician{Name: "X"})
	stErr(t, err, ErrForbidden, "no acting user")
}

func testPatients(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	got := stMust(s.GetPatient(ctx, f.staff, f.pat.ID))(t)
	if got != f.pat {
		t.Errorf("GetPatient = %+v, want %+v", got, f.pat)
	}
	noCPR := stMust(s.CreatePatient(ctx, f.staff, Patient{Name: "Ole Idasen", Contact: "+45 12 34 56 78"}))(t)
	other := stMust(s.CreatePatient(ctx, f.staff, Patient{Name: "Per 100%_Jensen", CPR: CPR(testCPRs[1])}))(t)
	for _, tc := range []struct {
		filter PatientFilter
		want   []Patient
	}{
		{PatientFilter{}, []Patient{f.pat, noCPR, other}},
		{PatientFilter{Name: "IDA"}, []Patient{f.pat, noCPR}},
		{PatientFilter{Name: "jensen"}, []Patient{f.pat, other}},
		{PatientFilter{Name: "100%_"}, []Patient{other}},
		{PatientFilter{Name: "%"}, []Patient{other}},
		{PatientFilter{CPR: CPR(testCPRs[1])}, []Patient{other}},
		{PatientFilter{Name: "ida", CPR: CPR(testCPRs[1])}, nil},
		{PatientFilter{Limit: 1}, []Patient{f.pat}},
	} {
		got := stMust(s.ListPatients(ctx, f.staff, tc.filter))(t)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ListPatients(%+v) = %v, want %v", tc.filter, got, tc.want)
		}
	}
	_, err := s.GetPatient(ctx, f.staff, "nobody")
	stErr(t, err, ErrNotFound, "no patient nobody")
	_, err = s.GetPatient(ctx, Actor{ID: "x"}, f.pat.ID)
	stErr(t, err, ErrForbidden, "no acting user")
	_, err = s.CreatePatient(ctx, f.staff, Patient{Name: ""})
	stErr(t, err, ErrUnprocessable, "name is required")
}

func testCPR(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	for _, bad := range []CPR{"123", "12345678901", "01019O1234", "010190-1234", "0101 90123"} {
		_, err := s.CreatePatient(ctx, f.staff, Patient{Name: "Bad", CPR: bad})
		stErr(t, err, ErrUnprocessable, "CPR number must be 10 digits")
		if strings.Contains(err.Error(), string(bad)) {
			t.Errorf("the error %q repeats the number", err)
		}
	}
	// A number belongs to one patient; the refusal does not repeat it.
	_, err := s.CreatePatient(ctx, f.staff, Patient{Name: "Twin", CPR: CPR(testCPRs[0])})
	stErr(t, err, ErrConflict, "a patient with this CPR number exists")
	if strings.Contains(err.Error(), testCPRs[0]) {
		t.Errorf("the error %q repeats the number", err)
	}
	// Free text shaped like a CPR number is blanked before the audit log.
	p2 := stMust(s.CreatePatient(ctx, f.staff, Patient{Name: "Karl Holm", CPR: CPR(testCPRs[2])}))(t)
	stMust(s.ListPatients(ctx, f.staff, PatientFilter{CPR: CPR(testCPRs[2])}))(t)
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	stMust(s.SetStatus(ctx, f.staff, a.ID, StatusCancelled, "duplicate of "+testCPRs[3]+" and 150877-4321"))(t)
	entries := stMust(readAudit(ctx, s, f.admin, ""))(t)
	if len(entries) == 0 {
		t.Fatal("empty audit log")
	}
	for _, e := range entries {
		for _, c := range append(testCPRs, "150877-4321") {
			if strings.Contains(fmt.Sprint(e), c) {
				t.Errorf("audit entry holds a CPR number: %+v", e)
			}
		}
	}
	if got := fmt.Sprint(p2.CPR); got != "CPR(redacted)" {
		t.Errorf("CPR prints as %q", got)
	}

	// At rest: the column holds ciphertext, the index a keyed hash; the
	// store reads the number back and finds the patient by it.
	err = records.QueryRows(ctx, s.db, `SELECT coalesce(cpr, ''), coalesce(cpr_index, '') FROM patients`, nil, func(r *sql.Rows) error {
		var c, idx string
		if err := r.Scan(&c, &idx); err != nil {
			return err
		}
		for _, n := range testCPRs {
			if strings.Contains(c, n) || strings.Contains(idx, n) {
				t.Errorf("a CPR number in clear in the patients table: %q %q", c, idx)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := stMust(s.GetPatient(ctx, f.staff, p2.ID))(t); got.CPR != CPR(testCPRs[2]) {
		t.Errorf("the number reads back as another")
	}
	if found := stMust(s.ListPatients(ctx, f.staff, PatientFilter{CPR: CPR(testCPRs[2])}))(t); len(found) != 1 || found[0].ID != p2.ID {
		t.Errorf("found by number: %d patients", len(found))
	}
	// Another key opens nothing; no key refuses numbers.
	other, err := NewCPRKey([]byte("another secret of thirty-two by."))
	if err != nil {
		t.Fatal(err)
	}
	wrong := &Store{db: s.db, trail: s.trail, cfg: s.cfg, log: s.log, now: s.now, hashSlots: s.hashSlots}
	wrong.cfg.CPRKey = other
	if _, err := wrong.GetPatient(ctx, f.staff, p2.ID); err == nil || !strings.Contains(err.Error(), "does not open with this key") {
		t.Errorf("read with another key: %v", err)
	}
	if found := stMust(wrong.ListPatients(ctx, f.staff, PatientFilter{CPR: CPR(testCPRs[2])}))(t); len(found) != 0 {
		t.Errorf("another key's index found %d patients", len(found))
	}
	none := &Store{db: s.db, trail: s.trail, cfg: s.cfg, log: s.log, now: s.now, hashSlots: s.hashSlots}
	none.cfg.CPRKey = nil
	if _, err := none.CreatePatient(ctx, f.staff, Patient{Name: "No key", CPR: CPR(testCPRs[3])}); !errors.Is(err, ErrNoCPRKey) {
		t.Errorf("a number without the key: %v", err)
	}
}

func testAppointmentTypes(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	short := stMust(s.CreateAppointmentType(ctx, f.admin, AppointmentType{Name: "Check-in call", Duration: 10 * time.Minute}))(t)
	if short.Horizon != 0 || short.Names != (Names{EN: "Check-in call"}) {
		t.Errorf("a type without a horizon or Danish name: %+v", short)
	}
	// Without a horizon of its own, the clinic's (180 days by default).
	if rules := stMust(s.SearchRules(ctx, short.ID, 0))(t); rules.Horizon != 180*24*time.Hour {
		t.Errorf("horizon %v, want the clinic's 180 days", rules.Horizon)
	}
	got := stMust(s.GetAppointmentType(ctx, f.typ.ID))(t)
	if !reflect.DeepEqual(got, f.typ) {
		t.Errorf("GetAppointmentType = %+v, want %+v", got, f.typ)
	}
	list := stMust(s.ListAppointmentTypes(ctx))(t)
	if !reflect.DeepEqual(list, []AppointmentType{short, f.typ}) {
		t.Errorf("ListAppointmentTypes = %+v", list)
	}
	for _, tc := range []struct {
		typ    AppointmentType
		reason string
	}{
		{AppointmentType{Duration: time.Hour}, "names: give da, en or both"},
		{AppointmentType{Names: Names{DA: "a\u202eb"}, Duration: time.Hour}, "names"},
		{AppointmentType{Name: "x", Duration: 4 * time.Minute}, "duration must be"},
		{AppointmentType{Name: "x", Duration: 9 * time.Hour}, "duration must be"},
		{AppointmentType{Name: "x", Duration: time.Hour, BufferAfter: 3 * time.Hour}, "buffers must be"},
		{AppointmentType{Name: "x", Duration: time.Hour, BufferBefore: -time.Minute}, "buffers must be"},
		{AppointmentType{Name: "x", Duration: time.Hour, MinNotice: -time.Minute}, "minimum notice"},
		{AppointmentType{Name: "x", Duration: time.Hour, MinNotice: 48 * time.Hour, Horizon: 24 * time.Hour}, "horizon"},
		{AppointmentType{Name: "x", Duration: time.Hour, Horizon: -time.Hour}, "horizon"},
		{AppointmentType{Name: "x", Duration: time.Hour, Expected: []string{"not-a-code"}}, "not a LOINC code"},
	} {
		_, err := s.CreateAppointmentType(ctx, f.admin, tc.typ)
		stErr(t, err, ErrUnprocessable, tc.reason)
	}
	_, err := s.GetAppointmentType(ctx, "nothing")
	stErr(t, err, ErrNotFound, "no appointment type")
	// Only an admin configures the clinic.
	_, err = s.CreateAppointmentType(ctx, f.staff, AppointmentType{Name: "x", Duration: time.Hour})
	stErr(t, err, ErrForbidden, "only an admin")
	_, err = s.UpdateAppointmentType(ctx, f.staff, short)
	stErr(t, err, ErrForbidden, "only an admin")
	stErr(t, s.DeleteAppointmentType(ctx, f.staff, short.ID), ErrForbidden, "only an admin")
}

// testTypeChanges: a type changed or retired while booked leaves the booked
// appointments as they were; a retired type books no more; one in use is
// not deleted.
func testTypeChanges(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	s.now = func() time.Time { return f.now } // "ahead" is after the store's now
	booked := f.mustBook("2026-06-02T10:00:00+02:00")
	changed := f.typ
	changed.Names = Names{DA: "Videokonsultation", EN: "Video consultation"}
	changed.Duration, changed.BufferBefore, changed.BufferAfter = 45*time.Minute, 15*time.Minute, 15*time.Minute
	changed.Expected = []string{"8310-5", "85354-9", "8310-5"}
	changed = stMust(s.UpdateAppointmentType(ctx, f.admin, changed))(t)
	if !slices.Equal(changed.Expected, []string{"8310-5", "85354-9"}) || changed.Name != "Video consultation" {
		t.Errorf("stored form %+v", changed)
	}
	if got := stMust(s.GetAppointmentType(ctx, f.typ.ID))(t); !reflect.DeepEqual(got, changed) {
		t.Errorf("after the change %+v, want %+v", got, changed)
	}
	after := stMust(s.GetAppointment(ctx, f.staff, booked.ID))(t)
	if !after.Start.Equal(booked.Start) || !after.End.Equal(booked.End) || after.BufferBefore != booked.BufferBefore ||
		after.BufferAfter != booked.BufferAfter || after.Sequence != booked.Sequence {
		t.Errorf("the change altered a booked appointment: %+v, was %+v", after, booked)
	}
	// New bookings follow the new rules: 45 min, 15 min buffers.
	next := f.mustBook("2026-06-02T13:00:00+02:00")
	if next.End.Sub(next.Start) != 45*time.Minute || next.BufferBefore != 15*time.Minute {
		t.Errorf("a booking after the change: %+v", next)
	}
	// Retired: no new booking, no slot search; what was booked may still move.
	changed.Retired = true
	stMust(s.UpdateAppointmentType(ctx, f.admin, changed))(t)
	_, err := f.book("2026-06-03T10:00:00+02:00", 0, f.typ.ID)
	stErr(t, err, ErrUnprocessable, "retired")
	_, err = s.SearchRules(ctx, f.typ.ID, 0)
	stErr(t, err, ErrUnprocessable, "retired")
	moved := stMust(s.Reschedule(ctx, f.staff, booked.ID, stTime(t, "2026-06-03T09:00:00+02:00"), 0, f.now))(t)
	if moved.End.Sub(moved.Start) != 30*time.Minute || moved.BufferAfter != 10*time.Minute {
		t.Errorf("a visit of a retired type moved with new rules: %+v", moved)
	}
	// In use: not deleted (ahead, then only in the record).
	stErr(t, s.DeleteAppointmentType(ctx, f.admin, f.typ.ID), ErrConflict, "2 appointments ahead use Video consultation; retire it instead")
	for _, a := range []Appointment{moved, next} {
		stMust(s.SetStatus(ctx, f.staff, a.ID, StatusCancelled, "test"))(t)
	}
	stErr(t, s.DeleteAppointmentType(ctx, f.admin, f.typ.ID), ErrConflict, "past appointments in the record use")
	unused := stMust(s.CreateAppointmentType(ctx, f.admin, AppointmentType{Names: Names{DA: "Telefonopfølgning"}, Duration: 15 * time.Minute}))(t)
	if unused.Name != "Telefonopfølgning" {
		t.Errorf("a type with a Danish name only is named %q", unused.Name)
	}
	if err := s.DeleteAppointmentType(ctx, f.admin, unused.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetAppointmentType(ctx, unused.ID)
	stErr(t, err, ErrNotFound, "no appointment type")
	stErr(t, s.DeleteAppointmentType(ctx, f.admin, unused.ID), ErrNotFound, "no appointment type")
	// Each change is on the audit log.
	var actions []string
	for _, e := range auditRows(t, f, "appointment-type") {
		actions = append(actions, e.Action+" "+e.EntityID[:4])
	}
	want := []string{"create " + f.typ.ID[:4], "update " + f.typ.ID[:4], "update " + f.typ.ID[:4],
		"create " + unused.ID[:4], "delete " + unused.ID[:4]}
	if !slices.Equal(actions, want) {
		t.Errorf("audited %v, want %v", actions, want)
	}
}

// testPatientContact: a patient's e-mail address, number and language, taken
// from the free-text contact where it parses, and refused when wrong.
func testPatientContact(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	if f.pat.Email != "ida@example.dk" || f.pat.Phone != "" || f.pat.ContactBy != ContactEmail || f.pat.Language != "" {
		t.Errorf("the fixture's patient: %+v", f.pat)
	}
	for _, tc := range []struct {
		in                         Patient
		email, phone, by, language string
	}{
		{Patient{Contact: "20 00 00 00"}, "", "+4520000000", ContactSMS, ""},
		{Patient{Contact: "0046 70-123 45 67"}, "", "+46701234567", ContactSMS, ""},
		{Patient{Contact: "ring til datteren"}, "", "", ContactNone, ""},
		{Patient{Email: "a@b.dk", Phone: "+45 20 00 00 01", Language: "en"}, "a@b.dk", "+4520000001", ContactBoth, "en"},
		{Patient{Email: "a@b.dk", Phone: "20000001", ContactBy: ContactSMS}, "a@b.dk", "+4520000001", ContactSMS, ""},
		{Patient{Email: "a@b.dk", ContactBy: ContactNone, Language: "da"}, "a@b.dk", "", ContactNone, "da"},
		// The free text gives only what is not given.
		{Patient{Contact: "x@y.dk", Email: "a@b.dk"}, "a@b.dk", "", ContactEmail, ""},
	} {
		tc.in.Name = "Contact test"
		got := stMust(s.CreatePatient(ctx, f.staff, tc.in))(t)
		if got.Email != tc.email || got.Phone != tc.phone || got.ContactBy != tc.by || got.Language != tc.language {
			t.Errorf("%+v stored as %+v", tc.in, got)
		}
		if back := stMust(s.GetPatient(ctx, f.staff, got.ID))(t); back != got {
			t.Errorf("read back %+v, want %+v", back, got)
		}
	}
	for _, tc := range []struct {
		in     Patient
		reason string
	}{
		{Patient{Email: "not an address"}, `email: "not an address" is not an e-mail address`},
		{Patient{Phone: "12 34"}, "phone: want a telephone number"},
		{Patient{Phone: "+45 20 00 00 00 ext 2"}, "phone: want a telephone number"},
		{Patient{Email: "a@b.dk", ContactBy: ContactSMS}, "contactBy sms: the patient has no telephone number"},
		{Patient{Phone: "20000000", ContactBy: ContactBoth}, "contactBy both: the patient has no e-mail address"},
		{Patient{ContactBy: "pigeon"}, "contactBy: want email, sms, both or none"},
		{Patient{Language: "de"}, "language: want da, en"},
	} {
		tc.in.Name = "Refused"
		_, err := s.CreatePatient(ctx, f.staff, tc.in)
		stErr(t, err, ErrUnprocessable, tc.reason)
	}
}

// testSettings: the clinic's settings, seeded once, changed by an admin
// with their version, refused field by field when wrong.
func testSettings(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	if err := s.SeedSettings(ctx, "da"); err != nil {
		t.Fatal(err)
	}
	st := stMust(s.Settings(ctx))(t)
	if st.Language != "da" || st.Version != 1 || !slices.Equal(st.Reminders, []string{"24h", "1h"}) || st.HorizonDays != 180 ||
		len(st.Hours.Monday) != 1 || len(st.Hours.Sunday) != 0 || st.Departments == nil {
		t.Errorf("seeded settings %+v", st)
	}
	// A second seed (the next start, with another -language) changes nothing.
	if err := s.SeedSettings(ctx, "en"); err != nil {
		t.Fatal(err)
	}
	if again := stMust(s.Settings(ctx))(t); again.Language != "da" || again.Version != 1 {
		t.Errorf("seeded again: %+v", again)
	}
	st.Name, st.Phone, st.Language = "Medicinsk Ambulatorium", "+45 70 11 22 33", "en"
	st.Reminders = []string{"1h", "48h"}
	st.Departments = []Department{{ID: "med", Names: Names{DA: "Medicinsk afdeling", EN: "Medical department"}}}
	put := stMust(s.PutSettings(ctx, f.admin, st))(t)
	if put.Phone != "+4570112233" || put.Version != 2 || !slices.Equal(put.Reminders, []string{"48h", "1h"}) {
		t.Errorf("stored %+v", put)
	}
	if got := stMust(s.Settings(ctx))(t); !reflect.DeepEqual(got, put) {
		t.Errorf("read back %+v, want %+v", got, put)
	}
	// The version the admin saw must be the current one.
	_, err := s.PutSettings(ctx, f.admin, st)
	stErr(t, err, ErrConflict, "the settings changed since version 1 (now 2)")
	_, err = s.PutSettings(ctx, f.staff, put)
	stErr(t, err, ErrForbidden, "only an admin")
	for _, tc := range []struct {
		change func(*Settings)
		reason string
	}{
		{func(s *Settings) { s.Name = " " }, "name: required"},
		{func(s *Settings) { s.Phone = "70112233" }, "phone: want an E.164 number"},
		{func(s *Settings) { s.Phone = "+0045701122" }, "phone: want an E.164 number"},
		{func(s *Settings) { s.Language = "de" }, "language: want da or en"},
		{func(s *Settings) { s.Reminders = []string{"1d"} }, `reminders: "1d": want a duration`},
		{func(s *Settings) { s.Reminders = []string{"1m"} }, `reminders: "1m": want a duration`},
		{func(s *Settings) { s.Reminders = []string{"60m", "1h"} }, `reminders: "1h" given twice`},
		{func(s *Settings) { s.Hours.Tuesday = []OpenSpan{{"16:00", "08:00"}} }, "hours: tuesday: 16:00-08:00: opens after it closes"},
		{func(s *Settings) { s.Hours.Friday = []OpenSpan{{"8", "12:00"}} }, "hours: friday"},
		{func(s *Settings) { s.Hours.Monday = []OpenSpan{{"08:00", "12:00"}, {"11:00", "15:00"}} }, "hours: monday: 11:00-15:00: overlaps"},
		{func(s *Settings) { s.Departments = append(s.Departments, s.Departments[0]) }, "departments[1].id: med given twice"},
		{func(s *Settings) { s.Departments = []Department{{ID: "x"}} }, "departments[0].names: give da, en or both"},
		{func(s *Settings) { s.HorizonDays = 0 }, "horizonDays: want 1 to 732"},
	} {
		bad := put
		bad.Departments = slices.Clone(put.Departments)
		tc.change(&bad)
		_, err := s.PutSettings(ctx, f.admin, bad)
		stErr(t, err, ErrUnprocessable, tc.reason)
	}
	if got := stMust(s.Settings(ctx))(t); got.Version != 2 {
		t.Errorf("a refused change was kept: version %d", got.Version)
	}
	rows := auditRows(t, f, "settings")
	if len(rows) != 1 || rows[0].Detail != "changed name, phone, language, reminders, departments" {
		t.Errorf("audited %+v", rows)
	}
	// Opening hours in the clinic's zone: Monday 2026-06-01 07:00 CEST is
	// before opening, 08:00 is open.
	loc := stMust(time.LoadLocation(DefaultZone))(t)
	if put.Hours.OpenAt(f.now, loc) || !put.Hours.OpenAt(f.now.Add(time.Hour), loc) {
		t.Errorf("open at %v: %t, an hour later %t", f.now, put.Hours.OpenAt(f.now, loc), put.Hours.OpenAt(f.now.Add(time.Hour), loc))
	}
}

// testOneHorizon: slot search and booking follow one horizon, the type's or
// else the clinic's, and see a change of either at once.
func testOneHorizon(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	open := stMust(s.CreateAppointmentType(ctx, f.admin, AppointmentType{Name: "Follow-up", Duration: 30 * time.Minute}))(t)
	// 113 days ahead: within the clinic's default 180 days.
	far := "2026-09-22T10:00:00+02:00"
	if rules := stMust(s.SearchRules(ctx, open.ID, 0))(t); rules.Horizon != 180*24*time.Hour {
		t.Fatalf("search horizon %v", rules.Horizon)
	}
	stMust(f.book(far, 0, open.ID))(t)
	// The clinic shortens its horizon to 90 days: search and booking both.
	st := stMust(s.Settings(ctx))(t)
	st.HorizonDays = 90
	stMust(s.PutSettings(ctx, f.admin, st))(t)
	if rules := stMust(s.SearchRules(ctx, open.ID, 0))(t); rules.Horizon != 90*24*time.Hour {
		t.Errorf("search horizon after the change %v", rules.Horizon)
	}
	if rules := stMust(s.SearchRules(ctx, "", 20*time.Minute))(t); rules.Horizon != 90*24*time.Hour {
		t.Errorf("search horizon without a type %v", rules.Horizon)
	}
	_, err := f.book("2026-09-23T10:00:00+02:00", 0, open.ID)
	stErr(t, err, ErrUnprocessable, "beyond the 90-day booking horizon")
	_, err = f.book("2026-09-23T10:00:00+02:00", 30*time.Minute, "")
	stErr(t, err, ErrUnprocessable, "beyond the 90-day booking horizon")
	// The type's own horizon wins over the clinic's.
	open.Horizon = 120 * 24 * time.Hour
	stMust(s.UpdateAppointmentType(ctx, f.admin, open))(t)
	if rules := stMust(s.SearchRules(ctx, open.ID, 0))(t); rules.Horizon != 120*24*time.Hour {
		t.Errorf("search horizon of the type %v", rules.Horizon)
	}
	stMust(f.book("2026-09-23T10:00:00+02:00", 0, open.ID))(t)
}

func testAvailability(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	want := Availability{
		ClinicianID: f.clin.ID,
		Zone:        "America/New_York",
		Rules: []WeeklyRule{
			{Weekday: time.Monday, Start: Clock(8, 0), End: Clock(12, 0)},
			{Weekday: time.Monday, Start: Clock(13, 0), End: Clock(17, 30)},
			{Weekday: time.Saturday, Start: Clock(20, 0), End: Clock(24, 0)},
		},
		Exceptions: []Exception{
			{ID: "summer", Date: Date{2026, time.July, 6}, Kind: Absence, Start: 0, End: 1440},
			{Date: Date{2026, time.July, 4}, Kind: ExtraHours, Start: Clock(9, 0), End: Clock(11, 0)},
		},
	}
	// Given out of order, read back in order.
	in := Availability{
		Zone:       want.Zone,
		Rules:      []WeeklyRule{want.Rules[2], want.Rules[1], want.Rules[0]},
		Exceptions: slices.Clone(want.Exceptions),
	}
	put := stMust(s.PutAvailability(ctx, f.staff, f.clin.ID, in))(t)
	if in.Exceptions[1].ID != "" {
		t.Error("PutAvailability changed its argument")
	}
	if put.Exceptions[1].ID != "summer" || put.Exceptions[0].ID == "" {
		t.Errorf("exception ids %q, %q: want the given one kept and the other assigned", put.Exceptions[1].ID, put.Exceptions[0].ID)
	}
	want.Exceptions[1].ID = put.Exceptions[0].ID
	want.Exceptions = []Exception{want.Exceptions[1], want.Exceptions[0]}
	if fmt.Sprint(put) != fmt.Sprint(want) {
		t.Errorf("PutAvailability =\n%+v\nwant\n%+v", put, want)
	}
	got := stMust(s.GetAvailability(ctx, f.clin.ID))(t)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("GetAvailability =\n%+v\nwant\n%+v", got, want)
	}
	if c := stMust(s.GetClinician(ctx, f.clin.ID))(t); c.Zone != want.Zone {
		t.Errorf("clinician zone %q, want %q", c.Zone, want.Zone)
	}
	// An empty zone keeps the clinician's; nothing at all is a valid answer.
	stMust(s.PutAvailability(ctx, f.staff, f.clin.ID, Availability{}))(t)
	got = stMust(s.GetAvailability(ctx, f.clin.ID))(t)
	if got.Zone != want.Zone || len(got.Rules) != 0 || len(got.Exceptions) != 0 || got.Rules == nil {
		t.Errorf("after clearing: %+v", got)
	}

	for _, tc := range []struct {
		a      Availability
		reason string
	}{
		{Availability{Zone: "Mars/Olympus"}, "unknown time zone"},
		{Availability{Rules: []WeeklyRule{{Weekday: 7, Start: 0, End: 60}}}, "weekday"},
		{Availability{Rules: []WeeklyRule{{Weekday: 1, Start: 600, End: 600}}}, "start before it ends"},
		{Availability{Rules: []WeeklyRule{{Weekday: 1, Start: 600, End: 1441}}}, "start before it ends"},
		{Availability{Exceptions: []Exception{{Date: Date{2026, time.February, 30}, Kind: Absence, Start: 0, End: 60}}}, "not a calendar date"},
		{Availability{Exceptions: []Exception{{Date: Date{2026, time.March, 3}, Kind: "holiday", Start: 0, End: 60}}}, "kind"},
		{Availability{Exceptions: []Exception{{Date: Date{2026, time.March, 3}, Kind: Absence, Start: 60, End: 0}}}, "start before it ends"},
		{Availability{Exceptions: []Exception{
			{ID: "x", Date: Date{2026, time.March, 3}, Kind: Absence, Start: 0, End: 60},
			{ID: "x", Date: Date{2026, time.March, 4}, Kind: Absence, Start: 0, End: 60},
		}}, "appears twice"},
	} {
		_, err := s.PutAvailability(ctx, f.staff, f.clin.ID, tc.a)
		stErr(t, err, ErrUnprocessable, tc.reason)
	}
	_, err := s.PutAvailability(ctx, f.staff, "nobody", Availability{})
	stErr(t, err, ErrNotFound, "no clinician")
	_, err = s.GetAvailability(ctx, "nobody")
	stErr(t, err, ErrNotFound, "no clinician")
}

func testBookingRules(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	stMust(s.PutAvailability(ctx, f.staff, f.clin.ID, Availability{
		Rules: []WeeklyRule{
			{Weekday: time.Monday, Start: Clock(8, 0), End: Clock(12, 0)},
			{Weekday: time.Monday, Start: Clock(13, 0), End: Clock(16, 0)},
			{Weekday: time.Tuesday, Start: Clock(8, 0), End: Clock(16, 0)},
		},
		Exceptions: []Exception{
			{Date: Date{2026, time.June, 2}, Kind: Absence, Start: Clock(12, 0), End: Clock(13, 0)},
			{Date: Date{2026, time.June, 6}, Kind: ExtraHours, Start: Clock(10, 0), End: Clock(12, 0)}, // a Saturday
		},
	}))(t)
	for _, tc := range []struct {
		name   string
		start  string
		d      time.Duration
		typeID string
		err    error
		reason string
	}{
		{"inside", "2026-06-01T10:00:00+02:00", 0, "type", nil, ""},
		{"off the grid", "2026-06-01T11:07:30+02:00", 0, "type", nil, ""},
		{"by duration, no type", "2026-06-01T14:00:00+02:00", 45 * time.Minute, "", nil, ""},
		{"duration overrides the type", "2026-06-02T08:00:00+02:00", 90 * time.Minute, "type", nil, ""},
		{"extra hours", "2026-06-06T10:00:00+02:00", 0, "type", nil, ""},
		{"last minute of the day", "2026-06-02T15:30:00+02:00", 0, "type", nil, ""},
		{"before the window", "2026-06-02T07:45:00+02:00", 0, "type", ErrUnprocessable, "outside the clinician's availability"},
		{"past the window", "2026-06-02T15:45:00+02:00", 0, "type", ErrUnprocessable, "outside the clinician's availability"},
		{"across the lunch gap", "2026-06-01T11:45:00+02:00", 0, "type", ErrUnprocessable, "outside the clinician's availability"},
		{"in an absence", "2026-06-02T12:15:00+02:00", 0, "type", ErrUnprocessable, "outside the clinician's availability"},
		{"no rule that day", "2026-06-03T10:00:00+02:00", 0, "type", ErrUnprocessable, "outside the clinician's availability"},
		{"less than the notice", "2026-06-01T08:30:00+02:00", 0, "type", ErrUnprocessable, "notice"},
		{"in the past", "2026-06-01T06:30:00+02:00", 30 * time.Minute, "", ErrUnprocessable, "past"},
		{"beyond the horizon", "2026-07-06T10:00:00+02:00", 0, "type", ErrUnprocessable, "horizon"},
		{"too short", "2026-06-02T10:00:00+02:00", 4 * time.Minute, "", ErrUnprocessable, "duration must be"},
		{"too long", "2026-06-02T08:00:00+02:00", 8*time.Hour + time.Minute, "", ErrUnprocessable, "duration must be"},
		{"neither type nor duration", "2026-06-02T10:00:00+02:00", 0, "", ErrUnprocessable, "type or a duration"},
		{"unknown type", "2026-06-02T10:00:00+02:00", 0, "nothing", ErrNotFound, "no appointment type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typeID := tc.typeID
			if typeID == "type" {
				typeID = f.typ.ID
			}
			b, err := f.book(tc.start, tc.d, typeID)
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				want := stTime(t, tc.start)
				if !b.Start.Equal(want) || b.Status != StatusBooked || b.Sequence != 0 || b.Replayed {
					t.Errorf("booked %+v, want start %s, booked, sequence 0", b, want)
				}
				if b.Start.Location() != time.UTC {
					t.Errorf("start in %v, want UTC", b.Start.Location())
				}
				return
			}
			stErr(t, err, tc.err, tc.reason)
		})
	}
	start := stTime(t, "2026-06-02T11:00:00+02:00")
	_, err := s.Book(ctx, f.staff, BookRequest{ClinicianID: "nobody", PatientID: f.pat.ID, TypeID: f.typ.ID, Start: start}, f.now)
	stErr(t, err, ErrNotFound, "no clinician")
	_, err = s.Book(ctx, f.staff, BookRequest{ClinicianID: f.clin.ID, PatientID: "nobody", TypeID: f.typ.ID, Start: start}, f.now)
	stErr(t, err, ErrNotFound, "no patient")
	_, err = s.Book(ctx, f.staff, BookRequest{ClinicianID: f.clin.ID, PatientID: f.pat.ID, TypeID: f.typ.ID}, f.now)
	stErr(t, err, ErrUnprocessable, "start is required")
	_, err = s.Book(ctx, Actor{}, BookRequest{ClinicianID: f.clin.ID, PatientID: f.pat.ID, TypeID: f.typ.ID, Start: start}, f.now)
	stErr(t, err, ErrForbidden, "")
}

// testBookingDST books around the 2026 daylight-saving changes: the wall
// clock, not the UTC offset of the day of booking, decides.
func testBookingDST(t *testing.T, f *storeFixture) {
	f.now = stTime(t, "2026-03-20T12:00:00Z")
	for _, tc := range []struct {
		start string
		ok    bool
	}{
		{"2026-03-27T07:00:00Z", true},  // Friday 08:00 CET
		{"2026-03-27T06:30:00Z", false}, // 07:30 CET
		{"2026-03-30T06:00:00Z", true},  // Monday 08:00 CEST
		{"2026-03-30T05:30:00Z", false}, // 07:30 CEST, though 06:30 CET
		{"2026-03-30T13:30:00Z", true},  // 15:30-16:00 CEST
		{"2026-03-30T14:30:00Z", false}, // 16:30 CEST
	} {
		_, err := f.book(tc.start, 0, f.typ.ID)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.start, err)
		}
		if !tc.ok && !errors.Is(err, ErrUnprocessable) {
			t.Errorf("%s: error %v, want ErrUnprocessable", tc.start, err)
		}
	}
}

func testBuffers(t *testing.T, f *storeFixture) {
	// f.typ: 30 min, 5 min before, 10 min after.
	a := f.mustBook("2026-06-02T10:00:00+02:00") // occupies 09:55-10:40
	if got, want := a.Occupied(), (Interval{stTime(t, "2026-06-02T07:55:00Z"), stTime(t, "2026-06-02T08:40:00Z")}); got != want {
		t.Errorf("occupies %v, want %v", got, want)
	}
	for _, tc := range []struct {
		name  string
		start string
		d     time.Duration
		typ   bool
		ok    bool
	}{
		{"its buffer overlaps the other's", "2026-06-02T10:44:00+02:00", 0, true, false}, // from 10:39
		{"touches the appointment, not the buffer", "2026-06-02T10:30:00+02:00", 10 * time.Minute, false, false},
		{"no buffers, meets the buffer", "2026-06-02T10:40:00+02:00", 5 * time.Minute, false, true},          // 10:40-10:45
		{"its own buffer meets the other's end", "2026-06-02T10:50:00+02:00", 0, true, true},                 // 10:45-11:30
		{"before: ends where the buffer starts", "2026-06-02T09:25:00+02:00", 30 * time.Minute, false, true}, // 09:25-09:55
		{"before: its after-buffer reaches in", "2026-06-02T08:50:00+02:00", 0, true, false},                 // 08:45-09:30
		{"much longer, covering everything", "2026-06-02T08:00:00+02:00", 6 * time.Hour, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typeID := ""
			if tc.typ {
				typeID = f.typ.ID
			}
			_, err := f.book(tc.start, tc.d, typeID)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok {
				stErr(t, err, ErrConflict, "busy")
			}
		})
	}
	// Cancelled and entered-in-error appointments free their time.
	b := f.mustBook("2026-06-03T10:00:00+02:00")
	c := stMust(f.s.SetStatus(f.ctx, f.staff, b.ID, StatusCancelled, ""))(t)
	if c.Sequence != 1 {
		t.Errorf("sequence %d after cancelling, want 1", c.Sequence)
	}
	d := f.mustBook("2026-06-03T10:00:00+02:00")
	stMust(f.s.SetStatus(f.ctx, f.staff, d.ID, StatusEnteredInError, "wrong patient"))(t)
	f.mustBook("2026-06-03T10:00:00+02:00")
}

func testReschedule(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	f.mustBook("2026-06-02T12:00:00+02:00") // occupies 11:55-12:40

	// Overlapping its own old time is fine.
	moved := stMust(s.Reschedule(ctx, f.staff, a.ID, stTime(t, "2026-06-02T10:15:00+02:00"), 0, f.now))(t)
	if moved.ID != a.ID || moved.Sequence != 1 || !moved.Start.Equal(stTime(t, "2026-06-02T10:15:00+02:00")) || moved.End.Sub(moved.Start) != 30*time.Minute {
		t.Errorf("rescheduled %+v", moved)
	}
	// A new length, keeping the type's buffers.
	moved = stMust(s.Reschedule(ctx, f.staff, a.ID, stTime(t, "2026-06-02T10:00:00+02:00"), time.Hour, f.now))(t)
	if moved.Sequence != 2 || moved.End.Sub(moved.Start) != time.Hour || moved.BufferBefore != 5*time.Minute || moved.BufferAfter != 10*time.Minute {
		t.Errorf("rescheduled %+v", moved)
	}
	if got := stMust(s.GetAppointment(ctx, f.staff, a.ID))(t); got != moved {
		t.Errorf("stored %+v, want %+v", got, moved)
	}
	_, err := s.Reschedule(ctx, f.staff, a.ID, stTime(t, "2026-06-02T11:30:00+02:00"), 0, f.now)
	stErr(t, err, ErrConflict, "busy")
	_, err = s.Reschedule(ctx, f.staff, a.ID, stTime(t, "2026-06-02T17:00:00+02:00"), 0, f.now)
	stErr(t, err, ErrUnprocessable, "outside the clinician's availability")
	_, err = s.Reschedule(ctx, f.staff, a.ID, stTime(t, "2026-06-01T08:00:00+02:00"), 0, f.now)
	stErr(t, err, ErrUnprocessable, "notice")
	_, err = s.Reschedule(ctx, f.staff, "nothing", stTime(t, "2026-06-02T14:00:00+02:00"), 0, f.now)
	stErr(t, err, ErrNotFound, "no appointment")
	if got := stMust(s.GetAppointment(ctx, f.staff, a.ID))(t); got != moved {
		t.Errorf("a refused reschedule changed the appointment: %+v", got)
	}
	stMust(s.SetStatus(ctx, f.staff, a.ID, StatusCancelled, ""))(t)
	_, err = s.Reschedule(ctx, f.staff, a.ID, stTime(t, "2026-06-02T14:00:00+02:00"), 0, f.now)
	stErr(t, err, ErrConflict, "cancelled cannot be rescheduled")
}

// testStatusTransitions drives an appointment into each status and tries
// every other; the allowed pairs are listed here, apart from transitions.go.
func testStatusTransitions(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	all := []Status{StatusBooked, StatusArrived, StatusCheckedIn, StatusFulfilled, StatusCancelled, StatusNoShow, StatusEnteredInError}
	allowed := map[[2]Status]bool{}
	for _, p := range [][2]Status{
		{StatusBooked, StatusArrived}, {StatusBooked, StatusCancelled}, {StatusBooked, StatusNoShow},
		{StatusArrived, StatusBooked}, {StatusArrived, StatusCheckedIn}, {StatusArrived, StatusFulfilled}, {StatusArrived, StatusCancelled},
		{StatusCheckedIn, StatusFulfilled}, {StatusCheckedIn, StatusCancelled},
	} {
		allowed[p] = true
	}
	for _, from := range all {
		if from != StatusEnteredInError {
			allowed[[2]Status{from, StatusEnteredInError}] = true
		}
	}
	path := map[Status][]Status{
		StatusBooked:         nil,
		StatusArrived:        {StatusArrived},
		StatusCheckedIn:      {StatusArrived, StatusCheckedIn},
		StatusFulfilled:      {StatusArrived, StatusCheckedIn, StatusFulfilled},
		StatusCancelled:      {StatusCancelled},
		StatusNoShow:         {StatusNoShow},
		StatusEnteredInError: {StatusEnteredInError},
	}
	slot := stTime(t, "2026-06-02T08:00:00+02:00")
	for _, from := range all {
		for _, to := range all {
			t.Run(fmt.Sprintf("%s to %s", from, to), func(t *testing.T) {
				b, err := s.Book(ctx, f.staff, BookRequest{ClinicianID: f.clin.ID, PatientID: f.pat.ID, Duration: 5 * time.Minute, Start: slot}, f.now)
				if err != nil {
					t.Fatal(err)
				}
				slot = slot.Add(5 * time.Minute)
				if slot.Hour() >= 14 { // 16:00 CEST
					slot = slot.Add(16 * time.Hour)
				}
				a := b.Appointment
				for _, st := range path[from] {
					a = stMust(s.SetStatus(ctx, f.staff, a.ID, st, ""))(t)
				}
				got, err := s.SetStatus(ctx, f.staff, a.ID, to, "test")
				if !allowed[[2]Status{from, to}] {
					stErr(t, err, ErrConflict, string(from))
					if now := stMust(s.GetAppointment(ctx, f.staff, a.ID))(t); now != a {
						t.Errorf("a refused change changed the appointment: %+v", now)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				wantSeq := a.Sequence
				if to == StatusCancelled || to == StatusEnteredInError {
					wantSeq++
				}
				if got.Status != to || got.Sequence != wantSeq || got.ID != a.ID {
					t.Errorf("got %s sequence %d, want %s sequence %d", got.Status, got.Sequence, to, wantSeq)
				}
			})
		}
	}
	b := f.mustBook("2026-06-03T10:00:00+02:00")
	_, err := s.SetStatus(ctx, f.staff, b.ID, "waitlist", "")
	stErr(t, err, ErrUnprocessable, "unknown status")
	_, err = s.SetStatus(ctx, f.staff, "nothing", StatusCancelled, "")
	stErr(t, err, ErrNotFound, "no appointment")
}

func testIdempotency(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	req := BookRequest{ClinicianID: f.clin.ID, PatientID: f.pat.ID, TypeID: f.typ.ID, Start: stTime(t, "2026-06-02T10:00:00+02:00"), IdempotencyKey: "k1"}
	first := stMust(s.Book(ctx, f.staff, req, f.now))(t)
	again := stMust(s.Book(ctx, f.staff, req, f.now.Add(time.Minute)))(t)
	if first.Replayed || !again.Replayed || again.Appointment != first.Appointment {
		t.Errorf("first %+v, again %+v: want the same appointment, replayed the second time", first, again)
	}
	// The same key for another request is refused.
	other := req
	other.Start = stTime(t, "2026-06-02T11:00:00+02:00")
	_, err := s.Book(ctx, f.staff, other, f.now)
	stErr(t, err, ErrUnprocessable, "idempotency key reused with a different request")
	// Keys belong to their user: another user's k1 is a new request, which
	// here conflicts with the first booking.
	_, err = s.Book(ctx, f.admin, req, f.now)
	stErr(t, err, ErrConflict, "busy")
	// A refused request leaves no key behind.
	late := req
	late.IdempotencyKey, late.Start = "k2", stTime(t, "2026-06-02T17:00:00+02:00")
	_, err = s.Book(ctx, f.staff, late, f.now)
	stErr(t, err, ErrUnprocessable, "outside")
	late.Start = stTime(t, "2026-06-02T12:00:00+02:00")
	if b := stMust(s.Book(ctx, f.staff, late, f.now))(t); b.Replayed {
		t.Error("a key whose request failed replayed")
	}

	// Concurrent retries of one request book once.
	retry := req
	retry.IdempotencyKey, retry.Start = "k3", stTime(t, "2026-06-03T10:00:00+02:00")
	const n = 8
	var wg sync.WaitGroup
	results := make([]Booking, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = s.Book(ctx, f.staff, retry, f.now) })
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("retry %d: %v", i, errs[i])
		}
		if results[i].ID != results[0].ID {
			t.Errorf("retry %d booked %s, retry 0 %s", i, results[i].ID, results[0].ID)
		}
		if !results[i].Replayed {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d of %d concurrent retries booked, want 1", fresh, n)
	}
}

func testAudit(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	clinician := Actor{ID: "user-clinician", Role: RoleClinician}
	stMust(s.GetPatient(ctx, clinician, f.pat.ID))(t)
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	stMust(s.GetAppointment(ctx, clinician, a.ID))(t)
	day := stTime(t, "2026-06-02T00:00:00+02:00")
	stMust(s.ListAppointments(ctx, clinician, f.clin.ID, day, day.Add(24*time.Hour)))(t)
	stMust(s.ListPatientAppointments(ctx, clinician, f.pat.ID))(t)
	stMust(s.Reschedule(ctx, f.staff, a.ID, stTime(t, "2026-06-02T11:00:00+02:00"), 0, f.now))(t)
	stMust(s.SetStatus(ctx, clinician, a.ID, StatusArrived, ""))(t)

	_, err := readAudit(ctx, s, clinician, f.pat.ID)
	stErr(t, err, ErrForbidden, "admin")
	entries := stMust(readAudit(ctx, s, f.admin, f.pat.ID))(t)
	type line struct{ actor, role, action, entity, entityID string }
	var got []line
	for _, e := range entries {
		if e.PatientID != f.pat.ID || e.At.IsZero() || e.ID == 0 {
			t.Errorf("entry %+v", e)
		}
		got = append(got, line{e.ActorID, e.ActorRole, e.Action, e.Entity, e.EntityID})
	}
	want := []line{
		{f.staff.ID, RoleScheduler, AuditCreate, "patient", f.pat.ID},
		{clinician.ID, RoleClinician, AuditRead, "patient", f.pat.ID},
		{f.staff.ID, RoleScheduler, AuditCreate, "appointment", a.ID},
		{clinician.ID, RoleClinician, AuditRead, "appointment", a.ID},
		{clinician.ID, RoleClinician, AuditList, "appointment", a.ID},
		{clinician.ID, RoleClinician, AuditList, "appointment", ""},
		{f.staff.ID, RoleScheduler, AuditUpdate, "appointment", a.ID},
		{clinician.ID, RoleClinician, AuditUpdate, "appointment", a.ID},
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit log of the patient:\n%v\nwant\n%v", got, want)
	}
	// Reading the log is logged.
	again := stMust(readAudit(ctx, s, f.admin, f.pat.ID))(t)
	if last := again[len(again)-1]; last.Action != AuditRead || last.Entity != "audit" || last.ActorID != f.admin.ID {
		t.Errorf("last entry %+v, want the admin's reading of the log", last)
	}
	// The log cannot be changed, even bypassing the store.
	for _, q := range []string{`UPDATE audit_log SET actor_id = 'someone-else'`, `DELETE FROM audit_log`} {
		if err := exec(ctx, s, q); err == nil {
			t.Errorf("%s succeeded", q)
		}
	}
	if n := len(stMust(readAudit(ctx, s, f.admin, f.pat.ID))(t)); n != len(again)+1 {
		t.Errorf("%d entries after the attempts, want %d", n, len(again)+1)
	}
	// A failed call leaves no entry.
	before := len(stMust(readAudit(ctx, s, f.admin, ""))(t))
	f.book("2026-06-02T11:00:00+02:00", 0, f.typ.ID) // conflicts
	if n := len(stMust(readAudit(ctx, s, f.admin, ""))(t)); n != before+1 {
		t.Errorf("%d entries after a refused booking, want %d (the read of the log only)", n, before+1)
	}
}

func testPatientIsolation(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	pb := stMust(s.CreatePatient(ctx, f.staff, Patient{Name: "Bo Berg"}))(t)
	var mine, theirs []string
	for i, start := range []string{"2026-06-02T09:00:00+02:00", "2026-06-02T10:00:00+02:00", "2026-06-02T11:00:00+02:00", "2026-06-03T09:00:00+02:00"} {
		p := f.pat.ID
		if i%2 == 1 {
			p = pb.ID
		}
		b := stMust(s.Book(ctx, f.staff, BookRequest{ClinicianID: f.clin.ID, PatientID: p, TypeID: f.typ.ID, Start: stTime(t, start)}, f.now))(t)
		if p == f.pat.ID {
			mine = append(mine, b.ID)
		} else {
			theirs = append(theirs, b.ID)
		}
	}
	for _, tc := range []struct {
		patient string
		want    []string
	}{{f.pat.ID, mine}, {pb.ID, theirs}} {
		list := stMust(s.ListPatientAppointments(ctx, f.staff, tc.patient))(t)
		var got []string
		for _, a := range list {
			if a.PatientID != tc.patient {
				t.Errorf("patient %s's list holds %+v", tc.patient, a)
			}
			got = append(got, a.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("patient %s: %v, want %v", tc.patient, got, tc.want)
		}
	}
	_, err := s.ListPatientAppointments(ctx, f.staff, "nobody")
	stErr(t, err, ErrNotFound, "no patient")
	// The day list has both, in order.
	day := stTime(t, "2026-06-02T00:00:00+02:00")
	list := stMust(s.ListAppointments(ctx, f.staff, f.clin.ID, day, day.Add(24*time.Hour)))(t)
	if len(list) != 3 || list[0].ID != mine[0] || list[1].ID != theirs[0] || list[2].ID != mine[1] {
		t.Errorf("day list %+v", list)
	}
	// An appointment that overlaps the range's edge is listed.
	list = stMust(s.ListAppointments(ctx, f.staff, f.clin.ID, stTime(t, "2026-06-02T09:15:00+02:00"), stTime(t, "2026-06-02T10:05:00+02:00")))(t)
	if len(list) != 2 {
		t.Errorf("listed %d appointments overlapping 09:15-10:05, want 2", len(list))
	}
	_, err = s.ListAppointments(ctx, f.staff, "nobody", day, day.Add(time.Hour))
	stErr(t, err, ErrNotFound, "no clinician")
	_, err = s.ListAppointments(ctx, f.staff, f.clin.ID, day, day.Add(-time.Hour))
	stErr(t, err, ErrUnprocessable, "range")
}

func testBusy(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	b := f.mustBook("2026-06-02T12:00:00+02:00")
	c := f.mustBook("2026-06-02T14:00:00+02:00")
	stMust(s.SetStatus(ctx, f.staff, b.ID, StatusCancelled, ""))(t)
	day := stTime(t, "2026-06-02T00:00:00+02:00")
	got := stMust(s.Busy(ctx, f.clin.ID, day, day.Add(24*time.Hour)))(t)
	if want := []Interval{a.Occupied(), c.Occupied()}; !slices.Equal(got, want) {
		t.Errorf("Busy = %v, want %v", got, want)
	}
	// Only spans that overlap the range, buffers counted.
	got = stMust(s.Busy(ctx, f.clin.ID, a.End.Add(9*time.Minute), c.Start.Add(-5*time.Minute)))(t)
	if want := []Interval{a.Occupied()}; !slices.Equal(got, want) {
		t.Errorf("Busy = %v, want %v", got, want)
	}
	_, err := s.Busy(ctx, "nobody", day, day)
	stErr(t, err, ErrNotFound, "no clinician")
}

func testAppointmentStates(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	b := f.mustBook("2026-06-02T12:00:00+02:00")
	f.mustBook("2026-06-03T10:00:00+02:00")
	b = stMust(s.SetStatus(ctx, f.staff, b.ID, StatusCancelled, ""))(t)
	day := stTime(t, "2026-06-02T00:00:00+02:00")
	// The appointments of the day list, in its order, cancelled ones too.
	list := stMust(s.ListAppointments(ctx, f.staff, f.clin.ID, day, day.Add(24*time.Hour)))(t)
	before := auditCount(t, f)
	got := stMust(s.AppointmentStates(ctx, f.clin.ID, day, day.Add(24*time.Hour)))(t)
	if after := auditCount(t, f); after != before {
		t.Errorf("AppointmentStates wrote %d audit rows, want none", after-before)
	}
	if len(got) != len(list) || len(got) != 2 {
		t.Fatalf("states %+v, day list %+v", got, list)
	}
	for i, want := range []Appointment{a, b} {
		g := got[i]
		if g.ID != want.ID || g.Status != want.Status || !g.Start.Equal(want.Start) || !g.End.Equal(want.End) ||
			!g.UpdatedAt.Equal(want.UpdatedAt) || g.ID != list[i].ID {
			t.Errorf("state %d = %+v, want %+v", i, g, want)
		}
	}
	// Edges as the day list has them.
	got = stMust(s.AppointmentStates(ctx, f.clin.ID, stTime(t, "2026-06-02T10:29:00+02:00"), stTime(t, "2026-06-02T12:01:00+02:00")))(t)
	if len(got) != 2 {
		t.Errorf("states overlapping 10:29-12:01: %+v, want 2", got)
	}
	if got = stMust(s.AppointmentStates(ctx, f.clin.ID, day.Add(-24*time.Hour), day))(t); got == nil || len(got) != 0 {
		t.Errorf("an empty day: %#v, want an empty list", got)
	}
	_, err := s.AppointmentStates(ctx, "nobody", day, day.Add(time.Hour))
	stErr(t, err, ErrNotFound, "no clinician")
	_, err = s.AppointmentStates(ctx, f.clin.ID, day, day.Add(-time.Hour))
	stErr(t, err, ErrUnprocessable, "range")
}

// auditCount counts the whole audit log without adding to it.
func auditCount(t *testing.T, f *storeFixture) int {
	t.Helper()
	var n int
	if err := f.s.db.QueryRowContext(f.ctx, `SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func testUsers(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	u := stMust(s.CreateUser(ctx, f.admin, "  M.Lund ", "Mette Lund", RoleScheduler, "correct horse battery"))(t)
	if u.Username != "m.lund" || u.Role != RoleScheduler || u.ID == "" {
		t.Errorf("created %+v", u)
	}
	if got := stMust(s.GetUser(ctx, u.ID))(t); got != u {
		t.Errorf("GetUser = %+v, want %+v", got, u)
	}
	var hash string
	if err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$") || strings.Contains(hash, "horse") {
		t.Errorf("stored hash %q", hash)
	}
	if got := stMust(s.Authenticate(ctx, "M.LUND", "correct horse battery", "192.0.2.1"))(t); got != u {
		t.Errorf("Authenticate = %+v, want %+v", got, u)
	}
	_, err := s.Authenticate(ctx, "m.lund", "correct horse batterY", "192.0.2.1")
	stErr(t, err, ErrBadCredentials, "")
	_, err = s.Authenticate(ctx, "nobody", "correct horse battery", "192.0.2.1")
	stErr(t, err, ErrBadCredentials, "")
	_, err = s.CreateUser(ctx, f.admin, "m.lund", "Someone", RoleAdmin, "another long password")
	stErr(t, err, ErrConflict, "taken")
	for _, tc := range []struct{ username, name, role, password, reason string }{
		{"x", "X", RoleAdmin, "long enough password", "2 to 64"},
		{"a b", "X", RoleAdmin, "long enough password", "letters"},
		{"ab", "", RoleAdmin, "long enough password", "name"},
		{"ab", "X", "patient", "long enough password", "role"},
		{"ab", "X", RoleAdmin, "short", "at least"},
	} {
		_, err := s.CreateUser(ctx, f.admin, tc.username, tc.name, tc.role, tc.password)
		stErr(t, err, ErrUnprocessable, tc.reason)
	}
	_, err = s.GetUser(ctx, "nobody")
	stErr(t, err, ErrNotFound, "")

	var logins []string
	for _, e := range stMust(readAudit(ctx, s, f.admin, ""))(t) {
		if e.Entity == "user" && (e.Action == AuditLogin || e.Action == AuditDenied) {
			logins = append(logins, e.Action+" "+e.ActorID)
		}
	}
	want := []string{AuditLogin + " " + u.ID, AuditDenied + " " + u.ID, AuditDenied + " unknown"}
	if !slices.Equal(logins, want) {
		t.Errorf("sign-ins logged %v, want %v", logins, want)
	}
}

// testExclusionBackstop shows that PostgreSQL itself refuses an overlap that
// bypasses the store's lock and check.
func testExclusionBackstop(t *testing.T, f *storeFixture) {
	if f.s.db.Dialect() != records.Postgres {
		t.Skip("the exclusion constraint is PostgreSQL's")
	}
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	err := exec(f.ctx, f.s, `INSERT INTO appointments (id, clinician_id, patient_id, start_at, end_at,
		buffer_before_ms, buffer_after_ms, occ_start, occ_end, status, status_reason, sequence, created_at, updated_at)
		VALUES ('intruder', $1, $2, $3, $4, 0, 0, $3, $4, 'booked', '', 0, now(), now())`,
		f.clin.ID, f.pat.ID, a.End.Add(5*time.Minute), a.End.Add(time.Hour))
	if !errors.Is(err, records.ErrExclusion) {
		t.Fatalf("overlapping insert: %v, want an exclusion violation", err)
	}
	// Not when the overlapping row is cancelled.
	err = exec(f.ctx, f.s, `INSERT INTO appointments (id, clinician_id, patient_id, start_at, end_at,
		buffer_before_ms, buffer_after_ms, occ_start, occ_end, status, status_reason, sequence, created_at, updated_at)
		VALUES ('ghost', $1, $2, $3, $4, 0, 0, $3, $4, 'cancelled', '', 0, now(), now())`,
		f.clin.ID, f.pat.ID, a.Start, a.End)
	if err != nil {
		t.Fatal(err)
	}
}

func testPractitionerOf(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	u := f.signedInClinician("p.berg", "Per Berg")
	b := f.mustBook("2026-06-02T10:00:00+02:00")
	before := auditCount(t, f)
	if got := stMust(s.PractitionerOf(ctx, b.ID))(t); got != u.ID {
		t.Errorf("practitioner of %s = %q, want user %s", b.ID, got, u.ID)
	}
	// A clinician without a user account is nobody's.
	if got := stMust(s.PractitionerOf(ctx, a.ID))(t); got != "" {
		t.Errorf("practitioner of %s = %q, want none", a.ID, got)
	}
	if after := auditCount(t, f); after != before {
		t.Errorf("PractitionerOf wrote %d audit rows, want none", after-before)
	}
	_, err := s.PractitionerOf(ctx, "no-such-appointment")
	stErr(t, err, ErrNotFound, "no-such-appointment")
	// Who may run the visit: its own clinician, schedulers and admins.
	own := Actor{ID: u.ID, Role: RoleClinician}
	if err := s.MayRunVisit(ctx, own, b.ID); err != nil {
		t.Errorf("own clinician: %v", err)
	}
	stErr(t, s.MayRunVisit(ctx, own, a.ID), ErrForbidden, "another clinician's")
	stErr(t, s.MayRunVisit(ctx, Actor{ID: "user-other", Role: RoleClinician}, b.ID), ErrForbidden, "another clinician's")
	stErr(t, s.MayRunVisit(ctx, own, "no-such-appointment"), ErrNotFound, "no-such-appointment")
	stErr(t, s.MayRunVisit(ctx, Actor{ID: "pat-1", Role: "patient"}, b.ID), ErrForbidden, "only staff")
	for _, staff := range []Actor{f.staff, f.admin} {
		if err := s.MayRunVisit(ctx, staff, a.ID); err != nil {
			t.Errorf("%s: %v", staff.Role, err)
		}
	}
	if after := auditCount(t, f); after != before {
		t.Errorf("MayRunVisit wrote %d audit rows, want none", after-before)
	}
}

// testAdvance: a visit moves the appointment along its path in one call,
// each step on the audit log; what is at or past the target, or off the
// path, stays as it is.
func testAdvance(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	clinician := Actor{ID: "user-clinician", Role: RoleClinician}
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	before, err := readAudit(ctx, s, f.admin, f.pat.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, moved, err := s.Advance(ctx, clinician, a.ID, StatusFulfilled)
	if err != nil || !moved || got.Status != StatusFulfilled {
		t.Fatalf("Advance to fulfilled: %v, moved %v, status %s", err, moved, got.Status)
	}
	after, err := readAudit(ctx, s, f.admin, f.pat.ID)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range after[len(before):] {
		if e.Action == AuditUpdate && e.EntityID == a.ID {
			steps = append(steps, e.Detail)
		}
	}
	want := []string{"status booked -> arrived: video visit", "status arrived -> checked-in: video visit",
		"status checked-in -> fulfilled: video visit"}
	if !slices.Equal(steps, want) {
		t.Errorf("audit steps %q, want %q", steps, want)
	}
	if got := stMust(s.GetAppointment(ctx, f.staff, a.ID))(t); got.Status != StatusFulfilled {
		t.Errorf("stored status %s", got.Status)
	}
	for _, tc := range []struct {
		name   string
		status Status
		target Status
	}{
		{"already there", StatusFulfilled, StatusFulfilled},
		{"past the target", StatusCheckedIn, StatusArrived},
		{"cancelled", StatusCancelled, StatusCheckedIn},
		{"no-show", StatusNoShow, StatusArrived},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := f.mustBook("2026-06-03T" + fmt.Sprintf("%02d", 9+slices.Index([]Status{StatusFulfilled, StatusCheckedIn, StatusCancelled, StatusNoShow}, tc.status)) + ":00:00+02:00")
			switch tc.status {
			case StatusFulfilled, StatusCheckedIn:
				if _, _, err := s.Advance(ctx, clinician, b.ID, tc.status); err != nil {
					t.Fatal(err)
				}
			default:
				stMust(s.SetStatus(ctx, f.staff, b.ID, tc.status, ""))(t)
			}
			got, moved, err := s.Advance(ctx, clinician, b.ID, tc.target)
			if err != nil || moved || got.Status != tc.status {
				t.Errorf("Advance to %s: %v, moved %v, status %s; want %s unmoved", tc.target, err, moved, got.Status, tc.status)
			}
		})
	}
	_, _, err = s.Advance(ctx, clinician, a.ID, StatusCancelled)
	stErr(t, err, ErrUnprocessable, "arrived, checked-in or fulfilled")
	_, _, err = s.Advance(ctx, clinician, "nope", StatusArrived)
	stErr(t, err, ErrNotFound, "")
	_, _, err = s.Advance(ctx, Actor{}, a.ID, StatusArrived)
	stErr(t, err, ErrForbidden, "")
}

// testCareRelation: a clinician is related to a patient's care by an
// appointment within the care window, the care team, or broken glass; the
// glass is on record for admins.
func testCareRelation(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	u := f.signedInClinician("p.berg", "Per Berg")
	appt := f.mustBook("2026-06-02T10:00:00+02:00")
	own := Actor{ID: u.ID, Role: RoleClinician}
	if how, err := s.careRelation(ctx, own, f.pat.ID, f.now); err != nil || how != CareAppointment {
		t.Fatalf("the appointment's clinician: %q %v", how, err)
	}
	// Out of the window on either side.
	for _, at := range []time.Time{f.now.Add(-DefaultCareWindow - 24*time.Hour), f.now.Add(DefaultCareWindow + 48*time.Hour)} {
		_, err := s.careRelation(ctx, own, f.pat.ID, at)
		stErr(t, err, ErrForbidden, "no care relation")
	}
	// A cancelled appointment makes none.
	stMust(s.SetStatus(ctx, f.staff, appt.ID, StatusCancelled, "ill"))(t)
	_, err := s.careRelation(ctx, own, f.pat.ID, f.now)
	stErr(t, err, ErrForbidden, "no care relation")

	other := stMust(s.CreateUser(ctx, f.admin, "l.dahl", "Lis Dahl", RoleClinician, "correct horse battery"))(t)
	them := Actor{ID: other.ID, Role: RoleClinician}
	_, err = s.careRelation(ctx, them, f.pat.ID, f.now)
	stErr(t, err, ErrForbidden, "no care relation")
	_, err = s.careRelation(ctx, f.staff, f.pat.ID, f.now)
	stErr(t, err, ErrForbidden, "clinicians caring")
	_, err = s.careRelation(ctx, them, "no-such-patient", f.now)
	stErr(t, err, ErrNotFound, "")

	_, err = s.AssignCareTeam(ctx, f.staff, f.pat.ID, other.ID)
	stErr(t, err, ErrForbidden, "admin")
	stMust(s.AssignCareTeam(ctx, f.admin, f.pat.ID, other.ID))(t)
	again := stMust(s.AssignCareTeam(ctx, f.admin, f.pat.ID, other.ID))(t)
	if again.AssignedBy != f.admin.ID {
		t.Fatalf("assigned again: %+v", again)
	}
	if how, err := s.careRelation(ctx, them, f.pat.ID, f.now); err != nil || how != CareTeam {
		t.Fatalf("on the care team: %q %v", how, err)
	}

	_, err = s.OpenBreakGlass(ctx, own, f.pat.ID, "too short")
	stErr(t, err, ErrUnprocessable, "reason")
	b := stMust(s.OpenBreakGlass(ctx, own, f.pat.ID, "the patient called the ward at night"))(t)
	if how, err := s.careRelation(ctx, own, f.pat.ID, b.OpenedAt.Add(time.Hour)); err != nil || how != CareBreakGlass {
		t.Fatalf("after breaking the glass: %q %v", how, err)
	}
	_, err = s.careRelation(ctx, own, f.pat.ID, b.Until.Add(time.Minute))
	stErr(t, err, ErrForbidden, "no care relation")
	_, err = s.ListBreakGlass(ctx, own, time.Time{})
	stErr(t, err, ErrForbidden, "admins")
	list := stMust(s.ListBreakGlass(ctx, f.admin, time.Time{}))(t)
	if len(list) != 1 || list[0].ID != b.ID || list[0].Reason != "the patient called the ward at night" {
		t.Fatalf("break-glass list %+v", list)
	}
}

// auditRows returns the audit log's rows about entity, oldest first, read
// as the fixture's admin.
func auditRows(t *testing.T, f *storeFixture, entity string) []audit.Entry {
	t.Helper()
	page := stMust(f.s.AuditLog(f.ctx, f.admin, audit.Filter{ActorID: f.admin.ID, Limit: audit.MaxLimit}))(t)
	var out []audit.Entry
	for _, e := range page.Rows {
		if e.Entity == entity {
			out = append(out, e)
		}
	}
	slices.Reverse(out)
	return out
}
