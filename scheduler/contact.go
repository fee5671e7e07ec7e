package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"vclinic/internal/records"
)

// How a patient wants to hear from the clinic (invitations, reminders).
const (
	ContactEmail = "email"
	ContactSMS   = "sms"
	ContactBoth  = "both"
	ContactNone  = "none"
)

// contactWays are the values of Patient.ContactBy.
var contactWays = []string{ContactEmail, ContactSMS, ContactBoth, ContactNone}

// NormalizePhone writes a telephone number as E.164 ("+4520000000"), or
// returns "" when it is none: spaces, hyphens, dots and parentheses are
// dropped, a leading 00 is the international prefix, and eight digits
// without a country code are a Danish number (+45).
func NormalizePhone(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return ""
		}
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "00"):
		n = "+" + n[2:]
	case !strings.HasPrefix(n, "+") && len(n) == 8:
		n = "+45" + n
	}
	if !e164.MatchString(n) {
		return ""
	}
	return n
}

// checkContact puts a patient's contact details in their stored form and
// says what is wrong with them: the e-mail address and the number (E.164)
// each parse when given; the free-text contact fills in whichever of them
// is missing when it parses as one; contactBy, when not given, is what the
// details allow; language is da, en or "" (the clinic's).
func checkContact(p *Patient) error {
	p.Email, p.Phone = strings.TrimSpace(p.Email), strings.TrimSpace(p.Phone)
	if p.Email != "" && !plainAddress(p.Email) {
		return because(ErrUnprocessable, "email: %q is not an e-mail address", p.Email)
	}
	if p.Phone != "" {
		n := NormalizePhone(p.Phone)
		if n == "" {
			return because(ErrUnprocessable, "phone: want a telephone number, e.g. +45 20 00 00 00 (E.164)")
		}
		p.Phone = n
	}
	fromContact(p)
	if p.ContactBy == "" {
		p.ContactBy = contactDefault(*p)
	}
	switch {
	case !slices.Contains(contactWays, p.ContactBy):
		return because(ErrUnprocessable, "contactBy: want email, sms, both or none")
	case (p.ContactBy == ContactEmail || p.ContactBy == ContactBoth) && p.Email == "":
		return because(ErrUnprocessable, "contactBy %s: the patient has no e-mail address", p.ContactBy)
	case (p.ContactBy == ContactSMS || p.ContactBy == ContactBoth) && p.Phone == "":
		return because(ErrUnprocessable, "contactBy %s: the patient has no telephone number", p.ContactBy)
	case p.Language != "" && !slices.Contains(Languages, p.Language):
		return because(ErrUnprocessable, "language: want da, en, or none for the clinic's")
	}
	return nil
}

// fromContact fills in the e-mail address or number from the free-text
// contact where it parses as one.
func fromContact(p *Patient) {
	c := strings.TrimSpace(p.Contact)
	switch {
	case c == "":
	case plainAddress(c):
		if p.Email == "" {
			p.Email = c
		}
	case NormalizePhone(c) != "":
		if p.Phone == "" {
			p.Phone = NormalizePhone(c)
		}
	}
}

// contactAllows reports whether p's way of contact has the details it needs.
func contactAllows(p Patient) bool {
	switch p.ContactBy {
	case ContactEmail:
		return p.Email != ""
	case ContactSMS:
		return p.Phone != ""
	case ContactBoth:
		return p.Email != "" && p.Phone != ""
	}
	return true
}

// contactDefault is how to reach a patient with these details: every way
// there is.
func contactDefault(p Patient) string {
	switch {
	case p.Email != "" && p.Phone != "":
		return ContactBoth
	case p.Email != "":
		return ContactEmail
	case p.Phone != "":
		return ContactSMS
	}
	return ContactNone
}

// splitContacts is the data step of the migration that gave patients their
// own e-mail address, number and way of contact: each is taken from the
// free-text contact where it parses, and the contact text is kept.
func splitContacts(ctx context.Context, tx *sql.Tx, _ records.Dialect) error {
	type row struct{ id, contact string }
	var rows []row
	err := records.QueryRows(ctx, tx, `SELECT id, contact FROM patients WHERE contact <> ''`, nil, func(r *sql.Rows) error {
		var x row
		err := r.Scan(&x.id, &x.contact)
		rows = append(rows, x)
		return err
	})
	if err != nil {
		return err
	}
	for _, x := range rows {
		p := Patient{Contact: x.contact}
		fromContact(&p)
		if _, err := tx.ExecContext(ctx, `UPDATE patients SET email = $1, phone = $2, contact_by = $3 WHERE id = $4`,
			p.Email, p.Phone, contactDefault(p), x.id); err != nil {
			return err
		}
	}
	return nil
}

// PatientChange is what UpdatePatient changes: the fields that are set.
type PatientChange struct {
	Name      *string
	Contact   *string
	Email     *string
	Phone     *string
	ContactBy *string
	Language  *string
}

// UpdatePatient changes a patient's name and how the clinic reaches them
// (scheduler or admin), audited with the fields changed. The CPR number is
// not changed here. Messages already queued keep the address they had.
func (s *Store) UpdatePatient(ctx context.Context, actor Actor, id string, ch PatientChange) (Patient, error) {
	if err := checkActor(actor); err != nil {
		return Patient{}, err
	}
	if actor.Role != RoleScheduler && actor.Role != RoleAdmin && actor.Role != System.Role {
		return Patient{}, because(ErrForbidden, "only schedulers and admins change patients' details")
	}
	var out Patient
	err := s.db.InTx(ctx, "change patient "+id, func(tx *sql.Tx) error {
		p, err := s.scanPatient(tx.QueryRowContext(ctx, `SELECT `+patientColumns+` FROM patients WHERE id = $1`+s.db.Dialect().ForUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return because(ErrNotFound, "no patient %s", id)
		}
		if err != nil {
			return err
		}
		before := p
		var changed []string
		set := func(name string, dst *string, v *string) {
			if v != nil && strings.TrimSpace(*v) != *dst {
				*dst = strings.TrimSpace(*v)
				changed = append(changed, name)
			}
		}
		set("name", &p.Name, ch.Name)
		set("contact", &p.Contact, ch.Contact)
		set("email", &p.Email, ch.Email)
		set("phone", &p.Phone, ch.Phone)
		set("contactBy", &p.ContactBy, ch.ContactBy)
		set("language", &p.Language, ch.Language)
		if p.Name == "" {
			return because(ErrUnprocessable, "name is required")
		}
		if err := checkTexts(field{"name", p.Name, maxName}, field{"contact", p.Contact, maxName}, field{"email", p.Email, maxName}); err != nil {
			return err
		}
		// Without a new contactBy, one that followed the details follows
		// them still, and one the details no longer allow gives way.
		if ch.ContactBy == nil && (before.ContactBy == contactDefault(before) || !contactAllows(p)) {
			p.ContactBy = ""
		}
		if err := checkContact(&p); err != nil {
			return err
		}
		out = p
		if len(changed) == 0 && p == before {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE patients SET name = $1, contact = $2, email = $3, phone = $4, contact_by = $5, language = $6
			WHERE id = $7`, p.Name, p.Contact, p.Email, p.Phone, p.ContactBy, p.Language, p.ID); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditUpdate, "patient", p.ID, p.ID, "changed "+strings.Join(changed, ", "))
	})
	if err != nil {
		return Patient{}, err
	}
	return out, nil
}
