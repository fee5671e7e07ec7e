package signaling

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	errVersion = errors.New("unsupported protocol version")

	// ErrInvalidToken means a token is malformed, badly signed, of an unknown
	// key or expired: HTTP 401.
	ErrInvalidToken = errors.New("invalid or expired token")
	// ErrTokenExpired is an ErrInvalidToken: a well-signed token past its
	// expiry. Keyring.Verify answers its claims with it.
	ErrTokenExpired = fmt.Errorf("%w: expired", ErrInvalidToken)
	// ErrForbidden means a valid token does not allow the action: HTTP 403.
	ErrForbidden = errors.New("token does not allow this")
	// ErrUnavailable means what decides on a token (the clinic's records)
	// cannot be reached just now: HTTP 503, try again.
	ErrUnavailable = errors.New("cannot check the token just now")
	// ErrBadReadings means a ReadingsSink refused a batch of readings as a
	// whole, for what it holds: error bad-payload.
	ErrBadReadings = errors.New("readings refused")
)
