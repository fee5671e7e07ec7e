package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/internal/records"
)

// ChatMessage is one message of a visit's chat, kept with the appointment
// as part of its record (signaling's chat.go carries it live).
type ChatMessage struct {
	ID            string    `json:"id"`
	AppointmentID string    `json:"appointmentId"`
	Seq           int64     `json:"seq"`
	SenderID      string    `json:"-"`
	SenderRole    string    `json:"role"`
	SenderName    string    `json:"name"`
	ClientID      string    `json:"clientId"`
	Text          string    `json:"text"`
	Phrase        string    `json:"phrase,omitempty"`
	At            time.Time `json:"at"`
}

// maxChatMessages bounds one visit's chat, as signaling does (MaxChatMessages).
const maxChatMessages = 500

// maxChatText bounds one message in bytes: signaling takes at most 1000
// characters, and a character is at most 4 bytes of UTF-8.
const maxChatText = 4000

const chatColumns = `id, appointment_id, seq, sender_id, sender_role, sender_name, client_id, text, phrase, created_at`

func scanChat(row interface{ Scan(...any) error }) (ChatMessage, error) {
	var m ChatMessage
	err := row.Scan(&m.ID, &m.AppointmentID, &m.Seq, &m.SenderID, &m.SenderRole, &m.SenderName, &m.ClientID,
		&m.Text, &m.Phrase, records.Time(&m.At))
	return m, err
}

// AddChat files m (SenderName, ClientID, Text and Phrase set) in the chat of
// appointment id, written by actor, and answers it as filed: numbered next
// in the visit. A message the same sender filed under the same ClientID
// before is answered as it was filed, and nothing is written. The patient
// writes in their own visits only, a clinician in the visits they run;
// guests (relative, interpreter) are let in by their link, which signaling
// has checked. Each message is audited, without its text.
func (s *Store) AddChat(ctx context.Context, actor Actor, id string, m ChatMessage) (ChatMessage, error) {
	if err := checkActor(actor); err != nil {
		return ChatMessage{}, err
	}
	if m.ClientID == "" || len(m.ClientID) > 64 || m.Text == "" || len(m.Text) > maxChatText || len(m.SenderName) > 200 || len(m.Phrase) > 32 {
		return ChatMessage{}, because(ErrUnprocessable, "a chat message has a client id and 1-%d bytes of text", maxChatText)
	}
	err := s.db.InTx(ctx, "chat of appointment "+id, func(tx *sql.Tx) error {
		a, err := getAppointment(ctx, tx, id, "")
		if err != nil {
			return err
		}
		switch actor.Role {
		case RolePatient:
			if actor.ID != a.PatientID {
				return because(ErrNotFound, "no appointment %s", id)
			}
		case RoleClinician:
			if err := s.mayRunVisitIn(ctx, tx, actor, a); err != nil {
				return err
			}
		case RoleRelative, RoleInterpreter, RoleAdmin, RoleScheduler:
		default:
			return because(ErrForbidden, "a %s does not write in a visit's chat", actor.Role)
		}
		old, err := scanChat(tx.QueryRowContext(ctx, `SELECT `+chatColumns+` FROM visit_chat
			WHERE appointment_id = $1 AND sender_id = $2 AND sender_role = $3 AND client_id = $4`,
			id, actor.ID, actor.Role, m.ClientID))
		if err == nil {
			m = old // sent again after a reconnect: the first one stands
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM visit_chat WHERE appointment_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n >= maxChatMessages {
			return because(ErrConflict, "the chat of appointment %s is full", id)
		}
		m.ID, m.AppointmentID, m.Seq, m.At = newID(), id, n+1, records.Instant(s.now())
		m.SenderID, m.SenderRole = actor.ID, actor.Role
		if _, err := tx.ExecContext(ctx, `INSERT INTO visit_chat (`+chatColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			m.ID, id, m.Seq, m.SenderID, m.SenderRole, m.SenderName, m.ClientID, m.Text, m.Phrase, s.ts(m.At)); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditCreate, "chat", m.ID, a.PatientID,
			fmt.Sprintf("message %d in the chat of appointment %s", m.Seq, id))
	})
	if err != nil {
		return ChatMessage{}, err
	}
	return m, nil
}

// Chat answers the chat of appointment id in the order filed. The room of
// the visit reads it as System, to carry it on after it reopens (not
// audited: nothing is shown to anyone by that); otherwise only the visit's
// clinician reads it (it is clinical talk: not schedulers', nor admins'),
// and the reading is audited.
func (s *Store) Chat(ctx context.Context, actor Actor, id string) ([]ChatMessage, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	out := []ChatMessage{}
	err := s.db.InTx(ctx, "read the chat of appointment "+id, func(tx *sql.Tx) error {
		a, err := getAppointment(ctx, tx, id, "")
		if err != nil {
			return err
		}
		switch actor.Role {
		case System.Role:
		case RoleClinician:
			if err := s.mayRunVisitIn(ctx, tx, actor, a); err != nil {
				return err
			}
		default:
			return because(ErrForbidden, "only the visit's clinician reads its chat")
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+chatColumns+` FROM visit_chat WHERE appointment_id = $1 ORDER BY seq`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanChat(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if actor.Role == System.Role {
			return nil
		}
		return s.auditRecord(ctx, tx, actor, AuditRead, "chat", id, a.PatientID,
			fmt.Sprintf("the chat of appointment %s (%d messages)", id, len(out)))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// visitChat: GET /api/v1/appointments/{id}/chat answers the visit's chat,
// in order, to the visit's clinician (audited).
func (a *API) visitChat(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	ms, err := a.store.Chat(r.Context(), p.Actor, ps.ByName("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": ms})
}
