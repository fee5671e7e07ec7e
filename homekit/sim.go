package homekit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"vclinic/homekit/gatt"
)

// Sim is a simulated home kit: one patient whose blood pressure, pulse,
// temperature, oxygen saturation and weight drift slowly, read by a cuff, a
// thermometer, a pulse oximeter, a scale and a heart rate strap. Each method
// returns one raw characteristic value, as the device would indicate or
// notify it, laid out as the GATT Specification Supplement has it (see the
// decoders in package gatt for the field tables).
//
// Physiology. Each quantity is a mean-reverting random walk (an
// Ornstein-Uhlenbeck process sampled once per reading) around a baseline
// drawn from the seed, plus a little measurement noise, and is clamped to a
// normal adult range:
//
//	systolic      115-140 mmHg     diastolic  70-90 mmHg
//	pulse          60-85 /min      SpO2       94-99 %
//	temperature  36.85-37.40 °C    weight     baseline 60-95 kg, ±2 kg
//
// so every value is plausible (see plausible.go) and consecutive readings
// look like one person's. Time stamps are t's wall clock in t's location:
// the device's clock, as the Date Time field has it.
//
// A Sim is deterministic: the same seed and the same sequence of calls give
// the same bytes. It is not safe for concurrent use.
type Sim struct {
	rng *rand.Rand

	sys, dia, pulse, spo2, temp, weight walk
}

// walk is one slowly drifting quantity.
type walk struct {
	x, mean  float64 // current value and baseline
	revert   float64 // fraction of the distance to the baseline closed per step
	step     float64 // standard deviation of one step
	noise    float64 // standard deviation of the measurement error
	min, max float64 // the reading is clamped to these
}

// next advances w by one step and returns a reading of it.
func (w *walk) next(r *rand.Rand) float64 {
	w.x += w.revert*(w.mean-w.x) + w.step*r.NormFloat64()
	w.x = min(max(w.x, w.min), w.max)
	return min(max(w.x+w.noise*r.NormFloat64(), w.min), w.max)
}

// NewSim returns a simulated kit whose patient and readings follow from seed.
func NewSim(seed uint64) *Sim {
	r := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	between := func(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
	newWalk := func(mean, revert, step, noise, lo, hi float64) walk {
		return walk{x: mean, mean: mean, revert: revert, step: step, noise: noise, min: lo, max: hi}
	}
	s := &Sim{rng: r}
	s.sys = newWalk(between(120, 134), 0.05, 1.2, 2.5, 115, 140)
	s.dia = newWalk(between(74, 85), 0.05, 0.8, 1.8, 70, 90)
	s.pulse = newWalk(between(64, 78), 0.08, 1.0, 2.0, 60, 85)
	s.spo2 = newWalk(between(96, 98), 0.1, 0.3, 0.6, 94, 99)
	s.temp = newWalk(between(36.95, 37.2), 0.05, 0.03, 0.05, 36.85, 37.40)
	w := between(60, 95)
	s.weight = newWalk(w, 0.02, 0.08, 0.15, w-2, w+2)
	return s
}

// Flag bits of the values the simulator writes (GATT Specification
// Supplement: Blood Pressure Measurement, Temperature Measurement, PLX
// Spot-check Measurement, Weight Measurement flags fields).
const (
	simBPTimeStamp     = 1 << 1
	simBPPulseRate     = 1 << 2
	simTempTimeStamp   = 1 << 1
	simTempType        = 1 << 2
	simSpotTimeStamp   = 1 << 0
	simWeightTimeStamp = 1 << 1
)

// sfloatInt encodes a whole number as an SFLOAT with exponent 0. The walks
// keep it far from the special mantissas and the SFLOAT's range; a value
// outside it is an error, never a wrong value.
func sfloatInt(v float64) (uint16, error) {
	u, err := gatt.EncodeSFloat(gatt.Decimal{Mantissa: int32(math.Round(v))})
	if err != nil {
		return 0, fmt.Errorf("homekit: sim: %v as SFLOAT: %w", v, err)
	}
	return u, nil
}

// appendSFloats appends whole numbers as SFLOATs, little-endian.
func appendSFloats(b []byte, vs ...float64) ([]byte, error) {
	for _, v := range vs {
		u, err := sfloatInt(v)
		if err != nil {
			return nil, err
		}
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b, nil
}

// appendDateTime appends t's wall clock as a Date Time (GATT Specification
// Supplement, Date Time 0x2A08): year uint16, month, day, hours, minutes,
// seconds, one byte each. It is false, and appends nothing, for a year a
// Date Time cannot hold.
func appendDateTime(b []byte, t time.Time) ([]byte, bool) {
	y, mo, d := t.Date()
	if y < 1582 || y > 9999 {
		return b, false
	}
	h, mi, sec := t.Clock()
	b = binary.LittleEndian.AppendUint16(b, uint16(y))
	return append(b, byte(mo), byte(d), byte(h), byte(mi), byte(sec)), true
}

// BloodPressure is a Blood Pressure Measurement (0x2A35): flags (mmHg, time
// stamp, pulse rate), systolic, diastolic and mean arterial pressure as
// SFLOATs with exponent 0, the time stamp, then the pulse rate as an SFLOAT.
// The mean is diastolic + (systolic − diastolic)/3, rounded.
func (s *Sim) BloodPressure(t time.Time) ([]byte, error) {
	sys := math.Round(s.sys.next(s.rng))
	dia := math.Round(s.dia.next(s.rng))
	pulse := s.pulse.next(s.rng)
	mean := math.Round(dia + (sys-dia)/3)
	b := make([]byte, 1, 17)
	b[0] = simBPPulseRate
	b, err := appendSFloats(b, sys, dia, mean)
	if err != nil {
		return nil, err
	}
	var ok bool
	if b, ok = appendDateTime(b, t); ok {
		b[0] |= simBPTimeStamp
	}
	return appendSFloats(b, pulse)
}

// Temperature is a Temperature Measurement (0x2A1C) in Celsius: flags (time
// stamp, temperature type), the temperature as a FLOAT with exponent -2
// (3712 × 10^-2 = 37.12 °C), the time stamp and the type, ear (3).
func (s *Sim) Temperature(t time.Time) ([]byte, error) {
	c := s.temp.next(s.rng) * 100
	u, err := gatt.EncodeFloat(gatt.Decimal{Mantissa: int32(math.Round(c)), Exponent: -2})
	if err != nil || math.Abs(c) > math.MaxInt32 {
		return nil, fmt.Errorf("homekit: sim: temperature %v °C as FLOAT: %w", c/100, errors.Join(err, gatt.ErrOutOfRange))
	}
	b := make([]byte, 1, 13)
	b[0] = simTempType
	b = binary.LittleEndian.AppendUint32(b, u)
	var ok bool
	if b, ok = appendDateTime(b, t); ok {
		b[0] |= simTempTimeStamp
	}
	return append(b, byte(gatt.TempEar)), nil
}

// SpotCheck is a PLX Spot-check Measurement (0x2A5E): flags (time stamp),
// SpO2 in % and pulse rate in /min as SFLOATs with exponent 0, then the
// time stamp.
func (s *Sim) SpotCheck(t time.Time) ([]byte, error) {
	spo2 := s.spo2.next(s.rng)
	pulse := s.pulse.next(s.rng)
	b, err := appendSFloats(make([]byte, 1, 12), spo2, pulse)
	if err != nil {
		return nil, err
	}
	var ok bool
	if b, ok = appendDateTime(b, t); ok {
		b[0] |= simSpotTimeStamp
	}
	return b, nil
}

// Weight is a Weight Measurement (0x2A9D) in SI units: flags (time stamp),
// the weight as a uint16 count of 0.005 kg, then the time stamp. The
// simulated scale reads to 0.05 kg, so the count is a multiple of 10.
func (s *Sim) Weight(t time.Time) []byte {
	kg := s.weight.next(s.rng)
	n := uint16(math.Round(kg/0.05)) * 10 // 0.05 kg steps, in 0.005 kg units
	b := make([]byte, 1, 10)
	b = binary.LittleEndian.AppendUint16(b, n)
	var ok bool
	if b, ok = appendDateTime(b, t); ok {
		b[0] |= simWeightTimeStamp
	}
	return b
}

// HeartRate is a Heart Rate Measurement (0x2A37): flags (uint8 format,
// sensor contact supported and detected), then the heart rate in /min as a
// uint8.
func (s *Sim) HeartRate() []byte {
	bpm := math.Round(s.pulse.next(s.rng))
	return []byte{byte(gatt.ContactDetected) << 1, byte(bpm)}
}

// Value is the next simulated value of the characteristic char, measured at
// t; an error for a characteristic the simulator does not write.
func (s *Sim) Value(char uint16, t time.Time) ([]byte, error) {
	switch char {
	case gatt.BloodPressureMeasurement:
		return s.BloodPressure(t)
	case gatt.TemperatureMeasurement:
		return s.Temperature(t)
	case gatt.PLXSpotCheckMeasurement:
		return s.SpotCheck(t)
	case gatt.WeightMeasurement:
		return s.Weight(t), nil
	case gatt.HeartRateMeasurement:
		return s.HeartRate(), nil
	}
	return nil, fmt.Errorf("homekit: sim: no simulation of %s: %w", gatt.Characteristic(char), gatt.ErrUnknownCharacteristic)
}
