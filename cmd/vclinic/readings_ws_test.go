package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"vclinic/homekit"
	"vclinic/homekit/gatt"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// sendReadings sends a readings message with id over ws.
func sendReadings(t *testing.T, ws *websocket.Conn, id string, items ...string) {
	t.Helper()
	payload := `{"readings":[` + strings.Join(items, ",") + `]}`
	if err := ws.WriteJSON(signaling.Envelope{Type: signaling.TypeReadings, ID: id, Payload: json.RawMessage(payload)}); err != nil {
		t.Fatal(err)
	}
}

// readReadingsAnswer reads until the readings-result or error that answers
// id, skipping the call's other messages.
func readReadingsAnswer(t *testing.T, ws *websocket.Conn, id string) ([]signaling.ReadingResult, *signaling.Error) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var env signaling.Envelope
		if err := ws.ReadJSON(&env); err != nil {
			t.Fatalf("waiting for the answer to readings %s: %v", id, err)
		}
		switch env.Type {
		case signaling.TypeReadingsResult:
			if env.ID != id {
				t.Fatalf("readings-result for %q, want %q", env.ID, id)
			}
			var r signaling.ReadingsResult
			if err := json.Unmarshal(env.Payload, &r); err != nil {
				t.Fatal(err)
			}
			return r.Results, nil
		case signaling.TypeError:
			var e signaling.Error
			if err := json.Unmarshal(env.Payload, &e); err != nil {
				t.Fatal(err)
			}
			if e.Ref == id {
				return nil, &e
			}
		}
	}
}

// readingsResult reads the readings-result for id and wants exactly one
// result.
func readingsResult(t *testing.T, ws *websocket.Conn, id string) signaling.ReadingResult {
	t.Helper()
	rs, e := readReadingsAnswer(t, ws, id)
	if e != nil {
		t.Fatalf("readings %s refused: %+v", id, *e)
	}
	if len(rs) != 1 || rs[0].Index != 0 {
		t.Fatalf("readings %s: results %+v, want one", id, rs)
	}
	return rs[0]
}

// waitJoined reads until the answer to join.
func waitJoined(t *testing.T, ws *websocket.Conn) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var env signaling.Envelope
		if err := ws.ReadJSON(&env); err != nil {
			t.Fatalf("waiting for joined: %v", err)
		}
		if env.Type == signaling.TypeJoined {
			return
		}
	}
}

func wsItem(device string, seq int, extra string) string {
	return fmt.Sprintf(`{"deviceId":%q,"characteristic":"2A35","value":"04780050005D004800","seq":%d,"observedAt":%q%s}`,
		device, seq, time.Now().UTC().Format(time.RFC3339), extra)
}

// TestReadingsOverTheVisitWebSocket: the patient's page sends a blood
// pressure over its signaling WebSocket during the visit. It is filed in the
// real home-kit store exactly as POST /api/v1/readings files it (stored,
// then duplicate; another patient's device rejected) and reaches the
// clinician in the same visit live.
func TestReadingsOverTheVisitWebSocket(t *testing.T) {
	if signaling.MaxReadings != homekit.MaxBatch {
		t.Fatalf("signaling.MaxReadings = %d, homekit.MaxBatch = %d: one batch limit for both transports",
			signaling.MaxReadings, homekit.MaxBatch)
	}
	a := newAPIClinic(t)
	sched := a.schedulerToken()
	b, err := a.c.store.Book(t.Context(), a.sched.Actor(), scheduler.BookRequest{ClinicianID: a.clin.ID,
		PatientID: a.patA.ID, Start: time.Now().Add(time.Minute).Truncate(time.Minute), Duration: 20 * time.Minute}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	visit := b.Appointment
	addDevice := func(patient string) string {
		t.Helper()
		status, body, _ := a.do("POST", "/api/v1/patients/"+patient+"/devices", sched,
			`{"type":"blood-pressure","model":"UA-651BLE","address":"00:09:1F:AA:BB:CC","identifiedBy":"bluetooth-address","label":"Arm cuff"}`, nil)
		if status != 201 {
			t.Fatalf("add device: %d %s", status, body)
		}
		var dev struct{ ID string }
		_ = json.Unmarshal(body, &dev)
		return dev.ID
	}
	devA, devB := addDevice(a.patA.ID), addDevice(a.patB.ID)

	pat := a.wsJoin(visit.ID, a.patientToken(visit, a.patA.ID))
	clinTok := a.clinicianToken()
	clin := a.wsJoin(visit.ID, clinTok)
	// Both are in the room (the patient in the waiting room) before the
	// clinician admits.
	waitJoined(t, pat)
	waitJoined(t, clin)
	if status, body, _ := a.do("POST", "/api/v1/appointments/"+visit.ID+"/admit", clinTok, "", nil); status != 200 {
		t.Fatalf("admit: %d %s", status, body)
	}

	// The page found the cuff by type and read its Device Information.
	item := wsItem(devA, 1, `,"identifiedBy":"type","deviceInfo":{"manufacturer":"A&D Medical","model":"UA-651BLE"}`)
	sendReadings(t, pat, "r1", item)
	first := readingsResult(t, pat, "r1")
	if first.Status != signaling.ReadingStored || first.ID == "" {
		t.Fatalf("first send: %+v, want stored", first)
	}
	v := waitVitals(t, clin, "8480-6")
	if v.Value != "120" || v.Unit != "mm[Hg]" || v.DeviceID != devA || v.Source != "device" {
		t.Fatalf("systolic vital at the clinician: %+v", v)
	}

	sendReadings(t, pat, "r2", item)
	if again := readingsResult(t, pat, "r2"); again.Status != signaling.ReadingDuplicate || again.ID != first.ID {
		t.Fatalf("second send: %+v, want duplicate of %s", again, first.ID)
	}

	// Patient B's kit device, named from patient A's visit: the same answer as
	// for a device that does not exist.
	sendReadings(t, pat, "r3", wsItem(devB, 2, ""))
	if other := readingsResult(t, pat, "r3"); other.Status != signaling.ReadingRejected || other.Reason != "unknown device" {
		t.Fatalf("another patient's device: %+v, want rejected", other)
	}

	// Not a batch; a clinician's readings: refused by id, and the sessions go on.
	if err := pat.WriteJSON(signaling.Envelope{Type: signaling.TypeReadings, ID: "r4", Payload: json.RawMessage(`{"readings":7}`)}); err != nil {
		t.Fatal(err)
	}
	if _, e := readReadingsAnswer(t, pat, "r4"); e == nil || e.Code != signaling.CodeBadPayload {
		t.Fatalf("not a batch: %+v, want error bad-payload", e)
	}
	sendReadings(t, clin, "c1", wsItem(devA, 3, ""))
	if _, e := readReadingsAnswer(t, clin, "c1"); e == nil || e.Code != signaling.CodeForbidden {
		t.Fatalf("a clinician's readings: %+v, want error forbidden", e)
	}
	sendReadings(t, pat, "r5", wsItem(devA, 4, ""))
	if r := readingsResult(t, pat, "r5"); r.Status != signaling.ReadingStored {
		t.Fatalf("after the refusals: %+v, want stored", r)
	}

	// Filed once each, for patient A, in this visit.
	status, body, _ := a.do("GET", "/api/v1/patients/"+a.patA.ID+"/readings", clinTok, "", nil)
	if status != 200 {
		t.Fatalf("readings: %d %s", status, body)
	}
	var list struct {
		Readings []struct {
			ID, DeviceID, AppointmentID, SubmittedBy, IdentifiedBy string
			DeviceInfo                                             *gatt.DeviceInfo
		}
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Readings) != 2 {
		t.Fatalf("%d readings of patient A, want 2: %s", len(list.Readings), body)
	}
	for _, rd := range list.Readings {
		if rd.DeviceID != devA || rd.AppointmentID != visit.ID || rd.SubmittedBy != a.patA.ID {
			t.Fatalf("reading %+v, want device %s, appointment %s, submitted by %s", rd, devA, visit.ID, a.patA.ID)
		}
		if rd.ID == first.ID && (rd.IdentifiedBy != "type" || rd.DeviceInfo == nil || rd.DeviceInfo.Model != "UA-651BLE") {
			t.Fatalf("first reading identified by %q with %+v, want type and the device information", rd.IdentifiedBy, rd.DeviceInfo)
		}
	}
	// Patient B is another clinician's: no care relation, no readings.
	if status, body, _ := a.do("GET", "/api/v1/patients/"+a.patB.ID+"/readings", clinTok, "", nil); status != 403 ||
		!strings.Contains(string(body), "no care relation") {
		t.Fatalf("patient B's readings: %d %s, want 403", status, body)
	}
}
