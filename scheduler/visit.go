package scheduler

import (
	"errors"
	"time"
)

// LinkPolicy says when an appointment's invitation links work. The server
// decides at every use, from the appointment as it is now: a rescheduled
// appointment moves the window, a cancelled or finished one closes it.
//
// A link belongs to one appointment and has two spans. It opens the visit
// page from booking until a day after the visit ends or is cancelled (Until),
// so that the patient can try their devices beforehand and is told what
// happened; and it lets its bearer join the visit, and send home-kit
// readings, only in the visit's window (Opens to Closes, State open). It
// never reads the patient's history.
type LinkPolicy struct {
	// OpensBefore is how long before the start a link opens. Default 15 min.
	OpensBefore time.Duration
	// GraceAfter is how long after the end a link still works. Default 30 min.
	GraceAfter time.Duration
	// PageAfter is how long after the visit ended, or was cancelled, the
	// link still opens the visit page (which then says what happened).
	// Default 24 h.
	PageAfter time.Duration
}

func (p LinkPolicy) withDefaults() LinkPolicy {
	if p.OpensBefore == 0 {
		p.OpensBefore = 15 * time.Minute
	}
	if p.GraceAfter == 0 {
		p.GraceAfter = 30 * time.Minute
	}
	if p.PageAfter == 0 {
		p.PageAfter = 24 * time.Hour
	}
	return p
}

// Until is when an appointment's links stop working altogether: PageAfter
// after the visit's end (or after it was recorded as fulfilled, when that
// came later), or after the appointment was cancelled, marked a no-show or
// entered in error. An invitation token's own expiry is set to this when it
// is minted; a reschedule moves it on, and the server decides at each use.
func (p LinkPolicy) Until(a Appointment) time.Time {
	p = p.withDefaults()
	end := a.End
	switch a.Status {
	case StatusBooked, StatusArrived, StatusCheckedIn:
	case StatusFulfilled:
		if a.UpdatedAt.After(end) {
			end = a.UpdatedAt
		}
	default: // left the calendar when last updated
		end = a.UpdatedAt
	}
	return end.Add(p.PageAfter).UTC()
}

// Link window states.
const (
	LinkEarly   = "early"
	LinkOpen    = "open"
	LinkExpired = "expired"
)

// What happened to a visit, as its invitation link's bearer is told
// (GET /api/v1/visit): VisitEarly and VisitOpen as the link window's, or
// the reason the link does not open the visit now.
const (
	VisitEarly     = LinkEarly
	VisitMoved     = "moved" // early, and rescheduled since it was booked: the same link, a new time
	VisitOpen      = LinkOpen
	VisitEnded     = "ended"     // fulfilled, or the patient did not come
	VisitCancelled = "cancelled" // cancelled, or entered in error
	VisitExpired   = LinkExpired // the link's time is over (after the window closed)
	VisitInvalid   = "invalid"   // not a working link of ours: cut off, tampered with, or of something else
)

// ErrLinkEnded: a genuine invitation link whose time is over
// (LinkPolicy.Until has passed). Authenticators wrap it, so that the visit
// page can say the link's time is over rather than that it is no link.
var ErrLinkEnded = errors.New("the invitation link has ended")

// Outcome says what happened to a, as of now: one of the Visit states but
// VisitInvalid, which belongs to the link, not the appointment.
func (p LinkPolicy) Outcome(a Appointment, now time.Time) string {
	switch a.Status {
	case StatusFulfilled, StatusNoShow:
		return VisitEnded
	case StatusCancelled, StatusEnteredInError:
		return VisitCancelled
	}
	w := p.Window(a, now)
	if w.State == LinkEarly && a.Sequence > 0 {
		return VisitMoved
	}
	return w.State
}

// LinkWindow is when an appointment's links work, and whether they do at a
// given moment.
type LinkWindow struct {
	State  string    `json:"state"`
	Opens  time.Time `json:"opens"`
	Closes time.Time `json:"closes"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Until is when the link stops opening the visit page (LinkPolicy.Until).
	Until time.Time `json:"until"`
	// Status is the appointment's, so that the page can say what happened
	// (cancelled, fulfilled) rather than only that the link is closed.
	Status Status `json:"status"`
}

// Window returns a's link window at now.
func (p LinkPolicy) Window(a Appointment, now time.Time) LinkWindow {
	p = p.withDefaults()
	w := LinkWindow{
		Opens:  a.Start.Add(-p.OpensBefore).UTC(),
		Closes: a.End.Add(p.GraceAfter).UTC(),
		Start:  a.Start.UTC(),
		End:    a.End.UTC(),
		Until:  p.Until(a),
		Status: a.Status,
	}
	switch {
	case !a.Status.Active():
		w.State = LinkExpired // cancelled, fulfilled, no-show or entered in error
	case now.Before(w.Opens):
		w.State = LinkEarly
	case !now.Before(w.Closes):
		w.State = LinkExpired
	default:
		w.State = LinkOpen
	}
	return w
}
