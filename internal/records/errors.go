package records

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// Sentinel errors. InTx wraps the driver's error so that errors.Is finds
// these; Map does the same for an error met inside a transaction.
var (
	// ErrUnique: a UNIQUE or PRIMARY KEY constraint refused a row.
	ErrUnique = errors.New("records: unique constraint")
	// ErrExclusion: a PostgreSQL exclusion constraint refused a row (two
	// rows that must not overlap).
	ErrExclusion = errors.New("records: exclusion constraint")
	// ErrBusy: other transactions held what this one needed, through every
	// attempt (SQLITE_BUSY or SQLITE_LOCKED, a serialization failure or a
	// deadlock). The request may be tried again later.
	ErrBusy = errors.New("records: busy")
	// ErrRetry, wrapped in an error that the function given to InTx
	// returns, asks InTx to roll back and run the function again (it lost a
	// race it can win on a fresh snapshot). After the last attempt InTx
	// answers ErrBusy.
	ErrRetry = errors.New("records: retry")
	// ErrUnavailable: the database could not be reached or went away
	// (connection refused or reset, the server shutting down or failing
	// over). Map adds it; Unavailable tells it from the driver's error. The
	// request may be tried again once the database is back.
	ErrUnavailable = errors.New("records: database unavailable")
)

// SQLite result codes (https://www.sqlite.org/rescode.html); the driver
// reports extended codes, whose low byte is the primary code.
const (
	sqliteBusy             = 5
	sqliteLocked           = 6
	sqliteConstraintUnique = 2067 // SQLITE_CONSTRAINT_UNIQUE
	sqliteConstraintPK     = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
)

// PostgreSQL SQLSTATEs (PostgreSQL manual, Appendix A, Error Codes).
const (
	pgUniqueViolation      = "23505"
	pgExclusionViolation   = "23P01"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

// mapped is a driver error together with the sentinel it means.
type mapped struct {
	sentinel error
	err      error
}

func (e *mapped) Error() string   { return e.err.Error() }
func (e *mapped) Unwrap() []error { return []error{e.sentinel, e.err} }

// Map returns err with the sentinel it means (ErrUnique, ErrExclusion,
// ErrBusy) added to its chain, or err itself when it means none of them.
func Map(err error) error {
	var s error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnique), errors.Is(err, ErrExclusion), errors.Is(err, ErrBusy), errors.Is(err, ErrUnavailable):
		return err
	case Unique(err):
		s = ErrUnique
	case Exclusion(err):
		s = ErrExclusion
	case retryable(err):
		s = ErrBusy
	case Unavailable(err):
		s = ErrUnavailable
	default:
		return err
	}
	return &mapped{sentinel: s, err: err}
}

// Unique reports whether err is a UNIQUE or PRIMARY KEY violation, from the
// driver or mapped.
func Unique(err error) bool {
	if errors.Is(err, ErrUnique) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqliteConstraintUnique || se.Code() == sqliteConstraintPK
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgUniqueViolation
}

// Exclusion reports whether err is a PostgreSQL exclusion constraint
// violation, from the driver or mapped.
func Exclusion(err error) bool {
	if errors.Is(err, ErrExclusion) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgExclusionViolation
}

// retryable reports whether a transaction failed only because of other
// transactions and may be run again.
func retryable(err error) bool {
	if errors.Is(err, ErrRetry) {
		return true
	}
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

// Unavailable reports whether err means the database could not be reached
// or went away: a failed connection (pgconn.ConnectError), a network error
// or a connection cut in the middle of a reply, a connection the pool
// found broken (driver.ErrBadConn), or PostgreSQL's SQLSTATE class 08
// (connection exception) or 57P01-57P03 (the server shutting down,
// crashed, or not yet taking connections, as during a failover). A
// request's deadline passing while it waits on the database counts too
// (context.DeadlineExceeded is a net.Error): the request did nothing and
// may be tried again.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ne net.Error
	return errors.As(err, &ne)
}
