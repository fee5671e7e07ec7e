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

// seedDemo fills the records with a small clinic (its Danish settings and
// hours, two clinicians, a scheduler, an admin, three patients, three
// appointment types named in Danish and English, and an appointment that
// starts now) and prints one link per line: "scheduler: URL", "clinician:
// URL", "admin: URL" (the clinic's configuration) and "patient: URL". Run
// again on the same data directory, it reuses what is there and books a new
// appointment only when none of today's is open.
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
	admin, err := demoUser(ctx, s, "admin", "Lone Madsen", scheduler.RoleAdmin, password)
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
			{Name: "Karen Jensen", Email: "karen.jensen@example.org", Phone: "+45 20 00 00 01", ContactBy: scheduler.ContactSMS},
			{Name: "Jens Nielsen", Phone: "+45 20 00 00 00"},
			{Name: "Birgitte Hansen", Email: "birgitte@example.org", Language: "en"},
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
			{Names: scheduler.Names{DA: "Videokonsultation", EN: "Video consultation"}, Duration: 20 * time.Minute,
				BufferAfter: 5 * time.Minute, MinNotice: time.Hour, Horizon: 60 * 24 * time.Hour,
				Expected: []string{gatt.LOINCBloodPressurePanel, gatt.LOINCSpO2}},
			{Names: scheduler.Names{DA: "Kort opfølgning", EN: "Short follow-up"}, Duration: 10 * time.Minute,
				MinNotice: time.Hour, Horizon: 60 * 24 * time.Hour},
			{Names: scheduler.Names{DA: "Telefonopfølgning 15 min", EN: "Telephone follow-up 15 min"}, Duration: 15 * time.Minute,
				MinNotice: 2 * time.Hour},
		} {
			if _, err := s.CreateAppointmentType(ctx, scheduler.System, t); err != nil {
				return err
			}
		}
	}
	if err := demoSettings(ctx, s); err != nil {
		return err
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
	adminTok, err := issuer.Session(admin, "", demoSessionTTL)
	if err != nil {
		return err
	}
	patientLink, err := issuer.GuestLink(appt, signaling.RolePatient, karen.ID, karen.Name, scheduler.LinkPolicy{}.Until(appt))
	if err != nil {
		return err
	}
	// The link carries the language the patient reads, as every
	// invitation link does.
	lang := karen.Language
	if lang == "" {
		st, err := s.Settings(ctx)
		if err != nil {
			return err
		}
		lang = st.Language
	}
	patientLink += "&lang=" + lang
	c.log.Info("demo staff can also sign in at /login", "users", "scheduler, clinician, admin", "password", password)
	fmt.Fprintf(stdout, "scheduler: %s/calendar#t=%s\n", base, schedTok)
	fmt.Fprintf(stdout, "clinician: %s/console#t=%s\n", base, clinTok)
	fmt.Fprintf(stdout, "admin: %s/admin#t=%s\n", base, adminTok)
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

// demoHours are the demo clinic's opening hours, and its clinicians'
// availability: weekdays, none at night.
var demoHours = []struct {
	day         time.Weekday
	open, close scheduler.WallClock
}{
	{time.Monday, scheduler.Clock(8, 0), scheduler.Clock(15, 30)},
	{time.Tuesday, scheduler.Clock(8, 0), scheduler.Clock(15, 30)},
	{time.Wednesday, scheduler.Clock(8, 0), scheduler.Clock(15, 30)},
	{time.Thursday, scheduler.Clock(8, 0), scheduler.Clock(17, 0)},
	{time.Friday, scheduler.Clock(8, 0), scheduler.Clock(14, 0)},
}

// demoSettings gives the clinic a Danish name, number, hours and
// departments, unless an admin has changed its settings since they were
// seeded.
func demoSettings(ctx context.Context, s *scheduler.Store) error {
	st, err := s.Settings(ctx)
	if err != nil || st.Version > 1 {
		return err
	}
	st.Name = "Medicinsk Ambulatorium, Regionshospitalet Demo"
	st.Phone = "+4512345678"
	st.Hours = scheduler.WeekHours{}
	for _, h := range demoHours {
		*st.Hours.Day(h.day) = []scheduler.OpenSpan{{Open: h.open.String(), Close: h.close.String()}}
	}
	st.Departments = []scheduler.Department{
		{ID: "medicin", Names: scheduler.Names{DA: "Medicinsk Ambulatorium", EN: "Medical Outpatient Clinic"}},
		{ID: "hjerte", Names: scheduler.Names{DA: "Hjerteambulatoriet", EN: "Cardiac Outpatient Clinic"}},
	}
	_, err = s.PutSettings(ctx, scheduler.System, st)
	return err
}

// demoClinician finds or creates a clinician available in the demo clinic's
// opening hours.
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
		clin, err = s.CreateClinician(ctx, actor, scheduler.Clinician{Name: u.Name, Department: "medicin",
			Zone: scheduler.DefaultZone, UserID: u.ID})
		if err != nil {
			return clin, err
		}
	}
	av := scheduler.Availability{ClinicianID: clin.ID, Zone: clin.Zone}
	for _, h := range demoHours {
		av.Rules = append(av.Rules, scheduler.WeeklyRule{Weekday: h.day, Start: h.open, End: h.close})
	}
	_, err = s.PutAvailability(ctx, actor, clin.ID, av)
	return clin, err
}

// demoAppointment returns an appointment of today whose link is open now, or
// books one that starts at the next minute. Outside the clinic's hours the
// clinician takes extra hours for that visit alone, so the demo works at
// any hour and the calendar still shows no free times at night.
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
	start := now.Truncate(time.Minute).Add(time.Minute)
	const length = 30 * time.Minute
	req := scheduler.BookRequest{ClinicianID: clin.ID, PatientID: p.ID, Start: start, Duration: length}
	b, err := s.Book(ctx, actor, req, now)
	if errors.Is(err, scheduler.ErrUnprocessable) {
		if err := demoExtraHours(ctx, s, actor, clin, start, start.Add(length)); err != nil {
			return scheduler.Appointment{}, err
		}
		b, err = s.Book(ctx, actor, req, now)
	}
	return b.Appointment, err
}

// demoExtraHours adds [start, end) to the clinician's availability, split at
// local midnight.
func demoExtraHours(ctx context.Context, s *scheduler.Store, actor scheduler.Actor, clin scheduler.Clinician, start, end time.Time) error {
	loc, err := time.LoadLocation(clin.Zone)
	if err != nil {
		return err
	}
	av, err := s.GetAvailability(ctx, clin.ID)
	if err != nil {
		return err
	}
	for from := start.In(loc); from.Before(end); {
		midnight := time.Date(from.Year(), from.Month(), from.Day()+1, 0, 0, 0, 0, loc)
		to := end.In(loc)
		endClock := scheduler.Clock(to.Hour(), to.Minute())
		if !to.Before(midnight) {
			to, endClock = midnight, scheduler.Clock(24, 0)
		}
		av.Exceptions = append(av.Exceptions, scheduler.Exception{
			Date: scheduler.Date{Year: from.Year(), Month: from.Month(), Day: from.Day()},
			Kind: scheduler.ExtraHours, Start: scheduler.Clock(from.Hour(), from.Minute()), End: endClock,
		})
		from = to
	}
	_, err = s.PutAvailability(ctx, actor, clin.ID, av)
	return err
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
