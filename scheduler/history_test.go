package scheduler

import (
	"context"
	"slices"
	"sync"
	"testing"

	"vclinic/internal/records/audit"
	"vclinic/internal/records/recordstest"
)

// historyFixture is a storeFixture whose store runs on a clock the test
// moves, starting at f.now.
func historyFixture(t *testing.T, b recordstest.Backend) (*storeFixture, *testClock) {
	t.Helper()
	clock := &testClock{t: stTime(t, "2026-06-01T07:00:00+02:00")}
	f := newStoreFixture(t, openStore(t, b, Config{Clock: clock.Now}))
	return f, clock
}

// statuses lists an appointment's history as status@HH:MM in UTC, and by
// whom.
func statuses(t *testing.T, f *storeFixture, id string) (got []string, by []string) {
	t.Helper()
	for _, c := range stMust(f.s.History(f.ctx, f.admin, id))(t) {
		got = append(got, string(c.Status)+"@"+c.At.UTC().Format("15:04"))
		by = append(by, c.ByRole)
	}
	return got, by
}

// TestStatusHistory: booking, moving, arriving, leaving the waiting room,
// admission and the end each leave a row, in the transaction that makes the
// change, with the actor.
func TestStatusHistory(t *testing.T) {
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f, clock := historyFixture(t, b)
			s, ctx := f.s, f.ctx
			a := f.mustBook("2026-06-02T10:00:00+02:00") // 08:00 UTC
			clock.Set(stTime(t, "2026-06-01T08:00:00+02:00"))
			stMust(s.Reschedule(ctx, f.staff, a.ID, stTime(t, "2026-06-02T11:00:00+02:00"), 0, f.now))(t)
			patient := Actor{ID: f.pat.ID, Role: RolePatient}
			clinician := Actor{ID: "user-clinician", Role: RoleClinician}
			clock.Set(stTime(t, "2026-06-02T10:55:00+02:00"))
			stMust(s.SetStatus(ctx, patient, a.ID, StatusArrived, ""))(t)
			clock.Set(stTime(t, "2026-06-02T10:57:00+02:00"))
			stMust(s.SetStatus(ctx, patient, a.ID, StatusBooked, "left the waiting room"))(t)
			clock.Set(stTime(t, "2026-06-02T10:58:00+02:00"))
			stMust(s.SetStatus(ctx, patient, a.ID, StatusArrived, ""))(t)
			clock.Set(stTime(t, "2026-06-02T11:04:00+02:00"))
			if _, _, err := s.Advance(ctx, clinician, a.ID, StatusCheckedIn); err != nil {
				t.Fatal(err)
			}
			clock.Set(stTime(t, "2026-06-02T11:21:00+02:00"))
			if _, _, err := s.Advance(ctx, clinician, a.ID, StatusFulfilled); err != nil {
				t.Fatal(err)
			}

			got, by := statuses(t, f, a.ID)
			want := []string{"booked@05:00", "moved@06:00", "arrived@08:55", "booked@08:57", "arrived@08:58",
				"checked-in@09:04", "fulfilled@09:21"}
			if !slices.Equal(got, want) {
				t.Errorf("history %q, want %q", got, want)
			}
			wantBy := []string{RoleScheduler, RoleScheduler, RolePatient, RolePatient, RolePatient, RoleClinician, RoleClinician}
			if !slices.Equal(by, wantBy) {
				t.Errorf("by %q, want %q", by, wantBy)
			}

			// A refused change leaves no row.
			_, err := s.SetStatus(ctx, f.staff, a.ID, StatusNoShow, "")
			stErr(t, err, ErrConflict, "cannot become noshow")
			if again, _ := statuses(t, f, a.ID); len(again) != len(want) {
				t.Errorf("a refused change was written: %q", again)
			}
			c := f.mustBook("2026-06-03T10:00:00+02:00")
			stMust(s.SetStatus(ctx, f.staff, c.ID, StatusCancelled, "ill"))(t)
			if got, _ := statuses(t, f, c.ID); !slices.Equal(got, []string{"booked@09:21", "cancelled@09:21"}) {
				t.Errorf("cancelled visit's history %q", got)
			}
			// Reading the history is audited as a read of the patient's data.
			entries := stMust(readAudit(ctx, s, f.admin, f.pat.ID))(t)
			if !slices.ContainsFunc(entries, func(e audit.Entry) bool { return e.Detail == "status history" && e.EntityID == a.ID }) {
				t.Error("reading the history left no audit row")
			}
			// The patient's record is another clinician's business only
			// through the usual checks: History takes an actor.
			_, err = s.History(ctx, Actor{}, a.ID)
			stErr(t, err, ErrForbidden, "no acting user")
		})
	}
}

// TestNoShows: a visit still booked an hour after its end becomes a no-show,
// by the system, once, however many nodes look at the same moment; a patient
// who arrived, a cancelled visit and a visit not yet an hour over are left.
func TestNoShows(t *testing.T) {
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f, clock := historyFixture(t, b)
			s, ctx := f.s, f.ctx
			missed := f.mustBook("2026-06-02T09:00:00+02:00") // ends 09:30
			came := f.mustBook("2026-06-02T10:00:00+02:00")
			cancelled := f.mustBook("2026-06-02T11:00:00+02:00")
			late := f.mustBook("2026-06-02T12:00:00+02:00") // ends 12:30
			stMust(s.SetStatus(ctx, Actor{ID: f.pat.ID, Role: RolePatient}, came.ID, StatusArrived, ""))(t)
			stMust(s.SetStatus(ctx, f.staff, cancelled.ID, StatusCancelled, ""))(t)

			clock.Set(stTime(t, "2026-06-02T10:29:59+02:00"))
			if n := stMust(s.MarkNoShows(ctx))(t); n != 0 {
				t.Fatalf("a second before the hour is over: %d marked", n)
			}
			clock.Set(stTime(t, "2026-06-02T13:29:00+02:00"))
			// Four nodes race over the same visits.
			nodes := []*Store{s}
			for range 3 {
				nodes = append(nodes, clocked(t, s, clock))
			}
			var wg sync.WaitGroup
			counts := make([]int, len(nodes))
			errs := make([]error, len(nodes))
			for i, n := range nodes {
				wg.Go(func() { counts[i], errs[i] = n.MarkNoShows(context.Background()) })
			}
			wg.Wait()
			total := 0
			for i := range nodes {
				if errs[i] != nil {
					t.Fatalf("node %d: %v", i, errs[i])
				}
				total += counts[i]
			}
			if total != 1 {
				t.Errorf("the nodes marked %d visits between them, want 1 (%v)", total, counts)
			}
			for _, tc := range []struct {
				id   string
				want Status
			}{{missed.ID, StatusNoShow}, {came.ID, StatusArrived}, {cancelled.ID, StatusCancelled}, {late.ID, StatusBooked}} {
				if got := stMust(s.GetAppointment(ctx, f.admin, tc.id))(t); got.Status != tc.want {
					t.Errorf("%s: status %s, want %s", tc.id, got.Status, tc.want)
				}
			}
			got, by := statuses(t, f, missed.ID)
			if !slices.Equal(got, []string{"booked@05:00", "noshow@11:29"}) || by[1] != "system" {
				t.Errorf("no-show's history %q by %q", got, by)
			}
			var marks int
			for _, e := range stMust(readAudit(ctx, s, f.admin, f.pat.ID))(t) {
				if e.EntityID == missed.ID && e.Action == AuditUpdate {
					marks++
					if e.ActorID != "system" || e.ActorRole != "system" || e.Detail != "status booked -> noshow: not arrived an hour after the visit's end" {
						t.Errorf("audit row %+v", e)
					}
				}
			}
			if marks != 1 {
				t.Errorf("%d audit rows of the no-show, want 1", marks)
			}
			// The later visit's hour runs out; the next round takes it.
			clock.Set(stTime(t, "2026-06-02T13:30:00+02:00"))
			if n := stMust(nodes[2].MarkNoShows(ctx))(t); n != 1 {
				t.Errorf("at 13:30: %d marked, want the 12:00 visit", n)
			}
			if n := stMust(s.MarkNoShows(ctx))(t); n != 0 {
				t.Errorf("a round after: %d marked again", n)
			}
		})
	}
}

// TestClinicianDepartment: once the clinic names its departments, a
// clinician belongs to one of them, on creation and when changed.
func TestClinicianDepartment(t *testing.T) {
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			f, _ := historyFixture(t, b)
			s, ctx := f.s, f.ctx
			// No departments yet: free text stands, as it did.
			if f.clin.Department != "Cardiology" {
				t.Fatalf("department %q", f.clin.Department)
			}
			st := stMust(s.Settings(ctx))(t)
			st.Departments = []Department{{ID: "hjerte", Names: Names{DA: "Hjerteambulatoriet", EN: "Cardiac"}},
				{ID: "lunge", Names: Names{DA: "Lungeambulatoriet"}}}
			stMust(s.PutSettings(ctx, f.admin, st))(t)
			_, err := s.CreateClinician(ctx, f.staff, Clinician{Name: "Dr. Nyt", Department: "Cardiology"})
			stErr(t, err, ErrUnprocessable, `department: "Cardiology" is not one of the clinic's departments (hjerte, lunge)`)
			c := stMust(s.CreateClinician(ctx, f.staff, Clinician{Name: "Dr. Nyt", Department: "lunge"}))(t)
			dept := "hjerte"
			got := stMust(s.UpdateClinician(ctx, f.admin, f.clin.ID, ClinicianChange{Department: &dept}))(t)
			if got.Department != "hjerte" || got.Name != f.clin.Name {
				t.Errorf("updated %+v", got)
			}
			if again := stMust(s.GetClinician(ctx, f.clin.ID))(t); again.Department != "hjerte" {
				t.Errorf("stored department %q", again.Department)
			}
			bad := "nowhere"
			_, err = s.UpdateClinician(ctx, f.admin, c.ID, ClinicianChange{Department: &bad})
			stErr(t, err, ErrUnprocessable, `department: "nowhere"`)
			empty := " "
			_, err = s.UpdateClinician(ctx, f.admin, c.ID, ClinicianChange{Name: &empty})
			stErr(t, err, ErrUnprocessable, "name is required")
			_, err = s.UpdateClinician(ctx, f.admin, "nobody", ClinicianChange{Department: &dept})
			stErr(t, err, ErrNotFound, "no clinician nobody")
		})
	}
}
