package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"vclinic/homekit"
	"vclinic/internal/callquality"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// The adapters below let packages that do not know each other work together:
// scheduler's API authenticates with signaling's tokens, and signaling's
// waiting room asks scheduler about appointments.

// tokenAuth authenticates the scheduler's API requests (clinicAuth).
type tokenAuth struct{ auth clinicAuth }

func (t tokenAuth) Authenticate(r *http.Request) (scheduler.Principal, error) {
	c, err := t.auth.Authenticate(r)
	if err != nil {
		return scheduler.Principal{}, err
	}
	return scheduler.Principal{Actor: scheduler.Actor{ID: c.Subject, Role: c.Role}, Name: c.Name, Appt: c.Appt, Session: c.Session}, nil
}

// tokenIssuer mints staff sessions and guest invitation links.
type tokenIssuer struct {
	keys *signaling.Keyring
	base string // scheme://host:port the links point to
}

func (t tokenIssuer) Session(u scheduler.User, sessionID string, ttl time.Duration) (string, error) {
	return t.keys.Sign(signaling.TokenRequest{Role: u.Role, Subject: u.ID, Name: u.Name, Session: sessionID, TTL: ttl})
}

// GuestLink mints an invitation link whose token expires at until, a day
// after the visit (scheduler.LinkPolicy.Until). Whether the link works is
// decided at every use from the appointment as it is now, so a reschedule
// moves the link's span on (clinicAuth).
func (t tokenIssuer) GuestLink(a scheduler.Appointment, role, subject, name string, until time.Time) (string, error) {
	ttl := time.Until(until)
	if ttl <= 0 {
		return "", fmt.Errorf("invitation link of appointment %s: its links ended at %s", a.ID, until.Format(time.RFC3339))
	}
	tok, err := t.keys.Sign(signaling.TokenRequest{Role: role, Subject: subject, Name: name, Appt: a.ID, TTL: ttl})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/visit/%s#t=%s", t.base, a.ID, tok), nil
}

// visits answers signaling's questions about appointment rooms from the store.
type visits struct {
	store  *scheduler.Store
	policy scheduler.LinkPolicy
}

func (v visits) appointment(ctx context.Context, id string, by scheduler.Actor) (scheduler.Appointment, error) {
	a, err := v.store.GetAppointment(ctx, by, id)
	if errors.Is(err, scheduler.ErrNotFound) {
		return a, signaling.ErrNoVisit
	}
	return a, err
}

func (v visits) Window(ctx context.Context, id string, now time.Time) (signaling.VisitWindow, error) {
	a, err := v.appointment(ctx, id, scheduler.System)
	if err != nil {
		return signaling.VisitWindow{}, err
	}
	w := v.policy.Window(a, now)
	out := signaling.VisitWindow{Opens: w.Opens, Closes: w.Closes, Start: w.Start, End: w.End,
		Admitted: a.Status == scheduler.StatusCheckedIn}
	if out.Admitted {
		if out.Let, err = v.store.GuestsLet(ctx, a.ID); err != nil {
			return signaling.VisitWindow{}, err
		}
	}
	switch w.State {
	case scheduler.LinkEarly:
		out.State = signaling.WindowEarly
	case scheduler.LinkOpen:
		out.State = signaling.WindowOpen
	default:
		out.State = signaling.WindowExpired
	}
	c, err := v.store.GetClinician(ctx, a.ClinicianID)
	if err != nil {
		return signaling.VisitWindow{}, err
	}
	// Staff tokens name the user who signed in (tokenIssuer.Session); the
	// clinician record names its user. A clinician without one is nobody's
	// to join: the visit is then open to no clinician.
	out.Clinician, out.Practitioner = c.Name, c.UserID
	return out, nil
}

func actorOf(c *signaling.Claims) scheduler.Actor {
	return scheduler.Actor{ID: c.Subject, Role: c.Role}
}

// advance moves the appointment along the visit's path to target
// (scheduler.Store.Advance); a visit already past it, or cancelled, is left
// as it is.
func (v visits) advance(ctx context.Context, id string, by *signaling.Claims, target scheduler.Status) error {
	_, _, err := v.store.Advance(ctx, actorOf(by), id, target)
	if errors.Is(err, scheduler.ErrNotFound) {
		return signaling.ErrNoVisit
	}
	return err
}

func (v visits) Arrived(ctx context.Context, id string, by *signaling.Claims) error {
	return v.advance(ctx, id, by, scheduler.StatusArrived)
}

func (v visits) Admitted(ctx context.Context, id string, by *signaling.Claims, guests []string) error {
	if err := v.advance(ctx, id, by, scheduler.StatusCheckedIn); err != nil {
		return err
	}
	return v.store.LetGuests(ctx, actorOf(by), id, guests)
}

func (v visits) Ended(ctx context.Context, id string, by *signaling.Claims) error {
	return v.advance(ctx, id, by, scheduler.StatusFulfilled)
}

// visitChat keeps a visit's chat with its appointment.
type visitChat struct{ store *scheduler.Store }

func (v visitChat) AddChat(ctx context.Context, room string, by *signaling.Claims, m signaling.ChatMessage) (signaling.ChatMessage, error) {
	filed, err := v.store.AddChat(ctx, actorOf(by), room, scheduler.ChatMessage{SenderName: m.Name,
		ClientID: m.ClientID, Text: m.Text, Phrase: m.Phrase})
	switch {
	case errors.Is(err, scheduler.ErrNotFound):
		return signaling.ChatMessage{}, signaling.ErrNoVisit
	case errors.Is(err, scheduler.ErrForbidden):
		return signaling.ChatMessage{}, fmt.Errorf("%w: %v", signaling.ErrForbidden, err)
	case err != nil:
		return signaling.ChatMessage{}, err
	}
	return chatOut(filed), nil
}

func (v visitChat) Chat(ctx context.Context, room string) ([]signaling.ChatMessage, error) {
	ms, err := v.store.Chat(ctx, scheduler.System, room)
	if errors.Is(err, scheduler.ErrNotFound) {
		return nil, signaling.ErrNoVisit
	}
	if err != nil {
		return nil, err
	}
	out := make([]signaling.ChatMessage, len(ms))
	for i, m := range ms {
		out[i] = chatOut(m)
	}
	return out, nil
}

func chatOut(m scheduler.ChatMessage) signaling.ChatMessage {
	return signaling.ChatMessage{ID: m.ID, Seq: m.Seq, ClientID: m.ClientID, Name: m.SenderName, Role: m.SenderRole,
		Text: m.Text, Phrase: m.Phrase, At: m.At, Sender: m.SenderID}
}

// visitQuality keeps signaling's quality records with the appointment.
type visitQuality struct{ store *scheduler.Store }

func (v visitQuality) RecordQuality(ctx context.Context, room string, r *callquality.Record) error {
	return v.store.SaveVisitQuality(ctx, room, r)
}

// kitFigures gives the review statistics the home kit's figures
// (scheduler.KitFigures over homekit.Store).
type kitFigures struct{ kit *homekit.Store }

func (k kitFigures) Prepared(ctx context.Context, visits []scheduler.VisitWindow) (expected, complete map[string]bool, err error) {
	ws := make([]homekit.VisitWindow, len(visits))
	for i, v := range visits {
		ws[i] = homekit.VisitWindow{AppointmentID: v.AppointmentID, PatientID: v.PatientID, Since: v.Since, Start: v.Start}
	}
	return k.kit.Prepared(ctx, ws)
}

func (k kitFigures) ReadingCounts(ctx context.Context, edges []time.Time) (map[string][]int, error) {
	return k.kit.ReadingCounts(ctx, edges)
}

// triageKit gives the clinician's triage list the home kit's figures
// (scheduler.TriageKit over homekit.Store.Triage).
type triageKit struct{ kit *homekit.Store }

func (k triageKit) Triage(ctx context.Context, actor scheduler.Actor, subjects []scheduler.TriageSubject, now time.Time) (map[string]scheduler.TriageFigures, error) {
	in := make([]homekit.TriageSubject, len(subjects))
	for i, s := range subjects {
		in[i] = homekit.TriageSubject{PatientID: s.PatientID, FlaggedSince: s.FlaggedSince,
			NextAppointmentID: s.NextAppointmentID, ExpectedSince: s.ExpectedSince}
	}
	figs, err := k.kit.Triage(ctx, homekit.Actor{ID: actor.ID, Role: actor.Role, Address: actor.Address}, in, now)
	if err != nil {
		return nil, err
	}
	out := make(map[string]scheduler.TriageFigures, len(figs))
	for id, f := range figs {
		n := f.NEWS2
		tf := scheduler.TriageFigures{Flagged: f.Flagged, Missing: f.Missing, LastReading: f.LastReading,
			NEWS2: scheduler.TriageNEWS2{Total: n.Total, Scored: n.Scored, Of: n.Of, RedScore: n.RedScore,
				RedParameters: n.RedParameters, Risk: n.Risk, Scale: n.Scale, Oxygen: string(n.Oxygen)}}
		if r := f.NewestFlagged; r != nil {
			tf.NewestFlagged = &scheduler.TriageReading{ReadingID: r.ReadingID, Code: r.Code, Value: r.Value,
				Unit: r.Unit, Outside: r.Outside, At: r.At}
		}
		out[id] = tf
	}
	return out, nil
}
