package scheduler

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"vclinic/internal/records"
)

// The guests of a visit besides the patient (a relative, an interpreter)
// wait to be admitted once; afterwards they come back (a reload, another
// device) without waiting again. Which guests were let in is kept with the
// appointment (table visit_guests_let), not only in the room's memory, so
// that a visit moved to another node, after a drain or a node's death,
// still knows them. A guest is named by its link's role and subject,
// "relative|relative-…"; the subject is a random id, so nothing here names
// anyone.

// maxGuestKey bounds a guest's "role|subject".
const maxGuestKey = 120

// checkGuestKey says what is wrong with a guest's "role|subject", or "".
func checkGuestKey(g string) string {
	role, sub, ok := strings.Cut(g, "|")
	switch {
	case !ok || (role != RoleRelative && role != RoleInterpreter):
		return "want role|subject, the role relative or interpreter"
	case sub == "" || len(g) > maxGuestKey:
		return fmt.Sprintf("the subject: 1 to %d characters", maxGuestKey-len(role)-1)
	case records.CheckText(sub, maxGuestKey) != "" || strings.ContainsAny(sub, " |"):
		return "the subject: no spaces, bars or control characters"
	}
	return ""
}

// LetGuests records that actor, who runs the visit (MayRunVisit), admitted
// guests ("role|subject" each) into appointment id. A guest let in before
// keeps the first record. Each new one is on the audit log.
func (s *Store) LetGuests(ctx context.Context, actor Actor, id string, guests []string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	for _, g := range guests {
		if reason := checkGuestKey(g); reason != "" {
			return because(ErrUnprocessable, "guest %q: %s", g, reason)
		}
	}
	if len(guests) == 0 {
		return nil
	}
	return s.db.InTx(ctx, "let guests into appointment "+id, func(tx *sql.Tx) error {
		a, err := getAppointment(ctx, tx, id, "")
		if err != nil {
			return err
		}
		if err := s.mayRunVisitIn(ctx, tx, actor, a); err != nil {
			return err
		}
		now := s.ts(s.now())
		for _, g := range guests {
			res, err := tx.ExecContext(ctx, `INSERT INTO visit_guests_let (appointment_id, guest, let_by, let_at)
				VALUES ($1, $2, $3, $4) ON CONFLICT (appointment_id, guest) DO NOTHING`, id, g, actor.ID, now)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			role, _, _ := strings.Cut(g, "|")
			if err := s.auditRecord(ctx, tx, actor, AuditUpdate, "appointment", id, a.PatientID, "let a guest in: "+role); err != nil {
				return err
			}
		}
		return nil
	})
}

// GuestsLet lists the guests let into appointment id, "role|subject" each,
// in order. It is for signaling (the system): no one's data is in it.
func (s *Store) GuestsLet(ctx context.Context, id string) ([]string, error) {
	var out []string
	err := records.QueryRows(ctx, s.db, `SELECT guest FROM visit_guests_let WHERE appointment_id = $1`, []any{id}, func(r *sql.Rows) error {
		var g string
		err := r.Scan(&g)
		out = append(out, g)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("guests of appointment %s: %w", id, err)
	}
	slices.Sort(out)
	return out, nil
}
