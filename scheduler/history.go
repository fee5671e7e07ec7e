package scheduler

import (
	"context"
	"database/sql"
	"time"

	"vclinic/internal/records"
)

// The status history of appointments (table appointment_history): every
// change of status is written in the transaction that makes it, with when
// and by whom, so that the clinic's review statistics (stats.go) can tell
// how long patients waited to be admitted and how long visits lasted. A
// move to a new time is written as "moved" (the status stays booked).

// HistoryMoved is the history's word for a booked visit given a new time.
const HistoryMoved Status = "moved"

// StatusChange is one row of an appointment's status history.
type StatusChange struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
	ByID   string    `json:"byId"`
	ByRole string    `json:"byRole"`
}

// writeHistory records, in tx, that appointment id became status at at,
// by actor.
func (s *Store) writeHistory(ctx context.Context, tx *sql.Tx, actor Actor, id string, status Status, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO appointment_history (appointment_id, status, at, by_id, by_role)
		VALUES ($1, $2, $3, $4, $5)`, id, string(status), s.ts(at), actor.ID, actor.Role); err != nil {
		return err
	}
	// The first arrival, admission and end stay on the appointment too,
	// for the statistics (migration 17).
	col := map[Status]string{StatusArrived: "arrived_at", StatusCheckedIn: "admitted_at", StatusFulfilled: "ended_at"}[status]
	if col == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE appointments SET `+col+` = COALESCE(`+col+`, $1) WHERE id = $2`, s.ts(at), id)
	return err
}

// History returns an appointment's status history, oldest first, and
// records that actor read it (the times a patient came are their data).
func (s *Store) History(ctx context.Context, actor Actor, id string) ([]StatusChange, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	var out []StatusChange
	err := s.db.InTx(ctx, "history of appointment "+id, func(tx *sql.Tx) error {
		out = []StatusChange{}
		a, err := getAppointment(ctx, tx, id, "")
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT status, at, by_id, by_role FROM appointment_history
			WHERE appointment_id = $1 ORDER BY at, id`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c StatusChange
			var st string
			if err := rows.Scan(&st, records.Time(&c.At), &c.ByID, &c.ByRole); err != nil {
				return err
			}
			c.Status = Status(st)
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditRead, "appointment", a.ID, a.PatientID, "status history")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
