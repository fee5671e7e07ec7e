package scheduler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/audit"
)

// Before a visit the patient may check, from the invitation link, that
// their camera, microphone, speaker and connection will do (the visit
// page's check screen). The page sends the result; the clinic keeps every
// run and shows staff the newest on the day list, so that a clinician
// knows before calling whether to expect video, sound only or a phone call.

// Verdicts of one part of a check.
const (
	CheckPass          = "pass"
	CheckWarn          = "warn"
	CheckFail          = "fail"
	CheckSkipped       = "skipped"        // the patient did not get to it
	CheckNotConfigured = "not-configured" // a transport the clinic does not offer (TURN, ICE-TCP)
)

// Overall verdicts of a check.
const (
	CheckReady        = "ready"         // ready for video
	CheckAudioOnly    = "audio-only"    // connects, but too slowly for video: sound only likely
	CheckNoConnection = "no-connection" // will not connect from this network
)

// CheckResult is what the page reports of one run of the check.
type CheckResult struct {
	// RunID names the run (the page makes it): the same run sent again is
	// stored once.
	RunID      string `json:"runId"`
	Camera     string `json:"camera"`
	Microphone string `json:"microphone"`
	Speaker    string `json:"speaker"`
	UDP        string `json:"udp"`
	TCP        string `json:"tcp"`
	Relay      string `json:"relay"`
	DownKbps   int    `json:"downKbps"`
	UpKbps     int    `json:"upKbps"`
	Verdict    string `json:"verdict"`
	DurationMs int    `json:"durationMs"`
	// Summary is the page's few words on the run, for staff; never the
	// browser's user agent or anything that names the patient.
	Summary string `json:"summary,omitempty"`
}

// Check is a stored run of the check.
type Check struct {
	ID            string `json:"id"`
	AppointmentID string `json:"appointmentId"`
	CheckResult
	At time.Time `json:"at"`
}

// Bounds of a check result.
const (
	maxCheckKbps     = 10_000_000 // 10 Gbit/s: more is a page's mistake
	maxCheckDuration = 10 * 60 * 1000
	maxCheckSummary  = 300
)

// Validate reports the first bad field of r, naming it.
func (r CheckResult) Validate() error {
	parts := []string{CheckPass, CheckWarn, CheckFail, CheckSkipped}
	transports := []string{CheckPass, CheckFail, CheckSkipped, CheckNotConfigured}
	for _, f := range []struct {
		name, value string
		allowed     []string
	}{
		{"camera", r.Camera, parts}, {"microphone", r.Microphone, parts}, {"speaker", r.Speaker, parts},
		{"udp", r.UDP, transports}, {"tcp", r.TCP, transports}, {"relay", r.Relay, transports},
		{"verdict", r.Verdict, []string{CheckReady, CheckAudioOnly, CheckNoConnection}},
	} {
		if !contains(f.allowed, f.value) {
			return because(ErrUnprocessable, "%s: want %s", f.name, strings.Join(f.allowed, ", "))
		}
	}
	switch {
	case !records.ValidID(r.RunID) || len(r.RunID) < 8:
		return because(ErrUnprocessable, "runId: want 8-64 letters, digits, - or _")
	case r.DownKbps < 0 || r.DownKbps > maxCheckKbps:
		return because(ErrUnprocessable, "downKbps: 0 to %d", maxCheckKbps)
	case r.UpKbps < 0 || r.UpKbps > maxCheckKbps:
		return because(ErrUnprocessable, "upKbps: 0 to %d", maxCheckKbps)
	case r.DurationMs < 0 || r.DurationMs > maxCheckDuration:
		return because(ErrUnprocessable, "durationMs: 0 to %d", maxCheckDuration)
	}
	if reason := records.CheckText(r.Summary, maxCheckSummary); reason != "" {
		return because(ErrUnprocessable, "summary: %s", reason)
	}
	if strings.Contains(r.Summary, "Mozilla/") {
		return because(ErrUnprocessable, "summary: leave the browser's user agent out")
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// AddCheck stores the patient's result of a check for their appointment:
// created false when the same run was stored before (then the first
// stands). Only a visit still on the calendar takes checks.
func (s *Store) AddCheck(ctx context.Context, actor Actor, appointmentID string, r CheckResult) (c Check, created bool, err error) {
	if err := checkActor(actor); err != nil {
		return Check{}, false, err
	}
	r.Summary = audit.RedactCPR(strings.Join(strings.Fields(r.Summary), " "))
	if err := r.Validate(); err != nil {
		return Check{}, false, err
	}
	err = s.db.InTx(ctx, "pre-visit check of appointment "+appointmentID, func(tx *sql.Tx) error {
		a, err := getAppointment(ctx, tx, appointmentID, "")
		if err != nil {
			return err
		}
		if actor.Role != RolePatient || actor.ID != a.PatientID {
			return because(ErrNotFound, "no such appointment")
		}
		c, err = scanCheck(tx.QueryRowContext(ctx, `SELECT `+checkColumns+` FROM visit_checks
			WHERE appointment_id = $1 AND run_id = $2`, appointmentID, r.RunID))
		if err == nil {
			return nil // the first one stands
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if !a.Status.Active() {
			return because(ErrConflict, "the visit is %s: call the clinic", a.Status)
		}
		c = Check{ID: newID(), AppointmentID: a.ID, CheckResult: r, At: records.Instant(s.now())}
		// The newest stays the newest: a run sent within the same
		// millisecond as the one before is stored just after it.
		last, err := scanCheck(tx.QueryRowContext(ctx, `SELECT `+checkColumns+` FROM visit_checks
			WHERE appointment_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, appointmentID))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && !c.At.After(last.At) {
			c.At = records.Instant(last.At.Add(time.Millisecond))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO visit_checks (id, appointment_id, patient_id, run_id, camera,
			microphone, speaker, udp, tcp, relay, down_kbps, up_kbps, verdict, duration_ms, summary, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			c.ID, a.ID, a.PatientID, r.RunID, r.Camera, r.Microphone, r.Speaker, r.UDP, r.TCP, r.Relay,
			r.DownKbps, r.UpKbps, r.Verdict, r.DurationMs, r.Summary, s.ts(c.At)); err != nil {
			return err
		}
		created = true
		return s.auditRecord(ctx, tx, actor, AuditCreate, "visit-check", c.ID, a.PatientID,
			fmt.Sprintf("pre-visit check of appointment %s: %s", a.ID, r.Verdict))
	})
	if err != nil {
		return Check{}, false, err
	}
	return c, created, nil
}

const checkColumns = `id, appointment_id, run_id, camera, microphone, speaker, udp, tcp, relay,
	down_kbps, up_kbps, verdict, duration_ms, summary, created_at`

func scanCheck(row interface{ Scan(...any) error }) (Check, error) {
	var c Check
	err := row.Scan(&c.ID, &c.AppointmentID, &c.RunID, &c.Camera, &c.Microphone, &c.Speaker, &c.UDP, &c.TCP, &c.Relay,
		&c.DownKbps, &c.UpKbps, &c.Verdict, &c.DurationMs, &c.Summary, records.Time(&c.At))
	return c, err
}

// LatestCheck returns the newest check of an appointment, or nil when the
// patient has not checked.
func (s *Store) LatestCheck(ctx context.Context, appointmentID string) (*Check, error) {
	checks, err := s.checks(ctx, appointmentID, 1)
	if err != nil || len(checks) == 0 {
		return nil, err
	}
	return &checks[0], nil
}

// Checks returns every check of an appointment, newest first.
func (s *Store) Checks(ctx context.Context, appointmentID string) ([]Check, error) {
	return s.checks(ctx, appointmentID, 1000)
}

func (s *Store) checks(ctx context.Context, appointmentID string, limit int) ([]Check, error) {
	out := []Check{}
	err := records.QueryRows(ctx, s.db, `SELECT `+checkColumns+` FROM visit_checks
		WHERE appointment_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, []any{appointmentID, limit}, func(r *sql.Rows) error {
		c, err := scanCheck(r)
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("checks of appointment %s: %w", appointmentID, err)
	}
	return out, nil
}
