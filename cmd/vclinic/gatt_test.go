package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// runGATTCommand runs `vclinic gatt args...` in process.
func runGATTCommand(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = runGATT(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestGATTDecodeCharacteristicForms(t *testing.T) {
	const want = `{"characteristic":"0x2A35","name":"Blood Pressure Measurement","decoderVersion":1,"measurements":[` +
		`{"code":"8480-6","mdc":150021,"value":120,"unit":"mm[Hg]"},` +
		`{"code":"8462-4","mdc":150022,"value":80,"unit":"mm[Hg]"},` +
		`{"code":"8478-0","mdc":150023,"value":93,"unit":"mm[Hg]"}]}` + "\n"
	for _, char := range []string{"2A35", "2a35", "0x2a35", "0X2A35", "00002a35-0000-1000-8000-00805f9b34fb", "00002A35-0000-1000-8000-00805F9B34FB"} {
		for _, value := range [][]string{
			{"00 78 00 50 00 5D 00"},
			{"0078005000 5D00"},
			{"00:78:00:50:00:5d:00"},
			{"00-78-00-50-00-5D-00"},
			{"0x0078005000", "0x5D00"},
			{"00", "78", "00", "50", "00", "5D", "00"}, // split by the shell
		} {
			t.Run(char+" "+strings.Join(value, " "), func(t *testing.T) {
				code, out, errOut := runGATTCommand(append([]string{"decode", char}, value...)...)
				if code != 0 || errOut != "" {
					t.Fatalf("exit %d, stderr %q", code, errOut)
				}
				if out != want {
					t.Errorf("stdout\n got %s\nwant %s", out, want)
				}
			})
		}
	}
}

func TestGATTDecodeOutput(t *testing.T) {
	tests := []struct {
		name  string
		char  string
		hex   string
		wants []string // substrings of the one-line JSON output
	}{
		{"temperature keeps 37.60", "2A1C", "00 B0 0E 00 FE",
			[]string{`"measurements":[{"code":"8310-5","mdc":150364,"value":37.60,"unit":"Cel"}]`}},
		{"temperature 2.0 stays 2.0", "2A1C", "00 14 00 00 FF",
			[]string{`"value":2.0,"unit":"Cel"`}},
		{"Fahrenheit with time and type", "0x2A1C", "07 E3 03 00 FF EA 07 0B 1A 0A 1E 05 06",
			[]string{`"value":99.5,"unit":"[degF]"`, `"time":"2026-11-26T10:30:05"`, `"temperatureType":"mouth"`}},
		{"temperature NaN", "2A1C", "00 FF FF 7F 00",
			[]string{`"value":null,"unit":"Cel","absent":"not-a-number"`}},
		{"temperature +INF", "2A1C", "00 FE FF 7F 00",
			[]string{`"value":null,"unit":"Cel","absent":"positive-infinity"`}},
		{"temperature -INF", "2A1C", "00 02 00 80 00",
			[]string{`"value":null,"unit":"Cel","absent":"negative-infinity"`}},
		{"temperature NRes", "2A1C", "00 00 00 80 00",
			[]string{`"value":null,"unit":"Cel","absent":"error"`}},
		{"blood pressure in kPa with pulse", "2A35", "05 A0 F0 6B F0 7D F0 48 00",
			[]string{`{"code":"8480-6","mdc":150021,"value":16.0,"unit":"kPa"}`,
				`{"code":"8867-4","mdc":149546,"value":72,"unit":"/min","source":"blood-pressure-monitor"}`}},
		{"SpO2 and oximeter pulse", "2A5E", "00 61 00 48 00",
			[]string{`{"code":"59408-5","mdc":150456,"value":97,"unit":"%"}`, `"source":"pulse-oximeter"`}},
		{"PLX continuous fast pair beside", "2A5F", "01 61 00 48 00 62 00 49 00",
			[]string{`"fast":{"spo2":{"code":"59408-5","mdc":150456,"value":98,"unit":"%"}`}},
		{"weight keeps the step's decimals", "2A9D", "00 B0 36",
			[]string{`{"code":"29463-7","mdc":188736,"value":70.000,"unit":"kg"}`}},
		{"weight unsuccessful", "2A9D", "00 FF FF",
			[]string{`"value":null,"unit":"kg","absent":"error"`}},
		{"weight in lb with BMI and height", "2A9D", "09 48 3C E5 00 B1 02",
			[]string{`"value":154.32,"unit":"[lb_av]"`, `"value":22.9,"unit":"kg/m2"`, `"value":68.9,"unit":"[in_i]"`}},
		{"glucose mmol/L", "2A18", "06 01 00 EA 07 0B 1A 08 00 00 26 B2 12",
			[]string{`{"code":"14743-9","mdc":160188,"value":5.50,"unit":"mmol/L"}`, `"sequenceNumber":1`}},
		{"glucose mg/dL", "2A18", "02 01 00 EA 07 0B 1A 08 00 00 64 B0 11",
			[]string{`{"code":"41653-7","mdc":160184,"value":100,"unit":"mg/dL"}`}},
		{"heart rate with RR", "2A37", "16 48 00 04 33 03",
			[]string{`{"code":"8867-4","mdc":147842,"value":72,"unit":"/min","source":"heart-rate-sensor"}`,
				`"sensorContact":"detected"`, `"rrIntervals":[1024,819]`}},
		{"RACP response", "2A52", "06 00 01 06",
			[]string{`"measurements":[]`, `"status":"no-records-found"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runGATTCommand("decode", tt.char, tt.hex)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Errorf("output is not one line: %q", out)
			}
			for _, w := range tt.wants {
				if !strings.Contains(out, w) {
					t.Errorf("output\n%s\nlacks %s", out, w)
				}
			}
			checkGATTShape(t, out)
		})
	}
}

// checkGATTShape checks the JSON contract: one object with a measurements
// array; each measurement has a code, a unit and either a number value or a
// null value with an absent reason.
func checkGATTShape(t *testing.T, out string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value:\n%s", out)
	}
	ms, ok := obj["measurements"].([]any)
	if !ok {
		t.Fatalf("no measurements array:\n%s", out)
	}
	for i, m := range ms {
		m, ok := m.(map[string]any)
		if !ok {
			t.Fatalf("measurement %d is not an object", i)
		}
		if code, _ := m["code"].(string); code == "" {
			t.Errorf("measurement %d has no code", i)
		}
		if unit, _ := m["unit"].(string); unit == "" {
			t.Errorf("measurement %d has no unit", i)
		}
		switch v := m["value"].(type) {
		case json.Number:
			if _, has := m["absent"]; has {
				t.Errorf("measurement %d has a value and an absent reason", i)
			}
		case nil:
			if a, _ := m["absent"].(string); a == "" {
				t.Errorf("measurement %d has a null value and no absent reason", i)
			}
		default:
			t.Errorf("measurement %d value %v is neither a number nor null", i, v)
		}
	}
}

func TestGATTDecodeExactNumberText(t *testing.T) {
	_, out, _ := runGATTCommand("decode", "2A1C", "00 B0 0E 00 FE")
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var obj struct {
		Measurements []struct {
			Value json.Number `json:"value"`
		} `json:"measurements"`
	}
	if err := dec.Decode(&obj); err != nil || len(obj.Measurements) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	if got := obj.Measurements[0].Value.String(); got != "37.60" {
		t.Errorf("value %s, want 37.60", got)
	}
}

func TestGATTDecodeBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string // in the one-line reason
	}{
		{"bad hex digit", []string{"decode", "2A35", "00 78 0G"}, 1, "not hex"},
		{"odd hex digits", []string{"decode", "2A35", "00 78 0"}, 1, "not hex"},
		{"unknown characteristic", []string{"decode", "2A19", "64"}, 1, "0x2A19: unknown characteristic (known: 2A18 2A1C 2A35 2A37 2A52 2A5E 2A5F 2A9D)"},
		{"unknown 128-bit characteristic", []string{"decode", "00002a19-0000-1000-8000-00805f9b34fb", "64"}, 1, "unknown characteristic"},
		{"not a SIG UUID", []string{"decode", "6e400003-b5a3-f393-e0a9-e50e24dcca9e", "00"}, 1, "not a Bluetooth SIG characteristic UUID"},
		{"malformed characteristic", []string{"decode", "2A3", "00"}, 1, `characteristic "2A3"`},
		// The example: flags 0x1E announce fields that are not there.
		{"truncated value", []string{"decode", "2A35", "1E 78 00 50 00 5D 00"}, 1,
			"Blood Pressure Measurement (0x2A35): time stamp at byte 7: value ends early"},
		{"empty value", []string{"decode", "2A37", ""}, 1, "Heart Rate Measurement (0x2A37): flags at byte 0: value ends early"},
		{"RR flag without RR bytes", []string{"decode", "2A37", "10 48"}, 1, "RR interval at byte 2: value ends early"},
		{"odd RR bytes", []string{"decode", "2A37", "10 48 00 04 33"}, 1, "RR interval at byte 4"},
		{"trailing bytes", []string{"decode", "2A9D", "00 B0 36 00"}, 1, "bytes left after the last field"},
		{"impossible date", []string{"decode", "2A1C", "02 78 01 00 FF EA 07 0D 01 00 00 00"}, 1, "time stamp month at byte 5: out of range"},
		{"no arguments", nil, 2, "Usage: vclinic gatt decode"},
		{"no hex", []string{"decode", "2A35"}, 2, "Usage: vclinic gatt decode"},
		{"unknown command", []string{"encode", "2A35", "00"}, 2, `unknown command "encode"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runGATTCommand(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q lacks %q", errOut, tt.want)
			}
			if tt.code == 1 && (strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "vclinic gatt decode: ")) {
				t.Errorf("stderr %q is not one prefixed line", errOut)
			}
		})
	}
}

func TestGATTHelp(t *testing.T) {
	code, out, errOut := runGATTCommand("-h")
	if code != 0 || out != "" || !strings.HasPrefix(errOut, "Usage:") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
