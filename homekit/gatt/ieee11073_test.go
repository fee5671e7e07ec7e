package gatt

import (
	"errors"
	"math"
	"strconv"
	"testing"
)

func TestDecodeSFloat(t *testing.T) {
	tests := []struct {
		name   string
		raw    uint16
		want   Decimal
		text   string
		json   string
		absent string
	}{
		{"integer", 0x0078, Decimal{Mantissa: 120}, "120", "120", ""},
		{"2 without decimals", 0x0002, Decimal{Mantissa: 2}, "2", "2", ""},
		{"2.0 keeps its decimal", 0xF014, Decimal{Mantissa: 20, Exponent: -1}, "2.0", "2.0", ""},
		{"5.50 keeps its zero", 0xE226, Decimal{Mantissa: 550, Exponent: -2}, "5.50", "5.50", ""},
		{"negative exponent -8", 0x8001, Decimal{Mantissa: 1, Exponent: -8}, "0.00000001", "0.00000001", ""},
		{"negative mantissa", 0xFFD3, Decimal{Mantissa: -45, Exponent: -1}, "-4.5", "-4.5", ""},
		{"negative mantissa below one", 0xEFFB, Decimal{Mantissa: -5, Exponent: -2}, "-0.05", "-0.05", ""},
		{"most negative mantissa with exponent", 0x1800, Decimal{Mantissa: -2048, Exponent: 1}, "-20480", "-20480", ""},
		{"positive exponent", 0x2005, Decimal{Mantissa: 5, Exponent: 2}, "500", "500", ""},
		{"zero", 0x0000, Decimal{}, "0", "0", ""},
		{"zero with decimals", 0xE000, Decimal{Exponent: -2}, "0.00", "0.00", ""},
		{"zero with positive exponent", 0x3000, Decimal{Exponent: 3}, "0", "0", ""},
		{"largest ordinary mantissa", 0x07FD, Decimal{Mantissa: 2045}, "2045", "2045", ""},
		{"NaN", 0x07FF, Decimal{Special: NaN}, "NaN", "null", "not-a-number"},
		{"NRes", 0x0800, Decimal{Special: NRes}, "NRes", "null", "error"},
		{"+INF", 0x07FE, Decimal{Special: PositiveInfinity}, "+INF", "null", "positive-infinity"},
		{"-INF", 0x0802, Decimal{Special: NegativeInfinity}, "-INF", "null", "negative-infinity"},
		{"reserved", 0x0801, Decimal{Special: Reserved}, "reserved", "null", "error"},
		{"NaN mantissa with exponent is a number", 0xF7FF, Decimal{Mantissa: 2047, Exponent: -1}, "204.7", "204.7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecodeSFloat(tt.raw)
			if got != tt.want {
				t.Fatalf("DecodeSFloat(%#04x) = %+v, want %+v", tt.raw, got, tt.want)
			}
			if tt.text != "" && got.String() != tt.text {
				t.Errorf("String() = %q, want %q", got.String(), tt.text)
			}
			if tt.json != "" {
				b, err := got.MarshalJSON()
				if err != nil || string(b) != tt.json {
					t.Errorf("MarshalJSON() = %s, %v, want %s", b, err, tt.json)
				}
			}
			if r := got.Special.AbsentReason(); r != tt.absent {
				t.Errorf("AbsentReason() = %q, want %q", r, tt.absent)
			}
		})
	}
}

func TestDecodeFloat(t *testing.T) {
	tests := []struct {
		name string
		raw  uint32
		want Decimal
		text string
	}{
		{"37.60", 0xFE000EB0, Decimal{Mantissa: 3760, Exponent: -2}, "37.60"},
		{"37.6", 0xFF000178, Decimal{Mantissa: 376, Exponent: -1}, "37.6"},
		{"2.0", 0xFF000014, Decimal{Mantissa: 20, Exponent: -1}, "2.0"},
		{"2", 0x00000002, Decimal{Mantissa: 2}, "2"},
		{"negative mantissa", 0xFFFFFFD3, Decimal{Mantissa: -45, Exponent: -1}, "-4.5"},
		{"negative mantissa and exponent", 0xFDFFFFFF, Decimal{Mantissa: -1, Exponent: -3}, "-0.001"},
		{"most negative exponent", 0x80000001, Decimal{Mantissa: 1, Exponent: -128}, "0." + zeros(127) + "1"},
		{"largest exponent", 0x7F000001, Decimal{Mantissa: 1, Exponent: 127}, "1" + zeros(127)},
		{"largest ordinary mantissa", 0x007FFFFD, Decimal{Mantissa: 0x7FFFFD}, "8388605"},
		{"most negative mantissa with exponent", 0x01800000, Decimal{Mantissa: -0x800000, Exponent: 1}, "-83886080"},
		{"NaN", 0x007FFFFF, Decimal{Special: NaN}, "NaN"},
		{"NRes", 0x00800000, Decimal{Special: NRes}, "NRes"},
		{"+INF", 0x007FFFFE, Decimal{Special: PositiveInfinity}, "+INF"},
		{"-INF", 0x00800002, Decimal{Special: NegativeInfinity}, "-INF"},
		{"reserved", 0x00800001, Decimal{Special: Reserved}, "reserved"},
		{"NaN mantissa with exponent is a number", 0xFF7FFFFF, Decimal{Mantissa: 0x7FFFFF, Exponent: -1}, "838860.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecodeFloat(tt.raw)
			if got != tt.want {
				t.Fatalf("DecodeFloat(%#08x) = %+v, want %+v", tt.raw, got, tt.want)
			}
			if got.String() != tt.text {
				t.Errorf("String() = %q, want %q", got.String(), tt.text)
			}
			enc, err := EncodeFloat(got)
			if err != nil || enc != tt.raw {
				t.Errorf("EncodeFloat(%+v) = %#08x, %v, want %#08x", got, enc, err, tt.raw)
			}
		})
	}
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

// Every one of the 65536 SFLOATs decodes, prints as a JSON number or null,
// and encodes back to itself.
func TestSFloatRoundTripAll(t *testing.T) {
	for raw := range 1 << 16 {
		d := DecodeSFloat(uint16(raw))
		enc, err := EncodeSFloat(d)
		if err != nil || enc != uint16(raw) {
			t.Fatalf("EncodeSFloat(DecodeSFloat(%#04x) = %+v) = %#04x, %v", raw, d, enc, err)
		}
		b, _ := d.MarshalJSON()
		if d.IsSpecial() {
			if string(b) != "null" {
				t.Fatalf("%#04x: JSON %s, want null", raw, b)
			}
			continue
		}
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			t.Fatalf("%#04x: JSON %s: %v", raw, b, err)
		}
		if want := d.Float64(); f != want {
			t.Fatalf("%#04x: JSON %s reads as %v, Float64() = %v", raw, b, f, want)
		}
		if got := len(b) - 1 - lastIndexByte(b, '.'); d.Exponent < 0 && got != d.Decimals() {
			t.Fatalf("%#04x: %s has %d decimals, want %d", raw, b, got, d.Decimals())
		}
	}
}

func lastIndexByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func TestEncodeOutOfRange(t *testing.T) {
	for _, d := range []Decimal{
		{Mantissa: 2048},
		{Mantissa: -2049},
		{Mantissa: 2047},  // would read as NaN
		{Mantissa: 2046},  // +INF
		{Mantissa: -2046}, // -INF
		{Mantissa: 1, Exponent: 8},
		{Mantissa: 1, Exponent: -9},
		{Special: Unsuccessful},
	} {
		if raw, err := EncodeSFloat(d); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("EncodeSFloat(%+v) = %#04x, %v, want ErrOutOfRange", d, raw, err)
		}
	}
	for _, d := range []Decimal{
		{Mantissa: 0x800000},
		{Mantissa: 0x7FFFFF},
		{Mantissa: -0x7FFFFE},
		{Special: Unsuccessful},
	} {
		if raw, err := EncodeFloat(d); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("EncodeFloat(%+v) = %#08x, %v, want ErrOutOfRange", d, raw, err)
		}
	}
}

func TestFloat64(t *testing.T) {
	tests := []struct {
		d    Decimal
		want float64
	}{
		{Decimal{Mantissa: 3760, Exponent: -2}, 37.6},
		{Decimal{Mantissa: -5, Exponent: -2}, -0.05},
		{Decimal{Mantissa: 5, Exponent: 2}, 500},
		{Decimal{Mantissa: 1, Exponent: -30}, 1e-30},
		{Decimal{Special: PositiveInfinity}, math.Inf(1)},
		{Decimal{Special: NegativeInfinity}, math.Inf(-1)},
	}
	for _, tt := range tests {
		if got := tt.d.Float64(); got != tt.want {
			t.Errorf("%v.Float64() = %v, want %v", tt.d, got, tt.want)
		}
	}
	for _, s := range []Special{NaN, NRes, Reserved, Unsuccessful} {
		if got := (Decimal{Special: s}).Float64(); !math.IsNaN(got) {
			t.Errorf("%v.Float64() = %v, want NaN", s, got)
		}
	}
}

func TestShiftIsExact(t *testing.T) {
	// 0.0055 mol/L is 5.5 mmol/L; 0.00100 kg/L is 100 mg/dL with its zeros.
	if got := (Decimal{Mantissa: 55, Exponent: -4}).shift(3).String(); got != "5.5" {
		t.Errorf("shift(3) = %s, want 5.5", got)
	}
	if got := (Decimal{Mantissa: 100, Exponent: -5}).shift(5).String(); got != "100" {
		t.Errorf("shift(5) = %s, want 100", got)
	}
	if got := (Decimal{Special: NaN}).shift(5); got.Special != NaN || got.Exponent != 0 {
		t.Errorf("shift of NaN = %+v", got)
	}
}
