package homekit

import (
	"context"
	"database/sql"
	"time"
)

// The homekit audit log answers who looked at or changed which patient's
// kit and readings, and when (the Danish Health Act gives patients the right
// to see who looked up their data). It is append-only: the schema refuses
// UPDATE and DELETE. Store calls write the entry in the transaction that does
// the work, so there is never a read without its entry.

// Actor is who acts on the store: a member of staff, a patient, a gateway.
type Actor struct {
	ID   string // user id, patient id or gateway id
	Role string // clinician, scheduler, admin, patient, gateway, system
}

// Audit actions.
const (
	AuditRead   = "read"
	AuditList   = "list"
	AuditCreate = "create"
	AuditUpdate = "update"
)

// AuditEntry is one line of the homekit audit log.
type AuditEntry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	ActorID   string    `json:"actorId"`
	ActorRole string    `json:"actorRole"`
	Action    string    `json:"action"`
	Entity    string    `json:"entity"`   // device, gateway, reading, expected
	EntityID  string    `json:"entityId"` // "" for a list
	PatientID string    `json:"patientId"`
	Detail    string    `json:"detail"`
}

// auditRecord appends one entry in tx.
func (s *Store) auditRecord(ctx context.Context, tx *sql.Tx, a Actor, action, entity, entityID, patientID, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO homekit_audit (at, actor_id, actor_role, action, entity, entity_id, patient_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.ts(s.now()), a.ID, a.Role, action, entity, entityID, nullString(patientID), detail)
	return err
}

// Audit returns the homekit audit log of one patient's data, oldest first.
func (s *Store) Audit(ctx context.Context, patientID string) ([]AuditEntry, error) {
	var out []AuditEntry
	err := queryRows(ctx, s.db, `SELECT id, at, actor_id, actor_role, action, entity, entity_id, patient_id, detail
		FROM homekit_audit WHERE patient_id = $1 ORDER BY id`, []any{patientID}, func(r *sql.Rows) error {
		var e AuditEntry
		var pid sql.NullString
		if err := r.Scan(&e.ID, tsScan{&e.At}, &e.ActorID, &e.ActorRole, &e.Action, &e.Entity, &e.EntityID, &pid, &e.Detail); err != nil {
			return err
		}
		e.PatientID = pid.String
		out = append(out, e)
		return nil
	})
	return out, err
}

// AuditShown records that a was shown patientID's readings outside the
// store's own reads: entity says where (EntityLiveVitals: the values pushed
// live into a visit, entityID the visit).
func (s *Store) AuditShown(ctx context.Context, a Actor, entity, entityID, patientID string) error {
	if a.ID == "" || patientID == "" {
		return because(ErrInvalid, "actor and patient: required")
	}
	return s.inTx(ctx, "record who was shown readings", func(tx *sql.Tx) error {
		return s.auditRecord(ctx, tx, a, AuditRead, entity, entityID, patientID, "")
	})
}

// EntityLiveVitals is the audit entity of readings shown live in a visit.
const EntityLiveVitals = "live-vitals"
