package homekit

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"vclinic/homekit/gatt"
	"vclinic/internal/records"
)

// The home kit's figures for a clinician's triage list, for many patients
// at once: unacknowledged readings outside limits, the partial NEWS2 with
// each patient's own SpO2 scale and oxygen (their watch), the expected
// measurements of the next visit not yet received, and the last reading.
// Each kind of figure is one query over all the patients asked about, not
// one per patient. The read is audited: one row per patient shown.

// MaxTriagePatients bounds one triage read.
const MaxTriagePatients = 200

// EntityTriage is the audit entity of a patient's figures shown in a
// clinician's triage list.
const EntityTriage = "triage"

// TriageSubject is a patient the triage list asks about.
type TriageSubject struct {
	PatientID string
	// FlaggedSince: unacknowledged readings outside limits observed at or
	// after it count (the day list's rule: since the previous held visit,
	// or a window before now).
	FlaggedSince time.Time
	// NextAppointmentID is the next visit, "" when none; its expected
	// measurements count as received when observed at or after
	// ExpectedSince.
	NextAppointmentID string
	ExpectedSince     time.Time
}

// TriageReading is a reading's value outside limits, as the list shows it.
type TriageReading struct {
	ReadingID string    `json:"readingId"`
	Code      string    `json:"code"` // LOINC
	Value     string    `json:"value"`
	Unit      string    `json:"unit"` // UCUM
	Outside   string    `json:"outside"`
	At        time.Time `json:"at"`
}

// TriageFigures are one patient's figures.
type TriageFigures struct {
	Flagged       int
	NewestFlagged *TriageReading
	NEWS2         NEWS2Score
	// Missing lists the LOINC codes the next appointment expects that have
	// not arrived (the blood pressure panel arrives with a systolic
	// pressure, as in Expected).
	Missing     []string
	LastReading *time.Time
}

// Triage reads the figures of subjects (at most MaxTriagePatients) at now
// and records, in the same transaction, one audit row per patient that
// actor was shown.
func (s *Store) Triage(ctx context.Context, actor Actor, subjects []TriageSubject, now time.Time) (map[string]TriageFigures, error) {
	if len(subjects) > MaxTriagePatients {
		return nil, because(ErrInvalid, "patients: at most %d at once, not %d", MaxTriagePatients, len(subjects))
	}
	if actor.ID == "" {
		return nil, because(ErrForbidden, "the triage list needs a signed-in clinician")
	}
	out := make(map[string]TriageFigures, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	ids := make([]string, len(subjects))
	flaggedFrom := subjects[0].FlaggedSince
	for i, sub := range subjects {
		ids[i] = sub.PatientID
		if sub.FlaggedSince.Before(flaggedFrom) {
			flaggedFrom = sub.FlaggedSince
		}
	}
	err := s.db.InTx(ctx, "triage figures", func(tx *sql.Tx) error {
		clear(out)
		figs := make(map[string]*TriageFigures, len(subjects))
		for _, sub := range subjects {
			figs[sub.PatientID] = &TriageFigures{}
		}
		if err := s.triageFlagged(ctx, tx, subjects, ids, flaggedFrom, figs); err != nil {
			return fmt.Errorf("flagged readings: %w", err)
		}
		if err := s.triageNEWS2(ctx, tx, ids, now, figs); err != nil {
			return fmt.Errorf("NEWS2: %w", err)
		}
		if err := s.triageExpected(ctx, tx, subjects, ids, figs); err != nil {
			return fmt.Errorf("expected measurements: %w", err)
		}
		if err := s.triageLast(ctx, tx, ids, figs); err != nil {
			return fmt.Errorf("last readings: %w", err)
		}
		for _, sub := range subjects {
			f := figs[sub.PatientID]
			out[sub.PatientID] = *f
			detail := fmt.Sprintf("triage list: %d readings outside limits, NEWS2 partial %d (%d of %d), %d expected not received",
				f.Flagged, f.NEWS2.Total, f.NEWS2.Scored, f.NEWS2.Of, len(f.Missing))
			if err := s.auditRecord(ctx, tx, actor, AuditRead, EntityTriage, "", sub.PatientID, detail); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// inList is "$from, $from+1, ..." for n arguments.
func inList(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// triageFlagged counts the unacknowledged readings outside limits and
// keeps the newest, with its first measurement outside.
func (s *Store) triageFlagged(ctx context.Context, tx *sql.Tx, subjects []TriageSubject, ids []string, from time.Time, figs map[string]*TriageFigures) error {
	since := make(map[string]time.Time, len(subjects))
	for _, sub := range subjects {
		since[sub.PatientID] = sub.FlaggedSince
	}
	seen := map[string]bool{}
	args := append([]any{s.ts(from)}, anys(ids)...)
	return records.QueryRows(ctx, tx, `SELECT r.patient_id, r.id, r.observed_at, m.code, m.value, m.unit, m.outside
		FROM homekit_readings r JOIN homekit_measurements m ON m.reading_id = r.id AND m.outside <> ''
		WHERE r.observed_at >= $1 AND r.patient_id IN (`+inList(2, len(ids))+`) AND `+flaggedSQL+`
		AND NOT EXISTS (SELECT 1 FROM homekit_acknowledgements a WHERE a.reading_id = r.id)
		ORDER BY r.observed_at DESC, r.id, m.idx`, args, func(r *sql.Rows) error {
		var x TriageReading
		var patient string
		var value sql.NullString
		if err := r.Scan(&patient, &x.ReadingID, records.Time(&x.At), &x.Code, &value, &x.Unit, &x.Outside); err != nil {
			return err
		}
		f := figs[patient]
		if f == nil || seen[x.ReadingID] || x.At.Before(since[patient]) {
			return nil
		}
		seen[x.ReadingID] = true
		f.Flagged++
		if f.NewestFlagged == nil {
			x.Value = value.String
			f.NewestFlagged = &x
		}
		return nil
	})
}

// news2ReadCodes are the codes the NEWS2 score reads.
func news2ReadCodes() []string {
	var out []string
	for _, m := range measuredParams {
		out = append(out, m.codes...)
	}
	slices.Sort(out)
	return out
}

// triageNEWS2 scores each patient's readings of the last NEWS2MaxAge with
// the SpO2 scale and oxygen of their watch (scale 1, oxygen not recorded
// when they have none). Older readings would not be scored (NEWS2MaxAge),
// so they are not read.
func (s *Store) triageNEWS2(ctx context.Context, tx *sql.Tx, ids []string, now time.Time, figs map[string]*TriageFigures) error {
	opts := make(map[string]NEWS2Options, len(ids))
	for _, id := range ids {
		opts[id] = NEWS2Options{Scale: SpO2Scale1, Now: now}
	}
	err := records.QueryRows(ctx, tx, `SELECT owner_id, spo2_scale, on_oxygen FROM homekit_watch
		WHERE owner = $1 AND owner_id IN (`+inList(2, len(ids))+`)`, append([]any{WatchOfPatient}, anys(ids)...), func(r *sql.Rows) error {
		var id string
		var scale int
		var oxygen bool
		if err := r.Scan(&id, &scale, &oxygen); err != nil {
			return err
		}
		o := opts[id]
		o.Scale = scale
		// The watch says only whether the patient is on oxygen; "not on
		// oxygen" may be a type's default rather than a clinician's record,
		// so it is taken as air and not counted as scored (as GET
		// /patients/{id}/news2 without oxygen=).
		if oxygen {
			o.Oxygen = OxygenOn
		}
		opts[id] = o
		return nil
	})
	if err != nil {
		return err
	}
	codes := news2ReadCodes()
	readings := map[string][]Reading{}
	args := append([]any{s.ts(now.Add(-NEWS2MaxAge)), s.ts(now)}, anys(codes)...)
	args = append(args, anys(ids)...)
	err = records.QueryRows(ctx, tx, `SELECT r.patient_id, r.id, r.source, r.device_id, r.observed_at,
			m.code, m.value, m.unit, m.absent, m.implausible
		FROM homekit_readings r JOIN homekit_measurements m ON m.reading_id = r.id
		WHERE r.observed_at >= $1 AND r.observed_at <= $2 AND m.code IN (`+inList(3, len(codes))+`)
		AND r.patient_id IN (`+inList(3+len(codes), len(ids))+`)
		ORDER BY r.patient_id, r.observed_at, r.id, m.idx`, args, func(r *sql.Rows) error {
		var patient, id, source string
		var dev, value sql.NullString
		var at time.Time
		var m StoredMeasurement
		if err := r.Scan(&patient, &id, &source, &dev, records.Time(&at), &m.Code, &value, &m.Unit, &m.Absent, &m.Implausible); err != nil {
			return err
		}
		if value.Valid {
			d, err := gatt.ParseDecimal(value.String)
			if err != nil {
				return fmt.Errorf("reading %s: stored value: %w", id, err)
			}
			m.Value = gatt.Some(d)
		}
		rs := readings[patient]
		if n := len(rs); n > 0 && rs[n-1].ID == id {
			rs[n-1].Measurements = append(rs[n-1].Measurements, m)
			return nil
		}
		readings[patient] = append(rs, Reading{ID: id, PatientID: patient, Source: source, DeviceID: dev.String, ObservedAt: at,
			Measurements: []StoredMeasurement{m}})
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		score, err := ScoreNEWS2(id, readings[id], opts[id])
		if err != nil {
			return fmt.Errorf("patient %s: %w", id, err)
		}
		figs[id].NEWS2 = score
	}
	return nil
}

// triageExpected lists, per next appointment, the expected codes not
// received since the subject's ExpectedSince.
func (s *Store) triageExpected(ctx context.Context, tx *sql.Tx, subjects []TriageSubject, ids []string, figs map[string]*TriageFigures) error {
	byAppt := map[string]TriageSubject{}
	var appts []string
	for _, sub := range subjects {
		if sub.NextAppointmentID != "" {
			byAppt[sub.NextAppointmentID] = sub
			appts = append(appts, sub.NextAppointmentID)
		}
	}
	if len(appts) == 0 {
		return nil
	}
	want := map[string][]string{} // patient -> codes
	err := records.QueryRows(ctx, tx, `SELECT appointment_id, patient_id, code FROM homekit_expected
		WHERE appointment_id IN (`+inList(1, len(appts))+`) ORDER BY appointment_id, code`, anys(appts), func(r *sql.Rows) error {
		var appt, patient, code string
		if err := r.Scan(&appt, &patient, &code); err != nil {
			return err
		}
		if byAppt[appt].PatientID == patient {
			want[patient] = append(want[patient], code)
		}
		return nil
	})
	if err != nil || len(want) == 0 {
		return err
	}
	// The newest observation of each code per patient.
	type key struct{ patient, code string }
	newest := map[key]time.Time{}
	err = records.QueryRows(ctx, tx, `SELECT r.patient_id, m.code, max(r.observed_at) FROM homekit_readings r
		JOIN homekit_measurements m ON m.reading_id = r.id
		WHERE r.patient_id IN (`+inList(1, len(ids))+`) GROUP BY r.patient_id, m.code`, anys(ids), func(r *sql.Rows) error {
		var k key
		var at time.Time
		if err := r.Scan(&k.patient, &k.code, records.Time(&at)); err != nil {
			return err
		}
		newest[k] = at
		return nil
	})
	if err != nil {
		return err
	}
	for _, sub := range subjects {
		for _, code := range want[sub.PatientID] {
			c := code
			if c == gatt.LOINCBloodPressurePanel {
				c = gatt.LOINCSystolic
			}
			at, ok := newest[key{sub.PatientID, c}]
			if !ok || at.Before(sub.ExpectedSince) {
				figs[sub.PatientID].Missing = append(figs[sub.PatientID].Missing, code)
			}
		}
	}
	return nil
}

// triageLast finds each patient's newest reading.
func (s *Store) triageLast(ctx context.Context, tx *sql.Tx, ids []string, figs map[string]*TriageFigures) error {
	return records.QueryRows(ctx, tx, `SELECT patient_id, max(observed_at) FROM homekit_readings
		WHERE patient_id IN (`+inList(1, len(ids))+`) GROUP BY patient_id`, anys(ids), func(r *sql.Rows) error {
		var patient string
		var at time.Time
		if err := r.Scan(&patient, records.Time(&at)); err != nil {
			return err
		}
		if f := figs[patient]; f != nil {
			f.LastReading = &at
		}
		return nil
	})
}
