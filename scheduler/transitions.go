package scheduler

import (
	"slices"
	"strings"
)

// The appointment workflow, over FHIR R4 Appointment.status
// (http://hl7.org/fhir/R4/valueset-appointmentstatus.html):
//
//	booked     -> arrived, cancelled, noshow, entered-in-error
//	arrived    -> booked, checked-in, fulfilled, cancelled, entered-in-error
//	checked-in -> fulfilled, cancelled, entered-in-error
//	fulfilled, cancelled, noshow -> entered-in-error
//	entered-in-error: final
//
//   - booked: the patient may arrive (join the waiting room), not show up, or
//     the appointment may be cancelled.
//   - arrived: the patient waits. The clinician admits them (checked-in) or
//     records the visit as done (fulfilled); the visit may still be
//     cancelled; a patient who leaves the waiting room before admission goes
//     back to booked. Not noshow: the patient came.
//   - checked-in: the consultation is under way; it ends fulfilled, or
//     cancelled when it has to be abandoned.
//   - fulfilled, cancelled, noshow: final, except that any record can turn
//     out to have been entered in error.
//   - entered-in-error: final.
//
// Cancelled and entered-in-error free the clinician's time (Status.Occupies),
// and nothing leads out of them but entered-in-error, so a change of status
// never makes an appointment occupy time again and needs no overlap check.

// NextStatuses returns the statuses an appointment in status from may move
// to.
func NextStatuses(from Status) []Status {
	switch from {
	case StatusBooked:
		return []Status{StatusArrived, StatusCancelled, StatusNoShow, StatusEnteredInError}
	case StatusArrived:
		return []Status{StatusBooked, StatusCheckedIn, StatusFulfilled, StatusCancelled, StatusEnteredInError}
	case StatusCheckedIn:
		return []Status{StatusFulfilled, StatusCancelled, StatusEnteredInError}
	case StatusFulfilled, StatusCancelled, StatusNoShow:
		return []Status{StatusEnteredInError}
	}
	return nil
}

// knownStatus reports whether s is one of the statuses vclinic uses.
func knownStatus(s Status) bool {
	switch s {
	case StatusBooked, StatusArrived, StatusCheckedIn, StatusFulfilled, StatusCancelled, StatusNoShow, StatusEnteredInError:
		return true
	}
	return false
}

// CheckTransition returns nil if an appointment may go from status from to
// status to; otherwise an error wrapping ErrConflict (ErrUnprocessable for a
// status vclinic does not use) with the reason.
func CheckTransition(from, to Status) error {
	if !knownStatus(to) {
		return because(ErrUnprocessable, "unknown status %q", to)
	}
	next := NextStatuses(from)
	switch {
	case from == to:
		return because(ErrConflict, "the appointment is already %s", to)
	case slices.Contains(next, to):
		return nil
	case len(next) == 0:
		return because(ErrConflict, "an appointment %s cannot change status", from)
	}
	names := make([]string, len(next))
	for i, s := range next {
		names[i] = string(s)
	}
	return because(ErrConflict, "an appointment %s cannot become %s, only %s", from, to, strings.Join(names, ", "))
}

// bumpsSequence reports whether moving to status to changes the appointment
// as a calendar sees it (RFC 5545 §3.8.7.4): it leaves the calendar.
func bumpsSequence(to Status) bool { return !to.Occupies() }
