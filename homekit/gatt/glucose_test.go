package gatt

import "testing"

const (
	gluHead = `{"characteristic":"0x2A18","name":"Glucose Measurement","decoderVersion":1,"measurements":[`
	gluTime = `"time":"2026-11-26T08:00:00"`
	// Sequence number 1, base time 2026-11-26 08:00:00.
	gluSeqTime = "01 00 EA 07 0B 1A 08 00 00"
)

func TestDecodeGlucose(t *testing.T) {
	fingerCWB := `"sequenceNumber":1,"glucoseType":"capillary-whole-blood","sampleLocation":"finger"`
	runJSONCases(t, GlucoseMeasurement, []jsonCase{
		// 100 × 10^-5 kg/L is 100 mg/dL: the exponent moves by 5.
		{"kg/L to mg/dL", "02 " + gluSeqTime + " 64 B0 11",
			gluHead + `{"code":"41653-7","mdc":160184,"value":100,"unit":"mg/dL"}],` + gluTime + `,` + fingerCWB + `}`},
		// 12 × 10^-4 kg/L is 120 mg/dL: the exponent becomes positive.
		{"kg/L to mg/dL, coarse", "02 " + gluSeqTime + " 0C C0 11",
			gluHead + `{"code":"41653-7","mdc":160184,"value":120,"unit":"mg/dL"}],` + gluTime + `,` + fingerCWB + `}`},
		{"kg/L to mg/dL, fine", "02 " + gluSeqTime + " E9 A3 11",
			gluHead + `{"code":"41653-7","mdc":160184,"value":100.1,"unit":"mg/dL"}],` + gluTime + `,` + fingerCWB + `}`},
		// 55 × 10^-4 mol/L is 5.5 mmol/L; 550 × 10^-5 is 5.50.
		{"mol/L to mmol/L", "06 " + gluSeqTime + " 37 C0 12",
			gluHead + `{"code":"14743-9","mdc":160188,"value":5.5,"unit":"mmol/L"}],` + gluTime + `,"sequenceNumber":1,"glucoseType":"capillary-plasma","sampleLocation":"finger"}`},
		{"mmol/L keeps its zero", "06 " + gluSeqTime + " 26 B2 12",
			gluHead + `{"code":"14743-9","mdc":160188,"value":5.50,"unit":"mmol/L"}],` + gluTime + `,"sequenceNumber":1,"glucoseType":"capillary-plasma","sampleLocation":"finger"}`},
		{"no concentration", "00 " + gluSeqTime,
			gluHead + `],` + gluTime + `,"sequenceNumber":1}`},
		{"unit flag alone means nothing", "04 " + gluSeqTime,
			gluHead + `],` + gluTime + `,"sequenceNumber":1}`},
		{"base time unknown", "00 2A 00 00 00 00 00 00 00 00",
			gluHead + `],"sequenceNumber":42}`},
		{"time offset", "01 " + gluSeqTime + " C4 FF",
			gluHead + `],` + gluTime + `,"timeOffsetMinutes":-60,"sequenceNumber":1}`},
		{"sensor status", "08 " + gluSeqTime + " 21 08",
			gluHead + `],` + gluTime + `,"sequenceNumber":1,"sensorStatus":{"deviceBatteryLow":true,"sensorMalfunction":false,"sampleSizeInsufficient":false,"stripInsertionError":false,"stripTypeIncorrect":false,"resultTooHigh":true,"resultTooLow":false,"temperatureTooHigh":false,"temperatureTooLow":false,"readInterrupted":false,"generalDeviceFault":false,"timeFault":true}}`},
		{"context follows", "10 " + gluSeqTime,
			gluHead + `],` + gluTime + `,"sequenceNumber":1,"contextFollows":true}`},
		{"all fields", "1F " + gluSeqTime + " C4 FF 37 C0 12 00 10",
			gluHead + `{"code":"14743-9","mdc":160188,"value":5.5,"unit":"mmol/L"}],` + gluTime + `,"timeOffsetMinutes":-60,"sequenceNumber":1,"glucoseType":"capillary-plasma","sampleLocation":"finger","sensorStatus":{"deviceBatteryLow":false,"sensorMalfunction":false,"sampleSizeInsufficient":false,"stripInsertionError":false,"stripTypeIncorrect":false,"resultTooHigh":false,"resultTooLow":false,"temperatureTooHigh":false,"temperatureTooLow":false,"readInterrupted":false,"generalDeviceFault":false,"timeFault":false,"reserved":4096},"contextFollows":true}`},
		{"control solution", "02 " + gluSeqTime + " 64 B0 4A",
			gluHead + `{"code":"41653-7","mdc":160208,"value":100,"unit":"mg/dL"}],` + gluTime + `,"sequenceNumber":1,"glucoseType":"control-solution","sampleLocation":"control-solution"}`},
		{"undetermined plasma, location not available", "02 " + gluSeqTime + " 64 B0 F8",
			gluHead + `{"code":"41653-7","mdc":160368,"value":100,"unit":"mg/dL"}],` + gluTime + `,"sequenceNumber":1,"glucoseType":"undetermined-plasma","sampleLocation":"not-available"}`},
		{"reserved type and location", "02 " + gluSeqTime + " 64 B0 0F",
			gluHead + `{"code":"41653-7","mdc":160020,"value":100,"unit":"mg/dL"}],` + gluTime + `,"sequenceNumber":1,"glucoseType":"reserved-15","sampleLocation":"reserved-0"}`},
		{"concentration NaN", "02 " + gluSeqTime + " FF 07 11",
			gluHead + `{"code":"41653-7","mdc":160184,"value":null,"unit":"mg/dL","absent":"not-a-number"}],` + gluTime + `,` + fingerCWB + `}`},
		{"concentration -INF in mmol/L", "06 " + gluSeqTime + " 02 08 11",
			gluHead + `{"code":"14743-9","mdc":160184,"value":null,"unit":"mmol/L","absent":"negative-infinity"}],` + gluTime + `,` + fingerCWB + `}`},
	})
	runErrorCases(t, GlucoseMeasurement, []errorCase{
		{"empty", "", ErrTruncated, "flags"},
		{"no sequence number", "00 01", ErrTruncated, "sequence number"},
		{"no base time", "00 01 00", ErrTruncated, "base time"},
		{"time offset announced, absent", "01 " + gluSeqTime, ErrTruncated, "time offset"},
		{"concentration announced, absent", "02 " + gluSeqTime, ErrTruncated, "concentration"},
		{"type and location absent", "02 " + gluSeqTime + " 64 B0", ErrTruncated, "type and sample location"},
		{"status cut", "08 " + gluSeqTime + " 01", ErrTruncated, "sensor status annunciation"},
		{"month 0 day 32", "00 01 00 EA 07 00 20 00 00 00", ErrOutOfRange, "base time day"},
		{"concentration not announced", "00 " + gluSeqTime + " 64 B0 11", ErrTrailing, "end"},
	})
}
