package main

import (
	"context"
	"errors"

	"vclinic/internal/notify"
	"vclinic/scheduler"
)

// courier carries the scheduler's messages by the ways configured: e-mail
// through -smtp, SMS through -sms-url.
type courier struct {
	mail *notify.Mailer    // nil without -smtp
	sms  *notify.SMSSender // nil without -sms-url
	from string            // -calendar-email
}

// newCourier reads the flags of the ways to send; none configured is no
// courier (nil) and no messages are queued.
func newCourier(cfg serveConfig) (*courier, error) {
	c := &courier{from: cfg.CalendarEmail}
	var err error
	if cfg.SMTP != "" {
		if c.mail, err = notify.NewMailer(cfg.SMTP, cfg.SMTPPassword); err != nil {
			return nil, err
		}
	}
	if cfg.SMSURL != "" {
		if c.sms, err = notify.NewSMSSender(cfg.SMSURL, cfg.SMSTemplate, cfg.SMSContentType, cfg.SMSAuthFile, cfg.SMSFrom); err != nil {
			return nil, err
		}
	}
	if c.mail == nil && c.sms == nil {
		return nil, nil
	}
	return c, nil
}

// channels says which ways the store may queue messages for.
func (c *courier) channels() scheduler.Channels {
	if c == nil {
		return scheduler.Channels{}
	}
	return scheduler.Channels{Email: c.mail != nil, SMS: c.sms != nil}
}

// smsAuth is what the SMS provider's delivery reports must carry.
func (c *courier) smsAuth() (string, bool) {
	if c == nil || c.sms == nil {
		return "", false
	}
	return c.sms.Authorization(), true
}

func (c *courier) SendEmail(ctx context.Context, m scheduler.Email) error {
	if c.mail == nil {
		return errors.Join(scheduler.ErrPermanent, errors.New("no e-mail server is configured"))
	}
	return permanent(c.mail.Send(ctx, notify.Mail{ID: m.ID, From: c.from, To: m.To, Subject: m.Subject,
		Text: m.Text, Calendar: m.Calendar, Method: m.Method}))
}

func (c *courier) SendSMS(ctx context.Context, id, to, text string) error {
	if c.sms == nil {
		return errors.Join(scheduler.ErrPermanent, errors.New("no SMS provider is configured"))
	}
	return permanent(c.sms.Send(ctx, id, to, text))
}

// permanent carries notify's permanence over to the scheduler's.
func permanent(err error) error {
	if errors.Is(err, notify.ErrPermanent) {
		return errors.Join(scheduler.ErrPermanent, err)
	}
	return err
}

// outbox sends the messages the records hold.
func (c *clinic) outbox() *scheduler.Outbox {
	return &scheduler.Outbox{Store: c.store, Courier: c.courier, Issuer: tokenIssuer{keys: c.keys, base: c.linkBase},
		From: c.cfg.CalendarEmail, Log: c.log.With("component", "outbox")}
}
