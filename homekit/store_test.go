package homekit

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"vclinic/homekit/gatt"
	"vclinic/internal/records"
	"vclinic/internal/records/audit"
	"vclinic/internal/records/recordstest"
)

// The store conformance suite: the same test functions run against SQLite
// and a real PostgreSQL server (a throwaway cluster, or the server
// VCLINIC_TEST_POSTGRES names; VCLINIC_REQUIRE_POSTGRES=1 makes its absence
// a failure; see package recordstest).

func TestMain(m *testing.M) { os.Exit(recordstest.Main(m)) }

// openStore opens a store on a fresh database of b's kind with a pool of 8.
func openStore(t testing.TB, b recordstest.Backend, cfg Config) *Store {
	return openTestStore(t, b.Config(t, records.Config{MaxConns: 8}), cfg)
}

// sqliteStore opens a store on a fresh SQLite database.
func sqliteStore(t testing.TB) *Store { return openStore(t, recordstest.Backends()[0], Config{}) }

// openTestStore opens the records database rc names, its audit log and a
// store on it; all close when t ends.
func openTestStore(t testing.TB, rc records.Config, cfg Config) *Store {
	t.Helper()
	db, trail := recordstest.OpenAt(t, rc, cfg.Clock)
	s, err := NewStore(context.Background(), db, trail, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readAudit reads the audit log of one patient, oldest first.
func readAudit(ctx context.Context, s *Store, patientID string) ([]audit.Entry, error) {
	page, err := s.trail.Query(ctx, s.db, audit.Filter{PatientID: patientID, Limit: audit.MaxLimit})
	if err != nil {
		return nil, err
	}
	slices.Reverse(page.Rows)
	return page.Rows, nil
}

// exec runs one statement in its own transaction, bypassing the store.
func exec(ctx context.Context, s *Store, query string, args ...any) error {
	return s.db.InTx(ctx, "exec", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
}

// TestStore runs the conformance suite on each store.
func TestStore(t *testing.T) {
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				test func(t *testing.T, f *fixture)
			}{
				{"Migrations", testMigrations},
				{"Devices", testDevices},
				{"Stored", testStored},
				{"IdempotentSeq", testIdempotentSeq},
				{"IdempotentRaw", testIdempotentRaw},
				{"ConcurrentResend", testConcurrentResend},
				{"Rejections", testRejections},
				{"Implausible", testImplausible},
				{"Manual", testManual},
				{"Expected", testExpected},
				{"Gateway", testGateway},
				{"Audit", testAudit},
				{"Identity", testIdentity},
				{"GlucoseRecords", testGlucoseRecords},
				{"Trends", testTrends},
				{"Watch", testWatch},
				{"Flags", testFlags},
			} {
				t.Run(tc.name, func(t *testing.T) {
					tc.test(t, newFixture(t, openStore(t, b, Config{})))
				})
			}
		})
	}
}

// fixture is a store with two patients, each with a kit: Ida has a blood
// pressure monitor, a thermometer and a pulse oximeter; Bo has a
// thermometer. now is 2026-06-01 10:00 UTC.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	s      *Store
	staff  Actor
	now    time.Time
	ida    Submitter
	bo     Submitter
	bp     Device
	therm  Device
	oxi    Device
	boTemp Device
}

func newFixture(t *testing.T, s *Store) *fixture {
	f := &fixture{
		t: t, ctx: context.Background(), s: s,
		staff: Actor{ID: "user-clin", Role: "clinician"},
		now:   time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC),
		ida:   Submitter{PatientID: "pat-ida", Role: "patient"},
		bo:    Submitter{PatientID: "pat-bo", Role: "patient"},
	}
	f.bp = f.device("pat-ida", gatt.KindBloodPressure, "A&D UA-651BLE")
	f.therm = f.device("pat-ida", gatt.KindThermometer, "Beurer FT 95")
	f.oxi = f.device("pat-ida", gatt.KindPulseOximeter, "Nonin 3230")
	f.boTemp = f.device("pat-bo", gatt.KindThermometer, "Beurer FT 95")
	return f
}

func (f *fixture) device(patient string, kind gatt.DeviceKind, model string) Device {
	f.t.Helper()
	d, err := f.s.AddDevice(f.ctx, f.staff, Device{PatientID: patient, Kind: kind, Model: model,
		Address: "00-1C-05-FF-E8-74", IdentifiedBy: ByBluetoothAddress, Label: string(kind)})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) ingest(who Submitter, batch ...ReadingIn) []Result {
	f.t.Helper()
	res, err := f.s.Ingest(f.ctx, who, batch, f.now)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(res) != len(batch) {
		f.t.Fatalf("%d results for %d readings", len(res), len(batch))
	}
	for i, r := range res {
		if r.Index != i {
			f.t.Errorf("result %d has index %d", i, r.Index)
		}
	}
	return res
}

func (f *fixture) readings(patient string) []Reading {
	f.t.Helper()
	rs, err := f.s.ListReadings(f.ctx, f.staff, patient, time.Time{})
	if err != nil {
		f.t.Fatal(err)
	}
	return rs
}

func seq(n int64) *int64 { return &n }

// Characteristic values used by the tests.
const (
	hexBP       = "04780050005D004800"             // 120/80 mmHg, mean 93, pulse 72
	hexBP400    = "00900150005D00"                 // systolic 400 mmHg
	hexTemp3760 = "02B00E00FEEA070B1A0A1E05"       // 37.60 Cel at 2026-11-26T10:30:05
	hexTempNaN  = "00FFFF7F00"                     // NaN
	hexSpO2     = "0061004800"                     // SpO2 97 %, pulse 72
	observed    = "2026-06-01T11:59:00+02:00"      // 09:59 UTC
	observed2   = "2026-06-01T09:59:30.123456789Z" // sub-millisecond
)

func testMigrations(t *testing.T, f *fixture) {
	// Migrating again is a no-op.
	if err := f.s.db.Migrate(f.ctx, "homekit", migrations()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.s.db.QueryRowContext(f.ctx, `SELECT count(*) FROM homekit_schema_migrations`).Scan(&n); err != nil || n != len(migrations()) {
		t.Fatalf("homekit_schema_migrations: %d rows, %v; want %d", n, err, len(migrations()))
	}
}

func testDevices(t *testing.T, f *fixture) {
	kit, err := f.s.ListDevices(f.ctx, Actor{ID: "user-clin", Role: RoleClinician}, "pat-ida")
	if err != nil || len(kit) != 3 {
		t.Fatalf("ListDevices = %d devices, %v; want 3", len(kit), err)
	}
	got, err := f.s.GetDevice(f.ctx, f.bp.ID)
	if err != nil || got.Kind != gatt.KindBloodPressure || got.PatientID != "pat-ida" || !got.CreatedAt.Equal(f.bp.CreatedAt) {
		t.Errorf("GetDevice = %+v, %v", got, err)
	}
	if _, err := f.s.GetDevice(f.ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetDevice(nope) = %v, want ErrNotFound", err)
	}
	for _, bad := range []Device{
		{PatientID: "p", Kind: "toaster", Address: "x", IdentifiedBy: BySerial},
		{PatientID: "p", Kind: gatt.KindScale, Address: "x", IdentifiedBy: "guess"},
		{PatientID: "p", Kind: gatt.KindScale, IdentifiedBy: BySerial},
		{Kind: gatt.KindScale, Address: "x", IdentifiedBy: BySerial},
	} {
		if _, err := f.s.AddDevice(f.ctx, f.staff, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddDevice(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func testStored(t *testing.T, f *fixture) {
	res := f.ingest(f.ida,
		ReadingIn{DeviceID: f.bp.ID, Characteristic: "2A35", Value: hexBP, Seq: seq(1), ObservedAt: observed},
		ReadingIn{DeviceID: f.therm.ID, Characteristic: "00002a1c-0000-1000-8000-00805f9b34fb", Value: hexTemp3760, ObservedAt: observed2},
		ReadingIn{DeviceID: f.therm.ID, Characteristic: "0x2A1C", Value: hexTempNaN, ObservedAt: observed},
	)
	for i, r := range res {
		if r.Status != StatusStored || r.ID == "" {
			t.Fatalf("result %d = %+v, want stored", i, r)
		}
	}
	rs := f.readings("pat-ida")
	if len(rs) != 3 {
		t.Fatalf("%d readings, want 3", len(rs))
	}
	byID := map[string]Reading{}
	for _, r := range rs {
		byID[r.ID] = r
	}
	bp := byID[res[0].ID]
	if bp.Source != SourceDevice || bp.DeviceID != f.bp.ID || bp.DecoderVersion != gatt.DecoderVersion ||
		bp.Characteristic.V != gatt.BloodPressureMeasurement || !bp.Seq.Valid || bp.Seq.V != 1 ||
		string(must(bp.Raw.MarshalText())) != "04780050005d004800" {
		t.Errorf("blood pressure reading = %+v", bp)
	}
	if !bp.ObservedAt.Equal(time.Date(2026, 6, 1, 9, 59, 0, 0, time.UTC)) || !bp.ReceivedAt.Equal(f.now) || bp.DeviceTime != "" {
		t.Errorf("times: observed %v, received %v, device %q", bp.ObservedAt, bp.ReceivedAt, bp.DeviceTime)
	}
	var codes []string
	for _, m := range bp.Measurements {
		codes = append(codes, m.Code+"="+m.Value.V.String()+" "+m.Unit)
	}
	if want := []string{"8480-6=120 mm[Hg]", "8462-4=80 mm[Hg]", "8478-0=93 mm[Hg]", "8867-4=72 /min"}; !equal(codes, want) {
		t.Errorf("measurements %v, want %v", codes, want)
	}
	temp := byID[res[1].ID]
	if len(temp.Measurements) != 1 || temp.Measurements[0].Value.V.String() != "37.60" || temp.DeviceTime != "2026-11-26T10:30:05" {
		t.Errorf("temperature = %+v, want 37.60 at device time 2026-11-26T10:30:05", temp)
	}
	if !temp.ObservedAt.Equal(time.Date(2026, 6, 1, 9, 59, 30, 123e6, time.UTC)) {
		t.Errorf("observedAt %v, want to the millisecond", temp.ObservedAt)
	}
	nan := byID[res[2].ID]
	if m := nan.Measurements[0]; m.Value.Valid || m.Absent != "not-a-number" || m.Implausible {
		t.Errorf("NaN measurement = %+v", m)
	}
}

func testIdempotentSeq(t *testing.T, f *fixture) {
	in := ReadingIn{DeviceID: f.bp.ID, Characteristic: "2A35", Value: hexBP, Seq: seq(7), ObservedAt: observed}
	first := f.ingest(f.ida, in)[0]
	// The edge re-sends with a new observedAt: the seq decides.
	again := in
	again.ObservedAt = "2026-06-01T10:00:00Z"
	res := f.ingest(f.ida, again, again)
	for _, r := range res {
		if r.Status != StatusDuplicate || r.ID != first.ID {
			t.Errorf("re-send = %+v, want duplicate of %s", r, first.ID)
		}
	}
	other := in
	other.Value = hexBP400
	if r := f.ingest(f.ida, other)[0]; r.Status != StatusRejected || r.Reason == "" {
		t.Errorf("seq 7 with other bytes = %+v, want rejected", r)
	}
	// Another characteristic or device with the same seq is another reading.
	if r := f.ingest(f.ida, ReadingIn{DeviceID: f.oxi.ID, Characteristic: "2A5E", Value: hexSpO2, Seq: seq(7), ObservedAt: observed})[0]; r.Status != StatusStored {
		t.Errorf("same seq on another device = %+v, want stored", r)
	}
	if n := len(f.readings("pat-ida")); n != 2 {
		t.Errorf("%d readings stored, want 2", n)
	}
}

// testGlucoseRecords: a glucose meter's stored record is filed under the
// meter's own record number and base time, whatever seq the edge sends.
func testGlucoseRecords(t *testing.T, f *fixture) {
	meter := f.device("pat-ida", gatt.KindGlucoseMeter, "GM-1")
	// Record 1 at 2026-06-01 08:00 and, after a reset, another record 1 at
	// 09:00 (GATT Specification Supplement, Glucose Measurement).
	rec1 := "060100EA070601080000" + "38C011"
	reset1 := "060100EA070601090000" + "3EC011"
	byPage := f.ingest(f.ida, ReadingIn{DeviceID: meter.ID, Characteristic: "2A18", Value: rec1, Seq: seq(1), ObservedAt: observed})[0]
	if byPage.Status != StatusStored {
		t.Fatalf("record 1 = %+v, want stored", byPage)
	}
	key := gatt.GlucoseRecordKey(1, gatt.DateTime{Year: 2026, Month: 6, Day: 1, Hours: 8})
	for _, in := range []ReadingIn{
		// The home gateway forwards the same record with its record key.
		{DeviceID: meter.ID, Characteristic: "2A18", Value: rec1, Seq: &key, ObservedAt: "2026-06-01T09:30:00Z"},
		// An edge with its own numbering, or none.
		{DeviceID: meter.ID, Characteristic: "2A18", Value: rec1, Seq: seq(99), ObservedAt: observed},
		{DeviceID: meter.ID, Characteristic: "2A18", Value: rec1, ObservedAt: "2026-06-01T09:45:00Z"},
	} {
		if r := f.ingest(f.ida, in)[0]; r.Status != StatusDuplicate || r.ID != byPage.ID {
			t.Errorf("record 1 again (seq %v) = %+v, want duplicate of %s", in.Seq, r, byPage.ID)
		}
	}
	if r := f.ingest(f.ida, ReadingIn{DeviceID: meter.ID, Characteristic: "2A18", Value: reset1, Seq: seq(1), ObservedAt: observed})[0]; r.Status != StatusStored {
		t.Errorf("record 1 after a reset = %+v, want stored", r)
	}
	var keys []int64
	for _, r := range f.readings("pat-ida") {
		if r.DeviceID == meter.ID && r.Seq.Valid {
			keys = append(keys, r.Seq.V)
		}
	}
	slices.Sort(keys)
	want := []int64{key, gatt.GlucoseRecordKey(1, gatt.DateTime{Year: 2026, Month: 6, Day: 1, Hours: 9})}
	if !slices.Equal(keys, want) {
		t.Errorf("stored seqs %x, want the record keys %x", keys, want)
	}
}

func testIdempotentRaw(t *testing.T, f *fixture) {
	in := ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: hexTemp3760, ObservedAt: observed}
	first := f.ingest(f.ida, in)[0]
	// The same instant written with another offset is the same key.
	same := in
	same.ObservedAt = "2026-06-01T09:59:00Z"
	if r := f.ingest(f.ida, same)[0]; r.Status != StatusDuplicate || r.ID != first.ID {
		t.Errorf("re-send = %+v, want duplicate of %s", r, first.ID)
	}
	later := in
	later.ObservedAt = "2026-06-01T09:59:01Z"
	if r := f.ingest(f.ida, later)[0]; r.Status != StatusStored {
		t.Errorf("same bytes a second later = %+v, want stored", r)
	}
	if n := len(f.readings("pat-ida")); n != 2 {
		t.Errorf("%d readings stored, want 2", n)
	}
}

func testConcurrentResend(t *testing.T, f *fixture) {
	var batch []ReadingIn
	for i := range 20 {
		batch = append(batch, ReadingIn{DeviceID: f.bp.ID, Characteristic: "2A35", Value: hexBP, Seq: seq(int64(i)), ObservedAt: observed})
		batch = append(batch, ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: hexTemp3760,
			ObservedAt: time.Date(2026, 6, 1, 9, 0, i, 0, time.UTC).Format(time.RFC3339)})
	}
	const senders = 8
	results := make([][]Result, senders)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			res, err := f.s.Ingest(f.ctx, f.ida, batch, f.now)
			if err != nil {
				t.Error(err)
			}
			results[g] = res
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i := range batch {
		stored, id := 0, ""
		for g := range senders {
			r := results[g][i]
			switch {
			case r.Status == StatusStored:
				stored++
			case r.Status != StatusDuplicate:
				t.Errorf("sender %d item %d: %+v", g, i, r)
			}
			if id == "" {
				id = r.ID
			} else if r.ID != id {
				t.Errorf("item %d: ids %s and %s", i, id, r.ID)
			}
		}
		if stored != 1 {
			t.Errorf("item %d stored %d times, want once", i, stored)
		}
	}
	if n := len(f.readings("pat-ida")); n != len(batch) {
		t.Errorf("%d readings stored, want %d", n, len(batch))
	}
}

func testRejections(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		name string
		in   ReadingIn
	}{
		{"unknown device", ReadingIn{DeviceID: "nope", Characteristic: "2A1C", Value: hexTemp3760, ObservedAt: observed}},
		{"another patient's device", ReadingIn{DeviceID: f.boTemp.ID, Characteristic: "2A1C", Value: hexTemp3760, ObservedAt: observed}},
		{"bad hex", ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: "zz", ObservedAt: observed}},
		{"empty value", ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: "", ObservedAt: observed}},
		{"truncated value", ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: "00B00E00", ObservedAt: observed}},
		{"unknown characteristic", ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A99", Value: "00", ObservedAt: observed}},
		{"not a UUID", ReadingIn{DeviceID: f.therm.ID, Characteristic: "temperature", Value: "00", ObservedAt: observed}},
		{"control point", ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A52", Value: "0600010100", ObservedAt: observed}},
		{"wrong device kind", ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A35", Value: hexBP, ObservedAt: observed}},
		{"future observedAt", ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: hexTemp3760, ObservedAt: "2026-06-01T10:06:00Z"}},
		{"bad observedAt", ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: hexTemp3760, ObservedAt: "yesterday"}},
		{"no observedAt", ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: hexTemp3760}},
		{"negative seq", ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: hexTemp3760, Seq: seq(-1), ObservedAt: observed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.ingest(f.ida, tc.in)[0]
			if r.Status != StatusRejected || r.Reason == "" || r.ID != "" {
				t.Errorf("result = %+v, want rejected with a reason", r)
			}
			t.Log(r.Reason)
		})
	}
	// Both device answers are the same, so nothing leaks.
	a := f.ingest(f.ida, ReadingIn{DeviceID: "nope", Characteristic: "2A1C", Value: hexTemp3760, ObservedAt: observed})[0]
	b := f.ingest(f.ida, ReadingIn{DeviceID: f.boTemp.ID, Characteristic: "2A1C", Value: hexTemp3760, ObservedAt: observed})[0]
	if a.Reason != b.Reason {
		t.Errorf("unknown device %q, another patient's %q: want the same", a.Reason, b.Reason)
	}
	if n := len(f.readings("pat-ida")) + len(f.readings("pat-bo")); n != 0 {
		t.Errorf("%d readings stored, want none", n)
	}
	// A batch that is too large is refused whole.
	if _, err := f.s.Ingest(f.ctx, f.ida, make([]ReadingIn, MaxBatch+1), f.now); !errors.Is(err, ErrInvalid) {
		t.Errorf("batch of %d: %v, want ErrInvalid", MaxBatch+1, err)
	}
}

func testImplausible(t *testing.T, f *fixture) {
	r := f.ingest(f.ida, ReadingIn{DeviceID: f.bp.ID, Characteristic: "2A35", Value: hexBP400, ObservedAt: observed})[0]
	if r.Status != StatusStored || !equal(r.Flags, []string{FlagImplausible}) {
		t.Fatalf("systolic 400 = %+v, want stored and flagged", r)
	}
	rs := f.readings("pat-ida")
	if len(rs) != 1 || !equal(rs[0].Flags, []string{FlagImplausible}) {
		t.Fatalf("readings = %+v", rs)
	}
	sys, dia := rs[0].Measurements[0], rs[0].Measurements[1]
	if !sys.Implausible || sys.ImplausibleReason == "" || sys.Value.V.String() != "400" || dia.Implausible {
		t.Errorf("systolic %+v, diastolic %+v", sys, dia)
	}
}

func testManual(t *testing.T, f *fixture) {
	r, err := f.s.AddManual(f.ctx, f.ida, ManualReading{Values: []ManualValue{
		{Code: gatt.LOINCSystolic, Value: "135", Unit: gatt.UnitMmHg},
		{Code: gatt.LOINCDiastolic, Value: "85", Unit: gatt.UnitMmHg},
	}}, f.now)
	if err != nil || r.Status != StatusStored {
		t.Fatalf("AddManual = %+v, %v", r, err)
	}
	if _, err := f.s.AddManual(f.ctx, f.ida, ManualReading{Values: []ManualValue{{Code: gatt.LOINCBodyTemperature, Value: "37.60", Unit: gatt.UnitCelsius}}}, f.now); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []ManualReading{
		{Values: []ManualValue{{Code: gatt.LOINCSystolic, Value: "135", Unit: gatt.UnitMmHg}}},
		{Values: []ManualValue{{Code: "1234-5", Value: "1", Unit: gatt.UnitMmHg}}},
		{Values: []ManualValue{{Code: gatt.LOINCBodyTemperature, Value: "37,6", Unit: gatt.UnitCelsius}}},
		{Values: []ManualValue{{Code: gatt.LOINCBodyTemperature, Value: "37.6", Unit: gatt.UnitMmHg}}},
		{Values: nil},
		{ObservedAt: f.now.Add(time.Hour), Values: []ManualValue{{Code: gatt.LOINCBodyTemperature, Value: "37.6", Unit: gatt.UnitCelsius}}},
	} {
		if _, err := f.s.AddManual(f.ctx, f.ida, bad, f.now); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddManual(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	rs := f.readings("pat-ida")
	if len(rs) != 2 {
		t.Fatalf("%d readings, want 2", len(rs))
	}
	for _, x := range rs {
		if x.Source != SourcePatientEntered || x.DeviceID != "" || x.Raw != nil || x.Characteristic.Valid {
			t.Errorf("manual reading = %+v", x)
		}
	}
	if v := rs[1].Measurements[0].Value.V.String(); v != "37.60" && rs[0].Measurements[0].Value.V.String() != "37.60" {
		t.Errorf("typed 37.60 became %s", v)
	}
}

func testExpected(t *testing.T, f *fixture) {
	if err := f.s.SetExpected(f.ctx, f.staff, "appt-1", "pat-ida", []string{gatt.LOINCBloodPressurePanel, gatt.LOINCSpO2, gatt.LOINCBodyWeight}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetExpected(f.ctx, f.staff, "appt-1", "pat-ida", []string{"nonsense"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetExpected(nonsense) = %v, want ErrInvalid", err)
	}
	if err := f.s.SetExpected(f.ctx, f.staff, "appt-1", "pat-bo", []string{gatt.LOINCSpO2}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetExpected for another patient = %v, want ErrInvalid", err)
	}
	// A reading from before the link opened does not count.
	f.ingest(f.ida, ReadingIn{DeviceID: f.oxi.ID, Characteristic: "2A5E", Value: hexSpO2, ObservedAt: "2026-06-01T08:00:00Z"})
	f.ingest(f.ida, ReadingIn{DeviceID: f.bp.ID, Characteristic: "2A35", Value: hexBP, ObservedAt: observed})
	got, err := f.s.Expected(f.ctx, Actor{ID: "user-clin", Role: RoleClinician}, "appt-1", "pat-ida", time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := []ExpectedMeasurement{{gatt.LOINCBodyWeight, false}, {gatt.LOINCSpO2, false}, {gatt.LOINCBloodPressurePanel, true}}
	if len(got) != len(want) {
		t.Fatalf("Expected = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Expected[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func testGateway(t *testing.T, f *fixture) {
	g, err := f.s.AddGateway(f.ctx, f.staff, Gateway{ID: "gw-1", PatientID: "pat-ida", Label: "living room"})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := f.s.GatewayPatient(f.ctx, g.ID)
	if err != nil || pid != "pat-ida" {
		t.Fatalf("GatewayPatient = %q, %v", pid, err)
	}
	if _, err := f.s.GatewayPatient(f.ctx, "gw-x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GatewayPatient(unknown) = %v, want ErrNotFound", err)
	}
	who := Submitter{PatientID: pid, GatewayID: g.ID, Role: "gateway"}
	if r := f.ingest(who, ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: hexTemp3760, Seq: seq(1), ObservedAt: observed})[0]; r.Status != StatusStored {
		t.Fatalf("gateway reading = %+v", r)
	}
	rs := f.readings("pat-ida")
	if len(rs) != 1 || rs[0].GatewayID != "gw-1" || rs[0].SubmittedBy != "gw-1" {
		t.Errorf("reading = %+v, want from gateway gw-1", rs)
	}
}

func testAudit(t *testing.T, f *fixture) {
	f.ingest(f.ida, ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: hexTemp3760, ObservedAt: observed})
	f.readings("pat-ida")
	if err := f.s.AuditShown(f.ctx, Actor{ID: "user-clin", Role: "clinician"}, EntityLiveVitals, "appt-1", "pat-ida"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.AuditShown(f.ctx, Actor{}, EntityLiveVitals, "appt-1", "pat-ida"); err == nil {
		t.Error("a record without an actor was accepted")
	}
	log, err := readAudit(f.ctx, f.s, "pat-ida")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.ActorID+" "+e.Action+" "+e.Entity)
	}
	want := []string{"user-clin create device", "user-clin create device", "user-clin create device",
		"pat-ida create reading", "user-clin list reading", "user-clin read live-vitals"}
	if !equal(actions, want) {
		t.Errorf("audit = %v, want %v", actions, want)
	}
	if err := exec(f.ctx, f.s, `DELETE FROM audit_log`); err == nil {
		t.Error("deleting from audit_log succeeded; it is append-only")
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
