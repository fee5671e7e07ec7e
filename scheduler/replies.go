package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/audit"
)

// A patient may answer their invitation without calling: "I cannot come",
// or "I would like another time". Schedulers see it on the calendar and
// clinicians on the day list; the patient sees that it arrived.

// Reply kinds.
const (
	ReplyCannotCome = "cannot-come"
	ReplyNewTime    = "new-time"
)

// Reply is a patient's word on a visit.
type Reply struct {
	ID            string    `json:"id"`
	AppointmentID string    `json:"appointmentId"`
	Kind          string    `json:"kind"`
	Text          string    `json:"text,omitempty"`
	At            time.Time `json:"at"`
}

// maxReplyText bounds what a patient may add, in characters.
const maxReplyText = 500

// AddReply records the patient's reply of kind to their appointment, once:
// the same kind again answers the first (created false), so a button pressed
// twice, or a request sent again, loses nothing and adds nothing. Only a
// visit still on the calendar and not yet begun takes replies.
func (s *Store) AddReply(ctx context.Context, actor Actor, appointmentID, kind, text string) (r Reply, created bool, err error) {
	if err := checkActor(actor); err != nil {
		return Reply{}, false, err
	}
	if kind != ReplyCannotCome && kind != ReplyNewTime {
		return Reply{}, false, because(ErrUnprocessable, "kind: want cannot-come or new-time")
	}
	text = strings.Join(strings.Fields(text), " ")
	if reason := records.CheckText(text, maxReplyText); reason != "" {
		return Reply{}, false, because(ErrUnprocessable, "text: %s", reason)
	}
	text = audit.RedactCPR(text)
	err = s.db.InTx(ctx, "reply to appointment "+appointmentID, func(tx *sql.Tx) error {
		a, err := getAppointment(ctx, tx, appointmentID, "")
		if err != nil {
			return err
		}
		if actor.Role == RolePatient && actor.ID != a.PatientID {
			return because(ErrNotFound, "no such appointment")
		}
		r, err = scanReply(tx.QueryRowContext(ctx, `SELECT id, appointment_id, kind, text, created_at FROM replies
			WHERE appointment_id = $1 AND kind = $2`, appointmentID, kind))
		if err == nil {
			return nil // the first one stands
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if a.Status != StatusBooked {
			return because(ErrConflict, "the visit is %s: call the clinic", a.Status)
		}
		r = Reply{ID: newID(), AppointmentID: a.ID, Kind: kind, Text: text, At: records.Instant(s.now())}
		if _, err := tx.ExecContext(ctx, `INSERT INTO replies (id, appointment_id, patient_id, kind, text, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.ID, a.ID, a.PatientID, kind, text, s.ts(r.At)); err != nil {
			return err
		}
		created = true
		return s.auditRecord(ctx, tx, actor, AuditCreate, "reply", r.ID, a.PatientID, fmt.Sprintf("%s to appointment %s", kind, a.ID))
	})
	if err != nil {
		return Reply{}, false, err
	}
	return r, created, nil
}

func scanReply(row interface{ Scan(...any) error }) (Reply, error) {
	var r Reply
	err := row.Scan(&r.ID, &r.AppointmentID, &r.Kind, &r.Text, records.Time(&r.At))
	return r, err
}

// Replies returns the patient's replies to an appointment, oldest first.
func (s *Store) Replies(ctx context.Context, appointmentID string) ([]Reply, error) {
	out := []Reply{}
	err := records.QueryRows(ctx, s.db, `SELECT id, appointment_id, kind, text, created_at FROM replies
		WHERE appointment_id = $1 ORDER BY created_at, id`, []any{appointmentID}, func(r *sql.Rows) error {
		x, err := scanReply(r)
		out = append(out, x)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("replies to appointment %s: %w", appointmentID, err)
	}
	return out, nil
}
