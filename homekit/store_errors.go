package homekit

import (
	"errors"
	"fmt"
)

// Sentinel errors of the store. Store calls wrap them with a reason a person
// can act on (see Reason). The HTTP layer maps them: ErrNotFound 404,
// ErrInvalid 422, ErrForbidden 403, ErrConflict 409.
var (
	// ErrNotFound: no such record, or one the caller may not see.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request breaks a rule on its own (an unknown device
	// type, a batch of more than MaxBatch readings).
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the acting user may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrConflict: the request contradicts the records as they stand (a
	// gateway id that is taken).
	ErrConflict = errors.New("conflict")
)

// reasonError is a sentinel with a reason.
type reasonError struct {
	sentinel error
	reason   string
}

func (e *reasonError) Error() string { return e.sentinel.Error() + ": " + e.reason }
func (e *reasonError) Unwrap() error { return e.sentinel }

func because(sentinel error, format string, args ...any) error {
	return &reasonError{sentinel: sentinel, reason: fmt.Sprintf(format, args...)}
}

// Reason returns the plain reason carried by an error from a store call, or
// the error's message.
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
