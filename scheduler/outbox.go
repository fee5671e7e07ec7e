package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Email is one e-mail to a patient: plain text, and for an invitation, a
// move or a cancellation the calendar object (RFC 5546 iTIP, sent as RFC
// 6047 iMIP) with its METHOD.
type Email struct {
	ID       string // the message's id, for the Message-ID
	To       string
	Subject  string
	Text     string
	Calendar string // "" for none
	Method   string // REQUEST or CANCEL with Calendar
}

// Courier carries messages: an e-mail server, an SMS provider. An error
// that wraps ErrPermanent will not pass by trying again (a refused address);
// others are tried again later.
type Courier interface {
	SendEmail(ctx context.Context, m Email) error
	// SendSMS sends text to an E.164 number; id is the message's, which a
	// provider that reports delivery quotes back.
	SendSMS(ctx context.Context, id, to, text string) error
}

// ErrPermanent marks a sending error that another try will not mend.
var ErrPermanent = errors.New("permanent failure")

// Outbox sends the messages queued in the records, from any node: each is
// claimed by one node (Store.ClaimMessage), sent, and recorded as sent,
// failed, or queued again for a later try. It also queues the reminders
// that are due (Store.PlanReminders).
type Outbox struct {
	Store   *Store
	Courier Courier
	Issuer  Issuer
	Links   LinkPolicy
	// From is the clinic's e-mail address (the ORGANIZER of calendar
	// objects).
	From string
	Log  *slog.Logger
	// Every is how often it looks for work. Default 2 s.
	Every time.Duration
}

// planEvery is how often Run looks for reminders that are due.
const planEvery = 30 * time.Second

// Run sends until ctx ends.
func (o *Outbox) Run(ctx context.Context) {
	every := o.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var planned time.Time
	for {
		// Reminders are planned every planEvery: to the half minute is
		// on time for a reminder a day or an hour ahead.
		if time.Since(planned) >= planEvery {
			planned = time.Now()
			if n, err := o.Store.PlanReminders(ctx); err != nil && ctx.Err() == nil {
				o.Log.Warn("reminders", "err", err)
			} else if n > 0 {
				o.Log.Info("reminders queued", "visits", n)
			}
		}
		for ctx.Err() == nil {
			sent, err := o.SendOne(ctx)
			if err != nil && ctx.Err() == nil {
				o.Log.Warn("outbox", "err", err)
			}
			if !sent {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SendOne sends the next message due, and says whether there was one.
func (o *Outbox) SendOne(ctx context.Context) (bool, error) {
	m, ok, err := o.Store.ClaimMessage(ctx)
	if err != nil || !ok {
		return false, err
	}
	sendErr := o.send(ctx, m)
	if sendErr != nil {
		o.Log.Warn("message not sent", "message", m.ID, "appointment", m.AppointmentID, "channel", m.Channel,
			"attempt", m.Attempts, "err", sendErr)
	}
	return true, o.Store.MessageSentAs(ctx, m, sendErr, errors.Is(sendErr, ErrPermanent))
}

// send puts the link into m and hands it to the courier.
func (o *Outbox) send(ctx context.Context, m Message) error {
	sys := System
	a, err := o.Store.GetAppointment(ctx, sys, m.AppointmentID)
	if err != nil {
		return err
	}
	p, err := o.Store.GetPatient(ctx, sys, m.PatientID)
	if err != nil {
		return err
	}
	text := m.Text
	link := ""
	if m.Kind != MessageCancellation {
		until := o.Links.Until(a)
		if !a.Status.Occupies() || !until.After(time.Now()) {
			return errors.Join(ErrPermanent, errors.New("the visit is no longer on the calendar"))
		}
		role, subject, name := RolePatient, a.PatientID, p.Name
		if m.GuestRole != "" {
			// A guest's own link: by role and name, one subject per
			// invitation (sent again, it is the same guest).
			role, subject, name = m.GuestRole, m.GuestRole+"-"+m.ID, m.GuestName
		}
		if link, err = o.Issuer.GuestLink(a, role, subject, name, until); err != nil {
			return err
		}
		link += "&lang=" + m.Language
		text = withLink(text, link)
	}
	if m.Channel == ChannelSMS {
		return o.Courier.SendSMS(ctx, m.ID, m.Address, text)
	}
	e := Email{ID: m.ID, To: m.Address, Subject: m.Subject, Text: text}
	if m.Kind != MessageReminder && m.GuestRole == "" {
		c, err := o.Store.GetClinician(ctx, a.ClinicianID)
		if err != nil {
			return err
		}
		st, err := o.Store.Settings(ctx)
		if err != nil {
			return err
		}
		e.Method = MethodRequest
		if m.Kind == MessageCancellation {
			e.Method = MethodCancel
		}
		// The calendar object is the appointment as the message knew it:
		// a later change sends its own.
		a.Sequence = m.Sequence
		if e.Calendar, err = InviteICS(a, c, p, link, e.Method, InviteFrom{Email: o.From, Clinic: st.Name, Phone: st.Phone, Language: m.Language}); err != nil {
			return errors.Join(ErrPermanent, err)
		}
	}
	return o.Courier.SendEmail(ctx, e)
}
