package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vclinic/homekit"
	"vclinic/internal/records"
	"vclinic/internal/records/audit"
	"vclinic/internal/records/recordstest"
	"vclinic/scheduler"
)

func TestMain(m *testing.M) { os.Exit(recordstest.Main(m)) }

// upgradeFixture is what testdata/upgrade-a0afb0b holds: a SQLite file and a
// PostgreSQL dump that release a0afb0b wrote through its own stores (two
// stores, two audit tables), and what was in them (expect-*.json).
const upgradeFixture = "testdata/upgrade-a0afb0b"

type fixtureAppt struct {
	ID     string    `json:"id"`
	Status string    `json:"status"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

type fixtureAudit struct {
	At        time.Time `json:"at"`
	ActorID   string    `json:"actorId"`
	ActorRole string    `json:"actorRole"`
	Action    string    `json:"action"`
	Entity    string    `json:"entity"`
	EntityID  string    `json:"entityId"`
	PatientID string    `json:"patientId"`
	Detail    string    `json:"detail"`
}

type fixtureExpect struct {
	Release        string                 `json:"release"`
	Patients       map[string]string      `json:"patients"`
	Appointments   map[string]fixtureAppt `json:"appointments"`
	Devices        map[string]string      `json:"devices"`
	Gateway        string                 `json:"gateway"`
	Readings       []string               `json:"readings"`
	SchedulerAudit []fixtureAudit         `json:"schedulerAudit"`
	HomekitAudit   []fixtureAudit         `json:"homekitAudit"`
	Users          map[string]string      `json:"users"`
	Clinicians     map[string]string      `json:"clinicians"`
	TypeID         string                 `json:"typeId"`
	IdempotencyKey string                 `json:"idempotencyKey"`
}

// TestUpgradeFromRelease opens a database written by the release before the
// clinic had one records package and one audit log, on SQLite and on
// PostgreSQL, with this build: nothing is lost, both former audit tables are
// in the one audit log, and the clinic works on.
func TestUpgradeFromRelease(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) records.Config
	}{
		{"sqlite", func(t *testing.T) records.Config {
			path := filepath.Join(t.TempDir(), "vclinic.db")
			if err := copyFile(filepath.Join(upgradeFixture, "vclinic.db"), path); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o600); err != nil {
				t.Fatal(err)
			}
			return records.Config{SQLitePath: path}
		}},
		{"postgres", func(t *testing.T) records.Config {
			srv := recordstest.Postgres(t)
			dsn := srv.Database(t)
			if err := srv.LoadSQL(context.Background(), dsn, filepath.Join(upgradeFixture, "vclinic.sql")); err != nil {
				t.Fatal(err)
			}
			return records.Config{PostgresURL: dsn}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want fixtureExpect
			b, err := os.ReadFile(filepath.Join(upgradeFixture, "expect-"+tc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			checkUpgrade(t, tc.open(t), want)
		})
	}
}

func checkUpgrade(t *testing.T, rc records.Config, want fixtureExpect) {
	ctx := context.Background()
	db, err := records.Open(ctx, rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	trail, err := audit.New(ctx, db, audit.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Without the key the numbers kept in clear are not encrypted: the
	// store refuses to open, and the records are left as they were.
	if _, err := scheduler.NewStore(ctx, db, trail, scheduler.Config{}, nil); !errors.Is(err, scheduler.ErrNoCPRKey) {
		t.Fatalf("records with CPR numbers in clear opened without a key: %v", err)
	}
	cprKey, err := scheduler.NewCPRKey(make([]byte, scheduler.CPRSecretSize))
	if err != nil {
		t.Fatal(err)
	}
	store, err := scheduler.NewStore(ctx, db, trail, scheduler.Config{CPRKey: cprKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var clear int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM patients WHERE cpr = '0101801234' OR cpr_index IS NULL AND cpr IS NOT NULL`).Scan(&clear); err != nil || clear != 0 {
		t.Errorf("%d CPR numbers left in clear by the migration (%v)", clear, err)
	}
	kit, err := homekit.NewStore(ctx, db, trail, homekit.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The migrations have run, each owner's ledger has them, and the former
	// audit tables are gone.
	for owner, n := range map[string]int{"scheduler": 18, "homekit": 5, "audit": 1} {
		var got int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+owner+`_schema_migrations`).Scan(&got); err != nil || got != n {
			t.Errorf("%s ledger: %d steps (%v), want %d", owner, got, err, n)
		}
	}
	// Every appointment kept before has a status history from what was
	// known: booked when created, and its status as it stands when not
	// booked.
	var bare int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM appointments a WHERE NOT EXISTS (SELECT 1 FROM appointment_history h
		WHERE h.appointment_id = a.id AND h.status = 'booked' AND h.at = a.created_at)
		OR a.status <> 'booked' AND NOT EXISTS (SELECT 1 FROM appointment_history h
		WHERE h.appointment_id = a.id AND h.status = a.status AND h.at = a.updated_at)`).Scan(&bare); err != nil || bare != 0 {
		t.Errorf("%d appointments without their history (%v)", bare, err)
	}
	for _, table := range []string{"audit", "homekit_audit"} {
		if _, err := db.QueryContext(ctx, `SELECT 1 FROM `+table); err == nil {
			t.Errorf("table %s is still there", table)
		}
	}

	// The audit log holds every row of both former tables, as they were,
	// with no address; and only those.
	page, err := trail.Query(ctx, db, audit.Filter{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var got []fixtureAudit
	for _, e := range page.Rows {
		if e.Address != "" {
			t.Errorf("a carried-over row has address %q", e.Address)
		}
		got = append(got, fixtureAudit{At: e.At, ActorID: e.ActorID, ActorRole: e.ActorRole, Action: e.Action,
			Entity: e.Entity, EntityID: e.EntityID, PatientID: e.PatientID, Detail: e.Detail})
	}
	wantAudit := append(slices.Clone(want.SchedulerAudit), want.HomekitAudit...)
	if len(want.SchedulerAudit) == 0 || len(want.HomekitAudit) == 0 {
		t.Fatal("the fixture has no audit rows")
	}
	key := func(a fixtureAudit) string {
		b, _ := json.Marshal(a)
		return string(b)
	}
	gotKeys, wantKeys := make([]string, len(got)), make([]string, len(wantAudit))
	for i := range got {
		gotKeys[i] = key(got[i])
	}
	for i := range wantAudit {
		wantKeys[i] = key(wantAudit[i])
	}
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("audit log after the upgrade:\n%s\nwant the rows of both former tables:\n%s", gotKeys, wantKeys)
	}
	// Newest first across both: the rows interleave by time.
	for i := 1; i < len(page.Rows); i++ {
		if page.Rows[i].At.After(page.Rows[i-1].At) {
			t.Errorf("row %d (%v) is newer than row %d (%v)", i, page.Rows[i].At, i-1, page.Rows[i-1].At)
		}
	}

	// Staff sign in with the passwords they had.
	admin, err := store.Authenticate(ctx, "admin", "fixture password 1", "192.0.2.10")
	if err != nil || admin.ID != want.Users["admin"] {
		t.Fatalf("admin sign-in after the upgrade: %+v, %v", admin, err)
	}
	actor := admin.Actor()
	split := 0
	for name, id := range want.Patients {
		p, err := store.GetPatient(ctx, actor, id)
		if err != nil || p.Name != name {
			t.Errorf("patient %s: %+v, %v", id, p, err)
		}
		// The free-text contact gave the e-mail address or number.
		switch {
		case strings.Contains(p.Contact, "@"):
			if p.Email != p.Contact || p.ContactBy != scheduler.ContactEmail {
				t.Errorf("patient %s: contact %q became %+v", name, p.Contact, p)
			}
			split++
		case scheduler.NormalizePhone(p.Contact) != "":
			if p.Phone != scheduler.NormalizePhone(p.Contact) || p.ContactBy != scheduler.ContactSMS {
				t.Errorf("patient %s: contact %q became %+v", name, p.Contact, p)
			}
			split++
		}
		if name == "Karen Jensen" && p.CPR != "0101801234" {
			t.Errorf("CPR of %s lost", name)
		}
	}
	for label, wa := range want.Appointments {
		a, err := store.GetAppointment(ctx, actor, wa.ID)
		if err != nil || string(a.Status) != wa.Status || !a.Start.Equal(wa.Start) || !a.End.Equal(wa.End) {
			t.Errorf("%s appointment: %+v, %v; want %+v", label, a, err, wa)
		}
	}
	av, err := store.GetAvailability(ctx, want.Clinicians["anna"])
	if err != nil || len(av.Rules) != 5 || len(av.Exceptions) != 1 {
		t.Errorf("availability: %+v, %v", av, err)
	}
	if split == 0 {
		t.Error("no patient of the release had a contact to split: the check above checked nothing")
	}
	// A type of the release keeps its name, as its English name, and its
	// horizon; it expects nothing and is not retired.
	if typ, err := store.GetAppointmentType(ctx, want.TypeID); err != nil || typ.Name == "" || typ.Names.EN != typ.Name ||
		typ.Names.DA != "" || typ.Horizon <= 0 || len(typ.Expected) != 0 || typ.Retired {
		t.Errorf("appointment type: %+v, %v", typ, err)
	}

	devs, err := kit.ListDevices(ctx, homekit.Actor{ID: admin.ID, Role: admin.Role}, want.Patients["Karen Jensen"])
	var devIDs []string
	for _, d := range devs {
		devIDs = append(devIDs, d.ID)
	}
	wantDevs := []string{want.Devices["bp"], want.Devices["thermometer"], want.Devices["glucose"]}
	slices.Sort(devIDs)
	slices.Sort(wantDevs)
	if err != nil || !slices.Equal(devIDs, wantDevs) {
		t.Errorf("devices %v (%v), want %v", devIDs, err, wantDevs)
	}
	if pid, err := kit.GatewayPatient(ctx, want.Gateway); err != nil || pid != want.Patients["Karen Jensen"] {
		t.Errorf("gateway's patient %q, %v", pid, err)
	}
	exp, err := kit.Expected(ctx, homekit.Actor{ID: admin.ID, Role: admin.Role}, want.Appointments["booked"].ID, want.Patients["Karen Jensen"], time.Time{})
	if err != nil || len(exp) != 2 {
		t.Errorf("expected measurements %+v, %v", exp, err)
	}
	readings, err := kit.ListReadings(ctx, homekit.Actor{ID: admin.ID, Role: admin.Role}, want.Patients["Karen Jensen"], time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var withInfo int
	for _, r := range readings {
		ids = append(ids, r.ID)
		if len(r.Measurements) == 0 {
			t.Errorf("reading %s has no measurements", r.ID)
		}
		if r.DeviceInfo != nil && r.DeviceInfo.Manufacturer == "Example" {
			withInfo++
		}
	}
	wantReadings := slices.Clone(want.Readings)
	slices.Sort(ids)
	slices.Sort(wantReadings)
	if !slices.Equal(ids, wantReadings) || withInfo != 1 {
		t.Errorf("readings %v (%d with device info), want %v and 1", ids, withInfo, wantReadings)
	}

	// The clinic works on: a booking, and its audit row carries an address.
	sched, err := store.UserByUsername(ctx, "mette")
	if err != nil {
		t.Fatal(err)
	}
	by := sched.Actor()
	by.Address = "192.0.2.11"
	start := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	b, err := store.Book(ctx, by, scheduler.BookRequest{ClinicianID: want.Clinicians["anna"],
		PatientID: want.Patients["Jens Nielsen"], Duration: 30 * time.Minute, Start: start}, start.Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	p, err := trail.Query(ctx, db, audit.Filter{ActorID: sched.ID, Limit: 1})
	if err != nil || len(p.Rows) != 1 || p.Rows[0].EntityID != b.ID || p.Rows[0].Address != "192.0.2.11" {
		t.Errorf("the new booking's audit row: %+v, %v", p.Rows, err)
	}
	err = db.InTx(ctx, "tamper", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM audit_log`)
		return err
	})
	if err == nil || errors.Is(err, records.ErrBusy) {
		t.Errorf("deleting the carried-over audit rows: %v, want a refusal", err)
	}
}
