package scheduler

import (
	"fmt"
	"strings"
	"testing"
)

// testGuestsLet (conformance): the visit's clinician lets guests in; each
// is kept once, audited once, and read back in order; a patient, another
// clinician and bad guest names are refused.
func testGuestsLet(t *testing.T, f *storeFixture) {
	s, ctx := f.s, f.ctx
	u := f.signedInClinician("guests.lund", "Dr. Lund")
	a := f.mustBook("2026-06-02T10:00:00+02:00")
	own := Actor{ID: u.ID, Role: RoleClinician}
	if got := stMust(s.GuestsLet(ctx, a.ID))(t); len(got) != 0 {
		t.Fatalf("before any admission: %v", got)
	}
	before := auditCount(t, f)
	if err := s.LetGuests(ctx, own, a.ID, []string{"relative|relative-abc", "interpreter|interpreter-def"}); err != nil {
		t.Fatal(err)
	}
	if err := s.LetGuests(ctx, own, a.ID, []string{"relative|relative-abc"}); err != nil {
		t.Fatal(err)
	}
	if got := auditCount(t, f) - before; got != 2 {
		t.Errorf("%d audit rows for two guests let in (one of them twice), want 2", got)
	}
	if got := fmt.Sprint(stMust(s.GuestsLet(ctx, a.ID))(t)); got != "[interpreter|interpreter-def relative|relative-abc]" {
		t.Errorf("guests let in: %s", got)
	}
	for _, tc := range []struct {
		actor  Actor
		guests []string
		err    error
		reason string
	}{
		{Actor{ID: f.pat.ID, Role: RolePatient}, []string{"relative|relative-x"}, ErrForbidden, "only staff"},
		{Actor{ID: "user-other", Role: RoleClinician}, []string{"relative|relative-x"}, ErrForbidden, "another clinician's"},
		{own, []string{"patient|" + f.pat.ID}, ErrUnprocessable, "relative or interpreter"},
		{own, []string{"relative|"}, ErrUnprocessable, "the subject"},
		{own, []string{"relative|a b"}, ErrUnprocessable, "no spaces"},
		{own, []string{"relative|" + strings.Repeat("x", 200)}, ErrUnprocessable, "the subject"},
	} {
		stErr(t, s.LetGuests(ctx, tc.actor, a.ID, tc.guests), tc.err, tc.reason)
	}
	stErr(t, s.LetGuests(ctx, own, "no-such-appointment", []string{"relative|relative-x"}), ErrNotFound, "")
	if got := stMust(s.GuestsLet(ctx, a.ID))(t); len(got) != 2 {
		t.Errorf("after the refusals: %v", got)
	}
}
