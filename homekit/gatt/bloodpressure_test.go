package gatt

import "testing"

const bpHead = `{"characteristic":"0x2A35","name":"Blood Pressure Measurement","decoderVersion":1,"measurements":[`

func TestDecodeBloodPressure(t *testing.T) {
	mmHg := `{"code":"8480-6","mdc":150021,"value":120,"unit":"mm[Hg]"},{"code":"8462-4","mdc":150022,"value":80,"unit":"mm[Hg]"},{"code":"8478-0","mdc":150023,"value":93,"unit":"mm[Hg]"}`
	pulse := `{"code":"8867-4","mdc":149546,"value":72,"unit":"/min","source":"blood-pressure-monitor"}`
	runJSONCases(t, BloodPressureMeasurement, []jsonCase{
		{"mmHg", "00 78 00 50 00 5D 00", bpHead + mmHg + `]}`},
		{"kPa keeps kPa and decimals", "01 A0 F0 6B F0 7D F0",
			bpHead + `{"code":"8480-6","mdc":150021,"value":16.0,"unit":"kPa"},{"code":"8462-4","mdc":150022,"value":10.7,"unit":"kPa"},{"code":"8478-0","mdc":150023,"value":12.5,"unit":"kPa"}]}`},
		{"time stamp", "02 78 00 50 00 5D 00 " + stamp, bpHead + mmHg + `],"time":"2026-11-26T10:30:05"}`},
		{"pulse rate", "04 78 00 50 00 5D 00 48 00", bpHead + mmHg + `,` + pulse + `]}`},
		{"user id", "08 78 00 50 00 5D 00 03", bpHead + mmHg + `],"userId":3}`},
		{"unknown user", "08 78 00 50 00 5D 00 FF", bpHead + mmHg + `],"userId":255}`},
		{"status all clear", "10 78 00 50 00 5D 00 00 00", bpHead + mmHg +
			`],"bloodPressureStatus":{"bodyMovement":false,"cuffTooLoose":false,"irregularPulse":false,"pulseRateRange":"in-range","improperPosition":false}}`},
		{"status body movement, cuff loose, pulse above", "10 78 00 50 00 5D 00 0B 00", bpHead + mmHg +
			`],"bloodPressureStatus":{"bodyMovement":true,"cuffTooLoose":true,"irregularPulse":false,"pulseRateRange":"above-upper-limit","improperPosition":false}}`},
		{"status pulse below", "10 78 00 50 00 5D 00 10 00", bpHead + mmHg +
			`],"bloodPressureStatus":{"bodyMovement":false,"cuffTooLoose":false,"irregularPulse":false,"pulseRateRange":"below-lower-limit","improperPosition":false}}`},
		{"status reserved range and bits", "10 78 00 50 00 5D 00 18 80", bpHead + mmHg +
			`],"bloodPressureStatus":{"bodyMovement":false,"cuffTooLoose":false,"irregularPulse":false,"pulseRateRange":"reserved-3","improperPosition":false,"reserved":32768}}`},
		{"all fields", "1E 78 00 50 00 5D 00 " + stamp + " 48 00 01 24 00", bpHead + mmHg + `,` + pulse +
			`],"time":"2026-11-26T10:30:05","userId":1,"bloodPressureStatus":{"bodyMovement":false,"cuffTooLoose":false,"irregularPulse":true,"pulseRateRange":"in-range","improperPosition":true}}`},
		{"mean not measured", "00 78 00 50 00 FF 07",
			bpHead + `{"code":"8480-6","mdc":150021,"value":120,"unit":"mm[Hg]"},{"code":"8462-4","mdc":150022,"value":80,"unit":"mm[Hg]"},{"code":"8478-0","mdc":150023,"value":null,"unit":"mm[Hg]","absent":"not-a-number"}]}`},
		{"pulse NRes", "04 78 00 50 00 5D 00 00 08", bpHead + mmHg +
			`,{"code":"8867-4","mdc":149546,"value":null,"unit":"/min","absent":"error","source":"blood-pressure-monitor"}]}`},
	})
	runErrorCases(t, BloodPressureMeasurement, []errorCase{
		{"empty", "", ErrTruncated, "flags"},
		{"no diastolic", "00 78 00", ErrTruncated, "diastolic"},
		{"half a mean", "00 78 00 50 00 5D", ErrTruncated, "mean arterial pressure"},
		// The example in the product issue: flags 0x1E announce a time stamp,
		// pulse, user id and status that are not there.
		{"flags announce fields not sent", "1E 78 00 50 00 5D 00", ErrTruncated, "time stamp"},
		{"pulse announced, absent", "04 78 00 50 00 5D 00", ErrTruncated, "pulse rate"},
		{"user id announced, absent", "08 78 00 50 00 5D 00", ErrTruncated, "user id"},
		{"status cut", "10 78 00 50 00 5D 00 01", ErrTruncated, "measurement status"},
		{"hour 24", "02 78 00 50 00 5D 00 EA 07 0B 1A 18 00 00", ErrOutOfRange, "time stamp hours"},
		{"pulse not announced", "00 78 00 50 00 5D 00 48 00", ErrTrailing, "end"},
	})
}
