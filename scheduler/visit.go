package scheduler

import "time"

// LinkPolicy says when an appointment's invitation links work. The server
// decides at every use, from the appointment as it is now: a rescheduled
// appointment moves the window, a cancelled or finished one closes it.
type LinkPolicy struct {
	// OpensBefore is how long before the start a link opens. Default 15 min.
	OpensBefore time.Duration
	// GraceAfter is how long after the end a link still works. Default 30 min.
	GraceAfter time.Duration
}

func (p LinkPolicy) withDefaults() LinkPolicy {
	if p.OpensBefore == 0 {
		p.OpensBefore = 15 * time.Minute
	}
	if p.GraceAfter == 0 {
		p.GraceAfter = 30 * time.Minute
	}
	return p
}

// Link window states.
const (
	LinkEarly   = "early"
	LinkOpen    = "open"
	LinkExpired = "expired"
)

// LinkWindow is when an appointment's links work, and whether they do at a
// given moment.
type LinkWindow struct {
	State  string    `json:"state"`
	Opens  time.Time `json:"opens"`
	Closes time.Time `json:"closes"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// Window returns a's link window at now.
func (p LinkPolicy) Window(a Appointment, now time.Time) LinkWindow {
	p = p.withDefaults()
	w := LinkWindow{
		Opens:  a.Start.Add(-p.OpensBefore).UTC(),
		Closes: a.End.Add(p.GraceAfter).UTC(),
		Start:  a.Start.UTC(),
		End:    a.End.UTC(),
	}
	switch {
	case a.Status != StatusBooked && a.Status != StatusArrived && a.Status != StatusCheckedIn:
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
