package gatt

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"
)

// fuzzDecode feeds arbitrary bytes to Decode for one characteristic. Decode
// must not panic; an error must be a *DecodeError for that characteristic;
// a success must be self-consistent and marshal to valid JSON whose values
// are numbers with the device's decimals, or null with an absent reason.
func fuzzDecode(f *testing.F, char uint16, seeds ...string) {
	for _, s := range seeds {
		f.Add(fromHex(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := Decode(char, raw)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Characteristic != char || de.Field == "" || de.Offset < 0 || de.Offset > len(raw) {
				t.Fatalf("Decode(% X): error %v is not a DecodeError for %s within the value", raw, err, Characteristic(char))
			}
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTrailing) && !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("Decode(% X): error %v wraps no sentinel", raw, err)
			}
			return
		}
		checkDecoded(t, char, raw, d)
	})
}

func checkDecoded(t *testing.T, char uint16, raw []byte, d Decoded) {
	t.Helper()
	if uint16(d.Characteristic) != char || d.Name == "" || d.DecoderVersion != DecoderVersion || d.Measurements == nil {
		t.Fatalf("Decode(% X): header %s %q %d %v", raw, d.Characteristic, d.Name, d.DecoderVersion, d.Measurements)
	}
	b, err := json.Marshal(d)
	if err != nil || !json.Valid(b) {
		t.Fatalf("Decode(% X): JSON %s: %v", raw, b, err)
	}
	var out struct {
		Measurements []struct {
			Code   string           `json:"code"`
			Value  *json.RawMessage `json:"value"`
			Unit   string           `json:"unit"`
			Absent string           `json:"absent"`
		} `json:"measurements"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Measurements) != len(d.Measurements) {
		t.Fatalf("Decode(% X): JSON %s: %v", raw, b, err)
	}
	for i, m := range d.Measurements {
		o := out.Measurements[i]
		if m.Code == "" || m.MDC == 0 || m.Unit == "" || o.Code != m.Code || o.Unit != m.Unit {
			t.Fatalf("Decode(% X): measurement %d %+v lacks code or unit", raw, i, m)
		}
		if m.Absent != m.Value.Special.AbsentReason() || o.Absent != m.Absent {
			t.Fatalf("Decode(% X): measurement %d absent %q for %v", raw, i, m.Absent, m.Value.Special)
		}
		if m.Value.IsSpecial() {
			if o.Value != nil {
				t.Fatalf("Decode(% X): special value %v marshalled as %s", raw, m.Value.Special, *o.Value)
			}
			continue
		}
		if o.Value == nil || string(*o.Value) != m.Value.String() {
			t.Fatalf("Decode(% X): value %v marshalled as %v", raw, m.Value, o.Value)
		}
		if _, err := strconv.ParseFloat(m.Value.String(), 64); err != nil {
			t.Fatalf("Decode(% X): value %q: %v", raw, m.Value, err)
		}
	}
	if d.UnknownFlags == 0 && char != HeartRateMeasurement && char != RecordAccessControlPoint {
		// Every byte was a field: one byte fewer must not decode.
		if _, err := Decode(char, raw[:len(raw)-1]); err == nil {
			t.Fatalf("Decode(% X) succeeded, and so did its prefix", raw)
		}
	}
}

func FuzzDecodeTemperature(f *testing.F) {
	fuzzDecode(f, TemperatureMeasurement,
		"00 B0 0E 00 FE", "07 E3 03 00 FF "+stamp+" 06", "00 FF FF 7F 00", "00 02 00 80 00",
		"02 78 01 00 FF 00 00 0B 1A 0A 1E 05", "80 B0 0E 00 FE AA BB")
}

func FuzzDecodeBloodPressure(f *testing.F) {
	fuzzDecode(f, BloodPressureMeasurement,
		"00 78 00 50 00 5D 00", "01 A0 F0 6B F0 7D F0", "1E 78 00 50 00 5D 00 "+stamp+" 48 00 01 24 00",
		"1E 78 00 50 00 5D 00", "00 78 00 50 00 FF 07", "10 78 00 50 00 5D 00 18 80")
}

func FuzzDecodePLXSpotCheck(f *testing.F) {
	fuzzDecode(f, PLXSpotCheckMeasurement,
		"00 61 00 48 00", "1F 61 00 48 00 "+stamp+" 80 00 20 00 00 19 F0", "00 00 08 FE 07", "11 61 00 48 00 00 00 01 01 00 00 00")
}

func FuzzDecodePLXContinuous(f *testing.F) {
	fuzzDecode(f, PLXContinuousMeasurement,
		"00 61 00 48 00", "1F 61 00 48 00 62 00 49 00 60 00 47 00 20 00 00 80 00 19 F0", "01 61 00 48 00 FF 07 FF 07")
}

func FuzzDecodeWeight(f *testing.F) {
	fuzzDecode(f, WeightMeasurement,
		"00 B0 36", "01 48 3C", "00 FF FF", "0E B0 36 "+stamp+" 02 E5 00 D6 06", "09 48 3C E5 00 B1 02")
}

func FuzzDecodeGlucose(f *testing.F) {
	fuzzDecode(f, GlucoseMeasurement,
		"02 "+gluSeqTime+" 64 B0 11", "06 "+gluSeqTime+" 37 C0 12", "1F "+gluSeqTime+" C4 FF 37 C0 12 00 10",
		"00 2A 00 00 00 00 00 00 00 00", "02 "+gluSeqTime+" FF 07 11")
}

func FuzzDecodeHeartRate(f *testing.F) {
	fuzzDecode(f, HeartRateMeasurement,
		"00 48", "01 2C 01", "06 48", "1F 48 00 E8 03 00 04 33 03", "10 48", "10 48 00 04 33")
}

func FuzzDecodeRACP(f *testing.F) {
	fuzzDecode(f, RecordAccessControlPoint, "06 00 01 01", "05 00 0A 00", "01 01", "06 00 01")
}

// FLOAT values decode, print and encode back to themselves.
func FuzzFloat(f *testing.F) {
	for _, v := range []uint32{0xFE000EB0, 0x007FFFFF, 0x00800000, 0x80000001, 0x7F000001, 0xFFFFFFD3} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, raw uint32) {
		d := DecodeFloat(raw)
		enc, err := EncodeFloat(d)
		if err != nil || enc != raw {
			t.Fatalf("EncodeFloat(DecodeFloat(%#08x) = %+v) = %#08x, %v", raw, d, enc, err)
		}
		b, err := d.MarshalJSON()
		if err != nil || !json.Valid(b) {
			t.Fatalf("%#08x: JSON %s, %v", raw, b, err)
		}
	})
}
