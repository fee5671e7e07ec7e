package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/audit"
)

// maxListRange bounds the range of a day list or busy query.
const maxListRange = 366 * 24 * time.Hour

const appointmentColumns = `id, clinician_id, patient_id, type_id, start_at, end_at,
	buffer_before_ms, buffer_after_ms, status, sequence, created_at, updated_at`

func scanAppointment(r interface{ Scan(...any) error }) (Appointment, error) {
	var a Appointment
	var typeID sql.NullString
	var status string
	err := r.Scan(&a.ID, &a.ClinicianID, &a.PatientID, &typeID, records.Time(&a.Start), records.Time(&a.End),
		durScan{&a.BufferBefore}, durScan{&a.BufferAfter}, &status, &a.Sequence, records.Time(&a.CreatedAt), records.Time(&a.UpdatedAt))
	a.TypeID, a.Status = typeID.String, Status(status)
	return a, err
}

// getAppointment reads one appointment; suffix may lock the row (forUpdate).
func getAppointment(ctx context.Context, tx *sql.Tx, id, suffix string) (Appointment, error) {
	a, err := scanAppointment(tx.QueryRowContext(ctx, `SELECT `+appointmentColumns+` FROM appointments WHERE id = $1`+suffix, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Appointment{}, because(ErrNotFound, "no appointment %s", id)
	}
	return a, err
}

// GetAppointment returns the appointment with the id.
func (s *Store) GetAppointment(ctx context.Context, actor Actor, id string) (Appointment, error) {
	if err := checkActor(actor); err != nil {
		return Appointment{}, err
	}
	var a Appointment
	err := s.db.InTx(ctx, "get appointment "+id, func(tx *sql.Tx) error {
		var err error
		if a, err = getAppointment(ctx, tx, id, ""); err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditRead, "appointment", a.ID, a.PatientID, "")
	})
	if err != nil {
		return Appointment{}, err
	}
	return a, nil
}

// ListAppointments returns a clinician's appointments that overlap
// [from, to), in every status, by start: the day list. Each appointment
// listed is logged as read by actor. The range is at most 366 days.
func (s *Store) ListAppointments(ctx context.Context, actor Actor, clinicianID string, from, to time.Time) ([]Appointment, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	var out []Appointment
	err := s.db.InTx(ctx, "list appointments of clinician "+clinicianID, func(tx *sql.Tx) error {
		out = out[:0]
		if _, err := getClinician(ctx, tx, clinicianID); err != nil {
			return err
		}
		err := records.QueryRows(ctx, tx, `SELECT `+appointmentColumns+` FROM appointments `+dayListWhere,
			s.dayListArgs(clinicianID, from, to), func(r *sql.Rows) error {
				a, err := scanAppointment(r)
				out = append(out, a)
				return err
			})
		if err != nil {
			return err
		}
		for _, a := range out {
			if err := s.auditRecord(ctx, tx, actor, AuditList, "appointment", a.ID, a.PatientID, "day list"); err != nil {
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

// dayListWhere picks a clinician's appointments that overlap [from, to), by
// start, with the arguments of dayListArgs. No appointment is longer than
// maxDuration, which bounds the scan of the (clinician_id, start_at) index.
const dayListWhere = `WHERE clinician_id = $1 AND start_at < $2 AND end_at > $3 AND start_at > $4
	ORDER BY start_at, id`

func (s *Store) dayListArgs(clinicianID string, from, to time.Time) []any {
	return []any{clinicianID, s.ts(to), s.ts(from), s.ts(from.Add(-maxDuration))}
}

// AppointmentState is an appointment without its patient: what a day list's
// live view needs to tell whether the list changed.
type AppointmentState struct {
	ID        string
	Status    Status
	Start     time.Time
	End       time.Time
	UpdatedAt time.Time
}

// AppointmentStates returns the appointments ListAppointments would list,
// without their patients: id, status, times and when the row last changed.
// Like Busy they say nothing about patients and are not logged, so a screen
// may poll them often. The range is at most 366 days.
func (s *Store) AppointmentStates(ctx context.Context, clinicianID string, from, to time.Time) ([]AppointmentState, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	if _, err := getClinician(ctx, s.db, clinicianID); err != nil {
		return nil, fmt.Errorf("appointment states: %w", err)
	}
	out := []AppointmentState{}
	err := records.QueryRows(ctx, s.db, `SELECT id, status, start_at, end_at, updated_at FROM appointments `+dayListWhere,
		s.dayListArgs(clinicianID, from, to), func(r *sql.Rows) error {
			var a AppointmentState
			var status string
			err := r.Scan(&a.ID, &status, records.Time(&a.Start), records.Time(&a.End), records.Time(&a.UpdatedAt))
			a.Status = Status(status)
			out = append(out, a)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("appointment states of clinician %s: %w", clinicianID, err)
	}
	return out, nil
}

// PractitionerOf returns the user id of the clinician an appointment is
// with ("" when that clinician has no user account). Like AppointmentStates
// it says nothing about the patient and is not logged, so authorisation
// checks that run on every poll may use it. ErrNotFound when there is no
// such appointment.
func (s *Store) PractitionerOf(ctx context.Context, appointmentID string) (string, error) {
	var user sql.NullString
	err := s.db.QueryRowContext(ctx, `SELECT c.user_id FROM appointments a JOIN clinicians c ON c.id = a.clinician_id
		WHERE a.id = $1`, appointmentID).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return "", because(ErrNotFound, "appointment %s", appointmentID)
	}
	if err != nil {
		return "", fmt.Errorf("practitioner of appointment %s: %w", appointmentID, err)
	}
	return user.String, nil
}

// LinkState returns what decides whether appointment id's invitation links
// work (LinkPolicy.Window and Until): its status and times, and the patient
// the links belong to. It reads no patient data and writes no audit row: it
// runs on every request an invitation link makes.
func (s *Store) LinkState(ctx context.Context, id string) (Appointment, error) {
	var a Appointment
	err := s.db.QueryRowContext(ctx, `SELECT id, patient_id, clinician_id, status, start_at, end_at, updated_at
		FROM appointments WHERE id = $1`, id).
		Scan(&a.ID, &a.PatientID, &a.ClinicianID, &a.Status, records.Time(&a.Start), records.Time(&a.End), records.Time(&a.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return a, because(ErrNotFound, "appointment %s", id)
	}
	if err != nil {
		return a, fmt.Errorf("link state of appointment %s: %w", id, err)
	}
	return a, nil
}

// PreviousVisitEnd returns when patientID's latest held visit (fulfilled)
// that ended at or before before ended; ok is false when there is none. It
// reads no patient data beyond a time and writes no audit row: the day
// list that asks is audited.
func (s *Store) PreviousVisitEnd(ctx context.Context, patientID string, before time.Time) (end time.Time, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT end_at FROM appointments WHERE patient_id = $1 AND status = $2 AND end_at <= $3
		ORDER BY end_at DESC LIMIT 1`, patientID, StatusFulfilled, s.db.Dialect().TS(before)).Scan(records.Time(&end))
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("previous visit of %s: %w", patientID, err)
	}
	return end, true, nil
}

// MayRunVisit reports whether actor may act on the visit of appointment id:
// its status, its guests' links, what it expects from the home kit.
// Schedulers and admins may on any appointment, a clinician only on their
// own (as in the visit's room: signaling refuses a clinician another
// clinician's room, admit and end), nobody else. Like PractitionerOf it
// reads no patient data and writes no audit row. ErrForbidden or
// ErrNotFound refuse.
func (s *Store) MayRunVisit(ctx context.Context, actor Actor, id string) error {
	practitioner := ""
	if actor.Role == RoleClinician {
		user, err := s.PractitionerOf(ctx, id)
		if err != nil {
			return err
		}
		practitioner = user
	}
	return mayRunVisit(actor, id, practitioner)
}

// mayRunVisitIn is MayRunVisit for appointment a read in tx.
func (s *Store) mayRunVisitIn(ctx context.Context, tx *sql.Tx, actor Actor, a Appointment) error {
	var user sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT user_id FROM clinicians WHERE id = $1`, a.ClinicianID).Scan(&user); err != nil {
		return err
	}
	return mayRunVisit(actor, a.ID, user.String)
}

// mayRunVisit is MayRunVisit's rule, given the user id of the appointment's
// clinician (practitioner; "" when the clinician has no user).
func mayRunVisit(actor Actor, id, practitioner string) error {
	switch actor.Role {
	case RoleScheduler, RoleAdmin:
		return nil
	case RoleClinician:
		if practitioner == "" || practitioner != actor.ID {
			return because(ErrForbidden, "appointment %s is another clinician's", id)
		}
		return nil
	}
	return because(ErrForbidden, "only staff act on appointment %s", id)
}

// ListPatientAppointments returns a patient's appointments, in every status,
// by start.
func (s *Store) ListPatientAppointments(ctx context.Context, actor Actor, patientID string) ([]Appointment, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	var out []Appointment
	err := s.db.InTx(ctx, "list appointments of patient "+patientID, func(tx *sql.Tx) error {
		out = out[:0]
		if err := patientExists(ctx, tx, patientID); err != nil {
			return err
		}
		err := records.QueryRows(ctx, tx, `SELECT `+appointmentColumns+` FROM appointments
			WHERE patient_id = $1 ORDER BY start_at, id`, []any{patientID}, func(r *sql.Rows) error {
			a, err := scanAppointment(r)
			out = append(out, a)
			return err
		})
		if err != nil {
			return err
		}
		return s.auditRecord(ctx, tx, actor, AuditList, "appointment", "", patientID,
			fmt.Sprintf("%d appointments of the patient", len(out)))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetStatus moves an appointment to status to, as the workflow in
// transitions.go allows (otherwise ErrConflict with the reason). reason is
// kept with the appointment and in the audit log; anything in it shaped like
// a CPR number is blanked. Leaving the calendar (cancelled,
// entered-in-error) counts in Sequence.
func (s *Store) SetStatus(ctx context.Context, actor Actor, id string, to Status, reason string) (Appointment, error) {
	if err := checkActor(actor); err != nil {
		return Appointment{}, err
	}
	// A reason typed in a box may run over lines: it is kept as one.
	reason = strings.Join(strings.Fields(reason), " ")
	if r := records.CheckText(reason, 1000); r != "" {
		return Appointment{}, because(ErrUnprocessable, "reason: %s", r)
	}
	reason = audit.RedactCPR(reason)
	var out Appointment
	err := s.db.InTx(ctx, "set status of appointment "+id, func(tx *sql.Tx) error {
		a, err := getAppointment(ctx, tx, id, s.db.Dialect().ForUpdate())
		if err != nil {
			return err
		}
		out, err = s.setStatus(ctx, tx, actor, a, to, reason)
		return err
	})
	if err != nil {
		return Appointment{}, err
	}
	return out, nil
}

// setStatus moves a, read for update in tx, to status to, and records it.
func (s *Store) setStatus(ctx context.Context, tx *sql.Tx, actor Actor, a Appointment, to Status, reason string) (Appointment, error) {
	from := a.Status
	if err := CheckTransition(from, to); err != nil {
		return a, err
	}
	a.Status = to
	if bumpsSequence(to) {
		a.Sequence++
	}
	a.UpdatedAt = records.Instant(s.now())
	if _, err := tx.ExecContext(ctx, `UPDATE appointments SET status = $1, status_reason = $2, sequence = $3, updated_at = $4
		WHERE id = $5`, string(a.Status), reason, a.Sequence, s.ts(a.UpdatedAt), a.ID); err != nil {
		return a, err
	}
	if err := s.writeHistory(ctx, tx, actor, a.ID, to, a.UpdatedAt); err != nil {
		return a, err
	}
	if to == StatusCancelled || to == StatusEnteredInError {
		if err := s.cancelMessages(ctx, tx, a, to == StatusCancelled && from.Active() && a.End.After(s.now())); err != nil {
			return a, err
		}
	}
	detail := fmt.Sprintf("status %s -> %s", from, to)
	if reason != "" {
		detail += ": " + reason
	}
	return a, s.auditRecord(ctx, tx, actor, AuditUpdate, "appointment", a.ID, a.PatientID, detail)
}

// visitPath is the way a video visit moves an appointment: the patient
// arrives in the waiting room, the clinician admits them, the visit ends.
var visitPath = []Status{StatusBooked, StatusArrived, StatusCheckedIn, StatusFulfilled}

// Advance moves an appointment along the visit's path (booked, arrived,
// checked-in, fulfilled) to target, through the steps between, in one
// transaction: a visit that ends before the patient was seen to arrive is
// still recorded as having passed through arrived and checked-in, each step
// on the audit log. An appointment already at or past target, or off the
// path (cancelled, noshow, entered-in-error), is left as it is. It answers
// the appointment as it stands and whether it moved.
func (s *Store) Advance(ctx context.Context, actor Actor, id string, target Status) (Appointment, bool, error) {
	if err := checkActor(actor); err != nil {
		return Appointment{}, false, err
	}
	goal := slices.Index(visitPath, target)
	if goal < 1 {
		return Appointment{}, false, because(ErrUnprocessable, "a visit advances to arrived, checked-in or fulfilled, not %q", target)
	}
	var out Appointment
	var moved bool
	err := s.db.InTx(ctx, "advance appointment "+id+" to "+string(target), func(tx *sql.Tx) error {
		moved = false
		a, err := getAppointment(ctx, tx, id, s.db.Dialect().ForUpdate())
		if err != nil {
			return err
		}
		out = a
		at := slices.Index(visitPath, a.Status)
		if at < 0 || at >= goal {
			return nil
		}
		for _, step := range visitPath[at+1 : goal+1] {
			if out, err = s.setStatus(ctx, tx, actor, out, step, "video visit"); err != nil {
				return err
			}
		}
		moved = true
		return nil
	})
	if err != nil {
		return Appointment{}, false, err
	}
	return out, moved, nil
}

// Busy returns the occupied spans (buffers included) of a clinician's
// appointments that hold their time and overlap [from, to), by start, for a
// slot search. They say nothing about patients and are not logged.
func (s *Store) Busy(ctx context.Context, clinicianID string, from, to time.Time) ([]Interval, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	if _, err := getClinician(ctx, s.db, clinicianID); err != nil {
		return nil, fmt.Errorf("busy: %w", err)
	}
	out := []Interval{}
	err := records.QueryRows(ctx, s.db, `SELECT occ_start, occ_end FROM appointments
		WHERE clinician_id = $1 AND status NOT IN ('cancelled', 'entered-in-error')
		AND occ_start < $2 AND occ_end > $3 AND occ_start > $4
		ORDER BY occ_start`,
		[]any{clinicianID, s.ts(to), s.ts(from), s.ts(from.Add(-maxOccupied))}, func(r *sql.Rows) error {
			var iv Interval
			err := r.Scan(records.Time(&iv.Start), records.Time(&iv.End))
			out = append(out, iv)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("busy times of clinician %s: %w", clinicianID, err)
	}
	return out, nil
}

func checkRange(from, to time.Time) error {
	if to.Before(from) {
		return because(ErrUnprocessable, "the range ends before it starts")
	}
	if to.Sub(from) > maxListRange {
		return because(ErrUnprocessable, "the range is longer than %d days", maxListRange/(24*time.Hour))
	}
	return nil
}
