package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"vclinic/internal/records"
)

// Who may see a patient's clinical data (readings, Observations, expected
// measurements, live vitals): the patient, and clinicians with a care
// relation to them. A clinician has one through an appointment with the
// patient from CareWindow before today to CareWindow after it (not
// cancelled or entered in error), through an admin's assignment to the
// patient's care team, or for BreakGlassFor after "breaking the glass" with
// a stated reason, which the audit log keeps and admins review. Schedulers
// and admins see names, contact and calendar, never values.

// DefaultCareWindow is how far around today an appointment makes a care
// relation.
const DefaultCareWindow = 30 * 24 * time.Hour

// BreakGlassFor is how long breaking the glass opens a patient's data.
const BreakGlassFor = 4 * time.Hour

// How a clinician is related to a patient's care.
const (
	CareAppointment = "appointment"
	CareTeam        = "care-team"
	CareBreakGlass  = "break-glass"
)

// AuditBreakGlass is the audit action of breaking the glass.
const AuditBreakGlass = "break-glass"

// CareRelation says how actor is related to patientID's care now, or
// ErrForbidden (ErrNotFound for a patient the clinic does not know).
func (s *Store) CareRelation(ctx context.Context, actor Actor, patientID string) (string, error) {
	return s.careRelation(ctx, actor, patientID, s.now())
}

// careRelation is CareRelation at now.
func (s *Store) careRelation(ctx context.Context, actor Actor, patientID string, now time.Time) (string, error) {
	if err := checkActor(actor); err != nil {
		return "", err
	}
	if actor.Role != RoleClinician {
		return "", because(ErrForbidden, "clinical data is for the clinicians caring for the patient")
	}
	if err := s.PatientExists(ctx, patientID); err != nil {
		return "", err
	}
	d := s.db.Dialect()
	var how string
	err := s.db.QueryRowContext(ctx, `
SELECT how FROM (
	SELECT 1 AS rank, 'appointment' AS how FROM appointments a JOIN clinicians c ON c.id = a.clinician_id
	WHERE c.user_id = $1 AND a.patient_id = $2 AND a.status NOT IN ('cancelled', 'entered-in-error')
	AND a.start_at < $3 AND a.end_at > $4
	UNION ALL
	SELECT 2, 'care-team' FROM care_team WHERE user_id = $1 AND patient_id = $2
	UNION ALL
	SELECT 3, 'break-glass' FROM break_glass WHERE user_id = $1 AND patient_id = $2 AND until_at > $5
) r ORDER BY rank LIMIT 1`,
		actor.ID, patientID, d.TS(now.Add(s.cfg.CareWindow)), d.TS(now.Add(-s.cfg.CareWindow)), d.TS(now)).Scan(&how)
	if errors.Is(err, sql.ErrNoRows) {
		return "", because(ErrForbidden, "no care relation to this patient: an appointment, the care team, or break the glass with a reason")
	}
	if err != nil {
		return "", records.Map(err)
	}
	return how, nil
}

// CareTeamMember is a clinician an admin assigned to a patient's care.
type CareTeamMember struct {
	PatientID  string    `json:"patientId"`
	UserID     string    `json:"userId"`
	AssignedBy string    `json:"assignedBy"`
	AssignedAt time.Time `json:"assignedAt"`
}

// AssignCareTeam adds clinician userID to patientID's care team (admins
// only). Assigning twice keeps the first assignment.
func (s *Store) AssignCareTeam(ctx context.Context, actor Actor, patientID, userID string) (CareTeamMember, error) {
	if err := checkActor(actor); err != nil {
		return CareTeamMember{}, err
	}
	if actor.Role != RoleAdmin {
		return CareTeamMember{}, because(ErrForbidden, "only an admin assigns a patient's care team")
	}
	m := CareTeamMember{PatientID: patientID, UserID: userID, AssignedBy: actor.ID, AssignedAt: records.Instant(s.now())}
	err := s.db.InTx(ctx, "assign care team", func(tx *sql.Tx) error {
		var role string
		err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE id = $1`, userID).Scan(&role)
		if errors.Is(err, sql.ErrNoRows) {
			return because(ErrNotFound, "no user %s", userID)
		}
		if err != nil {
			return err
		}
		if role != RoleClinician {
			return because(ErrUnprocessable, "userId: a care team is of clinicians; %s is a %s", userID, role)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM patients WHERE id = $1`, patientID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return because(ErrNotFound, "no patient %s", patientID)
		}
		var by string
		var at time.Time
		err = tx.QueryRowContext(ctx, `SELECT assigned_by, assigned_at FROM care_team WHERE patient_id = $1 AND user_id = $2`,
			patientID, userID).Scan(&by, records.Time(&at))
		if err == nil {
			m.AssignedBy, m.AssignedAt = by, at
			return nil // already on the team
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO care_team (patient_id, user_id, assigned_by, assigned_at) VALUES ($1, $2, $3, $4)`,
			patientID, userID, actor.ID, s.db.Dialect().TS(m.AssignedAt)); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditCreate, "care-team", userID, patientID, "assigned to the patient's care team")
	})
	return m, err
}

// BreakGlass is a clinician's opening of a patient's data without a care
// relation.
type BreakGlass struct {
	ID        string    `json:"id"`
	PatientID string    `json:"patientId"`
	UserID    string    `json:"userId"`
	Reason    string    `json:"reason"`
	OpenedAt  time.Time `json:"openedAt"`
	Until     time.Time `json:"until"`
}

// OpenBreakGlass records that clinician actor opens patientID's data for
// BreakGlassFor, with reason (10-500 characters), in the audit log too.
func (s *Store) OpenBreakGlass(ctx context.Context, actor Actor, patientID, reason string) (BreakGlass, error) {
	if err := checkActor(actor); err != nil {
		return BreakGlass{}, err
	}
	if actor.Role != RoleClinician {
		return BreakGlass{}, because(ErrForbidden, "only a clinician breaks the glass")
	}
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n < 10 || n > 500 {
		return BreakGlass{}, because(ErrUnprocessable, "reason: say why, in 10 to 500 characters")
	}
	if err := s.PatientExists(ctx, patientID); err != nil {
		return BreakGlass{}, err
	}
	now := records.Instant(s.now())
	b := BreakGlass{ID: newID(), PatientID: patientID, UserID: actor.ID, Reason: reason, OpenedAt: now, Until: now.Add(BreakGlassFor)}
	d := s.db.Dialect()
	err := s.db.InTx(ctx, "break the glass", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO break_glass (id, patient_id, user_id, reason, opened_at, until_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			b.ID, b.PatientID, b.UserID, b.Reason, d.TS(b.OpenedAt), d.TS(b.Until)); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditBreakGlass, "patient", patientID, patientID, "broke the glass until "+b.Until.Format(time.RFC3339)+": "+reason)
	})
	return b, err
}

// ListBreakGlass lists the glass broken since since, newest first, for an
// admin's review (at most 500).
func (s *Store) ListBreakGlass(ctx context.Context, actor Actor, since time.Time) ([]BreakGlass, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if actor.Role != RoleAdmin {
		return nil, because(ErrForbidden, "admins review who broke the glass")
	}
	out := []BreakGlass{}
	err := records.QueryRows(ctx, s.db, `SELECT id, patient_id, user_id, reason, opened_at, until_at FROM break_glass
		WHERE opened_at >= $1 ORDER BY opened_at DESC, id LIMIT 500`, []any{s.db.Dialect().TS(since)}, func(r *sql.Rows) error {
		var b BreakGlass
		if err := r.Scan(&b.ID, &b.PatientID, &b.UserID, &b.Reason, records.Time(&b.OpenedAt), records.Time(&b.Until)); err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, s.db.InTx(ctx, "audit break-glass review", func(tx *sql.Tx) error {
		return s.auditRecord(ctx, tx, actor, AuditList, "break-glass", "", "", "reviewed who broke the glass")
	})
}
