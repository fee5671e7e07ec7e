package gatt

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// fromHex reads "1E 78 00" (spaces optional); it panics on bad test data.
func fromHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// decodeJSON decodes and marshals, failing the test on any error.
func decodeJSON(t *testing.T, char uint16, hexValue string) string {
	t.Helper()
	d, err := Decode(char, fromHex(hexValue))
	if err != nil {
		t.Fatalf("Decode(%s, %s): %v", Characteristic(char), hexValue, err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return string(b)
}

// jsonCase is a table test from the specification layout: the value on the
// wire and the JSON the decoder gives for it.
type jsonCase struct {
	name string
	hex  string
	want string
}

func runJSONCases(t *testing.T, char uint16, tests []jsonCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeJSON(t, char, tt.hex); got != tt.want {
				t.Errorf("Decode(%s, %s)\n got %s\nwant %s", Characteristic(char), tt.hex, got, tt.want)
			}
		})
	}
}

// errorCase is a value that must not decode.
type errorCase struct {
	name  string
	hex   string
	err   error  // wrapped sentinel
	field string // DecodeError.Field
}

func runErrorCases(t *testing.T, char uint16, tests []errorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decode(char, fromHex(tt.hex))
			if !errors.Is(err, tt.err) {
				t.Fatalf("Decode(%s, %s) = %+v, %v; want %v", Characteristic(char), tt.hex, d, err, tt.err)
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.Characteristic != char || de.Field != tt.field {
				t.Fatalf("error %v: want a *DecodeError for %s, field %q", err, Characteristic(char), tt.field)
			}
			name := Characteristic(char).Name()
			if !strings.HasPrefix(err.Error(), name) || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %q and %q", err, name, tt.field)
			}
		})
	}
}

// Time stamp 2026-11-26 10:30:05 on the wire.
const stamp = "EA 07 0B 1A 0A 1E 05"

// fullSamples have every optional field their flags allow.
func fullSamples() []struct {
	char uint16
	hex  string
} {
	return []struct {
		char uint16
		hex  string
	}{
		{TemperatureMeasurement, "07 E3 03 00 FF " + stamp + " 06"},
		{BloodPressureMeasurement, "1E 78 00 50 00 5D 00 " + stamp + " 48 00 01 24 00"},
		{PLXSpotCheckMeasurement, "1F 61 00 48 00 " + stamp + " 80 00 20 00 00 19 F0"},
		{PLXContinuousMeasurement, "1F 61 00 48 00 62 00 49 00 60 00 47 00 20 00 00 80 00 19 F0"},
		{WeightMeasurement, "0E B0 36 " + stamp + " 02 E5 00 D6 06"},
		{GlucoseMeasurement, "1F 01 00 " + stamp + " C4 FF 64 B0 11 01 00"},
		{HeartRateMeasurement, "1F 48 00 E8 03 00 04 33 03"},
		{RecordAccessControlPoint, "06 00 01 01"},
	}
}

func TestParseCharacteristic(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
	}{
		{"2A35", 0x2A35},
		{"2a35", 0x2A35},
		{"0x2a35", 0x2A35},
		{"0X2A35", 0x2A35},
		{" 2A37 ", 0x2A37},
		{"00002a35-0000-1000-8000-00805f9b34fb", 0x2A35},
		{"00002A5F-0000-1000-8000-00805F9B34FB", 0x2A5F},
		{"00002a9d-0000-1000-8000-00805f9b34fb", 0x2A9D},
		{"1234", 0x1234}, // parses; Decode then says it is unknown
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCharacteristic(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseCharacteristic(%q) = %#04x, %v, want %#04x", tt.in, got, err, tt.want)
			}
		})
	}
	for _, in := range []string{
		"", "2A3", "2A355", "0x", "0x2A3G", "zz35", "+A35", "-A35",
		"2a35-0000-1000-8000-00805f9b34fb",     // short
		"00002a35-0000-1000-8000-00805f9b34fc", // not the base UUID
		"12342a35-0000-1000-8000-00805f9b34fb", // 32-bit UUID
		"0000xx35-0000-1000-8000-00805f9b34fb",
		"00002a35000010008000-00805f9b34fb0000",
	} {
		t.Run("bad "+in, func(t *testing.T) {
			if got, err := ParseCharacteristic(in); !errors.Is(err, ErrBadUUID) {
				t.Errorf("ParseCharacteristic(%q) = %#04x, %v, want ErrBadUUID", in, got, err)
			}
		})
	}
}

func TestCharacteristicForms(t *testing.T) {
	c := Characteristic(BloodPressureMeasurement)
	if c.String() != "0x2A35" || c.UUID() != "00002a35-0000-1000-8000-00805f9b34fb" || c.Name() != "Blood Pressure Measurement" {
		t.Errorf("got %s %s %s", c, c.UUID(), c.Name())
	}
	if got, err := ParseCharacteristic(c.UUID()); err != nil || got != uint16(c) {
		t.Errorf("ParseCharacteristic(UUID()) = %#04x, %v", got, err)
	}
}

func TestCharacteristicsAllDecode(t *testing.T) {
	for _, c := range Characteristics() {
		if _, err := Decode(c, nil); errors.Is(err, ErrUnknownCharacteristic) || !errors.Is(err, ErrTruncated) {
			t.Errorf("Decode(%s, nil) = %v, want ErrTruncated", Characteristic(c), err)
		}
		if Characteristic(c).Name() == "unknown characteristic" {
			t.Errorf("%s has no name", Characteristic(c))
		}
	}
}

func TestDecodeUnknownCharacteristic(t *testing.T) {
	for _, c := range []uint16{0x2A19, 0x2A1E, 0x2A36, 0x0000, 0xFFFF} {
		if _, err := Decode(c, []byte{0}); !errors.Is(err, ErrUnknownCharacteristic) {
			t.Errorf("Decode(%#04x) = %v, want ErrUnknownCharacteristic", c, err)
		}
	}
}

// Every proper prefix of a value with all optional fields must be refused as
// truncated, not decoded and not a panic. (A heart rate value cut between
// two RR intervals is still whole; heartrate_test.go covers it.)
func TestTruncatedAtEveryLength(t *testing.T) {
	for _, s := range fullSamples() {
		raw := fromHex(s.hex)
		if _, err := Decode(s.char, raw); err != nil {
			t.Fatalf("full %s sample: %v", Characteristic(s.char), err)
		}
		for n := range len(raw) {
			if s.char == HeartRateMeasurement && n > 5 && (n-5)%2 == 0 {
				continue
			}
			t.Run(fmt.Sprintf("%s/%d bytes", Characteristic(s.char).Name(), n), func(t *testing.T) {
				d, err := Decode(s.char, raw[:n])
				if !errors.Is(err, ErrTruncated) {
					t.Fatalf("Decode(%s, % X) = %+v, %v; want ErrTruncated", Characteristic(s.char), raw[:n], d, err)
				}
				var de *DecodeError
				if !errors.As(err, &de) || de.Offset > n {
					t.Fatalf("error %v: offset past the end", err)
				}
			})
		}
	}
}

// A byte that no flag announces is refused.
func TestTrailingByte(t *testing.T) {
	for _, s := range fullSamples() {
		if s.char == HeartRateMeasurement {
			continue // RR intervals take the rest; an odd byte is truncation
		}
		raw := append(fromHex(s.hex), 0x00)
		if d, err := Decode(s.char, raw); !errors.Is(err, ErrTrailing) {
			t.Errorf("Decode(%s, % X) = %+v, %v; want ErrTrailing", Characteristic(s.char), raw, d, err)
		}
	}
}

// A value whose flags set reserved bits may carry fields from a later version
// of the specification: the known fields decode and the rest is ignored.
func TestReservedFlagsTolerateUnknownFields(t *testing.T) {
	tests := []struct {
		char  uint16
		hex   string
		flags uint8
	}{
		{TemperatureMeasurement, "80 B0 0E 00 FE AA BB", 0x80},
		{BloodPressureMeasurement, "20 78 00 50 00 5D 00 01", 0x20},
		{PLXSpotCheckMeasurement, "40 61 00 48 00 01 02", 0x40},
		{PLXContinuousMeasurement, "20 61 00 48 00 01", 0x20},
		{WeightMeasurement, "10 B0 36 01", 0x10},
		{GlucoseMeasurement, "20 01 00 " + stamp + " 01", 0x20},
		{HeartRateMeasurement, "20 48 01", 0x20},
	}
	for _, tt := range tests {
		t.Run(Characteristic(tt.char).Name(), func(t *testing.T) {
			d, err := Decode(tt.char, fromHex(tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			if d.UnknownFlags != tt.flags {
				t.Errorf("UnknownFlags = %#02x, want %#02x", d.UnknownFlags, tt.flags)
			}
		})
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	_, err := Decode(BloodPressureMeasurement, fromHex("1E 78 00 50 00 5D 00"))
	want := "Blood Pressure Measurement (0x2A35): time stamp at byte 7: value ends early: need 7 bytes, 0 left"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

func TestDateTime(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want string // "" = no time stamp
	}{
		{"full", stamp, "2026-11-26T10:30:05"},
		{"year 0 is no time stamp", "00 00 0B 1A 0A 1E 05", ""},
		{"year 0 ignores the rest", "00 00 FF FF FF FF FF", ""},
		{"month unknown", "EA 07 00 00 00 00 00", "2026"},
		{"day unknown", "EA 07 0B 00 00 00 00", "2026-11"},
		{"leap day", "E8 07 02 1D 17 3B 3B", "2024-02-29T23:59:59"},
		{"first year", "2E 06 01 01 00 00 00", "1582-01-01T00:00:00"},
		{"last year", "0F 27 0C 1F 00 00 00", "9999-12-31T00:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reader{char: TemperatureMeasurement, buf: fromHex(tt.hex)}
			dt, err := r.dateTime("time stamp")
			if err != nil {
				t.Fatal(err)
			}
			if dt.String() != tt.want || dt.IsZero() != (tt.want == "") {
				t.Errorf("got %q (zero %v), want %q", dt, dt.IsZero(), tt.want)
			}
		})
	}
	bad := []struct{ hex, field string }{
		{"2D 06 01 01 00 00 00", "time stamp year"}, // 1581
		{"10 27 01 01 00 00 00", "time stamp year"}, // 10000
		{"EA 07 0D 01 00 00 00", "time stamp month"},
		{"EA 07 0B 20 00 00 00", "time stamp day"},
		{"EA 07 02 1D 00 00 00", "time stamp day"}, // 2026-02-29
		{"EA 07 04 1F 00 00 00", "time stamp day"}, // 2026-04-31
		{"EA 07 0B 1A 18 00 00", "time stamp hours"},
		{"EA 07 0B 1A 00 3C 00", "time stamp minutes"},
		{"EA 07 0B 1A 00 00 3C", "time stamp seconds"},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.hex, func(t *testing.T) {
			r := reader{char: TemperatureMeasurement, buf: fromHex(tt.hex)}
			_, err := r.dateTime("time stamp")
			var de *DecodeError
			if !errors.Is(err, ErrOutOfRange) || !errors.As(err, &de) || de.Field != tt.field {
				t.Errorf("got %v, want ErrOutOfRange in %q", err, tt.field)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, s := range fullSamples() {
		raw := fromHex(s.hex)
		b.Run(strings.ReplaceAll(Characteristic(s.char).Name(), " ", ""), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(s.char, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
