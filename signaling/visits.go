package signaling

import (
	"context"
	"errors"
	"time"
)

// Visits is what signaling needs to know of the appointment behind an
// appointment room (whose id is the appointment id). Package scheduler
// satisfies it through cmd/vclinic.
type Visits interface {
	// Window says whether the appointment's links may be used at now. It
	// returns ErrNoVisit when id is not an appointment.
	Window(ctx context.Context, id string, now time.Time) (VisitWindow, error)
	// Arrived records that a guest is in the waiting room.
	Arrived(ctx context.Context, id string, by *Claims) error
	// Admitted records that a clinician let the waiting guests in: the
	// visit's admission, and the guests besides the patient among them
	// (relatives, interpreters: "role|subject" each, none when only the
	// patient was waiting), so that the visit's room, opened again on
	// another node or after everyone left, lets them in without waiting
	// again (VisitWindow.Let).
	Admitted(ctx context.Context, id string, by *Claims, guests []string) error
	// Ended records that the clinician ended the visit.
	Ended(ctx context.Context, id string, by *Claims) error
}

// ErrNoVisit means a room is not an appointment's.
var ErrNoVisit = errors.New("no such appointment")

// Visit window states.
const (
	WindowEarly   = "early"   // before the link opens; come back at Opens
	WindowOpen    = "open"    // the link works now
	WindowExpired = "expired" // after it closed, or the appointment was cancelled or ended
)

// VisitWindow is when an appointment's links work.
type VisitWindow struct {
	State  string    `json:"state"`
	Opens  time.Time `json:"opens"`
	Closes time.Time `json:"closes"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Clinician is the name shown to the patient ("Dr. Anna Holm").
	Clinician string `json:"clinician,omitempty"`
	// Practitioner is the token subject of that clinician: the one clinician
	// who may join the visit, admit and end it. Empty when the appointment's
	// clinician cannot sign in, and then no clinician may. Never sent to
	// clients.
	Practitioner string `json:"-"`
	// Admitted says that the clinician has let the guests in: a room opened
	// again (on another node after its node died, or after everyone left)
	// lets guests in without a second admission. Never sent to clients.
	Admitted bool `json:"-"`
	// Let are the guests besides the patient the clinician admitted before
	// ("role|subject" each, as Visits.Admitted was told): they come back
	// without waiting. Never sent to clients.
	Let []string `json:"-"`
}
