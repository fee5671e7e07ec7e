package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"vclinic/internal/records"
)

// Limits on appointment lengths and buffers. The overlap query relies on
// maxOccupied to bound its index scan.
const (
	minDuration = 5 * time.Minute
	maxDuration = 8 * time.Hour
	maxBuffer   = 2 * time.Hour
	maxOccupied = maxDuration + 2*maxBuffer
	maxHorizon  = 2 * 366 * 24 * time.Hour
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
		if err := checkDepartment(ctx, tx, c.Department); err != nil {
			return err
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

// checkDepartment refuses a department the clinic's settings do not name,
// when they name any (Settings.Departments): a clinician then belongs to
// one of them, by its id. A clinic without departments keeps free text.
func checkDepartment(ctx context.Context, tx rowQuerier, department string) error {
	st, err := readSettings(ctx, tx)
	if err != nil {
		return err
	}
	if len(st.Departments) == 0 {
		return nil
	}
	ids := make([]string, len(st.Departments))
	for i, d := range st.Departments {
		if d.ID == department {
			return nil
		}
		ids[i] = d.ID
	}
	return because(ErrUnprocessable, "department: %q is not one of the clinic's departments (%s)", department, strings.Join(ids, ", "))
}

// ClinicianChange changes a clinician's name or department; a nil field
// stays as it is.
type ClinicianChange struct {
	Name       *string `json:"name"`
	Department *string `json:"department"`
}

// UpdateClinician changes a clinician's name or department (one of the
// clinic's departments when its settings name any), audited.
func (s *Store) UpdateClinician(ctx context.Context, actor Actor, id string, ch ClinicianChange) (Clinician, error) {
	if err := checkActor(actor); err != nil {
		return Clinician{}, err
	}
	var out Clinician
	err := s.db.InTx(ctx, "update clinician "+id, func(tx *sql.Tx) error {
		c, err := getClinician(ctx, tx, id)
		if err != nil {
			return err
		}
		var changed []string
		if ch.Name != nil {
			c.Name = strings.TrimSpace(*ch.Name)
			if c.Name == "" {
				return because(ErrUnprocessable, "name is required")
			}
			changed = append(changed, "name")
		}
		if ch.Department != nil {
			c.Department = strings.TrimSpace(*ch.Department)
			if err := checkDepartment(ctx, tx, c.Department); err != nil {
				return err
			}
			changed = append(changed, "department "+c.Department)
		}
		if err := checkTexts(field{"name", c.Name, maxName}, field{"department", c.Department, maxName}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE clinicians SET name = $1, department = $2 WHERE id = $3`, c.Name, c.Department, c.ID); err != nil {
			return err
		}
		out = c
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "clinician", c.ID, "", strings.Join(changed, ", "))
	})
	if err != nil {
		return Clinician{}, err
	}
	return out, nil
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
	if err := checkTexts(field{"name", p.Name, maxName}, field{"contact", p.Contact, maxName}, field{"email", p.Email, maxName}); err != nil {
		return Patient{}, err
	}
	if err := checkContact(&p); err != nil {
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
		_, err := tx.ExecContext(ctx, `INSERT INTO patients (id, name, contact, cpr, cpr_index, created_at, email, phone, contact_by, language)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			p.ID, p.Name, p.Contact, cpr, index, s.ts(p.CreatedAt), p.Email, p.Phone, p.ContactBy, p.Language)
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

const patientColumns = `id, name, contact, cpr, created_at, email, phone, contact_by, language`

func (s *Store) scanPatient(r interface{ Scan(...any) error }) (Patient, error) {
	var p Patient
	var cpr sql.NullString
	if err := r.Scan(&p.ID, &p.Name, &p.Contact, &cpr, records.Time(&p.CreatedAt), &p.Email, &p.Phone, &p.ContactBy, &p.Language); err != nil {
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

// CreateAppointmentType adds a kind of visit (an admin's work). Duration
// must be 5 min to 8 h, each buffer at most 2 h; Horizon 0 books as far ahead
// as the clinic's settings allow, else it is at most two years.
func (s *Store) CreateAppointmentType(ctx context.Context, actor Actor, t AppointmentType) (AppointmentType, error) {
	if err := checkActor(actor); err != nil {
		return AppointmentType{}, err
	}
	if err := mayConfigure(actor); err != nil {
		return AppointmentType{}, err
	}
	t.ID = newID()
	if err := s.checkType(&t); err != nil {
		return AppointmentType{}, err
	}
	err := s.db.InTx(ctx, "create appointment type", func(tx *sql.Tx) error {
		now := s.ts(s.now())
		_, err := tx.ExecContext(ctx, `INSERT INTO appointment_types
			(id, name, duration_ms, buffer_before_ms, buffer_after_ms, min_notice_ms, horizon_ms,
			 name_da, name_en, expected, retired, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
			t.ID, t.Name, t.Duration.Milliseconds(), t.BufferBefore.Milliseconds(), t.BufferAfter.Milliseconds(),
			t.MinNotice.Milliseconds(), t.Horizon.Milliseconds(), t.Names.DA, t.Names.EN,
			strings.Join(t.Expected, ","), t.Retired, now)
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditCreate, "appointment-type", t.ID, "", typeDetail(t))
	})
	if err != nil {
		return AppointmentType{}, err
	}
	return t, nil
}

// UpdateAppointmentType replaces the rules of an appointment type (an
// admin's work, audited with what changed). Booked appointments keep the
// length and buffers they were booked with: the change applies to bookings
// made after it.
func (s *Store) UpdateAppointmentType(ctx context.Context, actor Actor, t AppointmentType) (AppointmentType, error) {
	if err := checkActor(actor); err != nil {
		return AppointmentType{}, err
	}
	if err := mayConfigure(actor); err != nil {
		return AppointmentType{}, err
	}
	if err := s.checkType(&t); err != nil {
		return AppointmentType{}, err
	}
	err := s.db.InTx(ctx, "change appointment type "+t.ID, func(tx *sql.Tx) error {
		before, err := getType(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE appointment_types SET name = $1, duration_ms = $2, buffer_before_ms = $3,
			buffer_after_ms = $4, min_notice_ms = $5, horizon_ms = $6, name_da = $7, name_en = $8, expected = $9,
			retired = $10, updated_at = $11 WHERE id = $12`,
			t.Name, t.Duration.Milliseconds(), t.BufferBefore.Milliseconds(), t.BufferAfter.Milliseconds(),
			t.MinNotice.Milliseconds(), t.Horizon.Milliseconds(), t.Names.DA, t.Names.EN,
			strings.Join(t.Expected, ","), t.Retired, s.ts(s.now()), t.ID)
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "appointment-type", t.ID, "", typeChanges(before, t))
	})
	if err != nil {
		return AppointmentType{}, err
	}
	return t, nil
}

// DeleteAppointmentType removes an appointment type no appointment uses (an
// admin's work). One that appointments use, booked ahead or kept in the
// record, is refused with ErrConflict: retire it instead.
func (s *Store) DeleteAppointmentType(ctx context.Context, actor Actor, id string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if err := mayConfigure(actor); err != nil {
		return err
	}
	return s.db.InTx(ctx, "delete appointment type "+id, func(tx *sql.Tx) error {
		t, err := getType(ctx, tx, id)
		if err != nil {
			return err
		}
		var ahead, all int
		err = tx.QueryRowContext(ctx, `SELECT
			count(*) FILTER (WHERE status IN ('booked', 'arrived', 'checked-in') AND end_at > $2), count(*)
			FROM appointments WHERE type_id = $1`, id, s.ts(s.now())).Scan(&ahead, &all)
		if err != nil {
			return err
		}
		switch {
		case ahead > 0:
			return because(ErrConflict, "%d appointments ahead use %s; retire it instead, and it is offered no more", ahead, t.Name)
		case all > 0:
			return because(ErrConflict, "%d past appointments in the record use %s; retire it instead", all, t.Name)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM appointment_types WHERE id = $1`, id); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditDelete, "appointment-type", id, "", typeDetail(t))
	})
}

// mayConfigure refuses anyone but an admin: the clinic's types and settings
// are theirs to change.
func mayConfigure(actor Actor) error {
	if actor.Role != RoleAdmin && actor.Role != System.Role {
		return because(ErrForbidden, "only an admin may change the clinic's appointment types and settings")
	}
	return nil
}

// maxExpected bounds the measurements one appointment type expects.
const maxExpected = 20

// checkType validates t and puts it in its stored form: names trimmed, Name
// the English name (else the Danish), durations to the millisecond, expected
// codes sorted and once each.
func (s *Store) checkType(t *AppointmentType) error {
	t.Names.DA, t.Names.EN = strings.TrimSpace(t.Names.DA), strings.TrimSpace(t.Names.EN)
	if t.Names == (Names{}) {
		t.Names.EN = strings.TrimSpace(t.Name)
	}
	t.Name = t.Names.In("en")
	for _, d := range []*time.Duration{&t.Duration, &t.BufferBefore, &t.BufferAfter, &t.MinNotice, &t.Horizon} {
		*d = d.Truncate(time.Millisecond)
	}
	t.Expected = slices.Compact(slices.Sorted(slices.Values(t.Expected)))
	if t.Expected == nil {
		t.Expected = []string{}
	}
	if r := checkNames(t.Names); r != "" {
		return because(ErrUnprocessable, "names: %s", r)
	}
	switch {
	case t.Duration < minDuration || t.Duration > maxDuration:
		return because(ErrUnprocessable, "duration must be %v to %v", minDuration, maxDuration)
	case t.BufferBefore < 0 || t.BufferBefore > maxBuffer || t.BufferAfter < 0 || t.BufferAfter > maxBuffer:
		return because(ErrUnprocessable, "buffers must be 0 to %v", maxBuffer)
	case t.MinNotice < 0 || t.MinNotice > maxHorizon:
		return because(ErrUnprocessable, "minimum notice must be 0 to %v", maxHorizon)
	case t.Horizon < 0 || t.Horizon > maxHorizon || t.Horizon > 0 && t.Horizon <= t.MinNotice:
		return because(ErrUnprocessable, "horizon must be longer than the minimum notice and at most %d days (none: the clinic's)", maxHorizon/(24*time.Hour))
	case len(t.Expected) > maxExpected:
		return because(ErrUnprocessable, "expected: at most %d measurements", maxExpected)
	}
	for _, c := range t.Expected {
		if !validLOINC(c) || len(s.cfg.MeasurementCodes) > 0 && !slices.Contains(s.cfg.MeasurementCodes, c) {
			if len(s.cfg.MeasurementCodes) > 0 {
				return because(ErrUnprocessable, "expected: %q is not a measurement the home kit takes (%s)", c, strings.Join(s.cfg.MeasurementCodes, ", "))
			}
			return because(ErrUnprocessable, "expected: %q is not a LOINC code", c)
		}
	}
	return nil
}

// loincCode is the form of a LOINC code: up to seven digits, a hyphen and
// the check digit.
var loincCode = regexp.MustCompile(`^[0-9]{1,7}-[0-9]$`)

// validLOINC reports whether c is a LOINC code whose check digit is right:
// the mod 10 algorithm of the LOINC Users' Guide (Appendix: "Calculating Mod
// 10 Check Digits"), which doubles every other digit from the right.
func validLOINC(c string) bool {
	if !loincCode.MatchString(c) {
		return false
	}
	digits, check := c[:len(c)-2], int(c[len(c)-1]-'0')
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 0 {
			d *= 2
			d = d/10 + d%10
		}
		sum += d
	}
	return (10-sum%10)%10 == check
}

// typeDetail sums up a type for the audit log.
func typeDetail(t AppointmentType) string {
	return fmt.Sprintf("%s: %v, buffers %v/%v, notice %v, horizon %v, expected %s, retired %t",
		t.Name, t.Duration, t.BufferBefore, t.BufferAfter, t.MinNotice, t.Horizon, strings.Join(t.Expected, ","), t.Retired)
}

// typeChanges says what changed between two versions of a type.
func typeChanges(a, b AppointmentType) string {
	var out []string
	add := func(name string, x, y any) {
		if fmt.Sprint(x) != fmt.Sprint(y) {
			out = append(out, fmt.Sprintf("%s %v -> %v", name, x, y))
		}
	}
	add("names", a.Names, b.Names)
	add("duration", a.Duration, b.Duration)
	add("buffer before", a.BufferBefore, b.BufferBefore)
	add("buffer after", a.BufferAfter, b.BufferAfter)
	add("notice", a.MinNotice, b.MinNotice)
	add("horizon", a.Horizon, b.Horizon)
	add("expected", a.Expected, b.Expected)
	add("retired", a.Retired, b.Retired)
	if len(out) == 0 {
		return "no change"
	}
	return strings.Join(out, "; ")
}

const typeColumns = `id, name, duration_ms, buffer_before_ms, buffer_after_ms, min_notice_ms, horizon_ms,
	name_da, name_en, expected, retired`

func scanType(r interface{ Scan(...any) error }) (AppointmentType, error) {
	var (
		t        AppointmentType
		expected string
	)
	err := r.Scan(&t.ID, &t.Name, durScan{&t.Duration}, durScan{&t.BufferBefore}, durScan{&t.BufferAfter},
		durScan{&t.MinNotice}, durScan{&t.Horizon}, &t.Names.DA, &t.Names.EN, &expected, &t.Retired)
	t.Expected = []string{}
	if expected != "" {
		t.Expected = strings.Split(expected, ",")
	}
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
