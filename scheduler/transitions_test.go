package scheduler

import (
	"errors"
	"slices"
	"testing"
)

func TestCheckTransition(t *testing.T) {
	all := []Status{StatusBooked, StatusArrived, StatusCheckedIn, StatusFulfilled, StatusCancelled, StatusNoShow, StatusEnteredInError}
	for _, from := range all {
		for _, to := range all {
			err := CheckTransition(from, to)
			allowed := slices.Contains(NextStatuses(from), to)
			if allowed != (err == nil) {
				t.Errorf("%s -> %s: %v, NextStatuses says allowed %v", from, to, err, allowed)
			}
			if err != nil && (!errors.Is(err, ErrConflict) || Reason(err) == "") {
				t.Errorf("%s -> %s: %v, want ErrConflict with a reason", from, to, err)
			}
		}
		// Nothing leads back to holding time once it is freed.
		if !from.Occupies() {
			for _, to := range NextStatuses(from) {
				if to.Occupies() {
					t.Errorf("%s -> %s makes an appointment occupy time again", from, to)
				}
			}
		}
	}
	for _, tc := range []struct {
		from, to Status
		reason   string
	}{
		{StatusBooked, StatusFulfilled, "an appointment booked cannot become fulfilled, only arrived, cancelled, noshow, entered-in-error"},
		{StatusCancelled, StatusCancelled, "the appointment is already cancelled"},
		{StatusEnteredInError, StatusBooked, "an appointment entered-in-error cannot change status"},
	} {
		if got := Reason(CheckTransition(tc.from, tc.to)); got != tc.reason {
			t.Errorf("%s -> %s: reason %q, want %q", tc.from, tc.to, got, tc.reason)
		}
	}
	if err := CheckTransition(StatusBooked, "proposed"); !errors.Is(err, ErrUnprocessable) {
		t.Errorf("to an unknown status: %v, want ErrUnprocessable", err)
	}
}
