package scheduler

import "errors"

// Sentinel errors. Store calls wrap them with the operation and, where a
// person needs to know why, a plain reason (see Reason). An HTTP layer maps
// them to status codes: ErrNotFound 404, ErrConflict 409, ErrUnprocessable
// 422, ErrForbidden 403, ErrBadCredentials 401.
var (
	// ErrNotFound: no record with that id.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request contradicts the records as they stand, such as
	// a booking that overlaps another or a status change the workflow does not
	// allow.
	ErrConflict = errors.New("conflict")
	// ErrUnprocessable: the request breaks a rule on its own, such as a
	// booking outside the clinician's availability or an invalid CPR number.
	ErrUnprocessable = errors.New("unprocessable")
	// ErrForbidden: the acting user may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrBadCredentials: unknown user name or wrong password; which of the
	// two is never said.
	ErrBadCredentials = errors.New("wrong user name or password")
)
