package scheduler

import (
	"context"
	"database/sql"
	"regexp"
	"time"
)

// The audit log answers who looked at or changed which patient's data, and
// when, as Danish health law requires (the Health Act, sundhedsloven, gives
// patients the right to see who looked up their data). It is append-only: the schema refuses UPDATE and DELETE on it.
// Store calls write the entry in the transaction that does the work, so there
// is never a read or write without its entry, nor an entry for work that was
// rolled back.

// Audit actions.
const (
	AuditRead   = "read"
	AuditList   = "list"
	AuditCreate = "create"
	AuditUpdate = "update"
	AuditLogin  = "login"
	AuditDenied = "login-failed"
)

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	ActorID   string    `json:"actorId"`
	ActorRole string    `json:"actorRole"`
	Action    string    `json:"action"`    // read, list, create, update, login, login-failed
	Entity    string    `json:"entity"`    // patient, appointment, clinician, ...
	EntityID  string    `json:"entityId"`  // the record's id, "" for a list
	PatientID string    `json:"patientId"` // whose data, "" when no patient's
	Detail    string    `json:"detail"`    // never holds a CPR number
}

// auditRecord appends one entry in tx.
func (s *Store) auditRecord(ctx context.Context, tx *sql.Tx, a Actor, action, entity, entityID, patientID, detail string) error {
	var pid any
	if patientID != "" {
		pid = patientID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor_id, actor_role, action, entity, entity_id, patient_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.ts(s.now()), a.ID, a.Role, action, entity, entityID, pid, redactCPR(detail))
	return err
}

// cprLike matches what could be a CPR number in free text: ten digits, or six
// and four with a dash or space between. Longer digit runs match too: when in
// doubt, redact.
var cprLike = regexp.MustCompile(`\d{6}[- ]?\d{4}`)

// redactCPR blanks anything shaped like a CPR number, so that free text a
// person typed (a cancellation reason) cannot carry one into the log.
func redactCPR(s string) string {
	return cprLike.ReplaceAllString(s, "[redacted]")
}

// Audit returns the audit log of one patient's data, oldest first, or the
// whole log when patientID is "". Only admins may read it, and reading it is
// itself logged.
func (s *Store) Audit(ctx context.Context, actor Actor, patientID string) ([]AuditEntry, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleAdmin {
		return nil, because(ErrForbidden, "only an admin may read the audit log")
	}
	var out []AuditEntry
	err := s.inTx(ctx, "read audit log", func(tx *sql.Tx) error {
		out = out[:0]
		q := `SELECT id, at, actor_id, actor_role, action, entity, entity_id, patient_id, detail FROM audit`
		var args []any
		if patientID != "" {
			q += ` WHERE patient_id = $1`
			args = append(args, patientID)
		}
		q += ` ORDER BY id`
		err := queryRows(ctx, tx, q, args, func(r *sql.Rows) error {
			var e AuditEntry
			var pid sql.NullString
			if err := r.Scan(&e.ID, tsScan{&e.At}, &e.ActorID, &e.ActorRole, &e.Action, &e.Entity, &e.EntityID, &pid, &e.Detail); err != nil {
				return err
			}
			e.PatientID = pid.String
			out = append(out, e)
			return nil
		})
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditRead, "audit", "", patientID, "audit log")
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
