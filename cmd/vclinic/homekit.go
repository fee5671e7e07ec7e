package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"vclinic/homekit"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// homekitAuth authenticates the home kit's API: everything clinicAuth
// accepts, and a home gateway's own credential (homekit.CredentialPrefix),
// which only this API knows.
type homekitAuth struct {
	auth clinicAuth
	kits *homekit.Store
}

func (h homekitAuth) Authenticate(r *http.Request) (homekit.Principal, error) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.HasPrefix(tok, homekit.CredentialPrefix) {
		g, err := h.kits.GatewayByCredential(r.Context(), tok)
		if errors.Is(err, homekit.ErrNotFound) {
			return homekit.Principal{}, fmt.Errorf("%w: %s", signaling.ErrInvalidToken, homekit.Reason(err))
		}
		if err != nil {
			return homekit.Principal{}, err
		}
		return homekit.Principal{ID: g.ID, Role: homekit.RoleGateway, Name: g.Label}, nil
	}
	c, err := h.auth.Authenticate(r)
	if err != nil {
		return homekit.Principal{}, err
	}
	return homekit.Principal{ID: c.Subject, Role: c.Role, Name: c.Name, Appt: c.Appt}, nil
}

// vitalsOf turns the patient's recent readings (oldest first) into what the
// visit shows live (homekit.Vitals) in the signaling protocol's words.
func vitalsOf(recent []homekit.Reading) []signaling.Vital {
	vs := homekit.Vitals(recent)
	out := make([]signaling.Vital, len(vs))
	for i, v := range vs {
		out[i] = signaling.Vital{Code: v.Code, Value: v.Value, Unit: v.Unit, Absent: v.Absent, Flag: v.Flag,
			At: v.At, DeviceID: v.DeviceID, Source: v.Source, Trend: v.Trend,
			Via: v.Via, DeviceName: v.DeviceLabel, ReadingID: v.ReadingID, ReceivedAt: v.ReceivedAt, Outside: v.Outside, LimitLow: v.LimitLow, LimitHigh: v.LimitHigh}
		if v.LimitLow != "" || v.LimitHigh != "" {
			out[i].LimitUnit = homekit.LimitUnit(homekit.LimitCodeOf(v.Code))
		}
	}
	return out
}

// visitAccess answers the home kit's questions about appointments and
// patients from the scheduler: who may manage an appointment's expected
// home measurements (scheduler.Store.MayRunVisit, which reads only who the
// practitioner is) and whose appointment it is, whether its visit is open to
// its invitation link (scheduler.LinkPolicy), whether a patient exists.
type visitAccess struct {
	store *scheduler.Store
	links scheduler.LinkPolicy
	now   func() time.Time
}

// MayManageVisit implements homekit.VisitAccess.
func (v visitAccess) MayManageVisit(ctx context.Context, p homekit.Principal, appointmentID string) (string, error) {
	if err := v.store.MayRunVisit(ctx, scheduler.Actor{ID: p.ID, Role: p.Role}, appointmentID); err != nil {
		return "", homekitError(err)
	}
	ap, err := v.store.LinkState(ctx, appointmentID)
	if err != nil {
		return "", homekitError(err)
	}
	return ap.PatientID, nil
}

// VisitOpen implements homekit.VisitAccess.
func (v visitAccess) VisitOpen(ctx context.Context, appointmentID string) error {
	ap, err := v.store.LinkState(ctx, appointmentID)
	if err != nil {
		return homekitError(err)
	}
	switch w := v.links.Window(ap, v.now()); w.State {
	case scheduler.LinkOpen:
		return nil
	case scheduler.LinkEarly:
		return fmt.Errorf("%w: the visit opens at %s; readings are sent during the visit", homekit.ErrForbidden, w.Opens.Format(time.RFC3339))
	default:
		return fmt.Errorf("%w: the visit is over (%s); readings are sent during the visit", homekit.ErrForbidden, w.Status)
	}
}

// MayReadClinical implements homekit.VisitAccess: a clinician with a care
// relation to the patient (scheduler.Store.CareRelation).
func (v visitAccess) MayReadClinical(ctx context.Context, p homekit.Principal, patientID string) error {
	_, err := v.store.CareRelation(ctx, scheduler.Actor{ID: p.ID, Role: p.Role}, patientID)
	return homekitError(err)
}

// PatientExists implements homekit.VisitAccess.
func (v visitAccess) PatientExists(ctx context.Context, patientID string) error {
	return homekitError(v.store.PatientExists(ctx, patientID))
}

// homekitError says a scheduler refusal in the home kit's words.
func homekitError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, scheduler.ErrNotFound):
		return fmt.Errorf("%w: %s", homekit.ErrNotFound, scheduler.Reason(err))
	case errors.Is(err, scheduler.ErrForbidden):
		return fmt.Errorf("%w: %s", homekit.ErrForbidden, scheduler.Reason(err))
	}
	return err
}

// typeChecker tells the home kit which appointment types exist
// (homekit.TypeChecker), for their default limits.
type typeChecker struct{ store *scheduler.Store }

// TypeExists implements homekit.TypeChecker.
func (t typeChecker) TypeExists(ctx context.Context, typeID string) error {
	_, err := t.store.GetAppointmentType(ctx, typeID)
	return homekitError(err)
}

// booked gives a new appointment the home measurements its type expects,
// and its patient the type's default limits when they have none
// (scheduler.APIConfig.Booked). The booking stands if this fails; the
// clinician can still set them, and the log says why they are missing.
func (c *clinic) booked(ctx context.Context, actor scheduler.Actor, b scheduler.Booking) {
	who := homekit.Actor{ID: actor.ID, Role: actor.Role, Address: actor.Address}
	// A patient without limits of their own gets the type's defaults.
	if _, err := c.kit.SeedWatch(ctx, who, b.PatientID, b.TypeID); err != nil {
		c.log.Error("the limits the appointment's type sets were not given the patient", "appointment", b.ID, "err", err)
	}
	if len(b.Expected) == 0 {
		return
	}
	err := c.kit.SetExpected(ctx, who, b.ID, b.PatientID, b.Expected)
	if err != nil {
		c.log.Error("the measurements the appointment's type expects were not set", "appointment", b.ID, "err", err)
	}
}
