package main

import (
	"context"
	"fmt"

	"vclinic/homekit/gatt"
)

// Device is one device of the patient's kit, as GET
// /api/v1/patients/{id}/devices lists it.
type Device struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Address      string `json:"address"` // Bluetooth address, AA:BB:CC:DD:EE:FF
	IdentifiedBy string `json:"identifiedBy"`
}

// Radio is the Bluetooth side of the gateway, kept small so tests can fake it.
type Radio interface {
	// Subscribe connects to the device at dev.Address, enables
	// notifications or indications on its measurement characteristics and
	// calls fn with every raw value, in the order they arrive. It blocks
	// until ctx ends (returning ctx.Err()) or the link is lost (an error;
	// the caller connects again).
	//
	// When records is not nil (a glucose meter, which notifies its stored
	// records only when asked), Subscribe also enables indications on the
	// Record Access Control Point (0x2A52), whose responses it passes to fn
	// too, and, once every subscription is on, runs records in a goroutine
	// of its own with a function that writes a request to the control
	// point. records' ctx ends when the link is lost or ctx ends, and
	// Subscribe returns only after records has. An error from records ends
	// the connection: Subscribe returns it.
	//
	// fn is called one value at a time, but values of different
	// characteristics may come out of order.
	Subscribe(ctx context.Context, dev Device, records RecordAccess, fn func(char uint16, value []byte)) error
}

// RecordAccess runs the Record Access Control Point procedures of one
// connection: it writes requests with write (a write with response) and
// hears the meter's answers through the fn given to Subscribe.
type RecordAccess func(ctx context.Context, write func(request []byte) error) error

// RecordAccessControlPoint is the characteristic a glucose meter is asked
// for its stored records through.
const RecordAccessControlPoint uint16 = gatt.RecordAccessControlPoint

// IsMeasurement reports whether the gateway forwards char: a characteristic
// the decoder reads as measurements (blood pressure, temperature, pulse
// oximetry spot check and continuous, weight, glucose, heart rate).
func IsMeasurement(char uint16) bool { return gatt.MeasurementsIn(char) > 0 }

// charName is the form the server takes, e.g. "2A35".
func charName(char uint16) string { return fmt.Sprintf("%04X", char) }
