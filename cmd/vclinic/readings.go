package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"vclinic/homekit"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// readingsSink files the readings a patient's page sends over its signaling
// WebSocket through the home-kit API, on the same path as POST
// /api/v1/readings: the same checks, the same answers, the same live push.
type readingsSink struct{ c *clinic }

// SubmitReadings implements signaling.ReadingsSink.
func (s readingsSink) SubmitReadings(ctx context.Context, by *signaling.Claims, items []json.RawMessage) ([]signaling.ReadingResult, error) {
	api := s.c.kitAPI // wired before the clinic serves
	if api == nil {
		return nil, errors.New("home-kit API not ready")
	}
	p := homekit.Principal{ID: by.Subject, Role: by.Role, Name: by.Name, Appt: by.Appt}
	res, err := api.SubmitReadings(ctx, p, items)
	switch {
	case errors.Is(err, homekit.ErrForbidden), errors.Is(err, homekit.ErrNotFound):
		return nil, fmt.Errorf("%w: %s", signaling.ErrForbidden, homekit.Reason(err))
	case errors.Is(err, homekit.ErrInvalid):
		return nil, fmt.Errorf("%w: %s", signaling.ErrBadReadings, homekit.Reason(err))
	case err != nil:
		return nil, err
	}
	out := make([]signaling.ReadingResult, len(res))
	for i, r := range res {
		out[i] = signaling.ReadingResult{Index: r.Index, Status: r.Status, ID: r.ID, Reason: r.Reason, Flags: r.Flags}
	}
	return out, nil
}

// vitalsAudit records in the home-kit audit log who is shown a patient's
// readings live in a visit (signaling.VitalsAudit).
type vitalsAudit struct{ c *clinic }

// VitalsShown implements signaling.VitalsAudit.
func (a vitalsAudit) VitalsShown(ctx context.Context, viewerID, viewerRole, room, patientID string) error {
	kit := a.c.kit // wired before the clinic serves
	if kit == nil {
		return errors.New("home-kit records not ready")
	}
	// A clinician is shown a patient's values only with a care relation
	// (the visit's own clinician has one through its appointment).
	if viewerRole == signaling.RoleClinician {
		if _, err := a.c.store.CareRelation(ctx, scheduler.Actor{ID: viewerID, Role: viewerRole}, patientID); err != nil {
			return err
		}
	}
	return kit.AuditShown(ctx, homekit.Actor{ID: viewerID, Role: viewerRole}, homekit.EntityLiveVitals, room, patientID)
}
