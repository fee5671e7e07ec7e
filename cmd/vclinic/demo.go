package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"vclinic/homekit"
	"vclinic/homekit/gatt"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// demoSessionTTL is how long the printed staff links stay signed in.
const demoSessionTTL = 12 * time.Hour

// seedDemo fills the records with a small clinic (two clinicians, a
// scheduler, three patients, two appointment types and an appointment that
// starts now) and prints one link per line: "scheduler: URL", "clinician: URL"
// and "patient: URL". Run again on the same data directory, it reuses what is
// there and books a new appointment only when none of today's is open.
func (c *clinic) seedDemo(ctx context.Context, stdout io.Writer, base string) error {
	s := c.store
	password := rand.Text()
	sched, err := demoUser(ctx, s, "scheduler", "Mette Lund", scheduler.RoleScheduler, password)
	if err != nil {
		return err
	}
	clinUser, err := demoUser(ctx, s, "clinician", "Dr. Anna Holm", scheduler.RoleClinician, password)
	if err != nil {
		return err
	}
	actor := sched.Actor()
	clin, err := demoClinician(ctx, s, actor, clinUser)
	if err != nil {
		return err
	}
	if _, err := demoClinician(ctx, s, actor, scheduler.User{Name: "Dr. Peter Berg"}); err != nil {
		return err
	}
	patients, err := s.ListPatients(ctx, actor, scheduler.PatientFilter{Name: "Karen Jensen"})
	if err != nil {
		return err
	}
	var karen scheduler.Patient
	if len(patients) > 0 {
		karen = patients[0]
	} else {
		for _, p := range []scheduler.Patient{
			{Name: "Karen Jensen", Contact: "karen.jensen@example.org"},
			{Name: "Jens Nielsen", Contact: "+45 20 00 00 00"},
			{Name: "Birgitte Hansen", Contact: "birgitte@example.org"},
		} {
			created, err := s.CreatePatient(ctx, actor, p)
			if err != nil {
				return err
			}
			if karen.ID == "" {
				karen = created
			}
		}
	}
	if types, err := s.ListAppointmentTypes(ctx); err != nil {
		return err
	} else if len(types) == 0 {
		for _, t := range []scheduler.AppointmentType{
			{Name: "Video consultation", Duration: 20 * time.Minute, BufferAfter: 5 * time.Minute, MinNotice: time.Hour, Horizon: 60 * 24 * time.Hour},
			{Name: "Short follow-up", Duration: 10 * time.Minute, MinNotice: time.Hour, Horizon: 60 * 24 * time.Hour},
		} {
			if _, err := s.CreateAppointmentType(ctx, actor, t); err != nil {
				return err
			}
		}
	}
	appt, err := demoAppointment(ctx, s, actor, clin, karen)
	if err != nil {
		return err
	}
	if err := demoKit(ctx, c.kit, sched, karen.ID); err != nil {
		return err
	}
	c.demoAppt = appt

	issuer := tokenIssuer{keys: c.keys, base: base}
	// The printed links are operator tokens (no session, so no idle
	// timeout): whoever runs the demo may open them hours later.
	schedTok, err := issuer.Session(sched, "", demoSessionTTL)
	if err != nil {
		return err
	}
	clinTok, err := issuer.Session(clinUser, "", demoSessionTTL)
	if err != nil {
		return err
	}
	patientLink, err := issuer.GuestLink(appt, signaling.RolePatient, karen.ID, karen.Name, scheduler.LinkPolicy{}.Until(appt))
	if err != nil {
		return err
	}
	c.log.Info("demo staff can also sign in at /login", "users", "scheduler, clinician", "password", password)
	fmt.Fprintf(stdout, "scheduler: %s/calendar#t=%s\n", base, schedTok)
	fmt.Fprintf(stdout, "clinician: %s/console#t=%s\n", base, clinTok)
	fmt.Fprintf(stdout, "patient: %s\n", patientLink)
	return nil
}

// demoUser returns the demo user, creating it (or resetting its password to
// the one printed in the log) as needed.
func demoUser(ctx context.Context, s *scheduler.Store, username, name, role, password string) (scheduler.User, error) {
	u, err := s.CreateUser(ctx, scheduler.System, username, name, role, password)
	if errors.Is(err, scheduler.ErrConflict) {
		if u, err = s.UserByUsername(ctx, username); err != nil {
			return u, err
		}
		return u, s.SetPassword(ctx, scheduler.System, u.ID, password)
	}
	return u, err
}

// demoClinician finds or creates a clinician with availability on weekdays
// and all of today and tomorrow, so that the demo works at any hour.
func demoClinician(ctx context.Context, s *scheduler.Store, actor scheduler.Actor, u scheduler.User) (scheduler.Clinician, error) {
	cs, err := s.ListClinicians(ctx)
	if err != nil {
		return scheduler.Clinician{}, err
	}
	var clin scheduler.Clinician
	for _, c := range cs {
		if c.Name == u.Name {
			clin = c
		}
	}
	if clin.ID == "" {
		clin, err = s.CreateClinician(ctx, actor, scheduler.Clinician{Name: u.Name, Department: "Medical outpatient clinic",
			Zone: scheduler.DefaultZone, UserID: u.ID})
		if err != nil {
			return clin, err
		}
	}
	loc, err := time.LoadLocation(clin.Zone)
	if err != nil {
		return clin, err
	}
	av := scheduler.Availability{ClinicianID: clin.ID, Zone: clin.Zone}
	for d := time.Monday; d <= time.Friday; d++ {
		av.Rules = append(av.Rules, scheduler.WeeklyRule{Weekday: d, Start: scheduler.Clock(8, 0), End: scheduler.Clock(15, 30)})
	}
	now := time.Now().In(loc)
	for i := range 2 {
		day := now.AddDate(0, 0, i)
		av.Exceptions = append(av.Exceptions, scheduler.Exception{
			Date: scheduler.Date{Year: day.Year(), Month: day.Month(), Day: day.Day()},
			Kind: scheduler.ExtraHours, Start: 0, End: scheduler.Clock(24, 0),
		})
	}
	_, err = s.PutAvailability(ctx, actor, clin.ID, av)
	return clin, err
}

// demoAppointment returns an appointment of today whose link is open now, or
// books one that starts at the next minute.
func demoAppointment(ctx context.Context, s *scheduler.Store, actor scheduler.Actor, clin scheduler.Clinician, p scheduler.Patient) (scheduler.Appointment, error) {
	now := time.Now()
	existing, err := s.ListAppointments(ctx, actor, clin.ID, now.Add(-12*time.Hour), now.Add(12*time.Hour))
	if err != nil {
		return scheduler.Appointment{}, err
	}
	for _, a := range existing {
		if a.PatientID == p.ID && (scheduler.LinkPolicy{}).Window(a, now).State == scheduler.LinkOpen {
			return a, nil
		}
	}
	b, err := s.Book(ctx, actor, scheduler.BookRequest{
		ClinicianID: clin.ID, PatientID: p.ID,
		Start: now.Truncate(time.Minute).Add(time.Minute), Duration: 30 * time.Minute,
	}, now)
	return b.Appointment, err
}

// demoKit gives the demo patient a home kit of three devices.
func demoKit(ctx context.Context, kit *homekit.Store, by scheduler.User, patientID string) error {
	actor := homekit.Actor{ID: by.ID, Role: by.Role}
	have, err := kit.ListDevices(ctx, actor, patientID)
	if err != nil || len(have) > 0 {
		return err
	}
	for _, d := range []homekit.Device{
		{Kind: gatt.KindBloodPressure, Model: "Blood pressure monitor", Address: "00:09:1F:00:00:01", IdentifiedBy: homekit.ByBluetoothAddress, Label: "Arm cuff"},
		{Kind: gatt.KindPulseOximeter, Model: "Pulse oximeter", Address: "00:09:1F:00:00:02", IdentifiedBy: homekit.ByBluetoothAddress, Label: "Finger clip"},
		{Kind: gatt.KindThermometer, Model: "Ear thermometer", Address: "00:09:1F:00:00:03", IdentifiedBy: homekit.ByBluetoothAddress, Label: "Thermometer"},
	} {
		d.PatientID = patientID
		if _, err := kit.AddDevice(ctx, actor, d); err != nil {
			return err
		}
	}
	return nil
}
