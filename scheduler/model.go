package scheduler

import (
	"fmt"
	"time"
)

// DefaultZone is the zone availability is kept in unless a clinician says
// otherwise.
const DefaultZone = "Europe/Copenhagen"

// Clinician is a member of staff who sees patients.
type Clinician struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Department string    `json:"department"`
	Zone       string    `json:"zone"` // IANA zone of the clinician's availability
	UserID     string    `json:"userId,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
}

// Patient is a person who is booked.
type Patient struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Contact   string    `json:"contact,omitempty"` // free text; email and phone are taken from it when it parses
	Email     string    `json:"email,omitempty"`
	Phone     string    `json:"phone,omitempty"` // E.164
	ContactBy string    `json:"contactBy"`       // ContactEmail, ContactSMS, ContactBoth or ContactNone
	Language  string    `json:"language"`        // da, en, or "" for the clinic's
	CPR       CPR       `json:"cpr,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// CPR is a Danish civil registration number: 10 digits. It is health data:
// String and LogValue redact it so that it never reaches a log.
type CPR string

// Validate checks the form (10 digits). Modulus 11 is not checked: numbers
// issued since 2007 need not satisfy it.
func (c CPR) Validate() error {
	if c == "" {
		return nil
	}
	if len(c) != 10 {
		return fmt.Errorf("cpr: want 10 digits")
	}
	for _, r := range c {
		if r < '0' || r > '9' {
			return fmt.Errorf("cpr: want 10 digits")
		}
	}
	return nil
}

// String redacts the number.
func (c CPR) String() string {
	if c == "" {
		return ""
	}
	return "CPR(redacted)"
}

// AppointmentType is a kind of visit with its length and booking rules.
type AppointmentType struct {
	ID string `json:"id"`
	// Name is the English name, else the Danish: Names.In("en").
	Name         string        `json:"name"`
	Names        Names         `json:"names"`
	Duration     time.Duration `json:"-"`
	BufferBefore time.Duration `json:"-"`
	BufferAfter  time.Duration `json:"-"`
	MinNotice    time.Duration `json:"-"` // bookings start at least this long from now
	// Horizon: bookings start at most this far ahead; 0 is the clinic's
	// horizon (Settings.Horizon).
	Horizon time.Duration `json:"-"`
	// Expected are the measurements (LOINC codes) a visit of this type
	// expects from the home kit before it.
	Expected []string `json:"expected"`
	// Retired types are offered for no new booking; the visits booked
	// with them keep them.
	Retired bool `json:"retired"`
}

// WallClock is a time of day in minutes after local midnight, 0-1440.
type WallClock int

// Clock returns the wall-clock time h:m.
func Clock(h, m int) WallClock { return WallClock(h*60 + m) }

func (w WallClock) String() string { return fmt.Sprintf("%02d:%02d", int(w)/60, int(w)%60) }

// WeeklyRule is a recurring window of availability, in the clinician's zone.
type WeeklyRule struct {
	Weekday time.Weekday `json:"weekday"` // 0 Sunday ... 6 Saturday
	Start   WallClock    `json:"start"`
	End     WallClock    `json:"end"` // after Start; 1440 means midnight at the end of the day
}

// Date is a calendar date without a zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// ExceptionKind says whether an exception removes or adds availability.
type ExceptionKind string

// Exception kinds.
const (
	Absence    ExceptionKind = "absence"     // not available in [Start, End) of Date
	ExtraHours ExceptionKind = "extra-hours" // available in [Start, End) of Date besides the rules
)

// Exception changes one date's availability, in the clinician's zone.
type Exception struct {
	ID    string        `json:"id"`
	Date  Date          `json:"date"`
	Kind  ExceptionKind `json:"kind"`
	Start WallClock     `json:"start"` // Start 0 and End 1440 for a whole day
	End   WallClock     `json:"end"`
}

// Availability is everything that says when a clinician can be booked.
type Availability struct {
	ClinicianID string       `json:"clinicianId"`
	Zone        string       `json:"zone"`
	Rules       []WeeklyRule `json:"rules"`
	Exceptions  []Exception  `json:"exceptions"`
}

// Status is an appointment's FHIR R4 Appointment.status
// (http://hl7.org/fhir/R4/valueset-appointmentstatus.html).
type Status string

// The statuses vclinic uses.
const (
	StatusBooked         Status = "booked"
	StatusArrived        Status = "arrived"    // the patient is in the waiting room
	StatusCheckedIn      Status = "checked-in" // admitted by the clinician
	StatusFulfilled      Status = "fulfilled"
	StatusCancelled      Status = "cancelled"
	StatusNoShow         Status = "noshow"
	StatusEnteredInError Status = "entered-in-error"
)

// Occupies reports whether an appointment in this status holds its time.
func (s Status) Occupies() bool {
	return s != StatusCancelled && s != StatusEnteredInError
}

// Active reports whether the visit can still take place: booked, the
// patient arrived, or the consultation under way.
func (s Status) Active() bool {
	return s == StatusBooked || s == StatusArrived || s == StatusCheckedIn
}

// Interval is a half-open span [Start, End) of instants.
type Interval struct {
	Start time.Time
	End   time.Time
}

// Overlaps reports whether two half-open intervals share an instant.
func (i Interval) Overlaps(o Interval) bool {
	return i.Start.Before(o.End) && o.Start.Before(i.End)
}

// Appointment is a booked video consultation. Times are UTC instants.
type Appointment struct {
	ID           string        `json:"id"`
	ClinicianID  string        `json:"clinicianId"`
	PatientID    string        `json:"patientId"`
	TypeID       string        `json:"typeId,omitempty"`
	Start        time.Time     `json:"start"`
	End          time.Time     `json:"end"`
	BufferBefore time.Duration `json:"-"`
	BufferAfter  time.Duration `json:"-"`
	Status       Status        `json:"status"`
	// Sequence counts changes that matter to a calendar (RFC 5545 §3.8.7.4).
	Sequence  int       `json:"sequence"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Occupied is the span the appointment keeps the clinician busy, buffers included.
func (a Appointment) Occupied() Interval {
	return Interval{Start: a.Start.Add(-a.BufferBefore), End: a.End.Add(a.BufferAfter)}
}

// Actor is who performs a store operation; every read and write of patient data
// names one, and the audit log records it.
type Actor struct {
	ID   string // user id, patient id or "system"
	Role string // clinician, scheduler, admin, patient, relative, interpreter, gateway, system
	// Address is where the request came from (the client's IP address),
	// for the audit log; "" for the clinic's own work.
	Address string
}

// System is the actor of the clinic's own background work (seeding, expiry).
var System = Actor{ID: "system", Role: "system"}
