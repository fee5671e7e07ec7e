package gatt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// IEEE 11073-20601 numbers, as the Bluetooth health profiles carry them
// (little-endian on the wire):
//
//	SFLOAT-Type, 16 bits: 4-bit exponent above a 12-bit mantissa
//	FLOAT-Type,  32 bits: 8-bit exponent above a 24-bit mantissa
//
// Both parts are two's complement (the exponent is not biased) and the value
// is mantissa × 10^exponent. With exponent 0, five mantissas are special:
//
//	            SFLOAT   FLOAT
//	NaN         0x07FF   0x007FFFFF   +(2^11-1), +(2^23-1)
//	NRes        0x0800   0x00800000   -(2^11),   -(2^23)
//	+INF        0x07FE   0x007FFFFE   +(2^11-2), +(2^23-2)
//	-INF        0x0802   0x00800002   -(2^11-2), -(2^23-2)
//	reserved    0x0801   0x00800001   -(2^11-1), -(2^23-1)

// Special says whether a Decimal is a number or which special value it is.
type Special uint8

// Special values. Unsuccessful is not IEEE 11073: it is the Weight
// Measurement's 0xFFFF, "measurement unsuccessful".
const (
	Finite           Special = iota // an ordinary number
	NaN                             // not a number
	NRes                            // not at this resolution
	PositiveInfinity                // +INF
	NegativeInfinity                // -INF
	Reserved                        // reserved for future use
	Unsuccessful                    // Weight Scale: measurement unsuccessful
)

func (s Special) String() string {
	switch s {
	case Finite:
		return "finite"
	case NaN:
		return "NaN"
	case NRes:
		return "NRes"
	case PositiveInfinity:
		return "+INF"
	case NegativeInfinity:
		return "-INF"
	case Reserved:
		return "reserved"
	case Unsuccessful:
		return "unsuccessful"
	}
	return "Special(" + strconv.Itoa(int(s)) + ")"
}

// AbsentReason is the FHIR R4 data-absent-reason code
// (http://terminology.hl7.org/CodeSystem/data-absent-reason) for a special
// value, as the HL7 PHD IG maps them, or "" for a number.
func (s Special) AbsentReason() string {
	switch s {
	case Finite:
		return ""
	case NaN:
		return "not-a-number"
	case PositiveInfinity:
		return "positive-infinity"
	case NegativeInfinity:
		return "negative-infinity"
	}
	return "error" // NRes, reserved, unsuccessful
}

// Decimal is a number as a device sent it: Mantissa × 10^Exponent, or a
// special value. Mantissa and exponent stay apart so that the device's
// precision survives: 20 × 10^-1 prints as 2.0 and 3760 × 10^-2 as 37.60.
// For a special value Mantissa and Exponent are 0.
type Decimal struct {
	Mantissa int32
	Exponent int8
	Special  Special
}

// IsSpecial reports whether d is a special value rather than a number.
func (d Decimal) IsSpecial() bool { return d.Special != Finite }

// Decimals is the number of digits after the decimal point that the device
// sent: 2 for 37.60, 0 for 120 and for 5 × 10^2.
func (d Decimal) Decimals() int {
	if d.Exponent >= 0 {
		return 0
	}
	return -int(d.Exponent)
}

// String writes the number with the device's decimals ("37.60", "-0.05",
// "500"), or the name of a special value ("NaN", "NRes", "+INF", "-INF",
// "reserved", "unsuccessful").
func (d Decimal) String() string {
	if d.IsSpecial() {
		return d.Special.String()
	}
	var buf [32]byte
	return string(d.appendNumber(buf[:0]))
}

// MarshalJSON writes a JSON number with the device's decimals, or null for a
// special value (its reason goes beside it, see Measurement.Absent).
func (d Decimal) MarshalJSON() ([]byte, error) {
	if d.IsSpecial() {
		return []byte("null"), nil
	}
	return d.appendNumber(make([]byte, 0, 16)), nil
}

// appendNumber appends the decimal text of a finite d. The text is a valid
// JSON number: no exponent, no leading "+", "0" before a leading point.
func (d Decimal) appendNumber(b []byte) []byte {
	m := int64(d.Mantissa)
	if m < 0 {
		b = append(b, '-')
		m = -m
	}
	var digits [20]byte
	s := strconv.AppendInt(digits[:0], m, 10)
	if d.Exponent >= 0 {
		b = append(b, s...)
		if m != 0 {
			for range int(d.Exponent) {
				b = append(b, '0')
			}
		}
		return b
	}
	frac := -int(d.Exponent)
	if len(s) <= frac {
		b = append(b, '0', '.')
		for range frac - len(s) {
			b = append(b, '0')
		}
		return append(b, s...)
	}
	b = append(b, s[:len(s)-frac]...)
	b = append(b, '.')
	return append(b, s[len(s)-frac:]...)
}

// Float64 is d as the nearest float64, for arithmetic and plotting; NaN for
// NaN, NRes, reserved and unsuccessful, ±Inf for the infinities.
func (d Decimal) Float64() float64 {
	switch d.Special {
	case Finite:
	case PositiveInfinity:
		return math.Inf(1)
	case NegativeInfinity:
		return math.Inf(-1)
	default:
		return math.NaN()
	}
	m := float64(d.Mantissa) // exact: |Mantissa| < 2^31
	switch e := int(d.Exponent); {
	case e >= 0 && e <= 22:
		return m * math.Pow10(e)
	case e < 0 && e >= -22:
		return m / math.Pow10(-e) // both exact, so one rounding
	}
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// shift multiplies d by 10^n exactly, by moving the exponent: the unit
// conversions of the Glucose Measurement (kg/L to mg/dL is n = 5).
// Special values stay as they are. The caller keeps the exponent in range.
func (d Decimal) shift(n int8) Decimal {
	if d.IsSpecial() {
		return d
	}
	d.Exponent += n
	return d
}

// DecodeSFloat decodes an IEEE 11073-20601 SFLOAT-Type.
func DecodeSFloat(raw uint16) Decimal {
	m := int32(raw & 0x0FFF)
	if m >= 0x0800 {
		m -= 0x1000
	}
	e := int8(raw>>12) << 4 >> 4 // sign-extend the 4-bit exponent
	if e == 0 {
		switch m {
		case 0x07FF:
			return Decimal{Special: NaN}
		case -0x0800:
			return Decimal{Special: NRes}
		case 0x07FE:
			return Decimal{Special: PositiveInfinity}
		case -0x07FE:
			return Decimal{Special: NegativeInfinity}
		case -0x07FF:
			return Decimal{Special: Reserved}
		}
	}
	return Decimal{Mantissa: m, Exponent: e}
}

// DecodeFloat decodes an IEEE 11073-20601 FLOAT-Type.
func DecodeFloat(raw uint32) Decimal {
	m := int32(raw<<8) >> 8 // sign-extend the 24-bit mantissa
	e := int8(raw >> 24)
	if e == 0 {
		switch m {
		case 0x007FFFFF:
			return Decimal{Special: NaN}
		case -0x00800000:
			return Decimal{Special: NRes}
		case 0x007FFFFE:
			return Decimal{Special: PositiveInfinity}
		case -0x007FFFFE:
			return Decimal{Special: NegativeInfinity}
		case -0x007FFFFF:
			return Decimal{Special: Reserved}
		}
	}
	return Decimal{Mantissa: m, Exponent: e}
}

// EncodeSFloat is the inverse of DecodeSFloat, for device simulators and
// tests. It fails for Unsuccessful and for numbers an SFLOAT cannot hold:
// exponent outside -8..7, mantissa outside -2048..2047, or a mantissa that
// with exponent 0 would read as a special value.
func EncodeSFloat(d Decimal) (uint16, error) {
	switch d.Special {
	case Finite:
	case NaN:
		return 0x07FF, nil
	case NRes:
		return 0x0800, nil
	case PositiveInfinity:
		return 0x07FE, nil
	case NegativeInfinity:
		return 0x0802, nil
	case Reserved:
		return 0x0801, nil
	default:
		return 0, fmt.Errorf("SFLOAT %v: %w", d, ErrOutOfRange)
	}
	m, e := d.Mantissa, d.Exponent
	if e < -8 || e > 7 || m < -0x0800 || m > 0x07FF || (e == 0 && (m >= 0x07FE || m <= -0x07FE)) {
		return 0, fmt.Errorf("SFLOAT %d×10^%d: %w", m, e, ErrOutOfRange)
	}
	return uint16(e)<<12 | uint16(m)&0x0FFF, nil
}

// EncodeFloat is the inverse of DecodeFloat; see EncodeSFloat.
func EncodeFloat(d Decimal) (uint32, error) {
	switch d.Special {
	case Finite:
	case NaN:
		return 0x007FFFFF, nil
	case NRes:
		return 0x00800000, nil
	case PositiveInfinity:
		return 0x007FFFFE, nil
	case NegativeInfinity:
		return 0x00800002, nil
	case Reserved:
		return 0x00800001, nil
	default:
		return 0, fmt.Errorf("FLOAT %v: %w", d, ErrOutOfRange)
	}
	m, e := d.Mantissa, d.Exponent
	if m < -0x00800000 || m > 0x007FFFFF || (e == 0 && (m >= 0x007FFFFE || m <= -0x007FFFFE)) {
		return 0, fmt.Errorf("FLOAT %d×10^%d: %w", m, e, ErrOutOfRange)
	}
	return uint32(uint8(e))<<24 | uint32(m)&0x00FFFFFF, nil
}

// ParseDecimal reads a decimal number as a person or a database writes it,
// "37.60", "-0.5", "120", keeping its decimals: "37.60" is 3760 × 10^-2.
// It takes no exponent, sign "+" or special names.
func ParseDecimal(s string) (Decimal, error) {
	t := s
	neg := strings.HasPrefix(t, "-")
	if neg {
		t = t[1:]
	}
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" || (strings.Contains(t, ".") && frac == "") || len(frac) > 8 {
		return Decimal{}, fmt.Errorf("number %q: want digits with an optional point and up to 8 decimals", s)
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return Decimal{}, fmt.Errorf("number %q: want digits with an optional point", s)
		}
	}
	m, err := strconv.ParseInt(whole+frac, 10, 32)
	if err != nil {
		return Decimal{}, fmt.Errorf("number %q: too many digits", s)
	}
	if neg {
		m = -m
	}
	return Decimal{Mantissa: int32(m), Exponent: int8(-len(frac))}, nil
}
