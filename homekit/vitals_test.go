package homekit

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"vclinic/homekit/gatt"
)

func TestVitals(t *testing.T) {
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	dec := func(s string) gatt.Optional[gatt.Decimal] { return gatt.Some(must(gatt.ParseDecimal(s))) }
	reading := func(min int, device, source string, ms ...StoredMeasurement) Reading {
		return Reading{DeviceID: device, Source: source, ObservedAt: at.Add(time.Duration(min) * time.Minute), Measurements: ms}
	}
	sys := func(v string) StoredMeasurement {
		return StoredMeasurement{Code: gatt.LOINCSystolic, Value: dec(v), Unit: gatt.UnitMmHg}
	}
	var recent []Reading
	// Fifteen cuff readings: the trend keeps the last ten before the newest.
	for i := range 15 {
		recent = append(recent, reading(i, "cuff", SourceDevice, sys(fmt.Sprint(120+i))))
	}
	// The same quantity typed by the patient is shown apart, with its own
	// trend; a special value has no value but its reason; an implausible one
	// keeps its flag.
	recent = append(recent,
		reading(20, "", SourcePatientEntered, sys("150")),
		reading(21, "therm", SourceDevice, StoredMeasurement{Code: gatt.LOINCBodyTemperature, Unit: gatt.UnitCelsius, Absent: "not-a-number"}),
		reading(22, "oxi", SourceDevice, StoredMeasurement{Code: gatt.LOINCSpO2, Value: dec("45"), Unit: gatt.UnitPercent,
			Implausible: true, ImplausibleReason: "SpO2 45 % is below 50 %"}),
		reading(23, "oxi2", SourceDevice, StoredMeasurement{Code: gatt.LOINCSpO2, Value: dec("97"), Unit: gatt.UnitPercent, Implausible: true}),
	)
	vs := Vitals(recent)
	if len(vs) != 5 {
		t.Fatalf("%d vitals, want 5: %+v", len(vs), vs)
	}
	cuff := vs[0]
	wantTrend := []string{"124", "125", "126", "127", "128", "129", "130", "131", "132", "133"}
	if cuff.DeviceID != "cuff" || cuff.Value != "134" || !slices.Equal(cuff.Trend, wantTrend) || !cuff.At.Equal(at.Add(14*time.Minute)) {
		t.Errorf("cuff vital %+v, want 134 with trend %v", cuff, wantTrend)
	}
	if typed := vs[1]; typed.Source != SourcePatientEntered || typed.Value != "150" || len(typed.Trend) != 0 {
		t.Errorf("typed vital %+v", typed)
	}
	if nan := vs[2]; nan.Value != "" || nan.Absent != "not-a-number" {
		t.Errorf("special value %+v", nan)
	}
	if low := vs[3]; low.Flag != "SpO2 45 % is below 50 %" {
		t.Errorf("flag %q", low.Flag)
	}
	if vs[4].Flag != "implausible value" {
		t.Errorf("a flag without a reason reads %q", vs[4].Flag)
	}
	if len(Vitals(nil)) != 0 {
		t.Error("vitals from no readings")
	}
}
