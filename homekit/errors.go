package homekit

import "errors"

// Sentinel errors.
var (
	// ErrOutOfRange means a value does not fit where it has to go.
	ErrOutOfRange = errors.New("out of range")
)
