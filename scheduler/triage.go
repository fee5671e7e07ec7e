package scheduler

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"time"

	"vclinic/internal/records"
)

// The clinician's triage list (GET /api/v1/triage): the patients they care
// for, with the home kit's figures (TriageKit, which cmd wires to the home
// kit; the scheduler does not import it), most urgent first. It is
// decision support, not a diagnosis.
//
// Whose: the patients with whom the clinician has a standing care relation
// (care.go): an appointment with them from CareWindow before today to
// CareWindow after it (not cancelled or entered in error), or a place on
// their care team. Breaking the glass opens one patient's data for a few
// hours; it does not put the patient on the clinician's list.
//
// The order (TriageLess), a rule a clinician can check by eye:
//
//  1. a NEWS2 red score (one parameter scoring 3) or high band (7+) first;
//  2. then readings outside limits waiting for an acknowledgement;
//  3. then a NEWS2 medium band (5-6);
//  4. then expected measurements not received before a visit within 24 h;
//  5. then everyone else.
//
// Within each group: more readings outside limits first, then the higher
// NEWS2 total, then the longest time since the last reading (never read
// first), then the nearest next appointment, then the name.

// MaxTriage bounds the list. A clinician with more patients sees those with
// the nearest next appointment (then the latest previous one), and the
// answer says the list was cut.
const MaxTriage = 200

// TriageVisitSoon is how close a visit must be for its missing expected
// measurements to raise a patient.
const TriageVisitSoon = 24 * time.Hour

// TriageQuietAfter is how long without a reading makes "no reading for N
// days" a reason of its own.
const TriageQuietAfter = 48 * time.Hour

// Urgency reasons, in the order of the rule.
const (
	ReasonNEWS2Red        = "news2-red"
	ReasonNEWS2High       = "news2-high"
	ReasonFlagged         = "flagged"
	ReasonNEWS2Medium     = "news2-medium"
	ReasonExpectedMissing = "expected-missing"
	ReasonQuiet           = "quiet"
)

// NEWS2 risk bands as the home kit names them (RCP 2017 Chart 2).
const (
	triageRiskHigh   = "high"
	triageRiskMedium = "medium"
)

// TriageKit is what the triage list needs of the home kit; cmd wires the
// home kit's store to it.
type TriageKit interface {
	// Triage reads the figures of subjects at now, in bulk, and records in
	// the audit log that actor was shown each patient's.
	Triage(ctx context.Context, actor Actor, subjects []TriageSubject, now time.Time) (map[string]TriageFigures, error)
}

// TriageSubject is a patient the home kit is asked about.
type TriageSubject struct {
	PatientID string
	// FlaggedSince: readings outside limits count from the end of the
	// previous held visit, or FlaggedWindow before now (as the day list).
	FlaggedSince time.Time
	// NextAppointmentID, "" when none; its expected measurements count
	// from ExpectedSince, its booking (as the review statistics).
	NextAppointmentID string
	ExpectedSince     time.Time
}

// TriageReading is the newest reading outside limits.
type TriageReading struct {
	ReadingID string    `json:"readingId"`
	Code      string    `json:"code"` // LOINC
	Value     string    `json:"value"`
	Unit      string    `json:"unit"`    // UCUM
	Outside   string    `json:"outside"` // below, above
	At        time.Time `json:"at"`
}

// TriageNEWS2 is the partial NEWS2, with the patient's own SpO2 scale and
// oxygen.
type TriageNEWS2 struct {
	Total         int      `json:"total"`
	Scored        int      `json:"scored"` // "Scored of Of parameters"
	Of            int      `json:"of"`
	RedScore      bool     `json:"redScore"`
	RedParameters []string `json:"redParameters,omitempty"`
	Risk          string   `json:"risk"` // low, low-medium, medium, high, unscored
	Scale         int      `json:"scale"`
	Oxygen        string   `json:"oxygen"` // "" when not recorded
}

// TriageFigures are one patient's home kit figures.
type TriageFigures struct {
	Flagged       int
	NewestFlagged *TriageReading
	NEWS2         TriageNEWS2
	Missing       []string // LOINC codes
	LastReading   *time.Time
}

// TriageAppointment is an appointment as the list shows it.
type TriageAppointment struct {
	ID     string    `json:"id"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Status Status    `json:"status"`
}

// TriageFlagged is the readings outside limits not yet acknowledged.
type TriageFlagged struct {
	Count  int            `json:"count"`
	Newest *TriageReading `json:"newest"`
}

// TriageEntry is one patient of the list.
type TriageEntry struct {
	PatientID string             `json:"patientId"`
	Name      string             `json:"name"`
	Next      *TriageAppointment `json:"next"`
	Previous  *TriageAppointment `json:"previous"`
	Flagged   TriageFlagged      `json:"flagged"`
	NEWS2     TriageNEWS2        `json:"news2"`
	// MissingExpected lists what the next appointment expects and has not
	// received (LOINC codes), empty when nothing is missing.
	MissingExpected []string   `json:"missingExpected"`
	LastReadingAt   *time.Time `json:"lastReadingAt"`
	// Group is the rule's group (1-5); Reasons name every reason that
	// applies, in the rule's order.
	Group   int      `json:"group"`
	Reasons []string `json:"reasons"`

	flaggedSince, expectedSince time.Time
}

// TriagePatients lists the patients clinician actor cares for at now (at
// most MaxTriage; cut says more were left out), each with their next and
// previous appointment with actor and what the home kit needs to read their
// figures. It reads names and times only and writes no audit row: the home
// kit's read of the figures is audited per patient.
func (s *Store) TriagePatients(ctx context.Context, actor Actor, now time.Time) (out []TriageEntry, cut bool, err error) {
	if err := checkActor(actor); err != nil {
		return nil, false, err
	}
	if actor.Role != RoleClinician {
		return nil, false, because(ErrForbidden, "the triage list is a clinician's own patients")
	}
	d := s.db.Dialect()
	// $1 the clinician's user, $2 and $3 the care window.
	const related = `SELECT a.patient_id FROM appointments a JOIN clinicians c ON c.id = a.clinician_id
		WHERE c.user_id = $1 AND a.status NOT IN ('cancelled', 'entered-in-error') AND a.start_at < $2 AND a.end_at > $3
		UNION SELECT patient_id FROM care_team WHERE user_id = $1`
	args := []any{actor.ID, d.TS(now.Add(s.cfg.CareWindow)), d.TS(now.Add(-s.cfg.CareWindow))}
	byID := map[string]*TriageEntry{}
	var order []string
	err = records.QueryRows(ctx, s.db, `SELECT id, name FROM patients WHERE id IN (`+related+`) ORDER BY id`, args, func(r *sql.Rows) error {
		var e TriageEntry
		if err := r.Scan(&e.PatientID, &e.Name); err != nil {
			return err
		}
		e.flaggedSince = now.Add(-FlaggedWindow)
		byID[e.PatientID] = &e
		order = append(order, e.PatientID)
		return nil
	})
	if err != nil {
		return nil, false, records.Map(err)
	}
	if len(order) == 0 {
		return []TriageEntry{}, false, nil
	}
	// Every live appointment of these patients: the clinician's own give
	// next and previous; any clinician's held visit moves the start of
	// the flagged count on.
	err = records.QueryRows(ctx, s.db, `SELECT a.id, a.patient_id, a.start_at, a.end_at, a.status, a.created_at, c.user_id = $1
		FROM appointments a JOIN clinicians c ON c.id = a.clinician_id
		WHERE a.patient_id IN (`+related+`) AND a.status NOT IN ('cancelled', 'entered-in-error')`, args, func(r *sql.Rows) error {
		var ap TriageAppointment
		var patient string
		var created time.Time
		var mine sql.NullBool
		if err := r.Scan(&ap.ID, &patient, records.Time(&ap.Start), records.Time(&ap.End), &ap.Status, records.Time(&created), &mine); err != nil {
			return err
		}
		e := byID[patient]
		if e == nil {
			return nil
		}
		if ap.Status == StatusFulfilled && !ap.End.After(now) && ap.End.After(e.flaggedSince) {
			e.flaggedSince = ap.End
		}
		if !mine.Bool {
			return nil
		}
		ap.Start, ap.End = ap.Start.UTC(), ap.End.UTC()
		upcoming := ap.End.After(now) && (ap.Status == StatusBooked || ap.Status == StatusArrived || ap.Status == StatusCheckedIn)
		switch {
		case upcoming:
			if e.Next == nil || ap.Start.Before(e.Next.Start) || ap.Start.Equal(e.Next.Start) && ap.ID < e.Next.ID {
				x := ap
				e.Next, e.expectedSince = &x, created
			}
		case ap.Start.Before(now):
			if e.Previous == nil || ap.Start.After(e.Previous.Start) || ap.Start.Equal(e.Previous.Start) && ap.ID > e.Previous.ID {
				x := ap
				e.Previous = &x
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, records.Map(err)
	}
	out = make([]TriageEntry, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	if len(out) > MaxTriage {
		// The nearest next appointment first, then the latest previous.
		slices.SortStableFunc(out, func(a, b TriageEntry) int {
			if c := cmpNext(a.Next, b.Next); c != 0 {
				return c
			}
			at := func(p *TriageAppointment) int64 {
				if p == nil {
					return 0
				}
				return p.Start.UnixMilli()
			}
			return cmp.Compare(at(b.Previous), at(a.Previous))
		})
		out, cut = out[:MaxTriage], true
	}
	return out, cut, nil
}

// Subject is what the home kit is asked about e.
func (e TriageEntry) Subject() TriageSubject {
	s := TriageSubject{PatientID: e.PatientID, FlaggedSince: e.flaggedSince}
	if e.Next != nil {
		s.NextAppointmentID, s.ExpectedSince = e.Next.ID, e.expectedSince
	}
	return s
}

// WithFigures gives e the home kit's figures f and its group and reasons
// at now.
func (e TriageEntry) WithFigures(f TriageFigures, now time.Time) TriageEntry {
	e.Flagged = TriageFlagged{Count: f.Flagged, Newest: f.NewestFlagged}
	e.NEWS2 = f.NEWS2
	e.MissingExpected = f.Missing
	if e.MissingExpected == nil {
		e.MissingExpected = []string{}
	}
	e.LastReadingAt = f.LastReading
	e.Reasons = []string{}
	e.Group = 5
	add := func(group int, reason string) {
		e.Reasons = append(e.Reasons, reason)
		e.Group = min(e.Group, group)
	}
	if e.NEWS2.RedScore {
		add(1, ReasonNEWS2Red)
	}
	if e.NEWS2.Risk == triageRiskHigh {
		add(1, ReasonNEWS2High)
	}
	if e.Flagged.Count > 0 {
		add(2, ReasonFlagged)
	}
	if e.NEWS2.Risk == triageRiskMedium {
		add(3, ReasonNEWS2Medium)
	}
	if len(e.MissingExpected) > 0 && e.Next != nil && e.Next.Start.Sub(now) <= TriageVisitSoon {
		add(4, ReasonExpectedMissing)
	}
	if e.LastReadingAt == nil || now.Sub(*e.LastReadingAt) >= TriageQuietAfter {
		e.Reasons = append(e.Reasons, ReasonQuiet)
	}
	return e
}

// cmpNext orders next appointments nearest first, none last.
func cmpNext(a, b *TriageAppointment) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Start.Compare(b.Start)
}

// TriageCompare orders two entries (with their figures) by the rule above.
func TriageCompare(a, b TriageEntry) int {
	if c := cmp.Compare(a.Group, b.Group); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Flagged.Count, a.Flagged.Count); c != 0 {
		return c
	}
	if c := cmp.Compare(b.NEWS2.Total, a.NEWS2.Total); c != 0 {
		return c
	}
	// The longest since the last reading first; never read before all.
	switch {
	case a.LastReadingAt == nil && b.LastReadingAt != nil:
		return -1
	case a.LastReadingAt != nil && b.LastReadingAt == nil:
		return 1
	case a.LastReadingAt != nil:
		if c := a.LastReadingAt.Compare(*b.LastReadingAt); c != 0 {
			return c
		}
	}
	if c := cmpNext(a.Next, b.Next); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return cmp.Compare(a.PatientID, b.PatientID)
}
