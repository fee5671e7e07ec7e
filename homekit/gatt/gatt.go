package gatt

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// DecoderVersion changes whenever Decode would give a different result for
// the same bytes, so that stored readings can say which decoder read them.
const DecoderVersion = 1

// Characteristic UUIDs, 16-bit (Bluetooth SIG Assigned Numbers). Untyped, so
// that they serve both as uint16 and as Characteristic.
const (
	GlucoseMeasurement       = 0x2A18 // Glucose service 0x1808, notify
	TemperatureMeasurement   = 0x2A1C // Health Thermometer 0x1809, indicate
	BloodPressureMeasurement = 0x2A35 // Blood Pressure 0x1810, indicate
	HeartRateMeasurement     = 0x2A37 // Heart Rate 0x180D, notify
	RecordAccessControlPoint = 0x2A52 // Glucose 0x1808 (and others), write + indicate
	PLXSpotCheckMeasurement  = 0x2A5E // Pulse Oximeter 0x1822, indicate
	PLXContinuousMeasurement = 0x2A5F // Pulse Oximeter 0x1822, notify
	WeightMeasurement        = 0x2A9D // Weight Scale 0x181D, indicate
)

// Characteristics lists the characteristics Decode knows, in UUID order.
func Characteristics() []uint16 {
	return []uint16{
		GlucoseMeasurement, TemperatureMeasurement, BloodPressureMeasurement, HeartRateMeasurement,
		RecordAccessControlPoint, PLXSpotCheckMeasurement, PLXContinuousMeasurement, WeightMeasurement,
	}
}

// Characteristic is a 16-bit characteristic UUID.
type Characteristic uint16

// String is the Assigned Numbers form, "0x2A35".
func (c Characteristic) String() string {
	return fmt.Sprintf("0x%04X", uint16(c))
}

// MarshalText writes String.
func (c Characteristic) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Name is the characteristic's name in the Assigned Numbers, or
// "unknown characteristic".
func (c Characteristic) Name() string {
	switch c {
	case GlucoseMeasurement:
		return "Glucose Measurement"
	case TemperatureMeasurement:
		return "Temperature Measurement"
	case BloodPressureMeasurement:
		return "Blood Pressure Measurement"
	case HeartRateMeasurement:
		return "Heart Rate Measurement"
	case RecordAccessControlPoint:
		return "Record Access Control Point"
	case PLXSpotCheckMeasurement:
		return "PLX Spot-check Measurement"
	case PLXContinuousMeasurement:
		return "PLX Continuous Measurement"
	case WeightMeasurement:
		return "Weight Measurement"
	}
	return "unknown characteristic"
}

// UUID is the 128-bit form on the Bluetooth base UUID, as Web Bluetooth
// reports it: "00002a35-0000-1000-8000-00805f9b34fb".
func (c Characteristic) UUID() string {
	return fmt.Sprintf("0000%04x%s", uint16(c), baseUUIDTail)
}

// baseUUIDTail is the Bluetooth base UUID 00000000-0000-1000-8000-00805F9B34FB
// after its first 32 bits (Core Specification, Vol 3, Part B, §2.5.1).
const baseUUIDTail = "-0000-1000-8000-00805f9b34fb"

// ParseCharacteristic reads a 16-bit characteristic UUID written as "2A35",
// "0x2a35" or "00002a35-0000-1000-8000-00805f9b34fb" (any case). It does not
// check that Decode knows the characteristic.
func ParseCharacteristic(s string) (uint16, error) {
	h := strings.TrimSpace(s)
	switch {
	case len(h) == 36:
		if h[:4] != "0000" || !strings.EqualFold(h[8:], baseUUIDTail) {
			return 0, fmt.Errorf("characteristic %q: %w", s, ErrBadUUID)
		}
		h = h[4:8]
	case strings.HasPrefix(h, "0x") || strings.HasPrefix(h, "0X"):
		h = h[2:]
	}
	if len(h) != 4 {
		return 0, fmt.Errorf("characteristic %q: %w", s, ErrBadUUID)
	}
	v, err := strconv.ParseUint(h, 16, 16)
	if err != nil {
		return 0, fmt.Errorf("characteristic %q: %w", s, ErrBadUUID)
	}
	return uint16(v), nil
}

// Decoded is one characteristic value, decoded. Measurements holds one entry
// per measured quantity; the other fields are the value's context, present
// only when the characteristic and its flags carry them.
type Decoded struct {
	Characteristic Characteristic `json:"characteristic"`
	Name           string         `json:"name"`
	DecoderVersion int            `json:"decoderVersion"`
	Measurements   []Measurement  `json:"measurements"`

	// Time is the device's time stamp (for glucose the base time), absent
	// when not sent or when its year is 0 (unknown).
	Time DateTime `json:"time,omitzero"`
	// TimeOffsetMinutes is added to the base time of a glucose record to give
	// the user-facing time.
	TimeOffsetMinutes Optional[int16] `json:"timeOffsetMinutes,omitzero"`
	// SequenceNumber is the glucose meter's record number (see racp.go).
	SequenceNumber Optional[uint16] `json:"sequenceNumber,omitzero"`
	// UserID is the device's user index; 255 means unknown user.
	UserID Optional[uint8] `json:"userId,omitzero"`

	// Health Thermometer.
	TemperatureType Optional[TemperatureType] `json:"temperatureType,omitzero"`

	// Blood Pressure.
	BloodPressureStatus Optional[BloodPressureStatus] `json:"bloodPressureStatus,omitzero"`

	// Pulse Oximeter. Fast and Slow are the PLX Continuous averages beside
	// the normal one in Measurements.
	Fast                  Optional[SpO2PR]               `json:"fast,omitzero"`
	Slow                  Optional[SpO2PR]               `json:"slow,omitzero"`
	MeasurementStatus     Optional[PLXMeasurementStatus] `json:"measurementStatus,omitzero"`
	DeviceAndSensorStatus Optional[PLXDeviceStatus]      `json:"deviceAndSensorStatus,omitzero"`
	PulseAmplitudeIndex   Optional[Quantity]             `json:"pulseAmplitudeIndex,omitzero"`
	DeviceClockNotSet     bool                           `json:"deviceClockNotSet,omitempty"`

	// Glucose.
	GlucoseType    Optional[GlucoseType]         `json:"glucoseType,omitzero"`
	SampleLocation Optional[SampleLocation]      `json:"sampleLocation,omitzero"`
	SensorStatus   Optional[GlucoseSensorStatus] `json:"sensorStatus,omitzero"`
	// ContextFollows says a Glucose Measurement Context (0x2A34) with the
	// same sequence number follows.
	ContextFollows bool `json:"contextFollows,omitempty"`

	// Heart Rate.
	SensorContact  Optional[SensorContact] `json:"sensorContact,omitzero"`
	EnergyExpended Optional[Quantity]      `json:"energyExpended,omitzero"` // kJ since the last reset
	// RRIntervals are beat-to-beat intervals in units of 1/1024 s, oldest first.
	RRIntervals []uint16 `json:"rrIntervals,omitempty"`

	// RACP is set for the Record Access Control Point.
	RACP Optional[RACPResponse] `json:"racp,omitzero"`

	// UnknownFlags are flag bits the specification reserves. A device that
	// sets them may append fields this decoder does not know; their bytes
	// are then ignored instead of refused.
	UnknownFlags uint8 `json:"unknownFlags,omitempty"`
}

// Decode decodes the raw value of a characteristic. It never panics: a value
// that is truncated, has bytes its flags do not announce, or holds a field
// out of its defined range is a *DecodeError naming the characteristic and
// the field. It does not judge plausibility (a systolic of 900 mmHg decodes).
func Decode(char uint16, raw []byte) (Decoded, error) {
	n := MeasurementsIn(char)
	if n < 0 {
		return Decoded{}, fmt.Errorf("%s: %w", Characteristic(char), ErrUnknownCharacteristic)
	}
	d := Decoded{
		Characteristic: Characteristic(char),
		Name:           Characteristic(char).Name(),
		DecoderVersion: DecoderVersion,
		Measurements:   make([]Measurement, 0, n),
	}
	r := reader{char: char, buf: raw}
	var err error
	switch char { // direct calls, so that d and r stay on the stack
	case TemperatureMeasurement:
		err = decodeTemperature(&d, &r)
	case BloodPressureMeasurement:
		err = decodeBloodPressure(&d, &r)
	case PLXSpotCheckMeasurement:
		err = decodePLXSpotCheck(&d, &r)
	case PLXContinuousMeasurement:
		err = decodePLXContinuous(&d, &r)
	case WeightMeasurement:
		err = decodeWeight(&d, &r)
	case GlucoseMeasurement:
		err = decodeGlucose(&d, &r)
	case HeartRateMeasurement:
		err = decodeHeartRate(&d, &r)
	case RecordAccessControlPoint:
		err = decodeRACP(&d, &r)
	}
	if err == nil {
		err = r.done(d.UnknownFlags)
	}
	if err != nil {
		return Decoded{}, err
	}
	return d, nil
}

// MeasurementsIn is the most measurements a value of char holds, or -1 for a
// characteristic Decode does not know.
func MeasurementsIn(char uint16) int {
	switch char {
	case TemperatureMeasurement, GlucoseMeasurement, HeartRateMeasurement:
		return 1
	case PLXSpotCheckMeasurement, PLXContinuousMeasurement:
		return 2
	case WeightMeasurement:
		return 3 // weight, BMI, height
	case BloodPressureMeasurement:
		return 4 // systolic, diastolic, mean, pulse
	case RecordAccessControlPoint:
		return 0
	}
	return -1
}

// reader walks a characteristic value field by field. Its errors name the
// characteristic, the field and the offset.
type reader struct {
	char uint16
	buf  []byte
	off  int
}

func (r *reader) fail(field string, off int, err error) error {
	return &DecodeError{Characteristic: r.char, Field: field, Offset: off, Err: err}
}

func (r *reader) take(field string, n int) ([]byte, error) {
	if left := len(r.buf) - r.off; left < n {
		return nil, r.fail(field, r.off, fmt.Errorf("%w: need %d bytes, %d left", ErrTruncated, n, left))
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b, nil
}

func (r *reader) u8(field string) (uint8, error) {
	b, err := r.take(field, 1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *reader) u16(field string) (uint16, error) {
	b, err := r.take(field, 2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (r *reader) u24(field string) (uint32, error) {
	b, err := r.take(field, 3)
	if err != nil {
		return 0, err
	}
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16, nil
}

func (r *reader) sfloat(field string) (Decimal, error) {
	v, err := r.u16(field)
	return DecodeSFloat(v), err
}

func (r *reader) float(field string) (Decimal, error) {
	b, err := r.take(field, 4)
	if err != nil {
		return Decimal{}, err
	}
	return DecodeFloat(binary.LittleEndian.Uint32(b)), nil
}

// dateTime reads a Date Time; year 0 gives the zero DateTime.
func (r *reader) dateTime(field string) (DateTime, error) {
	off := r.off
	b, err := r.take(field, dateTimeLen)
	if err != nil {
		return DateTime{}, err
	}
	t := DateTime{
		Year:  binary.LittleEndian.Uint16(b),
		Month: b[2], Day: b[3], Hours: b[4], Minutes: b[5], Seconds: b[6],
	}
	if t.Year == 0 {
		return DateTime{}, nil
	}
	if bad := t.check(); bad != "" {
		return DateTime{}, r.fail(field+" "+bad, off, fmt.Errorf("%w: %s", ErrOutOfRange, t.fields()))
	}
	return t, nil
}

func (t DateTime) fields() string {
	return fmt.Sprintf("%d-%d-%d %d:%d:%d", t.Year, t.Month, t.Day, t.Hours, t.Minutes, t.Seconds)
}

// done checks that every byte was read. A value whose flags set reserved
// bits may carry fields this decoder does not know, so it is let through.
func (r *reader) done(unknownFlags uint8) error {
	if r.off < len(r.buf) && unknownFlags == 0 {
		return r.fail("end", r.off, fmt.Errorf("%w: %d", ErrTrailing, len(r.buf)-r.off))
	}
	return nil
}
