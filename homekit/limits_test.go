package homekit

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"vclinic/homekit/gatt"
)

// num is a limit value as JSON gives it.
func num(s string) *json.Number { n := json.Number(s); return &n }

// tempHigh is a watch with a high temperature limit and an SpO2 low limit.
func tempHigh(owner, id, high string, version int) Watch {
	return Watch{Owner: owner, OwnerID: id, Version: version, Limits: []Limit{
		{Code: gatt.LOINCBodyTemperature, Unit: gatt.UnitCelsius, Low: num("35.5"), High: num(high)},
		{Code: gatt.LOINCSpO2, Unit: gatt.UnitPercent, Low: num("92")},
	}}
}

func testWatch(t *testing.T, f *fixture) {
	w, err := f.s.Watch(f.ctx, f.staff, "pat-ida")
	if err != nil || w.Version != 0 || len(w.Limits) != 0 || w.SpO2Scale != SpO2Scale1 || w.OnOxygen {
		t.Fatalf("unset watch = %+v, %v; want empty, version 0, scale 1", w, err)
	}
	in := tempHigh(WatchOfPatient, "pat-ida", "38.0", 0)
	in.SpO2Scale, in.OnOxygen = SpO2Scale2, true
	w, err = f.s.SetWatch(f.ctx, f.staff, in)
	if err != nil || w.Version != 1 || w.UpdatedBy != "user-clin" {
		t.Fatalf("SetWatch = %+v, %v", w, err)
	}
	got, err := f.s.Watch(f.ctx, f.staff, "pat-ida")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.SpO2Scale != 2 || !got.OnOxygen || len(got.Limits) != 2 ||
		got.Limits[1].Code != gatt.LOINCBodyTemperature || got.Limits[1].High.String() != "38.0" || got.Limits[0].Unit != gatt.UnitPercent {
		t.Errorf("Watch = %+v", got)
	}
	// A change made from version 0 again lost the race: 409.
	if _, err := f.s.SetWatch(f.ctx, f.staff, tempHigh(WatchOfPatient, "pat-ida", "39.0", 0)); !errors.Is(err, ErrConflict) {
		t.Errorf("stale SetWatch = %v, want ErrConflict", err)
	}
	if _, err := f.s.SetWatch(f.ctx, f.staff, tempHigh(WatchOfPatient, "pat-ida", "38.5", 1)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		w     Watch
		field string
	}{
		{"unknown code", Watch{Limits: []Limit{{Code: "1234-5", High: num("1")}}}, `limits[0].code "1234-5"`},
		{"twice", Watch{Limits: []Limit{{Code: gatt.LOINCSpO2, Low: num("90")}, {Code: gatt.LOINCSpO2, Low: num("91")}}}, `limits[1].code`},
		{"unit", Watch{Limits: []Limit{{Code: gatt.LOINCBodyTemperature, Unit: gatt.UnitFahrenheit, High: num("100")}}}, "limits[0].unit"},
		{"low above high", Watch{Limits: []Limit{{Code: gatt.LOINCHeartRate, Low: num("100"), High: num("50")}}}, "low 100 must be below high 50"},
		{"equal", Watch{Limits: []Limit{{Code: gatt.LOINCHeartRate, Low: num("60"), High: num("60")}}}, "must be below"},
		{"implausible", Watch{Limits: []Limit{{Code: gatt.LOINCSystolic, High: num("400")}}}, "limits[0].high 400"},
		{"not a number", Watch{Limits: []Limit{{Code: gatt.LOINCSystolic, High: num("1e")}}}, "limits[0].high"},
		{"neither", Watch{Limits: []Limit{{Code: gatt.LOINCSystolic}}}, "give low, high or both"},
		{"scale", Watch{SpO2Scale: 3}, "spo2Scale"},
	} {
		tc.w.Owner, tc.w.OwnerID, tc.w.Version = WatchOfPatient, "pat-ida", 2
		_, err := f.s.SetWatch(f.ctx, f.staff, tc.w)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(Reason(err), tc.field) {
			t.Errorf("%s: SetWatch = %v, want ErrInvalid naming %q", tc.name, err, tc.field)
		}
	}
	// Glucose in mg/dL has its own plausible range in mg/dL.
	if _, err := f.s.SetWatch(f.ctx, f.staff, Watch{Owner: WatchOfPatient, OwnerID: "pat-bo",
		Limits: []Limit{{Code: gatt.LOINCGlucoseMass, Low: num("70"), High: num("180")}}}); err != nil {
		t.Errorf("glucose limits in mg/dL: %v", err)
	}

	// Defaults per appointment type seed a patient without a watch, once.
	def := tempHigh(WatchOfType, "type-kol", "37.8", 0)
	if _, err := f.s.SetWatch(f.ctx, Actor{ID: "user-admin", Role: "admin"}, def); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.s.SeedWatch(f.ctx, f.staff, "pat-new", "type-kol"); err != nil || !ok {
		t.Fatalf("SeedWatch = %v, %v", ok, err)
	}
	if ok, err := f.s.SeedWatch(f.ctx, f.staff, "pat-ida", "type-kol"); err != nil || ok {
		t.Errorf("SeedWatch over a patient's own watch = %v, %v; want left alone", ok, err)
	}
	seeded, _ := f.s.Watch(f.ctx, f.staff, "pat-new")
	if seeded.SeededFrom != "type-kol" || seeded.Version != 1 || seeded.Limits[1].High.String() != "37.8" {
		t.Errorf("seeded watch = %+v", seeded)
	}

	log, err := readAudit(f.ctx, f.s, "pat-ida")
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, e := range log {
		if e.Entity == "watch:patient" {
			details = append(details, e.Action+" "+e.Detail)
		}
	}
	want := []string{
		"update 59408-5 set 92-none %; 8310-5 set 35.5-38.0 Cel; spo2Scale 2; onOxygen false -> true",
		"update 8310-5 high 38.0 -> 38.5; spo2Scale 2 -> 1; onOxygen true -> false",
	}
	if !equal(details, want) {
		t.Errorf("audit = %q, want %q", details, want)
	}
}

func testFlags(t *testing.T, f *fixture) {
	// No limits: nothing is flagged.
	r := f.ingest(f.ida, ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: hexTemp3760, Seq: seq(1), ObservedAt: observed})[0]
	if r.Status != StatusStored || len(r.Flags) != 0 {
		t.Fatalf("37.60 without limits = %+v", r)
	}
	if _, err := f.s.SetWatch(f.ctx, f.staff, tempHigh(WatchOfPatient, "pat-ida", "37.5", 0)); err != nil {
		t.Fatal(err)
	}
	// 37.60 Cel over a high limit of 37.5; the oximeter's SpO2 97 inside.
	res := f.ingest(f.ida,
		ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: hexTemp3760, Seq: seq(2), ObservedAt: observed},
		ReadingIn{DeviceID: f.oxi.ID, Characteristic: "2A5E", Value: hexSpO2, Seq: seq(3), ObservedAt: observed})
	if !equal(res[0].Flags, []string{FlagOutsideLimits}) || len(res[1].Flags) != 0 {
		t.Fatalf("results = %+v, want the temperature flagged only", res)
	}
	// Typed by the patient: SpO2 90 below 92.
	man, err := f.s.AddManual(f.ctx, f.ida, ManualReading{Values: []ManualValue{{Code: gatt.LOINCSpO2, Value: "90", Unit: gatt.UnitPercent}}}, f.now)
	if err != nil || !equal(man.Flags, []string{FlagOutsideLimits}) {
		t.Fatalf("typed SpO2 90 = %+v, %v", man, err)
	}
	// The flag keeps the limit in force when the reading came.
	if _, err := f.s.SetWatch(f.ctx, f.staff, tempHigh(WatchOfPatient, "pat-ida", "39.0", 1)); err != nil {
		t.Fatal(err)
	}
	flagged, err := f.s.ListFlagged(f.ctx, f.staff, "pat-ida", time.Time{})
	if err != nil || len(flagged) != 2 {
		t.Fatalf("ListFlagged = %d, %v; want 2", len(flagged), err)
	}
	var temp, spo2 FlaggedReading
	for _, x := range flagged {
		if x.Source == SourcePatientEntered {
			spo2 = x
		} else {
			temp = x
		}
	}
	if m := temp.Measurements[0]; m.Outside != OutsideAbove || m.LimitHigh != "37.5" || m.LimitLow != "35.5" || temp.Acknowledged != nil {
		t.Errorf("temperature = %+v, ack %v", m, temp.Acknowledged)
	}
	if m := spo2.Measurements[0]; m.Outside != OutsideBelow || m.LimitLow != "92" || m.LimitHigh != "" {
		t.Errorf("SpO2 = %+v", m)
	}
	if n, err := f.s.CountUnacknowledged(f.ctx, "pat-ida", time.Time{}); err != nil || n != 2 {
		t.Errorf("CountUnacknowledged = %d, %v; want 2", n, err)
	}
	if n, _ := f.s.CountUnacknowledged(f.ctx, "pat-ida", f.now.Add(time.Second)); n != 0 {
		t.Errorf("CountUnacknowledged since now = %d, want 0", n)
	}

	a, err := f.s.Acknowledge(f.ctx, f.staff, "Dr. Hansen", "pat-ida", temp.ID, "  rang til patienten  ")
	if err != nil || a.By != "user-clin" || a.Note != "rang til patienten" || a.At.IsZero() {
		t.Fatalf("Acknowledge = %+v, %v", a, err)
	}
	_, err = f.s.Acknowledge(f.ctx, Actor{ID: "user-other", Role: "clinician"}, "Dr. Berg", "pat-ida", temp.ID, "")
	if !errors.Is(err, ErrConflict) || !strings.Contains(Reason(err), "Dr. Hansen") {
		t.Errorf("second Acknowledge = %v, want ErrConflict naming Dr. Hansen", err)
	}
	if _, err := f.s.Acknowledge(f.ctx, f.staff, "", "pat-ida", res[1].ID, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Acknowledge of a reading within limits = %v, want ErrInvalid", err)
	}
	if _, err := f.s.Acknowledge(f.ctx, f.staff, "", "pat-bo", spo2.ID, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Acknowledge under another patient = %v, want ErrNotFound", err)
	}
	if _, err := f.s.Acknowledge(f.ctx, f.staff, "", "pat-ida", spo2.ID, strings.Repeat("x", MaxWatchNote+1)); !errors.Is(err, ErrInvalid) {
		t.Errorf("Acknowledge with a long note = %v, want ErrInvalid", err)
	}
	if n, _ := f.s.CountUnacknowledged(f.ctx, "pat-ida", time.Time{}); n != 1 {
		t.Errorf("CountUnacknowledged after one acknowledgement = %d, want 1", n)
	}
	flagged, _ = f.s.ListFlagged(f.ctx, f.staff, "pat-ida", time.Time{})
	for _, x := range flagged {
		if x.ID == temp.ID && (x.Acknowledged == nil || x.Acknowledged.ByName != "Dr. Hansen") {
			t.Errorf("acknowledged reading = %+v", x.Acknowledged)
		}
	}
	log, _ := readAudit(f.ctx, f.s, "pat-ida")
	acks := 0
	for _, e := range log {
		if e.Entity == "reading" && e.Action == AuditUpdate && e.EntityID == temp.ID {
			acks++
		}
	}
	if acks != 1 {
		t.Errorf("%d audit rows for the acknowledgement, want 1", acks)
	}
}

// TestJudge checks the comparison against limits, units converted.
func TestJudge(t *testing.T) {
	limits := tempHigh(WatchOfPatient, "p", "38.0", 0).limitsByCode()
	limits[gatt.LOINCSystolic] = Limit{Code: gatt.LOINCSystolic, Unit: gatt.UnitMmHg, High: num("140")}
	for _, tc := range []struct {
		code, value, unit, want string
	}{
		{gatt.LOINCBodyTemperature, "38.0", gatt.UnitCelsius, ""},
		{gatt.LOINCBodyTemperature, "38.1", gatt.UnitCelsius, OutsideAbove},
		{gatt.LOINCBodyTemperature, "35.4", gatt.UnitCelsius, OutsideBelow},
		{gatt.LOINCBodyTemperature, "100.8", gatt.UnitFahrenheit, OutsideAbove}, // 38.2 Cel
		{gatt.LOINCSystolic, "19.0", gatt.UnitKPa, OutsideAbove},                // 142.5 mmHg
		{gatt.LOINCSystolic, "18.0", gatt.UnitKPa, ""},                          // 135 mmHg
		{gatt.LOINCOxygenSaturation, "91", gatt.UnitPercent, OutsideBelow},
		{gatt.LOINCHeartRate, "200", gatt.UnitPerMinute, ""}, // no limit
	} {
		r := measurementRow{code: tc.code, value: tc.value, unit: tc.unit}
		judge(&r, limits)
		if r.outside != tc.want {
			t.Errorf("%s %s %s: outside %q, want %q", tc.code, tc.value, tc.unit, r.outside, tc.want)
		}
	}
	r := measurementRow{code: gatt.LOINCBodyTemperature, unit: gatt.UnitCelsius} // special value
	judge(&r, limits)
	if r.outside != "" {
		t.Errorf("special value judged %q", r.outside)
	}
}

// TestWatchConcurrentFirstSet: two clinicians set a patient's first limits
// at once, both from version 0; one is stored, the other refused with
// ErrConflict, never both nor a failure of the store.
func TestWatchConcurrentFirstSet(t *testing.T) {
	s := sqliteStore(t)
	ctx := t.Context()
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := s.SetWatch(ctx, Actor{ID: "user-" + string(rune('a'+i)), Role: "clinician"}, tempHigh(WatchOfPatient, "pat-race", "38.0", 0))
			errs <- err
		}()
	}
	ok, conflicts := 0, 0
	for range 8 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrConflict):
			conflicts++
		default:
			t.Errorf("SetWatch: %v", err)
		}
	}
	w, _ := s.Watch(ctx, Actor{ID: "t", Role: "clinician"}, "pat-race")
	if ok != 1 || conflicts != 7 || w.Version != 1 {
		t.Errorf("%d stored, %d refused, version %d; want 1, 7, 1", ok, conflicts, w.Version)
	}
}
