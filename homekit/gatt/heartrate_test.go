package gatt

import (
	"testing"
	"time"
)

const (
	hrHead = `{"characteristic":"0x2A37","name":"Heart Rate Measurement","decoderVersion":1,"measurements":[`
	hr72   = `{"code":"8867-4","mdc":147842,"value":72,"unit":"/min","source":"heart-rate-sensor"}`
)

func TestDecodeHeartRate(t *testing.T) {
	runJSONCases(t, HeartRateMeasurement, []jsonCase{
		{"uint8", "00 48", hrHead + hr72 + `],"sensorContact":"not-supported"}`},
		{"uint16", "01 48 00", hrHead + hr72 + `],"sensorContact":"not-supported"}`},
		{"uint16 above 255", "01 2C 01", hrHead + `{"code":"8867-4","mdc":147842,"value":300,"unit":"/min","source":"heart-rate-sensor"}],"sensorContact":"not-supported"}`},
		{"contact not supported (1)", "02 48", hrHead + hr72 + `],"sensorContact":"not-supported"}`},
		{"contact not detected", "04 48", hrHead + hr72 + `],"sensorContact":"not-detected"}`},
		{"contact detected", "06 48", hrHead + hr72 + `],"sensorContact":"detected"}`},
		{"energy expended", "08 48 E8 03", hrHead + hr72 + `],"sensorContact":"not-supported","energyExpended":{"value":1000,"unit":"kJ"}}`},
		{"one RR interval", "10 48 00 04", hrHead + hr72 + `],"sensorContact":"not-supported","rrIntervals":[1024]}`},
		{"several RR intervals", "10 48 00 04 33 03 9A 03", hrHead + hr72 + `],"sensorContact":"not-supported","rrIntervals":[1024,819,922]}`},
		{"all fields", "1F 48 00 E8 03 00 04 33 03", hrHead + hr72 + `],"sensorContact":"detected","energyExpended":{"value":1000,"unit":"kJ"},"rrIntervals":[1024,819]}`},
	})
	runErrorCases(t, HeartRateMeasurement, []errorCase{
		{"empty", "", ErrTruncated, "flags"},
		{"no heart rate", "00", ErrTruncated, "heart rate"},
		{"uint16 heart rate cut", "01 48", ErrTruncated, "heart rate"},
		{"energy announced, absent", "08 48", ErrTruncated, "energy expended"},
		{"energy cut", "08 48 E8", ErrTruncated, "energy expended"},
		{"RR flag with no RR bytes", "10 48", ErrTruncated, "RR interval"},
		{"RR flag after energy with no RR bytes", "18 48 E8 03", ErrTruncated, "RR interval"},
		{"odd RR byte count", "10 48 00 04 33", ErrTruncated, "RR interval"},
		{"one RR byte", "10 48 00", ErrTruncated, "RR interval"},
		{"RR bytes without the flag", "00 48 00 04", ErrTrailing, "end"},
	})
}

func TestRRDuration(t *testing.T) {
	if got := RRDuration(1024); got != time.Second {
		t.Errorf("RRDuration(1024) = %v", got)
	}
	if got := RRDuration(819); got != 799804687*time.Nanosecond {
		t.Errorf("RRDuration(819) = %v", got)
	}
}
