package gatt

import "testing"

const weightHead = `{"characteristic":"0x2A9D","name":"Weight Measurement","decoderVersion":1,"measurements":[`

func TestDecodeWeight(t *testing.T) {
	kg := `{"code":"29463-7","mdc":188736,"value":70.000,"unit":"kg"}`
	runJSONCases(t, WeightMeasurement, []jsonCase{
		// Resolution 0.005 kg: the value keeps the 3 decimals of the step.
		{"kg", "00 B0 36", weightHead + kg + `]}`},
		{"kg odd step", "00 B1 36", weightHead + `{"code":"29463-7","mdc":188736,"value":70.005,"unit":"kg"}]}`},
		{"kg smallest step", "00 01 00", weightHead + `{"code":"29463-7","mdc":188736,"value":0.005,"unit":"kg"}]}`},
		{"kg zero", "00 00 00", weightHead + `{"code":"29463-7","mdc":188736,"value":0.000,"unit":"kg"}]}`},
		{"kg largest", "00 FE FF", weightHead + `{"code":"29463-7","mdc":188736,"value":327.670,"unit":"kg"}]}`},
		// Resolution 0.01 lb.
		{"lb", "01 48 3C", weightHead + `{"code":"29463-7","mdc":188736,"value":154.32,"unit":"[lb_av]"}]}`},
		{"unsuccessful", "00 FF FF", weightHead + `{"code":"29463-7","mdc":188736,"value":null,"unit":"kg","absent":"error"}]}`},
		{"unsuccessful in lb", "01 FF FF", weightHead + `{"code":"29463-7","mdc":188736,"value":null,"unit":"[lb_av]","absent":"error"}]}`},
		{"time stamp", "02 B0 36 " + stamp, weightHead + kg + `],"time":"2026-11-26T10:30:05"}`},
		{"user id", "04 B0 36 02", weightHead + kg + `],"userId":2}`},
		{"BMI and height in m", "08 B0 36 E5 00 D6 06", weightHead + kg +
			`,{"code":"39156-5","mdc":188752,"value":22.9,"unit":"kg/m2"},{"code":"8302-2","mdc":188740,"value":1.750,"unit":"m"}]}`},
		{"BMI and height in inches", "09 48 3C E5 00 B1 02",
			weightHead + `{"code":"29463-7","mdc":188736,"value":154.32,"unit":"[lb_av]"},{"code":"39156-5","mdc":188752,"value":22.9,"unit":"kg/m2"},{"code":"8302-2","mdc":188740,"value":68.9,"unit":"[in_i]"}]}`},
		{"all fields", "0E B0 36 " + stamp + " 02 E5 00 D6 06", weightHead + kg +
			`,{"code":"39156-5","mdc":188752,"value":22.9,"unit":"kg/m2"},{"code":"8302-2","mdc":188740,"value":1.750,"unit":"m"}],"time":"2026-11-26T10:30:05","userId":2}`},
	})
	runErrorCases(t, WeightMeasurement, []errorCase{
		{"empty", "", ErrTruncated, "flags"},
		{"half a weight", "00 B0", ErrTruncated, "weight"},
		{"time stamp cut", "02 B0 36 EA 07 0B", ErrTruncated, "time stamp"},
		{"user id announced, absent", "04 B0 36", ErrTruncated, "user id"},
		{"BMI announced, absent", "08 B0 36", ErrTruncated, "BMI"},
		{"height absent", "08 B0 36 E5 00", ErrTruncated, "height"},
		{"minute 60", "02 B0 36 EA 07 0B 1A 00 3C 00", ErrOutOfRange, "time stamp minutes"},
		{"BMI not announced", "00 B0 36 E5 00 D6 06", ErrTrailing, "end"},
	})
}
