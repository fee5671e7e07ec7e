package homekit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"vclinic/internal/records"
)

// Flagged readings and their acknowledgement ("kvittering", as OpenTele
// called it): a reading with a value outside the patient's limits when it
// was stored (FlagOutsideLimits) waits for a clinician to mark it seen and
// handled, with an optional note. Who and when are kept and shown. A
// reading is acknowledged once: acknowledging it again is refused with
// ErrConflict, which names who did it and when, so that two clinicians
// never both believe they were the one who handled it.

// Acknowledgement is a clinician's mark that a flagged reading was seen and
// handled.
type Acknowledgement struct {
	ReadingID string    `json:"readingId"`
	By        string    `json:"by"` // user id
	ByName    string    `json:"byName,omitempty"`
	ByRole    string    `json:"byRole"`
	At        time.Time `json:"at"`
	Note      string    `json:"note,omitempty"`
}

// FlaggedReading is a reading outside the patient's limits, with its
// acknowledgement, nil while it waits for one.
type FlaggedReading struct {
	Reading
	Acknowledged *Acknowledgement `json:"acknowledged"`
}

// flaggedSQL matches a reading row flagged outside limits.
const flaggedSQL = `(',' || r.flags || ',') LIKE '%,` + FlagOutsideLimits + `,%'`

// ListFlagged returns patientID's readings observed at or after since that
// were outside the patient's limits, oldest first, each with its
// acknowledgement, and records the read in the audit log.
func (s *Store) ListFlagged(ctx context.Context, actor Actor, patientID string, since time.Time) ([]FlaggedReading, error) {
	out := []FlaggedReading{}
	err := s.db.InTx(ctx, "list flagged readings", func(tx *sql.Tx) error {
		out = out[:0]
		rs, err := s.readings(ctx, tx, patientID, since)
		if err != nil {
			return err
		}
		acks := map[string]*Acknowledgement{}
		err = records.QueryRows(ctx, tx, `SELECT a.reading_id, a.by_id, a.by_name, a.by_role, a.at, a.note
			FROM homekit_acknowledgements a JOIN homekit_readings r ON r.id = a.reading_id
			WHERE a.patient_id = $1 AND r.observed_at >= $2`, []any{patientID, s.ts(since)}, func(r *sql.Rows) error {
			var a Acknowledgement
			if err := r.Scan(&a.ReadingID, &a.By, &a.ByName, &a.ByRole, records.Time(&a.At), &a.Note); err != nil {
				return err
			}
			acks[a.ReadingID] = &a
			return nil
		})
		if err != nil {
			return err
		}
		for _, rd := range rs {
			if slices.Contains(rd.Flags, FlagOutsideLimits) {
				out = append(out, FlaggedReading{Reading: rd, Acknowledged: acks[rd.ID]})
			}
		}
		return s.auditRecord(ctx, tx, actor, AuditList, "flagged-reading", "", patientID,
			fmt.Sprintf("%d flagged readings since %s", len(out), records.Instant(since).Format(time.RFC3339)))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CountUnacknowledged counts patientID's readings observed at or after
// since that were outside the patient's limits and wait for an
// acknowledgement. It is a count for the clinician's day list, whose own
// read is audited; it writes no audit row of its own.
func (s *Store) CountUnacknowledged(ctx context.Context, patientID string, since time.Time) (int, error) {
	var n int
	err := s.db.InTx(ctx, "count unacknowledged readings", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM homekit_readings r
			WHERE r.patient_id = $1 AND r.observed_at >= $2 AND `+flaggedSQL+`
			AND NOT EXISTS (SELECT 1 FROM homekit_acknowledgements a WHERE a.reading_id = r.id)`,
			patientID, s.ts(since)).Scan(&n)
	})
	return n, err
}

// Acknowledge marks patientID's flagged reading readingID seen and handled
// by actor (name is how the clinic shows them), with an optional note, and
// records it in the audit log. A reading of another patient, or none, is
// ErrNotFound; one not flagged is ErrInvalid; one acknowledged before is
// ErrConflict naming who and when.
func (s *Store) Acknowledge(ctx context.Context, actor Actor, name, patientID, readingID, note string) (Acknowledgement, error) {
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxWatchNote {
		return Acknowledgement{}, because(ErrInvalid, "note: at most %d characters", MaxWatchNote)
	}
	if actor.ID == "" {
		return Acknowledgement{}, because(ErrForbidden, "acknowledging needs a signed-in clinician")
	}
	a := Acknowledgement{ReadingID: readingID, By: actor.ID, ByName: name, ByRole: actor.Role, Note: note}
	err := s.db.InTx(ctx, "acknowledge reading", func(tx *sql.Tx) error {
		var flags string
		err := tx.QueryRowContext(ctx, `SELECT flags FROM homekit_readings WHERE id = $1 AND patient_id = $2`,
			readingID, patientID).Scan(&flags)
		if errors.Is(err, sql.ErrNoRows) {
			return because(ErrNotFound, "no such reading of this patient")
		}
		if err != nil {
			return err
		}
		if !slices.Contains(strings.Split(flags, ","), FlagOutsideLimits) {
			return because(ErrInvalid, "reading %s was within the patient's limits; there is nothing to acknowledge", readingID)
		}
		a.At = records.Instant(s.now())
		res, err := tx.ExecContext(ctx, `INSERT INTO homekit_acknowledgements (reading_id, patient_id, by_id, by_role, by_name, at, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			readingID, patientID, a.By, a.ByRole, a.ByName, s.ts(a.At), a.Note)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var by, byName string
			var at time.Time
			if err := tx.QueryRowContext(ctx, `SELECT by_id, by_name, at FROM homekit_acknowledgements WHERE reading_id = $1`,
				readingID).Scan(&by, &byName, records.Time(&at)); err != nil {
				return err
			}
			if byName == "" {
				byName = by
			}
			return because(ErrConflict, "reading %s was acknowledged by %s at %s", readingID, byName, at.UTC().Format(time.RFC3339))
		}
		detail := "acknowledged"
		if a.Note != "" {
			detail += " with a note"
		}
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "reading", readingID, patientID, detail)
	})
	if err != nil {
		return Acknowledgement{}, err
	}
	return a, nil
}
