package scheduler

import (
	"slices"
	"testing"
	"time"
)

func TestEncounterStatus(t *testing.T) {
	for s, want := range map[Status]string{
		StatusBooked: "planned", StatusArrived: "arrived", StatusCheckedIn: "in-progress", StatusFulfilled: "finished",
		StatusCancelled: "cancelled", StatusNoShow: "cancelled", StatusEnteredInError: "entered-in-error",
	} {
		if got := EncounterStatus(s); got != want {
			t.Errorf("appointment %s: encounter %s, want %s", s, got, want)
		}
	}
}

func TestVisitPeriod(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 6, 2, 8, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		name       string
		changes    []StatusChange
		start, end time.Time
	}{
		{"not begun", []StatusChange{{Status: StatusArrived, At: at(0)}}, time.Time{}, time.Time{}},
		{"under way", []StatusChange{{Status: StatusArrived, At: at(0)}, {Status: StatusCheckedIn, At: at(3)}}, at(3), time.Time{}},
		{"ended", []StatusChange{{Status: StatusArrived, At: at(0)}, {Status: StatusCheckedIn, At: at(3)}, {Status: StatusFulfilled, At: at(21)}}, at(3), at(21)},
		{"abandoned", []StatusChange{{Status: StatusCheckedIn, At: at(3)}, {Status: StatusCancelled, At: at(9)}}, at(3), at(9)},
		{"cancelled before", []StatusChange{{Status: StatusCancelled, At: at(1)}}, time.Time{}, time.Time{}},
		{"left the waiting room and came back", []StatusChange{{Status: StatusArrived, At: at(0)}, {Status: StatusBooked, At: at(1)},
			{Status: StatusArrived, At: at(2)}, {Status: StatusCheckedIn, At: at(4)}, {Status: StatusFulfilled, At: at(30)}}, at(4), at(30)},
	} {
		start, end := VisitPeriod(c.changes)
		if !start.Equal(c.start) || !end.Equal(c.end) {
			t.Errorf("%s: %v-%v, want %v-%v", c.name, start, end, c.start, c.end)
		}
	}
}

// testEncounters: a visit admitted and ended is a finished Encounter with
// its actual period and status history (from booking on, as the
// appointment's status history keeps it); a cancelled one is cancelled with
// no period; reading them is audited.
func testEncounters(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	clinician := Actor{ID: "user-clinician", Role: RoleClinician}
	done := f.mustBook("2026-06-02T10:00:00+02:00")
	stMust(s.SetStatus(ctx, clinician, done.ID, StatusArrived, ""))(t)
	stMust(s.SetStatus(ctx, clinician, done.ID, StatusCheckedIn, ""))(t)
	stMust(s.SetStatus(ctx, clinician, done.ID, StatusFulfilled, "all well: no change"))(t)
	off := f.mustBook("2026-06-03T10:00:00+02:00")
	stMust(s.SetStatus(ctx, f.staff, off.ID, StatusCancelled, "ill"))(t)
	planned := f.mustBook("2026-06-04T10:00:00+02:00")

	es := stMust(s.Encounters(ctx, clinician, f.pat.ID, ""))(t)
	if len(es) != 3 || es[0].ID != done.ID || es[1].ID != off.ID || es[2].ID != planned.ID {
		t.Fatalf("encounters %+v", es)
	}
	e := es[0]
	var hist []string
	for _, h := range e.StatusHist {
		hist = append(hist, h.Status)
	}
	if e.Status != "finished" || e.Period == nil || e.Period.Start == "" || e.Period.End == "" || instantAfter(t, e.Period.Start, e.Period.End) ||
		!slices.Equal(hist, []string{"planned", "arrived", "in-progress", "finished"}) || e.StatusHist[2].Period.Start != e.Period.Start ||
		e.Class.Code != "VR" || len(e.Type) != 1 || e.Type[0].Text != f.typ.Name || e.Subject.Display != f.pat.Name ||
		e.Participant[0].Individual.Reference != "Practitioner/"+f.clin.ID {
		t.Errorf("finished visit %+v (period %+v)", e, e.Period)
	}
	if c := es[1]; c.Status != "cancelled" || c.Period != nil || len(c.StatusHist) != 2 {
		t.Errorf("cancelled visit %+v", c)
	}
	if p := es[2]; p.Status != "planned" || p.Period != nil || len(p.StatusHist) != 1 {
		t.Errorf("planned visit %+v", p)
	}
	one := stMust(s.Encounters(ctx, clinician, "", done.ID))(t)
	if len(one) != 1 || one[0].Period == nil || *one[0].Period != *e.Period {
		t.Errorf("one encounter %+v, want the same as in the list", one)
	}
	_, err := s.Encounters(ctx, clinician, "", "no-such")
	stErr(t, err, ErrNotFound, "no appointment")
	_, err = s.Encounters(ctx, clinician, "no-such", "")
	stErr(t, err, ErrNotFound, "no patient")
	rows := stMust(readAudit(ctx, s, f.admin, f.pat.ID))(t)
	var reads []string
	for _, r := range rows {
		if r.Entity == "encounter" {
			reads = append(reads, r.Action+" "+r.EntityID)
		}
	}
	if len(reads) != 2 || !slices.Contains(reads, "list ") || !slices.Contains(reads, "read "+done.ID) {
		t.Errorf("encounter audit rows %q", reads)
	}
}

// instantAfter says whether FHIR instant a is after b, as times: the text
// drops trailing zeros of the milliseconds, so "…28.84Z" is before
// "…28.844Z" though it sorts after it.
func instantAfter(t *testing.T, a, b string) bool {
	t.Helper()
	ta, err := time.Parse(time.RFC3339Nano, a)
	if err != nil {
		t.Fatalf("instant %q: %v", a, err)
	}
	tb, err := time.Parse(time.RFC3339Nano, b)
	if err != nil {
		t.Fatalf("instant %q: %v", b, err)
	}
	return ta.After(tb)
}
