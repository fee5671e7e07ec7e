package scheduler

import (
	"errors"
	"fmt"
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
