package homekit

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"vclinic/homekit/gatt"
)

// simCase is one of the simulator's characteristics and what its readings
// must decode to.
type simCase struct {
	char  uint16
	want  []simWant // one per measurement, in order
	check func(t *testing.T, d gatt.Decoded, at time.Time)
}

type simWant struct {
	code, unit string
	min, max   float64
	decimals   int
}

func simCases() []simCase {
	stamped := func(t *testing.T, d gatt.Decoded, at time.Time) {
		t.Helper()
		got, ok := d.Time.In(at.Location())
		if !ok || !got.Equal(at.Truncate(time.Second)) {
			t.Errorf("time stamp %v, want %v", d.Time, at)
		}
	}
	return []simCase{
		{gatt.BloodPressureMeasurement, []simWant{
			{gatt.LOINCSystolic, gatt.UnitMmHg, 115, 140, 0},
			{gatt.LOINCDiastolic, gatt.UnitMmHg, 70, 90, 0},
			{gatt.LOINCMeanBloodPressure, gatt.UnitMmHg, 70, 140, 0},
			{gatt.LOINCHeartRate, gatt.UnitPerMinute, 60, 85, 0},
		}, func(t *testing.T, d gatt.Decoded, at time.Time) {
			stamped(t, d, at)
			sys, dia, mean := d.Measurements[0].Value.Float64(), d.Measurements[1].Value.Float64(), d.Measurements[2].Value.Float64()
			if want := float64(int(dia + (sys-dia)/3 + 0.5)); mean != want || mean < dia || mean > sys {
				t.Errorf("mean %v for %v/%v, want %v", mean, sys, dia, want)
			}
			if d.Measurements[3].Source != gatt.BloodPressureMonitor {
				t.Errorf("pulse source %q", d.Measurements[3].Source)
			}
			if d.UserID.Valid || d.BloodPressureStatus.Valid {
				t.Errorf("unexpected user id or status: %+v", d)
			}
		}},
		{gatt.TemperatureMeasurement, []simWant{
			{gatt.LOINCBodyTemperature, gatt.UnitCelsius, 36.85, 37.40, 2},
		}, func(t *testing.T, d gatt.Decoded, at time.Time) {
			stamped(t, d, at)
			if !d.TemperatureType.Valid || d.TemperatureType.V != gatt.TempEar {
				t.Errorf("temperature type %+v, want ear", d.TemperatureType)
			}
		}},
		{gatt.PLXSpotCheckMeasurement, []simWant{
			{gatt.LOINCSpO2, gatt.UnitPercent, 94, 99, 0},
			{gatt.LOINCHeartRate, gatt.UnitPerMinute, 60, 85, 0},
		}, func(t *testing.T, d gatt.Decoded, at time.Time) {
			stamped(t, d, at)
			if d.DeviceClockNotSet || d.MeasurementStatus.Valid || d.DeviceAndSensorStatus.Valid {
				t.Errorf("unexpected status fields: %+v", d)
			}
		}},
		{gatt.WeightMeasurement, []simWant{
			{gatt.LOINCBodyWeight, gatt.UnitKilogram, 58, 97, 3},
		}, func(t *testing.T, d gatt.Decoded, at time.Time) {
			stamped(t, d, at)
			if m := d.Measurements[0].Value.Mantissa; m%50 != 0 {
				t.Errorf("weight %v is not in 0.05 kg steps", d.Measurements[0].Value)
			}
		}},
		{gatt.HeartRateMeasurement, []simWant{
			{gatt.LOINCHeartRate, gatt.UnitPerMinute, 60, 85, 0},
		}, func(t *testing.T, d gatt.Decoded, _ time.Time) {
			if !d.SensorContact.Valid || d.SensorContact.V != gatt.ContactDetected {
				t.Errorf("sensor contact %+v, want detected", d.SensorContact)
			}
			if !d.Time.IsZero() || d.EnergyExpended.Valid || len(d.RRIntervals) != 0 {
				t.Errorf("unexpected fields: %+v", d)
			}
		}},
	}
}

func TestSimDecodes(t *testing.T) {
	zone := time.FixedZone("CET", 3600)
	start := time.Date(2026, 11, 26, 8, 0, 0, 0, zone)
	for _, seed := range []uint64{0, 1, 42, 1 << 63} {
		s := NewSim(seed)
		for i := range 1000 {
			at := start.Add(time.Duration(i) * 37 * time.Minute)
			for _, c := range simCases() {
				raw, err := s.Value(c.char, at)
				if err != nil {
					t.Fatal(err)
				}
				d, err := gatt.Decode(c.char, raw)
				if err != nil {
					t.Fatalf("seed %d sample %d %s %x: %v", seed, i, gatt.Characteristic(c.char), raw, err)
				}
				if d.UnknownFlags != 0 {
					t.Errorf("%s %x: reserved flags %#x", gatt.Characteristic(c.char), raw, d.UnknownFlags)
				}
				if len(d.Measurements) != len(c.want) {
					t.Fatalf("%s %x: %d measurements, want %d", gatt.Characteristic(c.char), raw, len(d.Measurements), len(c.want))
				}
				for j, w := range c.want {
					m := d.Measurements[j]
					v := m.Value.Float64()
					switch {
					case m.Code != w.code || m.Unit != w.unit:
						t.Errorf("%s %x [%d]: %s %s, want %s %s", gatt.Characteristic(c.char), raw, j, m.Code, m.Unit, w.code, w.unit)
					case m.Value.IsSpecial() || m.Absent != "":
						t.Errorf("%s %x [%d]: special value %v", gatt.Characteristic(c.char), raw, j, m.Value)
					case v < w.min || v > w.max:
						t.Errorf("%s %x [%d]: %v outside %v-%v", gatt.Characteristic(c.char), raw, j, m.Value, w.min, w.max)
					case m.Value.Decimals() != w.decimals:
						t.Errorf("%s %x [%d]: %v has %d decimals, want %d", gatt.Characteristic(c.char), raw, j, m.Value, m.Value.Decimals(), w.decimals)
					}
					if why := implausible(m.Code, m.Value, m.Unit); why != "" {
						t.Errorf("%s %x [%d]: implausible: %s", gatt.Characteristic(c.char), raw, j, why)
					}
				}
				c.check(t, d, at)
			}
		}
	}
}

func TestSimDeterministic(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 30, 15, 0, time.UTC)
	run := func(seed uint64) []byte {
		s := NewSim(seed)
		var out []byte
		for i := range 200 {
			tt := at.Add(time.Duration(i) * time.Hour)
			for _, c := range simCases() {
				raw, err := s.Value(c.char, tt)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, raw...)
			}
		}
		return out
	}
	a, b := run(7), run(7)
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave different bytes")
	}
	if bytes.Equal(a, run(8)) {
		t.Fatal("seeds 7 and 8 gave the same bytes")
	}
}

func TestSimDrifts(t *testing.T) {
	// Consecutive readings are one person's: systolic moves by a few mmHg,
	// not across the whole range.
	s := NewSim(3)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var prev float64
	var jumps float64
	for i := range 1000 {
		raw, err := s.BloodPressure(at)
		if err != nil {
			t.Fatal(err)
		}
		d, err := gatt.Decode(gatt.BloodPressureMeasurement, raw)
		if err != nil {
			t.Fatal(err)
		}
		sys := d.Measurements[0].Value.Float64()
		if i > 0 {
			if sys-prev > 15 || prev-sys > 15 {
				jumps++
			}
		}
		prev = sys
	}
	if jumps > 10 {
		t.Errorf("%v jumps of more than 15 mmHg in 1000 readings", jumps)
	}
}

func TestSimNoTimeStamp(t *testing.T) {
	// A clock a Date Time cannot hold leaves the time stamp out.
	s := NewSim(1)
	for _, c := range simCases() {
		raw, err := s.Value(c.char, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := gatt.Decode(c.char, raw)
		if err != nil {
			t.Fatalf("%s: %v", gatt.Characteristic(c.char), err)
		}
		if !d.Time.IsZero() {
			t.Errorf("%s: time stamp %v for the zero time", gatt.Characteristic(c.char), d.Time)
		}
	}
}

// TestSimErrors: a value the characteristic cannot carry is an error, never
// a wrong value or a panic.
func TestSimErrors(t *testing.T) {
	if _, err := sfloatInt(5000); !errors.Is(err, gatt.ErrOutOfRange) {
		t.Errorf("sfloatInt(5000) = %v, want ErrOutOfRange (an SFLOAT holds at most 2045)", err)
	}
	s := NewSim(1)
	s.sys = walk{x: 9000, mean: 9000, min: 9000, max: 9000}
	if b, err := s.BloodPressure(time.Now()); err == nil {
		t.Errorf("a systolic of 9000 encoded as % X", b)
	}
	s.temp = walk{x: 1e9, mean: 1e9, min: 1e9, max: 1e9}
	if b, err := s.Temperature(time.Now()); err == nil {
		t.Errorf("a temperature of 1e9 °C encoded as % X", b)
	}
	s.spo2 = walk{x: 1e5, mean: 1e5, min: 1e5, max: 1e5}
	if b, err := s.SpotCheck(time.Now()); err == nil {
		t.Errorf("an SpO2 of 1e5 %% encoded as % X", b)
	}
	if _, err := s.Value(gatt.GlucoseMeasurement, time.Now()); !errors.Is(err, gatt.ErrUnknownCharacteristic) {
		t.Errorf("Value(glucose) = %v, want ErrUnknownCharacteristic", err)
	}
}
