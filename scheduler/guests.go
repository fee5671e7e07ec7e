package scheduler

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/internal/records"
)

// A patient may bring someone along: a relative, or an interpreter. The
// visit's clinician (or a scheduler) invites them from the call page, and
// so may the patient when the clinic allows it (Settings.GuestsByPatient),
// by e-mail or SMS through the outbox: the message's link is minted for the
// guest, by role and name, when it is sent, and never stored. The guest
// waits in the waiting room until the clinician admits them.

// GuestInvite is whom to invite and how to reach them.
type GuestInvite struct {
	Role string `json:"role"` // relative or interpreter
	Name string `json:"name"`
	// Language the guest reads: da or en; "" for the clinic's.
	Language string `json:"language"`
	// Phone (SMS) and Email: one of them at least, each sent when the
	// clinic has that way of sending.
	Phone string `json:"phone"`
	Email string `json:"email"`
}

// check puts the invitation in its stored form and says what is wrong.
func (g *GuestInvite) check(ch Channels) error {
	g.Name = strings.Join(strings.Fields(g.Name), " ")
	g.Phone, g.Email = strings.TrimSpace(g.Phone), strings.TrimSpace(g.Email)
	switch {
	case g.Role != RoleRelative && g.Role != RoleInterpreter:
		return because(ErrUnprocessable, "role: want relative or interpreter")
	case g.Name == "":
		return because(ErrUnprocessable, "name: required")
	case g.Language != "" && !slices.Contains(Languages, g.Language):
		return because(ErrUnprocessable, "language: want da or en, or leave it out for the clinic's")
	case g.Phone == "" && g.Email == "":
		return because(ErrUnprocessable, "phone, email: give a number for SMS or an e-mail address")
	}
	if reason := records.CheckText(g.Name, 100); reason != "" {
		return because(ErrUnprocessable, "name: %s", reason)
	}
	if g.Email != "" {
		if !plainAddress(g.Email) {
			return because(ErrUnprocessable, "email: %q is not an e-mail address", g.Email)
		}
		if !ch.Email {
			return because(ErrUnprocessable, "email: this clinic sends no e-mail; give a number for SMS")
		}
	}
	if g.Phone != "" {
		n := NormalizePhone(g.Phone)
		if n == "" {
			return because(ErrUnprocessable, "phone: want a telephone number, e.g. +45 20 00 00 00 (E.164)")
		}
		if !ch.SMS {
			return because(ErrUnprocessable, "phone: this clinic sends no SMS; give an e-mail address")
		}
		g.Phone = n
	}
	return nil
}

// InviteGuest queues the invitation of a guest to appointment id, by each
// way given, and answers the messages queued. Staff who may run the visit
// invite; the patient invites to their own visit when the clinic allows
// it. The visit must still be ahead or on (its links working).
func (s *Store) InviteGuest(ctx context.Context, actor Actor, id string, g GuestInvite, links LinkPolicy) ([]Message, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	var out []Message
	err := s.db.InTx(ctx, "invite a guest to appointment "+id, func(tx *sql.Tx) error {
		a, err := getAppointment(ctx, tx, id, "")
		if err != nil {
			return err
		}
		st, err := readSettings(ctx, tx)
		if err != nil {
			return err
		}
		switch actor.Role {
		case RolePatient:
			if actor.ID != a.PatientID {
				return because(ErrNotFound, "no appointment %s", id)
			}
			if !st.GuestsByPatient {
				return because(ErrForbidden, "this clinic does not let patients invite guests; ask the clinic")
			}
		case RoleClinician:
			if err := s.mayRunVisitIn(ctx, tx, actor, a); err != nil {
				return err
			}
		case RoleScheduler, RoleAdmin:
		default:
			return because(ErrForbidden, "a %s does not invite guests", actor.Role)
		}
		// Who may, before what is asked: a refused caller learns nothing.
		if err := g.check(s.cfg.Channels); err != nil {
			return err
		}
		if !a.Status.Occupies() || !links.Until(a).After(s.now()) {
			return because(ErrConflict, "the appointment is %s and over", a.Status)
		}
		lang := g.Language
		if lang == "" {
			lang = st.Language
		}
		loc, err := s.location(DefaultZone)
		if err != nil {
			return err
		}
		words := guestWords(lang, g.Role, a, st, loc)
		now := records.Instant(s.now())
		add := func(channel, address, subject, text string) error {
			m := Message{ID: newID(), AppointmentID: a.ID, PatientID: a.PatientID, Kind: MessageInvitation, Channel: channel,
				Address: address, Language: lang, Subject: subject, Text: text, Sequence: a.Sequence, State: MessageQueued,
				CreatedAt: now, UpdatedAt: now, GuestRole: g.Role, GuestName: g.Name}
			if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, appointment_id, patient_id, kind, channel, address, language,
				subject, body, sequence, state, detail, attempts, created_at, updated_at, next_at, guest_role, guest_name)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', '', 0, $11, $11, $11, $12, $13)`,
				m.ID, m.AppointmentID, m.PatientID, m.Kind, channel, address, lang, subject, text, m.Sequence, s.ts(now),
				g.Role, g.Name); err != nil {
				return err
			}
			out = append(out, m)
			return nil
		}
		if g.Email != "" {
			if err := add(ChannelEmail, g.Email, words.subject, words.email); err != nil {
				return err
			}
		}
		if g.Phone != "" {
			if err := add(ChannelSMS, g.Phone, "", words.sms); err != nil {
				return err
			}
		}
		return s.auditRecord(ctx, tx, actor, AuditCreate, "guest-invitation", out[0].ID, a.PatientID,
			fmt.Sprintf("%s invited to appointment %s by %s", g.Role, a.ID, strings.Join(channelsOf(out), " and ")))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func channelsOf(ms []Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Channel)
	}
	return out
}

// guestWords writes a guest's invitation in lang. It does not name the
// patient: who sees a clinician is health data, and the message may be
// read by others than the guest.
func guestWords(lang, role string, a Appointment, st Settings, loc *time.Location) messageText {
	when := whenText(lang, a.Start.In(loc))
	if lang == "da" {
		as := "pårørende"
		if role == RoleInterpreter {
			as = "tolk"
		}
		call := ""
		if st.Phone != "" {
			call = " på " + st.Phone
		}
		return messageText{
			subject: "Invitation: videokonsultation " + when,
			email: fmt.Sprintf("Du er inviteret med som %s til en videokonsultation hos %s %s.\n\nÅbn dette link lidt før på en "+
				"telefon, tablet eller computer med kamera og mikrofon: %s\n\nDu venter i venteværelset, til behandleren lukker dig ind. "+
				"Linket er personligt: del det ikke. Spørgsmål: ring til klinikken%s.", as, st.Name, when, linkMark, call),
			sms: fmt.Sprintf("Du er inviteret med som %s til en videokonsultation hos %s %s. Åbn linket lidt før: %s", as, st.Name, when, linkMark),
		}
	}
	as := "a relative"
	if role == RoleInterpreter {
		as = "the interpreter"
	}
	call := ""
	if st.Phone != "" {
		call = " on " + st.Phone
	}
	return messageText{
		subject: "Invitation: video consultation " + when,
		email: fmt.Sprintf("You are invited to join a video consultation with %s %s, as %s.\n\nOpen this link a few minutes before, "+
			"on a phone, tablet or computer with a camera and microphone: %s\n\nYou wait in the waiting room until the clinician "+
			"lets you in. The link is personal: do not share it. Questions: call the clinic%s.", st.Name, when, as, linkMark, call),
		sms: fmt.Sprintf("You are invited to join a video consultation with %s %s, as %s. Open the link a few minutes before: %s", st.Name, when, as, linkMark),
	}
}

// inviteGuest: POST /api/v1/appointments/{id}/invite {role, name,
// language, phone, email} queues the guest's invitation (201 with the
// messages queued; the link goes out with them and is not answered).
func (a *API) inviteGuest(w http.ResponseWriter, r *http.Request, ps httprouter.Params, p Principal) {
	var g GuestInvite
	if err := decode(w, r, &g); err != nil {
		a.problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	id := ps.ByName("id")
	if p.Actor.Role == RolePatient && p.Appt != id {
		a.problem(w, r, http.StatusNotFound, "no such appointment")
		return
	}
	ms, err := a.store.InviteGuest(r.Context(), p.Actor, id, g, a.cfg.Links)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"messages": ms})
}
