package gatt

import (
	"strconv"
	"time"
)

// Heart Rate Measurement 0x2A37 (GATT Specification Supplement, Heart Rate
// Measurement; Heart Rate Service 1.0):
//
//	flags            uint8   bit0 uint16 heart rate (else uint8), bits 1-2
//	                         sensor contact, bit3 energy expended, bit4 RR
//	                         intervals; bits 5-7 reserved
//	heart rate       uint8 or uint16, /min
//	energy expended  uint16, kJ                  if bit3
//	RR intervals     uint16 each, 1/1024 s,     if bit4
//	                 as many as remain
//
// RR intervals announced but absent, or an odd byte left over, is an error.
const (
	hrUint16 = 1 << 0
	hrEnergy = 1 << 3
	hrRR     = 1 << 4
	hrKnown  = hrUint16 | 3<<1 | hrEnergy | hrRR
)

// SensorContact is the heart rate sensor's skin contact status.
type SensorContact uint8

// Sensor contact states, the flags' bits 1-2.
const (
	ContactNotSupported  SensorContact = 0 // also 1
	ContactNotDetected   SensorContact = 2
	ContactDetected      SensorContact = 3
	contactNotSupported1 SensorContact = 1
)

func (c SensorContact) String() string {
	switch c {
	case ContactNotSupported, contactNotSupported1:
		return "not-supported"
	case ContactNotDetected:
		return "not-detected"
	case ContactDetected:
		return "detected"
	}
	return "SensorContact(" + strconv.Itoa(int(c)) + ")"
}

// MarshalText writes String.
func (c SensorContact) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

func decodeHeartRate(d *Decoded, r *reader) error {
	flags, err := r.u8("flags")
	if err != nil {
		return err
	}
	d.UnknownFlags = flags &^ hrKnown
	var hr uint16
	if flags&hrUint16 != 0 {
		hr, err = r.u16("heart rate")
	} else {
		var b uint8
		b, err = r.u8("heart rate")
		hr = uint16(b)
	}
	if err != nil {
		return err
	}
	m := measurement(LOINCHeartRate, MDCECGHeartRate, Decimal{Mantissa: int32(hr)}, UnitPerMinute)
	m.Source = HeartRateSensor
	d.Measurements = append(d.Measurements, m)
	contact := SensorContact(flags >> 1 & 3)
	if contact == contactNotSupported1 {
		contact = ContactNotSupported
	}
	d.SensorContact = Some(contact)
	if flags&hrEnergy != 0 {
		e, err := r.u16("energy expended")
		if err != nil {
			return err
		}
		d.EnergyExpended = Some(QuantityOf(Decimal{Mantissa: int32(e)}, UnitKilojoule))
	}
	if flags&hrRR != 0 {
		n := len(r.buf) - r.off
		if n == 0 {
			return r.fail("RR interval", r.off, ErrTruncated)
		}
		if n%2 != 0 {
			return r.fail("RR interval", len(r.buf)-1, ErrTruncated)
		}
		d.RRIntervals = make([]uint16, n/2)
		for i := range d.RRIntervals {
			d.RRIntervals[i], _ = r.u16("RR interval")
		}
	}
	return nil
}

// RRDuration converts an RR interval from 1/1024 s to a duration.
func RRDuration(rr uint16) time.Duration {
	return time.Duration(rr) * time.Second / 1024
}
