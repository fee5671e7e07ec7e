package gatt

import (
	"errors"
	"fmt"
)

// Sentinel errors. A decoding failure is a *DecodeError that wraps one of them.
var (
	// ErrUnknownCharacteristic means the decoder does not know the characteristic.
	ErrUnknownCharacteristic = errors.New("unknown characteristic")
	// ErrBadUUID means a characteristic is neither a 16-bit UUID nor a
	// 128-bit UUID on the Bluetooth base UUID.
	ErrBadUUID = errors.New("not a Bluetooth SIG characteristic UUID")
	// ErrTruncated means the value ends before a field its flags announce.
	ErrTruncated = errors.New("value ends early")
	// ErrTrailing means bytes are left after every field the flags announce.
	ErrTrailing = errors.New("bytes left after the last field")
	// ErrOutOfRange means a field holds a value its definition does not allow
	// (a month of 13, an RACP response with an operator).
	ErrOutOfRange = errors.New("out of range")
)

// DecodeError says which characteristic and which field could not be decoded.
type DecodeError struct {
	Characteristic uint16 // 16-bit UUID, e.g. 0x2A35
	Field          string // e.g. "diastolic", "time stamp month"
	Offset         int    // byte offset of the field in the value
	Err            error  // wraps ErrTruncated, ErrTrailing or ErrOutOfRange
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s (%s): %s at byte %d: %v",
		Characteristic(e.Characteristic).Name(), Characteristic(e.Characteristic), e.Field, e.Offset, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }
