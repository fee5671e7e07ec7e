package gatt

import "encoding/json"

// Quantity is a value with its UCUM unit. When Value is a special value,
// its JSON value is null and Absent holds the FHIR dataAbsentReason code.
type Quantity struct {
	Value  Decimal `json:"value"`
	Unit   string  `json:"unit"`             // UCUM
	Absent string  `json:"absent,omitempty"` // Value.Special.AbsentReason()
}

// QuantityOf is v in unit, with the dataAbsentReason of a special value.
func QuantityOf(v Decimal, unit string) Quantity {
	return Quantity{Value: v, Unit: unit, Absent: v.Special.AbsentReason()}
}

// Measurement is one quantity a device measured: one FHIR Observation (or,
// for blood pressure, one component of the panel).
type Measurement struct {
	Code string `json:"code"` // LOINC
	MDC  MDC    `json:"mdc"`  // IEEE 11073-10101
	Quantity
	// Source is set on heart rate and pulse (8867-4) only: which kind of
	// device counted it.
	Source DeviceType `json:"source,omitempty"`
}

func measurement(code string, mdc MDC, v Decimal, unit string) Measurement {
	return Measurement{Code: code, MDC: mdc, Quantity: QuantityOf(v, unit)}
}

// Optional is a field that a characteristic's flags may leave out. Its JSON
// is the value itself; with the omitzero option an absent field is left out.
type Optional[T any] struct {
	V     T
	Valid bool
}

// Some is v, present.
func Some[T any](v T) Optional[T] { return Optional[T]{V: v, Valid: true} }

// IsZero reports whether the field is absent (for encoding/json's omitzero).
func (o Optional[T]) IsZero() bool { return !o.Valid }

// MarshalJSON writes V, or null when absent.
func (o Optional[T]) MarshalJSON() ([]byte, error) {
	if !o.Valid {
		return []byte("null"), nil
	}
	return json.Marshal(o.V)
}
