package homekit

import (
	"bytes"
	"testing"
	"time"
)

// simCase is one of the simulator's characteristics and what its readings
// must decode to.
type simCase struct {
	char  uint16
	value func(s *Sim, t time.Time) []byte
	want  []simWant // one per measurement, in order
	check func(t *testing.T, d Decoded, at time.Time)
}

type simWant struct {
	code, unit string
	min, max   float64
	decimals   int
}

func simCases() []simCase {
	stamped := func(t *testing.T, d Decoded, at time.Time) {
		t.Helper()
		got, ok := d.Time.In(at.Location())
		if !ok || !got.Equal(at.Truncate(time.Second)) {
			t.Errorf("time stamp %v, want %v", d.Time, at)
		}
	}
	return []simCase{
		{BloodPressureMeasurement, (*Sim).BloodPressure, []simWant{
			{LOINCSystolic, UnitMmHg, 115, 140, 0},
			{LOINCDiastolic, UnitMmHg, 70, 90, 0},
			{LOINCMeanBloodPressure, UnitMmHg, 70, 140, 0},
			{LOINCHeartRate, UnitPerMinute, 60, 85, 0},
		}, func(t *testing.T, d Decoded, at time.Time) {
			stamped(t, d, at)
			sys, dia, mean := d.Measurements[0].Value.Float64(), d.Measurements[1].Value.Float64(), d.Measurements[2].Value.Float64()
			if want := float64(int(dia + (sys-dia)/3 + 0.5)); mean != want || mean < dia || mean > sys {
				t.Errorf("mean %v for %v/%v, want %v", mean, sys, dia, want)
			}
			if d.Measurements[3].Source != BloodPressureMonitor {
				t.Errorf("pulse source %q", d.Measurements[3].Source)
			}
			if d.UserID.Valid || d.BloodPressureStatus.Valid {
				t.Errorf("unexpected user id or status: %+v", d)
			}
		}},
		{TemperatureMeasurement, (*Sim).Temperature, []simWant{
			{LOINCBodyTemperature, UnitCelsius, 36.85, 37.40, 2},
		}, func(t *testing.T, d Decoded, at time.Time) {
			stamped(t, d, at)
			if !d.TemperatureType.Valid || d.TemperatureType.V != TempEar {
				t.Errorf("temperature type %+v, want ear", d.TemperatureType)
			}
		}},
		{PLXSpotCheckMeasurement, (*Sim).SpotCheck, []simWant{
			{LOINCSpO2, UnitPercent, 94, 99, 0},
			{LOINCHeartRate, UnitPerMinute, 60, 85, 0},
		}, func(t *testing.T, d Decoded, at time.Time) {
			stamped(t, d, at)
			if d.DeviceClockNotSet || d.MeasurementStatus.Valid || d.DeviceAndSensorStatus.Valid {
				t.Errorf("unexpected status fields: %+v", d)
			}
		}},
		{WeightMeasurement, (*Sim).Weight, []simWant{
			{LOINCBodyWeight, UnitKilogram, 58, 97, 3},
		}, func(t *testing.T, d Decoded, at time.Time) {
			stamped(t, d, at)
			if m := d.Measurements[0].Value.Mantissa; m%50 != 0 {
				t.Errorf("weight %v is not in 0.05 kg steps", d.Measurements[0].Value)
			}
		}},
		{HeartRateMeasurement, func(s *Sim, _ time.Time) []byte { return s.HeartRate() }, []simWant{
			{LOINCHeartRate, UnitPerMinute, 60, 85, 0},
		}, func(t *testing.T, d Decoded, _ time.Time) {
			if !d.SensorContact.Valid || d.SensorContact.V != ContactDetected {
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
				raw := c.value(s, at)
				d, err := Decode(c.char, raw)
				if err != nil {
					t.Fatalf("seed %d sample %d %s %x: %v", seed, i, Characteristic(c.char), raw, err)
				}
				if d.UnknownFlags != 0 {
					t.Errorf("%s %x: reserved flags %#x", Characteristic(c.char), raw, d.UnknownFlags)
				}
				if len(d.Measurements) != len(c.want) {
					t.Fatalf("%s %x: %d measurements, want %d", Characteristic(c.char), raw, len(d.Measurements), len(c.want))
				}
				for j, w := range c.want {
					m := d.Measurements[j]
					v := m.Value.Float64()
					switch {
					case m.Code != w.code || m.Unit != w.unit:
						t.Errorf("%s %x [%d]: %s %s, want %s %s", Characteristic(c.char), raw, j, m.Code, m.Unit, w.code, w.unit)
					case m.Value.IsSpecial() || m.Absent != "":
						t.Errorf("%s %x [%d]: special value %v", Characteristic(c.char), raw, j, m.Value)
					case v < w.min || v > w.max:
						t.Errorf("%s %x [%d]: %v outside %v-%v", Characteristic(c.char), raw, j, m.Value, w.min, w.max)
					case m.Value.Decimals() != w.decimals:
						t.Errorf("%s %x [%d]: %v has %d decimals, want %d", Characteristic(c.char), raw, j, m.Value, m.Value.Decimals(), w.decimals)
					}
					if why := implausible(m.Code, m.Value, m.Unit); why != "" {
						t.Errorf("%s %x [%d]: implausible: %s", Characteristic(c.char), raw, j, why)
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
				out = append(out, c.value(s, tt)...)
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
		d, err := Decode(BloodPressureMeasurement, s.BloodPressure(at))
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
		d, err := Decode(c.char, c.value(s, time.Time{}))
		if err != nil {
			t.Fatalf("%s: %v", Characteristic(c.char), err)
		}
		if !d.Time.IsZero() {
			t.Errorf("%s: time stamp %v for the zero time", Characteristic(c.char), d.Time)
		}
	}
}
