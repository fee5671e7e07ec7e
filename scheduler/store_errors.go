package scheduler

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// reasonError is a sentinel with a reason a person can act on, such as
// "starts in less than the minimum notice of 2h0m0s".
type reasonError struct {
	sentinel error
	reason   string
}

func (e *reasonError) Error() string { return e.sentinel.Error() + ": " + e.reason }
func (e *reasonError) Unwrap() error { return e.sentinel }

// because returns an error that wraps sentinel and carries reason.
func because(sentinel error, format string, args ...any) error {
	return &reasonError{sentinel: sentinel, reason: fmt.Sprintf(format, args...)}
}

// Reason returns the plain reason carried by an error from a store call, as
// an API would show it next to a 409 or 422: "overlaps another appointment
// of the clinician". Errors without one give their message.
func Reason(err error) string {
	var r *reasonError
	if errors.As(err, &r) {
		return r.reason
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// SQLite result codes (https://www.sqlite.org/rescode.html); the driver
// reports extended codes, whose low byte is the primary code.
const (
	sqliteBusy             = 5
	sqliteLocked           = 6
	sqliteConstraintUnique = 2067 // SQLITE_CONSTRAINT_UNIQUE
	sqliteConstraintPK     = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
)

// PostgreSQL SQLSTATEs (Appendix A of the PostgreSQL manual).
const (
	pgUniqueViolation      = "23505"
	pgExclusionViolation   = "23P01"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

// retryable reports whether a transaction failed only because of other
// transactions and may be run again.
func retryable(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqliteBusy || c == sqliteLocked
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgSerializationFailure || pe.Code == pgDeadlockDetected
	}
	return false
}

// uniqueViolation reports whether err is a UNIQUE or PRIMARY KEY violation.
func uniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqliteConstraintUnique || se.Code() == sqliteConstraintPK
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgUniqueViolation
}

// exclusionViolation reports whether err is PostgreSQL's exclusion
// constraint refusing an overlapping appointment.
func exclusionViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgExclusionViolation
}
