package homekit

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"vclinic/homekit/gatt"
)

var news2Now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// news2Reading is one reading of one measurement, ago before news2Now.
func news2Reading(id, device string, ago time.Duration, code, value, unit string) Reading {
	return Reading{ID: id, PatientID: "p1", Source: SourceDevice, DeviceID: device, ObservedAt: news2Now.Add(-ago),
		Measurements: []StoredMeasurement{{Code: code, Value: gatt.Some(must(gatt.ParseDecimal(value))), Unit: unit}}}
}

func news2Param(t *testing.T, s NEWS2Score, name string) NEWS2Parameter {
	t.Helper()
	for _, p := range s.Parameters {
		if p.Parameter == name {
			return p
		}
	}
	t.Fatalf("no parameter %s in %+v", name, s.Parameters)
	return NEWS2Parameter{}
}

func points(p NEWS2Parameter) int {
	if p.Points == nil {
		return -1
	}
	return *p.Points
}

// TestNEWS2BandEdges reads every band edge of RCP 2017 Chart 1, a value on
// each side of it, for each parameter a home kit measures.
func TestNEWS2BandEdges(t *testing.T) {
	type edge struct {
		value string
		want  int
	}
	cases := []struct {
		name   string
		param  string
		code   string
		unit   string
		scale  int
		oxygen OxygenUse
		edges  []edge
	}{
		{"spo2 scale 1", ParamSpO2, gatt.LOINCSpO2, gatt.UnitPercent, 1, OxygenNotRecorded, []edge{
			{"91", 3}, {"92", 2}, {"93", 2}, {"94", 1}, {"95", 1}, {"96", 0}, {"100", 0}, {"50", 3}}},
		{"spo2 scale 1 on oxygen (oxygen scored apart)", ParamSpO2, gatt.LOINCSpO2, gatt.UnitPercent, 1, OxygenOn, []edge{
			{"91", 3}, {"92", 2}, {"93", 2}, {"94", 1}, {"95", 1}, {"96", 0}, {"100", 0}}},
		{"spo2 scale 2 on air", ParamSpO2, gatt.LOINCSpO2, gatt.UnitPercent, 2, OxygenAir, []edge{
			{"83", 3}, {"84", 2}, {"85", 2}, {"86", 1}, {"87", 1}, {"88", 0}, {"92", 0}, {"93", 0}, {"97", 0}, {"100", 0}}},
		{"spo2 scale 2 not recorded is taken as air", ParamSpO2, gatt.LOINCSpO2, gatt.UnitPercent, 2, OxygenNotRecorded, []edge{
			{"83", 3}, {"84", 2}, {"85", 2}, {"86", 1}, {"87", 1}, {"88", 0}, {"92", 0}, {"93", 0}, {"97", 0}}},
		{"spo2 scale 2 on oxygen", ParamSpO2, gatt.LOINCSpO2, gatt.UnitPercent, 2, OxygenOn, []edge{
			{"83", 3}, {"84", 2}, {"85", 2}, {"86", 1}, {"87", 1}, {"88", 0}, {"92", 0}, {"93", 1}, {"94", 1},
			{"95", 2}, {"96", 2}, {"97", 3}, {"100", 3}}},
		{"spo2 by the R4 profile's code", ParamSpO2, gatt.LOINCOxygenSaturation, gatt.UnitPercent, 1, OxygenNotRecorded, []edge{
			{"91", 3}, {"96", 0}}},
		{"spo2 rounding", ParamSpO2, gatt.LOINCSpO2, gatt.UnitPercent, 1, OxygenNotRecorded, []edge{
			{"91.4", 3}, {"91.5", 2}, {"95.49", 1}, {"95.5", 0}}},
		{"systolic", ParamSystolic, gatt.LOINCSystolic, gatt.UnitMmHg, 1, OxygenNotRecorded, []edge{
			{"90", 3}, {"91", 2}, {"100", 2}, {"101", 1}, {"110", 1}, {"111", 0}, {"219", 0}, {"220", 3}, {"41", 3}, {"300", 3}}},
		{"systolic rounding", ParamSystolic, gatt.LOINCSystolic, gatt.UnitMmHg, 1, OxygenNotRecorded, []edge{
			{"90.4", 3}, {"90.5", 2}, {"219.4", 0}, {"219.5", 3}}},
		// 12.0 kPa = 90.007 mmHg -> 90; 12.07 kPa = 90.53 -> 91; 29.3 kPa = 219.77 -> 220.
		{"systolic in kPa", ParamSystolic, gatt.LOINCSystolic, gatt.UnitKPa, 1, OxygenNotRecorded, []edge{
			{"12.0", 3}, {"12.07", 2}, {"29.2", 0}, {"29.3", 3}}},
		{"pulse", ParamPulse, gatt.LOINCHeartRate, gatt.UnitPerMinute, 1, OxygenNotRecorded, []edge{
			{"40", 3}, {"41", 1}, {"50", 1}, {"51", 0}, {"90", 0}, {"91", 1}, {"110", 1}, {"111", 2},
			{"130", 2}, {"131", 3}, {"20", 3}, {"300", 3}}},
		{"pulse rounding", ParamPulse, gatt.LOINCHeartRate, gatt.UnitPerMinute, 1, OxygenNotRecorded, []edge{
			{"40.4", 3}, {"40.5", 1}, {"90.49", 0}, {"90.5", 1}}},
		{"temperature", ParamTemperature, gatt.LOINCBodyTemperature, gatt.UnitCelsius, 1, OxygenNotRecorded, []edge{
			{"35.0", 3}, {"35.1", 1}, {"36.0", 1}, {"36.1", 0}, {"38.0", 0}, {"38.1", 1}, {"39.0", 1}, {"39.1", 2},
			{"30.0", 3}, {"45.0", 2}}},
		// Halves go up, exactly: 38.05 is 38.1 (a float64 would make it 38.0).
		{"temperature rounding", ParamTemperature, gatt.LOINCBodyTemperature, gatt.UnitCelsius, 1, OxygenNotRecorded, []edge{
			{"35.04", 3}, {"35.05", 1}, {"36.049", 1}, {"36.05", 0}, {"38.04", 0}, {"38.05", 1}, {"39.049", 1}, {"39.05", 2}, {"37.60", 0}}},
		// 95.0 °F = 35.0 °C; 95.2 °F = 35.11 -> 35.1; 100.4 °F = 38.0; 100.6 °F = 38.11 -> 38.1;
		// 102.2 °F = 39.0; 102.4 °F = 39.11 -> 39.1.
		{"temperature in Fahrenheit", ParamTemperature, gatt.LOINCBodyTemperature, gatt.UnitFahrenheit, 1, OxygenNotRecorded, []edge{
			{"95.0", 3}, {"95.2", 1}, {"100.4", 0}, {"100.6", 1}, {"102.2", 1}, {"102.4", 2}}},
	}
	for _, c := range cases {
		for _, e := range c.edges {
			t.Run(c.name+" "+e.value, func(t *testing.T) {
				rs := []Reading{news2Reading("r1", "dev", time.Hour, c.code, e.value, c.unit)}
				s, err := ScoreNEWS2("p1", rs, NEWS2Options{Scale: c.scale, Oxygen: c.oxygen, Now: news2Now})
				if err != nil {
					t.Fatal(err)
				}
				p := news2Param(t, s, c.param)
				if p.Status != NEWS2Scored || points(p) != e.want {
					t.Fatalf("%s %s %s on scale %d (%q): %s %d points, want %d", c.param, e.value, c.unit, c.scale, c.oxygen,
						p.Status, points(p), e.want)
				}
				if p.Reading == nil || p.Reading.Value != e.value || p.Reading.Unit != c.unit || p.Reading.ReadingID != "r1" ||
					p.Reading.DeviceID != "dev" || p.Reading.AgeSeconds != 3600 {
					t.Fatalf("reading used: %+v", p.Reading)
				}
			})
		}
	}
}

// TestNEWS2AirOrOxygen: oxygen recorded scores 2 and counts; air recorded
// scores 0 and counts; nothing recorded is taken as air and not counted.
func TestNEWS2AirOrOxygen(t *testing.T) {
	rs := []Reading{news2Reading("r1", "oxi", time.Hour, gatt.LOINCSpO2, "97", gatt.UnitPercent)}
	for _, c := range []struct {
		oxygen         OxygenUse
		scale          int
		status         string
		points, scored int
		total          int
	}{
		{OxygenOn, 1, NEWS2Scored, 2, 2, 2},
		{OxygenOn, 2, NEWS2Scored, 2, 2, 5}, // 97 % on oxygen on scale 2 scores 3
		{OxygenAir, 1, NEWS2Scored, 0, 2, 0},
		{OxygenAir, 2, NEWS2Scored, 0, 2, 0},
		{OxygenNotRecorded, 1, NEWS2TakenAsAir, -1, 1, 0},
		{OxygenNotRecorded, 2, NEWS2TakenAsAir, -1, 1, 0},
	} {
		s, err := ScoreNEWS2("p1", rs, NEWS2Options{Scale: c.scale, Oxygen: c.oxygen, Now: news2Now})
		if err != nil {
			t.Fatal(err)
		}
		p := news2Param(t, s, ParamAirOrOxygen)
		if p.Status != c.status || points(p) != c.points || s.Scored != c.scored || s.Total != c.total {
			t.Errorf("oxygen %q scale %d: %s %d points, %d of %d scored, total %d; want %s %d, %d scored, total %d",
				c.oxygen, c.scale, p.Status, points(p), s.Scored, s.Of, s.Total, c.status, c.points, c.scored, c.total)
		}
	}
}

// TestNEWS2PartialScore: a full kit scores 4 of 7; respiration rate and
// consciousness are never scored; the pulse is the newest from any device,
// named; the total, red score and risk band follow RCP 2017 Chart 2.
func TestNEWS2PartialScore(t *testing.T) {
	rs := []Reading{
		news2Reading("oxi-1", "oximeter", 3*time.Hour, gatt.LOINCHeartRate, "72", gatt.UnitPerMinute),
		news2Reading("spo2", "oximeter", 3*time.Hour, gatt.LOINCSpO2, "93", gatt.UnitPercent),                 // 2
		news2Reading("temp", "thermometer", 2*time.Hour, gatt.LOINCBodyTemperature, "38.4", gatt.UnitCelsius), // 1
		{ID: "bp", PatientID: "p1", Source: SourceDevice, DeviceID: "cuff", ObservedAt: news2Now.Add(-30 * time.Minute),
			Measurements: []StoredMeasurement{
				{Code: gatt.LOINCSystolic, Value: gatt.Some(must(gatt.ParseDecimal("118"))), Unit: gatt.UnitMmHg}, // 0
				{Code: gatt.LOINCDiastolic, Value: gatt.Some(must(gatt.ParseDecimal("76"))), Unit: gatt.UnitMmHg},
				{Code: gatt.LOINCHeartRate, Value: gatt.Some(must(gatt.ParseDecimal("112"))), Unit: gatt.UnitPerMinute}, // 2
			}},
		news2Reading("hr-old", "chest-strap", 5*time.Hour, gatt.LOINCHeartRate, "40", gatt.UnitPerMinute),
	}
	s, err := ScoreNEWS2("p1", rs, NEWS2Options{Scale: 1, Now: news2Now})
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != 5 || s.Scored != 4 || s.Of != 7 || !s.Partial || s.RedScore || s.Risk != RiskMedium || s.RiskBasis != "partial-score" {
		t.Fatalf("score %+v, want 5 from 4 of 7, medium, partial", s)
	}
	pulse := news2Param(t, s, ParamPulse)
	if pulse.Reading == nil || pulse.Reading.DeviceID != "cuff" || pulse.Reading.Value != "112" || points(pulse) != 2 {
		t.Fatalf("pulse %+v, want the cuff's newest 112", pulse.Reading)
	}
	if sys := news2Param(t, s, ParamSystolic); sys.Reading.ObservationID != "bp-85354-9" {
		t.Errorf("systolic comes from the panel Observation, not %s", sys.Reading.ObservationID)
	}
	if temp := news2Param(t, s, ParamTemperature); temp.Reading.Scored != "38.4" || temp.Reading.ScoredUnit != "Cel" {
		t.Errorf("temperature read as %s %s", temp.Reading.Scored, temp.Reading.ScoredUnit)
	}
	for _, name := range []string{ParamRespirationRate, ParamConsciousness} {
		if p := news2Param(t, s, name); p.Status != NEWS2NotMeasured || p.Points != nil {
			t.Errorf("%s: %+v, want not measured", name, p)
		}
	}
	var order []string
	for _, p := range s.Parameters {
		order = append(order, p.Parameter)
	}
	if want := []string{ParamRespirationRate, ParamSpO2, ParamAirOrOxygen, ParamSystolic, ParamPulse, ParamConsciousness, ParamTemperature}; !slices.Equal(order, want) {
		t.Errorf("parameters %v, want the chart's order %v", order, want)
	}
	if s.DecisionSupport.Code != DecisionSupportCode || !strings.Contains(s.DecisionSupport.En, "not a diagnosis") ||
		!strings.Contains(s.DecisionSupport.Da, "ikke en diagnose") {
		t.Errorf("decision support %+v", s.DecisionSupport)
	}
}

func TestNEWS2Risk(t *testing.T) {
	for _, c := range []struct {
		total  int
		red    bool
		scored int
		want   string
	}{
		{0, false, 0, RiskUnscored}, {0, false, 1, RiskLow}, {4, false, 4, RiskLow}, {3, true, 1, RiskLowMedium},
		{4, true, 2, RiskLowMedium}, {5, false, 3, RiskMedium}, {6, true, 3, RiskMedium}, {7, false, 4, RiskHigh},
		{7, true, 4, RiskHigh}, {12, true, 5, RiskHigh},
	} {
		if got := NEWS2Risk(c.total, c.red, c.scored); got != c.want {
			t.Errorf("total %d red %v scored %d: %s, want %s", c.total, c.red, c.scored, got, c.want)
		}
	}
	// A single 3 is a red score: low-medium from a total of 3.
	s, err := ScoreNEWS2("p1", []Reading{news2Reading("t", "therm", time.Hour, gatt.LOINCBodyTemperature, "34.9", gatt.UnitCelsius)},
		NEWS2Options{Scale: 1, Now: news2Now})
	if err != nil {
		t.Fatal(err)
	}
	if !s.RedScore || !slices.Equal(s.RedParameters, []string{ParamTemperature}) || s.Risk != RiskLowMedium || s.Total != 3 {
		t.Errorf("red score: %+v", s)
	}
}

// TestNEWS2MissingStaleImplausible: no reading is no score; a reading older
// than NEWS2MaxAge is shown but not scored; an implausible reading or one
// with no value is passed over for the newest usable one, and named.
func TestNEWS2MissingStaleImplausible(t *testing.T) {
	s, err := ScoreNEWS2("p1", nil, NEWS2Options{Scale: 1, Now: news2Now})
	if err != nil {
		t.Fatal(err)
	}
	if s.Scored != 0 || s.Total != 0 || s.Risk != RiskUnscored || news2Param(t, s, ParamPulse).Status != NEWS2NoReading {
		t.Fatalf("no readings: %+v", s)
	}

	edge := news2Reading("edge", "therm", NEWS2MaxAge, gatt.LOINCBodyTemperature, "39.5", gatt.UnitCelsius)
	stale := news2Reading("stale", "oxi", NEWS2MaxAge+time.Second, gatt.LOINCSpO2, "85", gatt.UnitPercent)
	s, err = ScoreNEWS2("p1", []Reading{edge, stale}, NEWS2Options{Scale: 1, Now: news2Now})
	if err != nil {
		t.Fatal(err)
	}
	if p := news2Param(t, s, ParamTemperature); p.Status != NEWS2Scored || points(p) != 2 {
		t.Errorf("a reading exactly %v old: %+v, want scored", NEWS2MaxAge, p)
	}
	if p := news2Param(t, s, ParamSpO2); p.Status != NEWS2Stale || p.Points != nil || p.Reading == nil ||
		p.Reading.ReadingID != "stale" || p.Reading.AgeSeconds != int64(NEWS2MaxAge/time.Second)+1 {
		t.Errorf("a stale reading: %+v, want shown, not scored", p)
	}
	if s.Scored != 1 || s.Total != 2 {
		t.Errorf("stale reading counted: %d scored, total %d", s.Scored, s.Total)
	}

	good := news2Reading("good", "oxi", 2*time.Hour, gatt.LOINCSpO2, "97", gatt.UnitPercent)
	bad := news2Reading("bad", "oxi", time.Hour, gatt.LOINCSpO2, "45", gatt.UnitPercent)
	bad.Measurements[0].Implausible = true
	bad.Measurements[0].ImplausibleReason = "45 % is outside the plausible 50-100 %"
	nan := Reading{ID: "nan", PatientID: "p1", Source: SourceDevice, DeviceID: "oxi", ObservedAt: news2Now.Add(-30 * time.Minute),
		Measurements: []StoredMeasurement{{Code: gatt.LOINCSpO2, Unit: gatt.UnitPercent, Absent: "not-a-number"}}}
	future := news2Reading("future", "oxi", -time.Hour, gatt.LOINCSpO2, "80", gatt.UnitPercent)
	s, err = ScoreNEWS2("p1", []Reading{nan, future, good, bad}, NEWS2Options{Scale: 1, Now: news2Now})
	if err != nil {
		t.Fatal(err)
	}
	p := news2Param(t, s, ParamSpO2)
	if p.Status != NEWS2Scored || points(p) != 0 || p.Reading.ReadingID != "good" {
		t.Fatalf("implausible reading used: %+v %+v", p, p.Reading)
	}
	if len(p.Skipped) != 2 || !strings.Contains(p.Skipped[0], "not-a-number") || !strings.Contains(p.Skipped[1], "implausible") {
		t.Errorf("skipped %q, want the value-less then the implausible reading", p.Skipped)
	}
	only := news2Reading("only", "oxi", time.Hour, gatt.LOINCSpO2, "45", gatt.UnitPercent)
	only.Measurements[0].Implausible = true
	s, _ = ScoreNEWS2("p1", []Reading{only}, NEWS2Options{Scale: 1, Now: news2Now})
	if p := news2Param(t, s, ParamSpO2); p.Status != NEWS2NoReading || p.Points != nil || s.Scored != 0 {
		t.Errorf("only an implausible reading: %+v", p)
	}
}

func TestNEWS2Options(t *testing.T) {
	for _, o := range []NEWS2Options{{Scale: 0, Now: news2Now}, {Scale: 3, Now: news2Now}, {Scale: 1, Oxygen: "nasal", Now: news2Now}, {Scale: 1}} {
		if _, err := ScoreNEWS2("p1", nil, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", o, err)
		}
	}
}
