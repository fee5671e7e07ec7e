package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"vclinic/internal/records"
)

// Messages to patients (invitations, reminders, moves and cancellations by
// e-mail and SMS) are kept in the records as an outbox: a booking, a move or
// a cancellation queues its messages in the transaction that makes it, so
// there is never one without the other, and the Outbox of any node sends
// what is queued. Each message is kept with its channel, text, time and
// state (queued, sent, failed, delivered) for staff to see. The text kept
// has "[link]" where the patient's invitation link goes: the link is a
// credential, minted when the message is sent and never stored.

// Message kinds.
const (
	MessageInvitation   = "invitation"
	MessageReminder     = "reminder"
	MessageMoved        = "moved"
	MessageCancellation = "cancellation"
)

// Message channels.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Message states.
const (
	MessageQueued    = "queued"
	messageSending   = "sending" // claimed by a node's Outbox; shown as queued
	MessageSent      = "sent"
	MessageFailed    = "failed"
	MessageDelivered = "delivered"
)

// linkMark stands where the patient's link goes in a kept message.
const linkMark = "[link]"

// Message is one message to a patient about an appointment.
type Message struct {
	ID            string `json:"id"`
	AppointmentID string `json:"appointmentId"`
	PatientID     string `json:"patientId"`
	Kind          string `json:"kind"`
	Channel       string `json:"channel"`
	Address       string `json:"address"` // e-mail address or E.164 number
	Language      string `json:"language"`
	Subject       string `json:"subject,omitempty"` // e-mail only
	Text          string `json:"text"`              // "[link]" where the link goes
	State         string `json:"state"`
	Detail        string `json:"detail,omitempty"` // why it failed: the server's or provider's answer
	Sequence      int    `json:"-"`                // the appointment's, for the calendar object
	// GuestRole and GuestName name the guest a message invites (relative
	// or interpreter); empty for a message to the patient.
	GuestRole string    `json:"guestRole,omitempty"`
	GuestName string    `json:"guestName,omitempty"`
	Attempts  int       `json:"attempts"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Channels says which ways of sending the clinic has (Config.Channels):
// messages go only where there is a way.
type Channels struct {
	Email bool
	SMS   bool
}

const messageColumns = `id, appointment_id, patient_id, kind, channel, address, language, subject, body, sequence,
	state, detail, attempts, created_at, updated_at, guest_role, guest_name`

func scanMessage(r interface{ Scan(...any) error }) (Message, error) {
	var m Message
	err := r.Scan(&m.ID, &m.AppointmentID, &m.PatientID, &m.Kind, &m.Channel, &m.Address, &m.Language, &m.Subject,
		&m.Text, &m.Sequence, &m.State, &m.Detail, &m.Attempts, records.Time(&m.CreatedAt), records.Time(&m.UpdatedAt),
		&m.GuestRole, &m.GuestName)
	if m.State == messageSending {
		m.State = MessageQueued
	}
	return m, err
}

// queueMessages queues in tx the messages of kind about a to its patient,
// by each way they asked for that the clinic has.
func (s *Store) queueMessages(ctx context.Context, tx *sql.Tx, a Appointment, kind string) error {
	if !s.cfg.Channels.Email && !s.cfg.Channels.SMS {
		return nil
	}
	p, err := s.scanPatient(tx.QueryRowContext(ctx, `SELECT `+patientColumns+` FROM patients WHERE id = $1`, a.PatientID))
	if err != nil {
		return fmt.Errorf("patient of appointment %s: %w", a.ID, err)
	}
	st, err := readSettings(ctx, tx)
	if err != nil {
		return err
	}
	lang := p.Language
	if lang == "" {
		lang = st.Language
	}
	loc, err := s.location(DefaultZone)
	if err != nil {
		return err
	}
	words := messageWords(lang, kind, a, st, loc)
	now := s.ts(s.now())
	add := func(channel, address, subject, text string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO messages (id, appointment_id, patient_id, kind, channel, address, language,
			subject, body, sequence, state, detail, attempts, created_at, updated_at, next_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', '', 0, $11, $11, $11)`,
			newID(), a.ID, a.PatientID, kind, channel, address, lang, subject, text, a.Sequence, now)
		return err
	}
	if s.cfg.Channels.Email && p.Email != "" && (p.ContactBy == ContactEmail || p.ContactBy == ContactBoth) {
		if err := add(ChannelEmail, p.Email, words.subject, words.email); err != nil {
			return err
		}
	}
	if s.cfg.Channels.SMS && p.Phone != "" && (p.ContactBy == ContactSMS || p.ContactBy == ContactBoth) {
		if err := add(ChannelSMS, p.Phone, "", words.sms); err != nil {
			return err
		}
	}
	return nil
}

// cancelMessages stops what is still queued about a, which left the
// calendar, and, when tell and the patient heard of the visit (a message
// went out), queues the cancellation.
func (s *Store) cancelMessages(ctx context.Context, tx *sql.Tx, a Appointment, tell bool) error {
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = 'failed', detail = 'not sent: the visit left the calendar first',
		updated_at = $1 WHERE appointment_id = $2 AND state = 'queued'`, s.ts(s.now()), a.ID); err != nil {
		return err
	}
	if !tell {
		return nil
	}
	var heard int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE appointment_id = $1 AND state IN ('sending', 'sent', 'delivered')`,
		a.ID).Scan(&heard); err != nil {
		return err
	}
	if heard == 0 {
		return nil
	}
	return s.queueMessages(ctx, tx, a, MessageCancellation)
}

// Messages returns the messages about an appointment, oldest first, for
// staff; reading them is on the audit log.
func (s *Store) Messages(ctx context.Context, actor Actor, appointmentID string) ([]Message, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	out := []Message{}
	err := s.db.InTx(ctx, "messages of appointment "+appointmentID, func(tx *sql.Tx) error {
		a, err := getAppointment(ctx, tx, appointmentID, "")
		if err != nil {
			return err
		}
		err = records.QueryRows(ctx, tx, `SELECT `+messageColumns+` FROM messages WHERE appointment_id = $1 ORDER BY created_at, id`,
			[]any{appointmentID}, func(r *sql.Rows) error {
				m, err := scanMessage(r)
				out = append(out, m)
				return err
			})
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditRead, "messages", appointmentID, a.PatientID, fmt.Sprintf("%d messages", len(out)))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sendingTimeout is how long a claimed message may stay unsent before
// another node takes it again (its node died while sending).
const sendingTimeout = 5 * time.Minute

// maxAttempts is how often a message is tried before it fails.
const maxAttempts = 5

// ClaimMessage takes the next message due for sending, for this node alone,
// or answers ok false when none is due.
func (s *Store) ClaimMessage(ctx context.Context) (m Message, ok bool, err error) {
	now := s.now()
	// Most rounds find nothing: ask before taking the write lock.
	var due int
	err = s.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM messages
		WHERE state = 'queued' AND next_at <= $1 OR state = 'sending' AND updated_at < $2 LIMIT 1) x`,
		s.ts(now), s.ts(now.Add(-sendingTimeout))).Scan(&due)
	if err != nil || due == 0 {
		return m, false, err
	}
	err = s.db.InTx(ctx, "claim a message", func(tx *sql.Tx) error {
		// A node that died while sending left its claim: take it back.
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = 'queued' WHERE state = 'sending' AND updated_at < $1`,
			s.ts(now.Add(-sendingTimeout))); err != nil {
			return err
		}
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM messages WHERE state = 'queued' AND next_at <= $1 ORDER BY next_at, id LIMIT 1`,
			s.ts(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE messages SET state = 'sending', attempts = attempts + 1, updated_at = $1
			WHERE id = $2 AND state = 'queued'`, s.ts(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another node took it
		}
		m, err = scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = $1`, id))
		ok = err == nil
		return err
	})
	return m, ok, err
}

// MessageSentAs records what came of sending m: sent (err nil), queued again
// for a later try (a passing failure, fewer than maxAttempts tries), or
// failed with the reason.
func (s *Store) MessageSentAs(ctx context.Context, m Message, sendErr error, permanent bool) error {
	now := s.now()
	state, detail, next := MessageSent, "", now
	if sendErr != nil {
		detail = clip(sendErr.Error(), 1000)
		state = MessageFailed
		if !permanent && m.Attempts < maxAttempts {
			state = MessageQueued
			next = now.Add(time.Duration(1<<m.Attempts) * 30 * time.Second)
		}
	}
	return s.db.InTx(ctx, "message "+m.ID+" sent", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE messages SET state = $1, detail = $2, updated_at = $3, next_at = $4
			WHERE id = $5 AND state = 'sending'`, state, detail, s.ts(now), s.ts(next), m.ID)
		return err
	})
}

// MessageDelivered records a provider's word that message id was delivered,
// or that it failed (with its answer). Unknown ids are ErrNotFound.
func (s *Store) MessageDelivered(ctx context.Context, id string, delivered bool, detail string) error {
	state := MessageDelivered
	if !delivered {
		state = MessageFailed
	}
	return s.db.InTx(ctx, "SMS "+id+" "+state, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET state = $1, detail = $2, updated_at = $3 WHERE id = $4 AND channel = 'sms'
			AND state IN ('sending', 'sent', 'delivered', 'failed')`, state, clip(detail, 1000), s.ts(s.now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return because(ErrNotFound, "no sent SMS %s", id)
		}
		return nil
	})
}

// PlanReminders queues the reminders due at now: for each booked visit and
// each of the clinic's reminder offsets whose time has come, once. The claim
// is kept in the records under the visit's start, so a reminder goes out
// once across restarts and nodes, and again for a visit that moved. Where
// several offsets are due at once (a visit booked late, a clinic that was
// down) only the nearest goes out; none goes out for a visit booked or moved
// after the reminder's time, whose invitation said it all.
func (s *Store) PlanReminders(ctx context.Context) (queued int, err error) {
	now := s.now()
	st, err := s.Settings(ctx)
	if err != nil {
		return 0, err
	}
	offsets := st.ReminderOffsets()
	if len(offsets) == 0 {
		return 0, nil
	}
	// Only visits with a reminder due and not yet claimed: after its
	// round, a visit's due reminders are all claimed (sent or skipped), so
	// a quiet clinic costs a query per offset.
	type due struct {
		id    string
		start time.Time
	}
	var visits []due
	seen := map[string]bool{}
	for _, off := range offsets {
		err = records.QueryRows(ctx, s.db, `SELECT a.id, a.start_at FROM appointments a
			WHERE a.status = 'booked' AND a.start_at > $1 AND a.start_at <= $2 AND NOT EXISTS (SELECT 1 FROM reminders r
				WHERE r.appointment_id = a.id AND r.offset_ms = $3 AND r.start_at = a.start_at)`,
			[]any{s.ts(now), s.ts(now.Add(off)), off.Milliseconds()}, func(r *sql.Rows) error {
				var d due
				if err := r.Scan(&d.id, records.Time(&d.start)); err != nil {
					return err
				}
				if !seen[d.id] {
					seen[d.id] = true
					visits = append(visits, d)
				}
				return nil
			})
		if err != nil {
			return 0, fmt.Errorf("plan reminders: %w", err)
		}
	}
	for _, v := range visits {
		err := s.db.InTx(ctx, "remind of appointment "+v.id, func(tx *sql.Tx) error {
			a, err := getAppointment(ctx, tx, v.id, s.db.Dialect().ForUpdate())
			if err != nil || a.Status != StatusBooked || !a.Start.Equal(v.start) {
				return err // changed since: the next round sees it as it is
			}
			send := false
			// offsets are longest first: the last one due is the nearest.
			for i, off := range offsets {
				at := a.Start.Add(-off)
				if now.Before(at) {
					continue
				}
				res, err := tx.ExecContext(ctx, `INSERT INTO reminders (appointment_id, offset_ms, start_at, claimed_at)
					VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, a.ID, off.Milliseconds(), s.ts(a.Start), s.ts(now))
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				nearest := i == len(offsets)-1 || now.Before(a.Start.Add(-offsets[i+1]))
				send = n == 1 && nearest && a.UpdatedAt.Before(at)
			}
			if !send {
				return nil
			}
			queued++
			return s.queueMessages(ctx, tx, a, MessageReminder)
		})
		if err != nil {
			return queued, err
		}
	}
	return queued, nil
}
