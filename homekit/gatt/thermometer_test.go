package gatt

import "testing"

const tempHead = `{"characteristic":"0x2A1C","name":"Temperature Measurement","decoderVersion":1,"measurements":[{"code":"8310-5","mdc":150364,`

func TestDecodeTemperature(t *testing.T) {
	runJSONCases(t, TemperatureMeasurement, []jsonCase{
		{"Celsius keeps 37.60", "00 B0 0E 00 FE",
			tempHead + `"value":37.60,"unit":"Cel"}]}`},
		{"Celsius 37.6", "00 78 01 00 FF",
			tempHead + `"value":37.6,"unit":"Cel"}]}`},
		{"Fahrenheit", "01 E3 03 00 FF",
			tempHead + `"value":99.5,"unit":"[degF]"}]}`},
		{"time stamp", "02 78 01 00 FF " + stamp,
			tempHead + `"value":37.6,"unit":"Cel"}],"time":"2026-11-26T10:30:05"}`},
		{"time stamp with year 0 is none", "02 78 01 00 FF 00 00 0B 1A 0A 1E 05",
			tempHead + `"value":37.6,"unit":"Cel"}]}`},
		{"type", "04 78 01 00 FF 03",
			tempHead + `"value":37.6,"unit":"Cel"}],"temperatureType":"ear"}`},
		{"reserved type", "04 78 01 00 FF 00",
			tempHead + `"value":37.6,"unit":"Cel"}],"temperatureType":"reserved-0"}`},
		{"all fields", "07 E3 03 00 FF " + stamp + " 06",
			tempHead + `"value":99.5,"unit":"[degF]"}],"time":"2026-11-26T10:30:05","temperatureType":"mouth"}`},
		{"negative", "00 D3 FF FF FF",
			tempHead + `"value":-4.5,"unit":"Cel"}]}`},
		{"NaN", "00 FF FF 7F 00",
			tempHead + `"value":null,"unit":"Cel","absent":"not-a-number"}]}`},
		{"NRes", "00 00 00 80 00",
			tempHead + `"value":null,"unit":"Cel","absent":"error"}]}`},
		{"+INF", "00 FE FF 7F 00",
			tempHead + `"value":null,"unit":"Cel","absent":"positive-infinity"}]}`},
		{"-INF", "00 02 00 80 00",
			tempHead + `"value":null,"unit":"Cel","absent":"negative-infinity"}]}`},
		{"reserved", "00 01 00 80 00",
			tempHead + `"value":null,"unit":"Cel","absent":"error"}]}`},
	})
	runErrorCases(t, TemperatureMeasurement, []errorCase{
		{"empty", "", ErrTruncated, "flags"},
		{"short temperature", "00 78 01 00", ErrTruncated, "temperature"},
		{"time stamp announced, absent", "02 78 01 00 FF", ErrTruncated, "time stamp"},
		{"type announced, absent", "04 78 01 00 FF", ErrTruncated, "temperature type"},
		{"month 13", "02 78 01 00 FF EA 07 0D 01 00 00 00", ErrOutOfRange, "time stamp month"},
		{"type not announced", "00 78 01 00 FF 06", ErrTrailing, "end"},
	})
}
