package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"

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

// openHomekit opens the home-kit records beside the scheduler's: the same
// SQLite file or PostgreSQL database, in tables of its own.
func openHomekit(ctx context.Context, cfg serveConfig, c *clinic) (*homekit.Store, error) {
	hc := homekit.Config{PostgresURL: cfg.Postgres}
	if cfg.Postgres == "" {
		hc.SQLitePath = filepath.Join(cfg.Data, "vclinic.db")
	}
	return homekit.Open(ctx, hc, c.log.With("component", "homekit"))
}

// maxTrend is how many earlier values a vital carries for its trend line.
const maxTrend = 10

// vitalsOf turns the patient's recent readings (oldest first) into the newest
// value per code, device and source, each with its earlier values as a trend.
func vitalsOf(recent []homekit.Reading) []signaling.Vital {
	latest := map[string]*signaling.Vital{}
	var order []string
	for _, rd := range recent {
		for _, m := range rd.Measurements {
			key := m.Code + "|" + rd.DeviceID + "|" + rd.Source
			v := signaling.Vital{Code: m.Code, Unit: m.Unit, Absent: m.Absent, At: rd.ObservedAt.UTC(),
				DeviceID: rd.DeviceID, Source: rd.Source}
			if m.Value.Valid {
				v.Value = m.Value.V.String()
			}
			if m.Implausible {
				v.Flag = m.ImplausibleReason
				if v.Flag == "" {
					v.Flag = "implausible value"
				}
			}
			if prev, ok := latest[key]; ok {
				v.Trend = append(prev.Trend, prev.Value)
				if len(v.Trend) > maxTrend {
					v.Trend = v.Trend[len(v.Trend)-maxTrend:]
				}
			} else {
				order = append(order, key)
			}
			latest[key] = &v
		}
	}
	out := make([]signaling.Vital, 0, len(order))
	for _, k := range order {
		out = append(out, *latest[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
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
