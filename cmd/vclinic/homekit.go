package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"vclinic/homekit"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// homekitAuth authenticates the home-kit API with the clinic's tokens.
type homekitAuth struct{ keys *signaling.Keyring }

func (h homekitAuth) Authenticate(r *http.Request) (homekit.Principal, error) {
	c, err := h.keys.FromRequest(r)
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
			At: v.At, DeviceID: v.DeviceID, Source: v.Source, Trend: v.Trend}
	}
	return out
}

// visitAccess applies the scheduler's rule for who may run an appointment's
// visit (scheduler.Store.MayRunVisit) to its expected home measurements. The
// rule reads only who the practitioner is, so the call page may poll the
// checklist without filling the audit log.
type visitAccess struct{ store *scheduler.Store }

// MayManageVisit implements homekit.VisitAccess.
func (v visitAccess) MayManageVisit(ctx context.Context, p homekit.Principal, appointmentID string) error {
	err := v.store.MayRunVisit(ctx, scheduler.Actor{ID: p.ID, Role: p.Role}, appointmentID)
	switch {
	case errors.Is(err, scheduler.ErrNotFound):
		return fmt.Errorf("%w: no such appointment", homekit.ErrNotFound)
	case errors.Is(err, scheduler.ErrForbidden):
		return fmt.Errorf("%w: %s", homekit.ErrForbidden, scheduler.Reason(err))
	}
	return err
}
