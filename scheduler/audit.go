package scheduler

import (
	"context"
	"database/sql"
	"errors"

	"vclinic/internal/records/audit"
)

// Every read and write of patient data is recorded in the clinic's audit log
// (package audit) with who, when and from where, as Danish health law
// requires (the Health Act, sundhedsloven, gives patients the right to see
// who looked up their data). Store calls write the row in the transaction
// that does the work, so there is never a read or write without its row, nor
// a row for work that was rolled back.

// Audit actions.
const (
	AuditRead   = "read"
	AuditList   = "list"
	AuditCreate = "create"
	AuditUpdate = "update"
	AuditDelete = "delete"
	AuditLogin  = "login"
	AuditDenied = "login-failed"
)

// auditRecord appends one row in tx.
func (s *Store) auditRecord(ctx context.Context, tx *sql.Tx, a Actor, action, entity, entityID, patientID, detail string) error {
	return s.trail.Append(ctx, tx, audit.Entry{ActorID: a.ID, ActorRole: a.Role, Action: action,
		Entity: entity, EntityID: entityID, PatientID: patientID, Address: a.Address, Detail: detail})
}

// AuditLog answers one page of the clinic's audit log, newest first: every
// part's rows (scheduler, home kit, visits). Only an admin may read it, and
// reading it is itself logged.
func (s *Store) AuditLog(ctx context.Context, actor Actor, f audit.Filter) (audit.Page, error) {
	if err := checkActor(actor); err != nil {
		return audit.Page{}, err
	}
	if actor.Role != RoleAdmin {
		return audit.Page{}, because(ErrForbidden, "only an admin may read the audit log")
	}
	var page audit.Page
	err := s.db.InTx(ctx, "read audit log", func(tx *sql.Tx) error {
		var err error
		if page, err = s.trail.Query(ctx, tx, f); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditRead, "audit", "", f.PatientID, auditFilterDetail(f))
	})
	if err != nil {
		return audit.Page{}, err
	}
	return page, nil
}

func auditFilterDetail(f audit.Filter) string {
	d := "audit log"
	if f.ActorID != "" {
		d += " of actor " + f.ActorID
	}
	return d
}

// AccessEntry is a row of a patient's access log: an audit row with the name
// of whoever acted, when the clinic knows it (staff, and the patient).
type AccessEntry struct {
	audit.Entry
	ActorName string `json:"actorName,omitempty"`
}

// AccessPage is one page of a patient's access log, newest first.
type AccessPage struct {
	Rows []AccessEntry `json:"rows"`
	Next string        `json:"next"`
}

// AccessLog answers who has read or changed the acting patient's own data
// ("Min Log"): the audit rows about that patient, staff named by name and
// role. The addresses of others are left out. Reading it is itself logged.
func (s *Store) AccessLog(ctx context.Context, actor Actor, f audit.Filter) (AccessPage, error) {
	if err := checkActor(actor); err != nil {
		return AccessPage{}, err
	}
	if actor.Role != RolePatient {
		return AccessPage{}, because(ErrForbidden, "the access log is the patient's own")
	}
	f.PatientID, f.ActorID = actor.ID, ""
	var out AccessPage
	err := s.db.InTx(ctx, "read access log", func(tx *sql.Tx) error {
		page, err := s.trail.Query(ctx, tx, f)
		if err != nil {
			return err
		}
		out = AccessPage{Rows: make([]AccessEntry, 0, len(page.Rows)), Next: page.Next}
		names := map[string]string{}
		for _, e := range page.Rows {
			if e.ActorID != actor.ID {
				e.Address = ""
			}
			name, ok := names[e.ActorID]
			if !ok {
				if name, err = s.actorName(ctx, tx, e.ActorID, e.ActorRole); err != nil {
					return err
				}
				names[e.ActorID] = name
			}
			out.Rows = append(out.Rows, AccessEntry{Entry: e, ActorName: name})
		}
		return s.auditRecord(ctx, tx, actor, AuditRead, "access-log", "", actor.ID, "")
	})
	if err != nil {
		return AccessPage{}, err
	}
	return out, nil
}

// actorName is the name of a member of staff or a patient, "" for others
// (gateways, the system) and for ids the clinic no longer knows.
func (s *Store) actorName(ctx context.Context, tx *sql.Tx, id, role string) (string, error) {
	var q string
	switch role {
	case RoleClinician, RoleScheduler, RoleAdmin:
		q = `SELECT name FROM users WHERE id = $1`
	case RolePatient:
		q = `SELECT name FROM patients WHERE id = $1`
	default:
		return "", nil
	}
	var name string
	err := tx.QueryRowContext(ctx, q, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, err
}
