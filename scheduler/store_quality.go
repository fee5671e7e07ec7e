package scheduler

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"vclinic/internal/callquality"
	"vclinic/internal/records"
)

// SaveVisitQuality keeps the quality record of one session of a visit
// (appointment id), replacing the session's earlier checkpoint. Signaling
// hands records over while a participant is in the call and when it
// leaves; the record holds no health data, and its writes are not audited.
func (s *Store) SaveVisitQuality(ctx context.Context, appointmentID string, rec *callquality.Record) error {
	if !records.ValidID(appointmentID) || rec == nil || rec.Participant == "" || len(rec.Participant) > 64 {
		return because(ErrUnprocessable, "a quality record names an appointment and a session")
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("quality record: %w", err)
	}
	err = s.db.InTx(ctx, "quality of appointment "+appointmentID, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO visit_quality (appointment_id, participant_id, role, record, updated_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (appointment_id, participant_id) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at`,
			appointmentID, rec.Participant, rec.Role, string(b), s.ts(s.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("quality of appointment %s: %w", appointmentID, err)
	}
	return nil
}

// VisitQuality returns the connection quality of a visit, one summary per
// person: one person's sessions (a page reloaded, a visit moved to another
// node) merge, each further session counting as a reconnect. The visit's
// clinician and admins may read it; it is empty before anyone joined.
func (s *Store) VisitQuality(ctx context.Context, actor Actor, appointmentID string) ([]callquality.Summary, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	switch actor.Role {
	case RoleAdmin:
		if _, err := s.PractitionerOf(ctx, appointmentID); err != nil {
			return nil, err
		}
	case RoleClinician:
		practitioner, err := s.PractitionerOf(ctx, appointmentID)
		if err != nil {
			return nil, err
		}
		if practitioner == "" || practitioner != actor.ID {
			return nil, because(ErrForbidden, "appointment %s is another clinician's", appointmentID)
		}
	default:
		return nil, because(ErrForbidden, "the visit's clinician and admins read its quality")
	}
	var recs []*callquality.Record
	err := records.QueryRows(ctx, s.db, `SELECT participant_id, record FROM visit_quality WHERE appointment_id = $1`,
		[]any{appointmentID}, func(r *sql.Rows) error {
			var id, raw string
			if err := r.Scan(&id, &raw); err != nil {
				return err
			}
			rec, err := callquality.Decode([]byte(raw))
			if err != nil {
				// One unreadable row loses that session, not the visit's.
				s.log.Warn("quality record unreadable", "appointment", appointmentID, "participant", id, "err", err)
				return nil
			}
			recs = append(recs, rec)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("quality of appointment %s: %w", appointmentID, err)
	}
	slices.SortFunc(recs, func(a, b *callquality.Record) int { return a.Start.Compare(b.Start) })
	var people []*callquality.Record
	byPerson := map[string]*callquality.Record{}
	for _, rec := range recs {
		key := rec.Role + "\x00" + rec.Person
		if rec.Person == "" {
			key += rec.Participant // nobody to merge with
		}
		if p := byPerson[key]; p != nil {
			p.Merge(rec)
			continue
		}
		byPerson[key] = rec
		people = append(people, rec)
	}
	out := make([]callquality.Summary, 0, len(people))
	for _, p := range people {
		out = append(out, p.Summary())
	}
	// Staff first, then guests; each by when they joined.
	rank := func(role string) int {
		if role == RoleClinician {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(out, func(a, b callquality.Summary) int { return cmp.Compare(rank(a.Role), rank(b.Role)) })
	return out, nil
}
