package scheduler

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"vclinic/internal/records"
)

// NoShowAfter is how long after a visit's end a patient who never arrived
// is marked a no-show (FHIR R4 Appointment.status noshow).
const NoShowAfter = time.Hour

// noShowBatch bounds the visits one round of MarkNoShows looks at.
const noShowBatch = 500

// MarkNoShows marks no-show every appointment still booked (the patient
// never arrived in the waiting room) NoShowAfter after its end, judged by
// Config.Clock, each in its own transaction and audited as done by the
// system. It is safe with several nodes at once: each visit is claimed in
// SQL by an UPDATE that only a still-booked row passes, so exactly one node
// writes its history row and audit row; the others see it changed and move
// on. It answers how many this node marked.
func (s *Store) MarkNoShows(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-NoShowAfter)
	var ids []string
	// The partial index of booked visits by start (appointments_booked_start)
	// finds them; no visit is longer than maxDuration.
	err := records.QueryRows(ctx, s.db, `SELECT id FROM appointments
		WHERE status = 'booked' AND start_at <= $1 AND end_at <= $1
		ORDER BY start_at, id LIMIT `+fmt.Sprint(noShowBatch),
		[]any{s.ts(cutoff)}, func(r *sql.Rows) error {
			var id string
			err := r.Scan(&id)
			ids = append(ids, id)
			return err
		})
	if err != nil {
		return 0, fmt.Errorf("no-shows: %w", err)
	}
	marked := 0
	for _, id := range ids {
		done := false
		err := s.db.InTx(ctx, "no-show of appointment "+id, func(tx *sql.Tx) error {
			done = false
			now := records.Instant(s.now())
			res, err := tx.ExecContext(ctx, `UPDATE appointments SET status = 'noshow', status_reason = $1, updated_at = $2
				WHERE id = $3 AND status = 'booked' AND end_at <= $4`,
				"not arrived an hour after the visit's end", s.ts(now), id, s.ts(now.Add(-NoShowAfter)))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // another node marked it, or the patient came
			}
			a, err := getAppointment(ctx, tx, id, "")
			if err != nil {
				return err
			}
			if err := s.writeHistory(ctx, tx, System, id, StatusNoShow, now); err != nil {
				return err
			}
			done = true
			return s.auditRecord(ctx, tx, System, AuditUpdate, "appointment", id, a.PatientID,
				"status booked -> noshow: not arrived an hour after the visit's end")
		})
		if err != nil {
			return marked, fmt.Errorf("no-show of appointment %s: %w", id, err)
		}
		if done {
			marked++
		}
	}
	return marked, nil
}

// RunNoShows marks no-shows at once and then every interval (a minute when
// interval is not positive) until ctx ends, logging what it did.
func (s *Store) RunNoShows(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		n, err := s.MarkNoShows(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Warn("scheduler store: marking no-shows", "err", err)
		case n > 0:
			s.log.Info("scheduler store: no-shows marked", "visits", n)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}
