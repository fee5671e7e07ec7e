package scheduler

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"vclinic/internal/records"
)

// PutAvailability replaces a clinician's weekly rules and dated exceptions
// and returns them as GetAvailability would. An empty Zone keeps the
// clinician's zone; a new one moves all of the clinician's wall-clock windows
// to it. Exceptions without an ID get one.
func (s *Store) PutAvailability(ctx context.Context, actor Actor, clinicianID string, a Availability) (Availability, error) {
	if err := checkActor(actor); err != nil {
		return Availability{}, err
	}
	a.ClinicianID = clinicianID
	a.Rules, a.Exceptions = slices.Clone(a.Rules), slices.Clone(a.Exceptions)
	if a.Zone != "" {
		if err := s.checkZone(a.Zone); err != nil {
			return Availability{}, err
		}
	}
	if err := validateAvailability(&a); err != nil {
		return Availability{}, err
	}
	err := s.db.InTx(ctx, "put availability of clinician "+clinicianID, func(tx *sql.Tx) error {
		if err := s.db.Lock(ctx, tx, clinicianLock(clinicianID)); err != nil {
			return err
		}
		c, err := getClinician(ctx, tx, clinicianID)
		if err != nil {
			return err
		}
		if a.Zone == "" {
			a.Zone = c.Zone
		} else if _, err := tx.ExecContext(ctx, `UPDATE clinicians SET zone = $1 WHERE id = $2`, a.Zone, clinicianID); err != nil {
			return err
		}
		for _, table := range []string{"availability_rules", "availability_exceptions"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE clinician_id = $1`, clinicianID); err != nil {
				return err
			}
		}
		for _, r := range a.Rules {
			if _, err := tx.ExecContext(ctx, `INSERT INTO availability_rules (clinician_id, weekday, start_min, end_min)
				VALUES ($1, $2, $3, $4)`, clinicianID, int(r.Weekday), int(r.Start), int(r.End)); err != nil {
				return err
			}
		}
		for _, e := range a.Exceptions {
			_, err := tx.ExecContext(ctx, `INSERT INTO availability_exceptions (id, clinician_id, day, kind, start_min, end_min)
				VALUES ($1, $2, $3, $4, $5, $6)`, e.ID, clinicianID, e.Date.String(), string(e.Kind), int(e.Start), int(e.End))
			if records.Unique(err) {
				return because(ErrConflict, "exception id %s is taken", e.ID)
			}
			if err != nil {
				return err
			}
		}
		if err := s.auditRecord(ctx, tx, actor, AuditUpdate, "availability", clinicianID, "",
			fmt.Sprintf("%d rules, %d exceptions, zone %s", len(a.Rules), len(a.Exceptions), a.Zone)); err != nil {
			return err
		}
		c.Zone = a.Zone
		a, err = loadAvailability(ctx, tx, c, Date{1, 1, 1}, Date{9999, 12, 31})
		return err
	})
	if err != nil {
		return Availability{}, err
	}
	return a, nil
}

func validateAvailability(a *Availability) error {
	for _, r := range a.Rules {
		if r.Weekday < time.Sunday || r.Weekday > time.Saturday {
			return because(ErrUnprocessable, "weekday must be 0 (Sunday) to 6 (Saturday)")
		}
		if r.Start < 0 || r.Start >= r.End || r.End > 1440 {
			return because(ErrUnprocessable, "a weekly window must start before it ends, within the day (00:00-24:00)")
		}
	}
	seen := map[string]bool{}
	for i := range a.Exceptions {
		e := &a.Exceptions[i]
		if e.ID == "" {
			e.ID = newID()
		}
		if seen[e.ID] {
			return because(ErrUnprocessable, "exception id %s appears twice", e.ID)
		}
		seen[e.ID] = true
		if !validDate(e.Date) {
			return because(ErrUnprocessable, "exception date %s is not a calendar date", e.Date)
		}
		if e.Kind != Absence && e.Kind != ExtraHours {
			return because(ErrUnprocessable, "exception kind must be %q or %q", Absence, ExtraHours)
		}
		if e.Start < 0 || e.Start >= e.End || e.End > 1440 {
			return because(ErrUnprocessable, "an exception must start before it ends, within the day (00:00-24:00)")
		}
	}
	return nil
}

// validDate reports whether d is a calendar date in years 1-9999.
func validDate(d Date) bool {
	t := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	return d.Year >= 1 && d.Year <= 9999 && t.Year() == d.Year && t.Month() == d.Month && t.Day() == d.Day
}

// dateOf is the calendar date of t in its location.
func dateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// addDays is the date n days after d.
func addDays(d Date, n int) Date {
	return dateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

func parseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, err
	}
	return dateOf(t), nil
}

// GetAvailability returns a clinician's weekly rules (by weekday and time)
// and dated exceptions (by date and time).
func (s *Store) GetAvailability(ctx context.Context, clinicianID string) (Availability, error) {
	c, err := getClinician(ctx, s.db, clinicianID)
	if err != nil {
		return Availability{}, fmt.Errorf("get availability: %w", err)
	}
	a, err := loadAvailability(ctx, s.db, c, Date{1, 1, 1}, Date{9999, 12, 31})
	if err != nil {
		return Availability{}, fmt.Errorf("get availability of clinician %s: %w", clinicianID, err)
	}
	return a, nil
}

// loadAvailability reads a clinician's rules and the exceptions dated from
// first to last.
func loadAvailability(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, c Clinician, first, last Date) (Availability, error) {
	a := Availability{ClinicianID: c.ID, Zone: c.Zone, Rules: []WeeklyRule{}, Exceptions: []Exception{}}
	err := records.QueryRows(ctx, q, `SELECT weekday, start_min, end_min FROM availability_rules
		WHERE clinician_id = $1 ORDER BY weekday, start_min, end_min`, []any{c.ID}, func(r *sql.Rows) error {
		var w WeeklyRule
		err := r.Scan(&w.Weekday, &w.Start, &w.End)
		a.Rules = append(a.Rules, w)
		return err
	})
	if err != nil {
		return Availability{}, err
	}
	err = records.QueryRows(ctx, q, `SELECT id, day, kind, start_min, end_min FROM availability_exceptions
		WHERE clinician_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, start_min, id`,
		[]any{c.ID, first.String(), last.String()}, func(r *sql.Rows) error {
			var e Exception
			var day string
			if err := r.Scan(&e.ID, &day, &e.Kind, &e.Start, &e.End); err != nil {
				return err
			}
			var err error
			e.Date, err = parseDate(day)
			a.Exceptions = append(a.Exceptions, e)
			return err
		})
	if err != nil {
		return Availability{}, err
	}
	return a, nil
}
