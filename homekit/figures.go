package homekit

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"vclinic/homekit/gatt"
	"vclinic/internal/records"
)

// Figures for the clinic's review statistics: counts over many patients,
// read in bulk. They hand no reading to anyone; the statistics that ask
// for them are audited where they are asked.

// VisitWindow is a visit whose expected measurements are looked for: those
// observed from the patient in [Since, Start) count.
type VisitWindow struct {
	AppointmentID string
	PatientID     string
	Since, Start  time.Time
}

// Prepared answers, of visits, those whose appointment expects
// measurements (expected) and those where each expected code arrived in the
// visit's window (complete). The blood pressure panel 85354-9 counts as
// arrived with a systolic pressure, as in Expected.
func (s *Store) Prepared(ctx context.Context, visits []VisitWindow) (expected, complete map[string]bool, err error) {
	expected, complete = map[string]bool{}, map[string]bool{}
	if len(visits) == 0 {
		return expected, complete, nil
	}
	byID := make(map[string]VisitWindow, len(visits))
	first, last := visits[0].Since, visits[0].Start
	for _, v := range visits {
		byID[v.AppointmentID] = v
		if v.Since.Before(first) {
			first = v.Since
		}
		if v.Start.After(last) {
			last = v.Start
		}
	}
	wants := map[string][]string{} // appointment -> codes
	codes := map[string]bool{}
	err = records.QueryRows(ctx, s.db, `SELECT appointment_id, code FROM homekit_expected`, nil, func(r *sql.Rows) error {
		var id, code string
		if err := r.Scan(&id, &code); err != nil {
			return err
		}
		if _, ok := byID[id]; ok {
			if code == gatt.LOINCBloodPressurePanel {
				code = gatt.LOINCSystolic
			}
			wants[id] = append(wants[id], code)
			codes[code] = true
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("expected measurements: %w", err)
	}
	if len(wants) == 0 {
		return expected, complete, nil
	}
	// When each patient's measurements of each code were observed.
	type key struct{ patient, code string }
	seen := map[key][]time.Time{}
	err = records.QueryRows(ctx, s.db, `SELECT r.patient_id, m.code, r.observed_at FROM homekit_readings r
		JOIN homekit_measurements m ON m.reading_id = r.id
		WHERE r.observed_at >= $1 AND r.observed_at < $2`, []any{s.ts(first), s.ts(last)}, func(r *sql.Rows) error {
		var k key
		var at time.Time
		if err := r.Scan(&k.patient, &k.code, records.Time(&at)); err != nil {
			return err
		}
		if codes[k.code] {
			seen[k] = append(seen[k], at)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("readings before visits: %w", err)
	}
	for _, ts := range seen {
		slices.SortFunc(ts, time.Time.Compare)
	}
	for id, want := range wants {
		v := byID[id]
		expected[id] = true
		all := true
		for _, code := range want {
			ts := seen[key{v.PatientID, code}]
			i, _ := slices.BinarySearchFunc(ts, v.Since, time.Time.Compare)
			if i == len(ts) || !ts[i].Before(v.Start) {
				all = false
				break
			}
		}
		complete[id] = all
	}
	return expected, complete, nil
}

// ReadingCounts counts each patient's readings observed in each span
// [edges[i], edges[i+1]), by patient id.
func (s *Store) ReadingCounts(ctx context.Context, edges []time.Time) (map[string][]int, error) {
	out := map[string][]int{}
	if len(edges) < 2 {
		return out, nil
	}
	spans := len(edges) - 1
	err := records.QueryRows(ctx, s.db, `SELECT patient_id, observed_at FROM homekit_readings
		WHERE observed_at >= $1 AND observed_at < $2`, []any{s.ts(edges[0]), s.ts(edges[spans])}, func(r *sql.Rows) error {
		var p string
		var at time.Time
		if err := r.Scan(&p, records.Time(&at)); err != nil {
			return err
		}
		// The span whose start is the last edge at or before at.
		i, found := slices.BinarySearchFunc(edges, at, time.Time.Compare)
		if !found {
			i--
		}
		c := out[p]
		if c == nil {
			c = make([]int, spans)
			out[p] = c
		}
		c[i]++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading counts: %w", err)
	}
	return out, nil
}
