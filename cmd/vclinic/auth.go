package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"vclinic/internal/records"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// clinicAuth authenticates every request the clinic serves, for every part:
// the scheduler's and the home kit's APIs and the signaling server. A token
// must be well signed (signaling.Keyring); beyond the token, what it names
// must still hold:
//
//   - An invitation link (a guest token bound to an appointment) works from
//     booking until a day after its visit ended or was cancelled
//     (scheduler.LinkPolicy.Until), decided from the appointment as it is
//     now. Its token expires then too; when the appointment was moved later
//     since the link was sent, the same link works on until the new end.
//   - A gateway token (an operator's, `vclinic token --role gateway`)
//     lasts a day at most; homes' gateways hold their own credential
//     (homekitAuth).
//   - A staff token works while its user is enabled and was not signed out
//     everywhere since the token was issued, and while its session (a
//     sign-in) is open: not logged out, expired or idle for idle
//     (scheduler.Store.CheckStaff).
type clinicAuth struct {
	keys  *signaling.Keyring
	store *scheduler.Store
	links scheduler.LinkPolicy
	idle  time.Duration
	now   func() time.Time
}

// maxLinkResurrection bounds how long after its own expiry an invitation
// token may still be honoured because its appointment was moved later: the
// longest a booking may lie ahead.
const maxLinkResurrection = 366 * 24 * time.Hour

// Authenticate implements signaling.Authenticator: signaling.ErrInvalidToken
// for a missing, invalid, expired or ended credential.
func (a clinicAuth) Authenticate(r *http.Request) (*signaling.Claims, error) {
	c, err := a.authenticate(r)
	if records.Unavailable(err) {
		// Both: signaling answers 503, and the APIs see the records' error.
		return nil, fmt.Errorf("%w: %w", signaling.ErrUnavailable, err)
	}
	return c, err
}

func (a clinicAuth) authenticate(r *http.Request) (*signaling.Claims, error) {
	c, err := a.keys.FromRequest(r)
	if errors.Is(err, signaling.ErrTokenExpired) && c != nil && c.Appt != "" &&
		c.ExpiresAt != nil && a.now().Sub(c.ExpiresAt.Time) < maxLinkResurrection {
		err = nil // the appointment decides, below
	}
	if err != nil {
		return nil, err
	}
	if c.Appt != "" {
		if err := a.checkLink(r.Context(), c); err != nil {
			return nil, err
		}
	}
	if c.Role == signaling.RoleGateway && (c.IssuedAt == nil || c.ExpiresAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > maxGatewayTokenTTL) {
		// Year-long gateway tokens of earlier releases: a gateway in a
		// home pairs for its own revocable credential instead.
		return nil, fmt.Errorf("%w: a gateway token may last %s at most; pair the gateway for its own credential", signaling.ErrInvalidToken, maxGatewayTokenTTL)
	}
	if c.Role == signaling.RoleClinician || c.Role == signaling.RoleScheduler || c.Role == signaling.RoleAdmin {
		var issued time.Time
		if c.IssuedAt != nil {
			issued = c.IssuedAt.Time
		}
		err := a.store.CheckStaff(r.Context(), c.Subject, c.Session, issued, a.idle)
		if errors.Is(err, scheduler.ErrSessionEnded) {
			return nil, fmt.Errorf("%w: %w", signaling.ErrInvalidToken, err)
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkLink refuses an invitation link whose appointment is gone or whose
// span has ended.
func (a clinicAuth) checkLink(ctx context.Context, c *signaling.Claims) error {
	ap, err := a.store.LinkState(ctx, c.Appt)
	if errors.Is(err, scheduler.ErrNotFound) {
		return fmt.Errorf("%w: the appointment of this link is gone", signaling.ErrInvalidToken)
	}
	if err != nil {
		return fmt.Errorf("invitation link: %w", err)
	}
	if c.Role == signaling.RolePatient && c.Subject != ap.PatientID {
		return fmt.Errorf("%w: the link is not this appointment's patient's", signaling.ErrInvalidToken)
	}
	if until := a.links.Until(ap); !a.now().Before(until) {
		return fmt.Errorf("%w: %w at %s", signaling.ErrInvalidToken, scheduler.ErrLinkEnded, until.Format(time.RFC3339))
	}
	return nil
}
