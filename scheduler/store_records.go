package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"vclinic/internal/records"
)

// Limits on appointment lengths and buffers. The overlap query relies on
// maxOccupied to bound its index scan.
const (
	minDuration    = 5 * time.Minute
	maxDuration    = 8 * time.Hour
	maxBuffer      = 2 * time.Hour
	maxOccupied    = maxDuration + 2*maxBuffer
	defaultHorizon = 180 * 24 * time.Hour
	maxHorizon     = 2 * 366 * 24 * time.Hour
)

// maxName bounds names, departments and contact details, in characters.
const maxName = 200

// field is one text value of a record and its bound, for checkTexts.
type field struct {
	name, value string
	max         int
}

// checkTexts refuses, with ErrUnprocessable and the field's name, text the
// records do not keep (records.CheckText).
func checkTexts(fs ...field) error {
	for _, f := range fs {
		if reason := records.CheckText(f.value, f.max); reason != "" {
			return because(ErrUnprocessable, "%s: %s", f.name, reason)
		}
	}
	return nil
}

// checkZone refuses a time zone that is not an IANA zone: "Local" would be
// whatever zone the server runs in.
func (s *Store) checkZone(zone string) error {
	if zone == "Local" {
		return because(ErrUnprocessable, "time zone %q: want an IANA zone such as Europe/Copenhagen", zone)
	}
	if _, err := s.location(zone); err != nil {
		return because(ErrUnprocessable, "unknown time zone %q", zone)
	}
	return nil
}

// CreateClinician adds a clinician. Zone defaults to DefaultZone; UserID, if
// set, names an existing user. ID and CreatedAt are assigned.
func (s *Store) CreateClinician(ctx context.Context, actor Actor, c Clinician) (Clinician, error) {
	if err := checkActor(actor); err != nil {
		return Clinician{}, err
	}
	c.ID, c.CreatedAt = newID(), records.Instant(s.now())
	c.Name, c.Department = strings.TrimSpace(c.Name), strings.TrimSpace(c.Department)
	if c.Zone == "" {
		c.Zone = DefaultZone
	}
	if c.Name == "" {
		return Clinician{}, because(ErrUnprocessable, "name is required")
	}
	if err := checkTexts(field{"name", c.Name, maxName}, field{"department", c.Department, maxName}); err != nil {
		return Clinician{}, err
	}
	if err := s.checkZone(c.Zone); err != nil {
		return Clinician{}, err
	}
	err := s.db.InTx(ctx, "create clinician", func(tx *sql.Tx) error {
		var user any
		if c.UserID != "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = $1`, c.UserID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return because(ErrUnprocessable, "unknown user %s", c.UserID)
			}
			user = c.UserID
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO clinicians (id, name, department, zone, user_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.Name, c.Department, c.Zone, user, s.ts(c.CreatedAt))
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditCreate, "clinician", c.ID, "", "")
	})
	if err != nil {
		return Clinician{}, err
	}
	return c, nil
}

const clinicianColumns = `id, name, department, zone, user_id, created_at`

func scanClinician(r interface{ Scan(...any) error }) (Clinician, error) {
	var c Clinician
	var user sql.NullString
	err := r.Scan(&c.ID, &c.Name, &c.Department, &c.Zone, &user, records.Time(&c.CreatedAt))
	c.UserID = user.String
	return c, err
}

// GetClinician returns the clinician with the id.
func (s *Store) GetClinician(ctx context.Context, id string) (Clinician, error) {
	c, err := getClinician(ctx, s.db, id)
	if err != nil {
		return Clinician{}, fmt.Errorf("get clinician %s: %w", id, err)
	}
	return c, nil
}

func getClinician(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (Clinician, error) {
	c, err := scanClinician(q.QueryRowContext(ctx, `SELECT `+clinicianColumns+` FROM clinicians WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Clinician{}, because(ErrNotFound, "no clinician %s", id)
	}
	return c, err
}

// ListClinicians returns every clinician, by name.
func (s *Store) ListClinicians(ctx context.Context) ([]Clinician, error) {
	var out []Clinician
	err := records.QueryRows(ctx, s.db, `SELECT `+clinicianColumns+` FROM clinicians ORDER BY name, id`, nil, func(r *sql.Rows) error {
		c, err := scanClinician(r)
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list clinicians: %w", err)
	}
	return out, nil
}

// PatientExists is nil when the clinic knows patient id, ErrNotFound
// otherwise. It reads nothing of the patient and writes no audit row.
func (s *Store) PatientExists(ctx context.Context, id string) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM patients WHERE id = $1`, id).Scan(&n); err != nil {
		return fmt.Errorf("patient %s: %w", id, err)
	}
	if n == 0 {
		return because(ErrNotFound, "no patient %s", id)
	}
	return nil
}

// CreatePatient adds a patient. The CPR number is optional; when given it
// must be 10 digits and belong to no other patient. ID and CreatedAt are
// assigned.
func (s *Store) CreatePatient(ctx context.Context, actor Actor, p Patient) (Patient, error) {
	if err := checkActor(actor); err != nil {
		return Patient{}, err
	}
	p.ID, p.CreatedAt = newID(), records.Instant(s.now())
	p.Name, p.Contact = strings.TrimSpace(p.Name), strings.TrimSpace(p.Contact)
	if p.Name == "" {
		return Patient{}, because(ErrUnprocessable, "name is required")
	}
	if err := checkTexts(field{"name", p.Name, maxName}, field{"contact", p.Contact, maxName}); err != nil {
		return Patient{}, err
	}
	if err := p.CPR.Validate(); err != nil {
		return Patient{}, because(ErrUnprocessable, "CPR number must be 10 digits")
	}
	var cpr, index any
	if p.CPR != "" {
		if s.cfg.CPRKey == nil {
			return Patient{}, ErrNoCPRKey
		}
		cpr, index = s.cfg.CPRKey.seal(p.CPR), s.cfg.CPRKey.indexOf(p.CPR)
	}
	err := s.db.InTx(ctx, "create patient", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO patients (id, name, contact, cpr, cpr_index, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			p.ID, p.Name, p.Contact, cpr, index, s.ts(p.CreatedAt))
		if records.Unique(err) {
			// The driver's message would name the column; PostgreSQL's detail
			// would hold the number. Neither goes further.
			return because(ErrConflict, "a patient with this CPR number exists")
		}
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditCreate, "patient", p.ID, p.ID, "")
	})
	if err != nil {
		return Patient{}, err
	}
	return p, nil
}

const patientColumns = `id, name, contact, cpr, created_at`

func (s *Store) scanPatient(r interface{ Scan(...any) error }) (Patient, error) {
	var p Patient
	var cpr sql.NullString
	if err := r.Scan(&p.ID, &p.Name, &p.Contact, &cpr, records.Time(&p.CreatedAt)); err != nil {
		return p, err
	}
	if cpr.Valid {
		if s.cfg.CPRKey == nil {
			return p, ErrNoCPRKey
		}
		c, err := s.cfg.CPRKey.open(cpr.String)
		if err != nil {
			return p, err
		}
		p.CPR = c
	}
	return p, nil
}

// GetPatient returns the patient with the id.
func (s *Store) GetPatient(ctx context.Context, actor Actor, id string) (Patient, error) {
	if err := checkActor(actor); err != nil {
		return Patient{}, err
	}
	var p Patient
	err := s.db.InTx(ctx, "get patient "+id, func(tx *sql.Tx) error {
		var err error
		p, err = s.scanPatient(tx.QueryRowContext(ctx, `SELECT `+patientColumns+` FROM patients WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return because(ErrNotFound, "no patient %s", id)
		}
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditRead, "patient", id, id, "")
	})
	if err != nil {
		return Patient{}, err
	}
	return p, nil
}

// PatientFilter narrows ListPatients.
type PatientFilter struct {
	Name  string // part of the name, any case; "" for any
	CPR   CPR    // the exact number; "" for any
	Limit int    // at most this many; default 50, at most 500
}

// ListPatients returns the patients that match f, by name. Each patient
// returned is logged as read by actor.
func (s *Store) ListPatients(ctx context.Context, actor Actor, f PatientFilter) ([]Patient, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if reason := records.CheckText(f.Name, maxName); reason != "" {
		return nil, because(ErrUnprocessable, "name: %s", reason)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	if err := f.CPR.Validate(); err != nil {
		return nil, because(ErrUnprocessable, "CPR number must be 10 digits")
	}
	q := `SELECT ` + patientColumns + ` FROM patients WHERE 1 = 1`
	var args []any
	if f.Name != "" {
		args = append(args, "%"+likeEscaper.Replace(strings.ToLower(f.Name))+"%")
		q += fmt.Sprintf(` AND lower(name) LIKE $%d ESCAPE '\'`, len(args))
	}
	if f.CPR != "" {
		if s.cfg.CPRKey == nil {
			return nil, ErrNoCPRKey
		}
		args = append(args, s.cfg.CPRKey.indexOf(f.CPR))
		q += fmt.Sprintf(` AND cpr_index = $%d`, len(args))
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY name, id LIMIT $%d`, len(args))
	var out []Patient
	err := s.db.InTx(ctx, "list patients", func(tx *sql.Tx) error {
		out = out[:0]
		err := records.QueryRows(ctx, tx, q, args, func(r *sql.Rows) error {
			p, err := s.scanPatient(r)
			out = append(out, p)
			return err
		})
		if err != nil {
			return err
		}
		for _, p := range out {
			if err := s.auditRecord(ctx, tx, actor, AuditList, "patient", p.ID, p.ID, "patient search"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// likeEscaper escapes the LIKE wildcards of a search term.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// LogValue keeps the CPR number out of logs, whichever slog handler is used
// (a JSON handler would otherwise marshal the bare string).
func (c CPR) LogValue() slog.Value { return slog.StringValue(c.String()) }

// LogValue logs a patient by id only: names, contact details and CPR numbers
// are health data and stay out of logs.
func (p Patient) LogValue() slog.Value { return slog.GroupValue(slog.String("id", p.ID)) }

// CreateAppointmentType adds a kind of visit. Duration must be 5 min to 8 h,
// each buffer at most 2 h; Horizon defaults to 180 days (at most two years).
func (s *Store) CreateAppointmentType(ctx context.Context, actor Actor, t AppointmentType) (AppointmentType, error) {
	if err := checkActor(actor); err != nil {
		return AppointmentType{}, err
	}
	t.ID = newID()
	t.Name = strings.TrimSpace(t.Name)
	if t.Horizon == 0 {
		t.Horizon = defaultHorizon
	}
	for _, d := range []*time.Duration{&t.Duration, &t.BufferBefore, &t.BufferAfter, &t.MinNotice, &t.Horizon} {
		*d = d.Truncate(time.Millisecond)
	}
	switch {
	case t.Name == "":
		return AppointmentType{}, because(ErrUnprocessable, "name is required")
	case records.CheckText(t.Name, maxName) != "":
		return AppointmentType{}, because(ErrUnprocessable, "name: %s", records.CheckText(t.Name, maxName))
	case t.Duration < minDuration || t.Duration > maxDuration:
		return AppointmentType{}, because(ErrUnprocessable, "duration must be %v to %v", minDuration, maxDuration)
	case t.BufferBefore < 0 || t.BufferBefore > maxBuffer || t.BufferAfter < 0 || t.BufferAfter > maxBuffer:
		return AppointmentType{}, because(ErrUnprocessable, "buffers must be 0 to %v", maxBuffer)
	case t.MinNotice < 0:
		return AppointmentType{}, because(ErrUnprocessable, "minimum notice must not be negative")
	case t.Horizon <= t.MinNotice || t.Horizon > maxHorizon:
		return AppointmentType{}, because(ErrUnprocessable, "horizon must be longer than the minimum notice and at most %v", maxHorizon)
	}
	err := s.db.InTx(ctx, "create appointment type", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO appointment_types
			(id, name, duration_ms, buffer_before_ms, buffer_after_ms, min_notice_ms, horizon_ms, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			t.ID, t.Name, t.Duration.Milliseconds(), t.BufferBefore.Milliseconds(), t.BufferAfter.Milliseconds(),
			t.MinNotice.Milliseconds(), t.Horizon.Milliseconds(), s.ts(s.now()))
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditCreate, "appointment-type", t.ID, "", "")
	})
	if err != nil {
		return AppointmentType{}, err
	}
	return t, nil
}

const typeColumns = `id, name, duration_ms, buffer_before_ms, buffer_after_ms, min_notice_ms, horizon_ms`

func scanType(r interface{ Scan(...any) error }) (AppointmentType, error) {
	var t AppointmentType
	err := r.Scan(&t.ID, &t.Name, durScan{&t.Duration}, durScan{&t.BufferBefore}, durScan{&t.BufferAfter},
		durScan{&t.MinNotice}, durScan{&t.Horizon})
	return t, err
}

// GetAppointmentType returns the appointment type with the id.
func (s *Store) GetAppointmentType(ctx context.Context, id string) (AppointmentType, error) {
	t, err := getType(ctx, s.db, id)
	if err != nil {
		return AppointmentType{}, fmt.Errorf("get appointment type %s: %w", id, err)
	}
	return t, nil
}

func getType(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (AppointmentType, error) {
	t, err := scanType(q.QueryRowContext(ctx, `SELECT `+typeColumns+` FROM appointment_types WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return AppointmentType{}, because(ErrNotFound, "no appointment type %s", id)
	}
	return t, err
}

// ListAppointmentTypes returns every appointment type, by name.
func (s *Store) ListAppointmentTypes(ctx context.Context) ([]AppointmentType, error) {
	var out []AppointmentType
	err := records.QueryRows(ctx, s.db, `SELECT `+typeColumns+` FROM appointment_types ORDER BY name, id`, nil, func(r *sql.Rows) error {
		t, err := scanType(r)
		out = append(out, t)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list appointment types: %w", err)
	}
	return out, nil
}
