package homekit

import (
	"context"
	"database/sql"

	"vclinic/internal/records/audit"
)

// Who looked at or changed which patient's kit and readings, and when, goes
// to the clinic's audit log (package audit; the Danish Health Act gives
// patients the right to see who looked up their data). Store calls write the
// row in the transaction that does the work, so there is never a read
// without its row.

// Actor is who acts on the store: a member of staff, a patient, a gateway.
type Actor struct {
	ID   string // user id, patient id or gateway id
	Role string // clinician, scheduler, admin, patient, gateway, system
	// Address is where the request came from (the client's IP address),
	// for the audit log; "" when not known.
	Address string
}

// Audit actions.
const (
	AuditRead   = "read"
	AuditList   = "list"
	AuditCreate = "create"
	AuditUpdate = "update"
)

// auditRecord appends one row in tx.
func (s *Store) auditRecord(ctx context.Context, tx *sql.Tx, a Actor, action, entity, entityID, patientID, detail string) error {
	return s.trail.Append(ctx, tx, audit.Entry{ActorID: a.ID, ActorRole: a.Role, Action: action,
		Entity: entity, EntityID: entityID, PatientID: patientID, Address: a.Address, Detail: detail})
}

// AuditShown records that a was shown patientID's readings outside the
// store's own reads: entity says where (EntityLiveVitals: the values pushed
// live into a visit, entityID the visit).
func (s *Store) AuditShown(ctx context.Context, a Actor, entity, entityID, patientID string) error {
	if a.ID == "" || patientID == "" {
		return because(ErrInvalid, "actor and patient: required")
	}
	return s.db.InTx(ctx, "record who was shown readings", func(tx *sql.Tx) error {
		return s.auditRecord(ctx, tx, a, AuditRead, entity, entityID, patientID, "")
	})
}

// EntityLiveVitals is the audit entity of readings shown live in a visit.
const EntityLiveVitals = "live-vitals"
