package homekit

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"vclinic/homekit/gatt"
	"vclinic/internal/records"
	"vclinic/internal/records/recordstest"
)

// A blood pressure monitor's System ID as the edge reads it from 0x2A23
// (least significant octet first), and the same EUI-64 as printed.
const (
	sysIDReceived = "0074E8FEFF051C00"
	sysIDPrinted  = "00-1C-05-FF-FE-E8-74-00"
)

func TestCheckIdentity(t *testing.T) {
	bySysID := Device{ID: "d1", Kind: gatt.KindBloodPressure, IdentifiedBy: BySystemID, Address: sysIDReceived}
	byPrinted := Device{ID: "d2", Kind: gatt.KindBloodPressure, IdentifiedBy: BySystemID, Address: sysIDPrinted}
	bySerial := Device{ID: "d3", Kind: gatt.KindScale, IdentifiedBy: BySerial, Address: "SN-4711"}
	byAddr := Device{ID: "d4", Kind: gatt.KindThermometer, IdentifiedBy: ByBluetoothAddress, Address: "00-1C-05-FF-E8-74"}
	byWeb := Device{ID: "d5", Kind: gatt.KindHeartRate, IdentifiedBy: ByWebBluetoothID, Address: "aBcD1234=="}
	long := strings.Repeat("x", gatt.MaxDeviceInfoLen+1)
	for _, tc := range []struct {
		name   string
		by     IdentifiedBy
		info   *gatt.DeviceInfo
		dev    Device
		reason string // "" when accepted; else a part of the reason
		want   *gatt.DeviceInfo
	}{
		{"nothing said", "", nil, bySysID, "", nil},
		{"type only", ByDeviceType, nil, bySysID, "", nil},
		{"empty device info", ByDeviceType, &gatt.DeviceInfo{}, byAddr, "", nil},
		{"every identifier", BySystemID, &gatt.DeviceInfo{SystemID: sysIDReceived, Manufacturer: "A&D Medical", Model: "UA-651BLE",
			Serial: "5140300123", Firmware: "1.2.0", WebBluetoothID: "aBcD1234=="}, bySysID, "",
			&gatt.DeviceInfo{SystemID: sysIDReceived, Manufacturer: "A&D Medical", Model: "UA-651BLE", Serial: "5140300123",
				Firmware: "1.2.0", WebBluetoothID: "aBcD1234=="}},
		{"system id in lower case", BySystemID, &gatt.DeviceInfo{SystemID: strings.ToLower(sysIDReceived)}, bySysID, "",
			&gatt.DeviceInfo{SystemID: sysIDReceived}},
		{"kit writes the EUI-64 as printed", BySystemID, &gatt.DeviceInfo{SystemID: sysIDReceived}, byPrinted, "",
			&gatt.DeviceInfo{SystemID: sysIDReceived}},
		{"Danish manufacturer", ByDeviceType, &gatt.DeviceInfo{Manufacturer: "Sundhedsudstyr Ærø ApS"}, byAddr, "",
			&gatt.DeviceInfo{Manufacturer: "Sundhedsudstyr Ærø ApS"}},
		{"64 characters", ByDeviceType, &gatt.DeviceInfo{Model: long[1:]}, byAddr, "", &gatt.DeviceInfo{Model: long[1:]}},
		{"serial matches the kit's, case aside", BySerial, &gatt.DeviceInfo{Serial: "sn-4711"}, bySerial, "", &gatt.DeviceInfo{Serial: "sn-4711"}},
		{"web bluetooth id", ByWebBluetoothID, &gatt.DeviceInfo{WebBluetoothID: "other-browser=="}, byWeb, "",
			&gatt.DeviceInfo{WebBluetoothID: "other-browser=="}},
		{"system id on a kit device by address", ByDeviceType, &gatt.DeviceInfo{SystemID: sysIDReceived}, byAddr, "",
			&gatt.DeviceInfo{SystemID: sysIDReceived}},

		{"unknown identifiedBy", "guess", nil, bySysID, `identifiedBy "guess"`, nil},
		{"identifiedBy in capitals", "SYSTEM-ID", &gatt.DeviceInfo{SystemID: sysIDReceived}, bySysID, "identifiedBy", nil},
		{"wrong System ID", BySystemID, &gatt.DeviceInfo{SystemID: "1122334455667788"}, bySysID,
			"this device's System ID 1122334455667788 is not the kit's " + sysIDReceived, nil},
		{"wrong System ID, matched by type", ByDeviceType, &gatt.DeviceInfo{SystemID: "1122334455667788"}, byPrinted,
			"is not the kit's", nil},
		{"wrong serial", ByDeviceType, &gatt.DeviceInfo{Serial: "SN-0815"}, bySerial, `serial number "SN-0815" is not the kit's "SN-4711"`, nil},
		{"system-id without the System ID", BySystemID, &gatt.DeviceInfo{Model: "UA-651BLE"}, bySysID, "deviceInfo.systemId is missing", nil},
		{"serial without the serial", BySerial, nil, bySerial, "deviceInfo.serial is missing", nil},
		{"web-bluetooth-id without the id", ByWebBluetoothID, &gatt.DeviceInfo{}, byWeb, "deviceInfo.webBluetoothId is missing", nil},
		{"system id too short", ByDeviceType, &gatt.DeviceInfo{SystemID: "0074E8FEFF051C"}, byAddr, "16 hex digits", nil},
		{"system id not hex", ByDeviceType, &gatt.DeviceInfo{SystemID: "0074E8FEFF051CZZ"}, byAddr, "16 hex digits", nil},
		{"system id with colons", ByDeviceType, &gatt.DeviceInfo{SystemID: "00:74:E8:FE:FF:05:1C:00"}, byAddr, "deviceInfo.systemId", nil},
		{"model too long", ByDeviceType, &gatt.DeviceInfo{Model: long}, byAddr, "deviceInfo.model: longer than 64", nil},
		{"firmware with a NUL", ByDeviceType, &gatt.DeviceInfo{Firmware: "1.2\x00"}, byAddr, "deviceInfo.firmware: holds a character", nil},
		{"serial with a newline", ByDeviceType, &gatt.DeviceInfo{Serial: "SN\n1"}, byAddr, "deviceInfo.serial", nil},
		{"manufacturer not UTF-8", ByDeviceType, &gatt.DeviceInfo{Manufacturer: "\xff"}, byAddr, "deviceInfo.manufacturer: not UTF-8", nil},
		{"web bluetooth id too long", ByDeviceType, &gatt.DeviceInfo{WebBluetoothID: long}, byAddr, "deviceInfo.webBluetoothId", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := checkIdentity(tc.by, tc.info, tc.dev)
			if tc.reason == "" {
				if reason != "" {
					t.Fatalf("rejected: %s", reason)
				}
				if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
					t.Fatalf("device info %+v, want %+v", got, tc.want)
				}
				return
			}
			if !strings.Contains(reason, tc.reason) {
				t.Fatalf("reason %q, want it to say %q", reason, tc.reason)
			}
		})
	}
}

// testIdentity: how the edge identified the device is stored with the
// reading and read back; a reading from a device with another System ID is
// not stored.
func testIdentity(t *testing.T, f *fixture) {
	kitBP, err := f.s.AddDevice(f.ctx, f.staff, Device{PatientID: "pat-ida", Kind: gatt.KindBloodPressure, Model: "UA-651BLE",
		Address: sysIDPrinted, IdentifiedBy: BySystemID, Label: "arm cuff"})
	if err != nil {
		t.Fatal(err)
	}
	info := &gatt.DeviceInfo{SystemID: strings.ToLower(sysIDReceived), Manufacturer: "A&D Medical", Model: "UA-651BLE",
		Firmware: "1.2.0", WebBluetoothID: "aBcD1234=="}
	res := f.ingest(f.ida,
		ReadingIn{DeviceID: kitBP.ID, Characteristic: "2A35", Value: hexBP, Seq: seq(1), ObservedAt: observed,
			IdentifiedBy: BySystemID, DeviceInfo: info},
		ReadingIn{DeviceID: kitBP.ID, Characteristic: "2A35", Value: hexBP, Seq: seq(2), ObservedAt: observed,
			IdentifiedBy: ByDeviceType, DeviceInfo: &gatt.DeviceInfo{SystemID: "1122334455667788"}},
		ReadingIn{DeviceID: f.therm.ID, Characteristic: "2A1C", Value: hexTemp3760, ObservedAt: observed,
			IdentifiedBy: ByDeviceType},
		ReadingIn{DeviceID: f.bp.ID, Characteristic: "2A35", Value: hexBP, Seq: seq(3), ObservedAt: observed},
	)
	if res[0].Status != StatusStored || res[2].Status != StatusStored || res[3].Status != StatusStored {
		t.Fatalf("results %+v, want 0, 2 and 3 stored", res)
	}
	if r := res[1]; r.Status != StatusRejected || !strings.Contains(r.Reason, "System ID 1122334455667788 is not the kit's") {
		t.Fatalf("another device's System ID: %+v, want rejected", r)
	}
	byID := map[string]Reading{}
	for _, r := range f.readings("pat-ida") {
		byID[r.ID] = r
	}
	if len(byID) != 3 {
		t.Fatalf("%d readings stored, want 3", len(byID))
	}
	want := *info
	want.SystemID = sysIDReceived
	if r := byID[res[0].ID]; r.IdentifiedBy != BySystemID || r.DeviceInfo == nil || *r.DeviceInfo != want {
		t.Errorf("identified by %q, device info %+v; want system-id, %+v", r.IdentifiedBy, r.DeviceInfo, want)
	}
	if r := byID[res[2].ID]; r.IdentifiedBy != ByDeviceType || r.DeviceInfo != nil {
		t.Errorf("identified by %q, device info %+v; want type and none", r.IdentifiedBy, r.DeviceInfo)
	}
	if r := byID[res[3].ID]; r.IdentifiedBy != "" || r.DeviceInfo != nil {
		t.Errorf("identified by %q, device info %+v; want nothing said", r.IdentifiedBy, r.DeviceInfo)
	}
	// A re-send with other device information is the same reading: the
	// first account of it stays.
	again := f.ingest(f.ida, ReadingIn{DeviceID: kitBP.ID, Characteristic: "2A35", Value: hexBP, Seq: seq(1), ObservedAt: observed,
		IdentifiedBy: ByDeviceType})
	if again[0].Status != StatusDuplicate || again[0].ID != res[0].ID {
		t.Fatalf("re-send: %+v, want duplicate of %s", again[0], res[0].ID)
	}
	for _, r := range f.readings("pat-ida") {
		if r.ID == res[0].ID && r.IdentifiedBy != BySystemID {
			t.Errorf("re-send changed identifiedBy to %q", r.IdentifiedBy)
		}
	}
	// The column refuses what the API would not let through.
	err = exec(f.ctx, f.s, `UPDATE homekit_readings SET identified_by = 'guess' WHERE id = $1`, res[0].ID)
	if err == nil {
		t.Error("identified_by took 'guess'")
	}
}

// TestAPIReadingIdentity: over HTTP, a reading from a device whose System
// ID is not the kit's is rejected; the kit's is stored, and the readings
// list shows how it was identified. Unknown device information is refused.
func TestAPIReadingIdentity(t *testing.T) {
	f := newAPIFixture(t)
	dev, err := f.s.AddDevice(f.ctx, f.staff, Device{PatientID: "pat-ida", Kind: gatt.KindBloodPressure, Model: "UA-651BLE",
		Address: sysIDReceived, IdentifiedBy: BySystemID, Label: "arm cuff"})
	if err != nil {
		t.Fatal(err)
	}
	withInfo := func(seq int, by, info string) string {
		it := strings.TrimSuffix(item(dev.ID, "2A35", hexBP, seq, observed), "}")
		return it + `,"identifiedBy":"` + by + `","deviceInfo":` + info + `}`
	}
	body := batchJSON(
		withInfo(1, "system-id", `{"systemId":"1122334455667788","model":"UA-651BLE"}`),
		withInfo(2, "system-id", `{"systemId":"`+sysIDReceived+`","model":"UA-651BLE","firmware":"1.2.0"}`),
		withInfo(3, "type", `{"colour":"red"}`),
		withInfo(4, "bluetooth", `{}`),
	)
	code, v := f.do("POST", "/api/v1/readings", "patient:pat-ida", body)
	if code != http.StatusOK {
		t.Fatalf("POST readings = %d %v", code, v)
	}
	results := v["results"].([]any)
	want := []string{StatusRejected, StatusStored, StatusRejected, StatusRejected}
	for i, x := range results {
		r := x.(map[string]any)
		if r["status"] != want[i] {
			t.Errorf("result %d = %v, want %s", i, r, want[i])
		}
	}
	if r := results[0].(map[string]any); !strings.Contains(r["reason"].(string), "System ID 1122334455667788 is not the kit's "+sysIDReceived) {
		t.Errorf("wrong System ID: reason %q", r["reason"])
	}
	if r := results[2].(map[string]any); !strings.Contains(r["reason"].(string), "colour") {
		t.Errorf("unknown device information: reason %q", r["reason"])
	}
	code, v = f.do("GET", "/api/v1/patients/pat-ida/readings", "clinician:u1", "")
	if code != http.StatusOK {
		t.Fatalf("GET readings = %d %v", code, v)
	}
	rs := v["readings"].([]any)
	if len(rs) != 1 {
		t.Fatalf("%d readings, want the one with the kit's System ID: %v", len(rs), rs)
	}
	r := rs[0].(map[string]any)
	gotInfo, _ := json.Marshal(r["deviceInfo"])
	if r["id"] != results[1].(map[string]any)["id"] || r["identifiedBy"] != "system-id" ||
		string(gotInfo) != `{"firmware":"1.2.0","model":"UA-651BLE","systemId":"`+sysIDReceived+`"}` {
		t.Errorf("reading %v, want identifiedBy system-id and the device info", r)
	}
}

// TestMigrateReadingsOfVersion1: a database that holds readings (and audit
// rows) from before migration 2 takes the later ones; those readings read
// back with nothing said of how their device was identified, and the audit
// rows move to the clinic's audit log.
func TestMigrateReadingsOfVersion1(t *testing.T) {
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			rc := b.Config(t, records.Config{})
			db, err := records.Open(ctx, rc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(ctx, "homekit", migrations()[:1]); err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 6, 1, 9, 59, 0, 0, time.UTC)
			ts := db.Dialect().TS(at)
			err = db.InTx(ctx, "write as release 1 did", func(tx *sql.Tx) error {
				for _, q := range []struct {
					sql  string
					args []any
				}{
					{`INSERT INTO homekit_devices (id, patient_id, type, model, address, identified_by, label, created_at)
					VALUES ('dev-1', 'pat-ida', 'blood-pressure', 'UA-651BLE', $1, 'system-id', 'arm cuff', $2)`, []any{sysIDReceived, ts}},
					{`INSERT INTO homekit_readings (id, patient_id, source, device_id, submitted_by, characteristic, raw, decoder_version,
					seq, observed_at, received_at, flags) VALUES ('rd-1', 'pat-ida', 'device', 'dev-1', 'pat-ida', $1, $2, $3, 1, $4, $4, '')`,
						[]any{int64(gatt.BloodPressureMeasurement), must(hex.DecodeString(hexBP)), gatt.DecoderVersion, ts}},
					{`INSERT INTO homekit_measurements (reading_id, idx, code, mdc, value, unit, absent, implausible, implausible_reason)
					VALUES ('rd-1', 0, '8480-6', 0, '120', 'mm[Hg]', '', false, '')`, nil},
					{`INSERT INTO homekit_audit (at, actor_id, actor_role, action, entity, entity_id, patient_id, detail)
					VALUES ($1, 'pat-ida', 'patient', 'create', 'reading', 'rd-1', 'pat-ida', '1 reading')`, []any{ts}},
				} {
					if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			db.Close()

			s := openTestStore(t, rc, Config{})
			rs, err := s.ListReadings(ctx, Actor{ID: "user-clin", Role: "clinician"}, "pat-ida", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 || rs[0].ID != "rd-1" || rs[0].IdentifiedBy != "" || rs[0].DeviceInfo != nil {
				t.Fatalf("readings after migrating: %+v", rs)
			}
			res, err := s.Ingest(ctx, Submitter{PatientID: "pat-ida", Role: "patient"}, []ReadingIn{{DeviceID: "dev-1",
				Characteristic: "2A35", Value: hexBP, Seq: seq(2), ObservedAt: observed,
				IdentifiedBy: BySystemID, DeviceInfo: &gatt.DeviceInfo{SystemID: sysIDReceived}}}, at.Add(time.Minute))
			if err != nil || res[0].Status != StatusStored {
				t.Fatalf("a reading after migrating: %+v, %v", res, err)
			}
			log, err := readAudit(ctx, s, "pat-ida")
			if err != nil {
				t.Fatal(err)
			}
			if len(log) < 1 || log[0].Detail != "1 reading" || !log[0].At.Equal(at) || log[0].Address != "" {
				t.Errorf("the audit row of release 1 is not carried over: %+v", log)
			}
		})
	}
}
