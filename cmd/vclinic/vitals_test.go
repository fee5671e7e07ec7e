package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"vclinic/homekit"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// wsJoin connects to room with token and joins; it returns the connection.
func (a *apiClinic) wsJoin(room, token string) *websocket.Conn {
	a.t.Helper()
	url := "ws" + strings.TrimPrefix(a.srv.URL, "http") + "/ws?room=" + room
	ws, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		a.t.Fatalf("dial %s: %v (%d)", room, err, status)
	}
	a.t.Cleanup(func() { ws.Close() })
	payload, _ := json.Marshal(signaling.Join{Version: signaling.ProtocolVersion})
	if err := ws.WriteJSON(signaling.Envelope{Type: signaling.TypeJoin, ID: "1", Payload: payload}); err != nil {
		a.t.Fatal(err)
	}
	return ws
}

// waitVitals reads until a vitals message with code arrives.
func waitVitals(t testing.TB, ws *websocket.Conn, code string) signaling.Vital {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var env signaling.Envelope
		if err := ws.ReadJSON(&env); err != nil {
			t.Fatalf("waiting for vitals %s: %v", code, err)
		}
		if env.Type != signaling.TypeVitals {
			continue
		}
		var vs signaling.Vitals
		if err := json.Unmarshal(env.Payload, &vs); err != nil {
			t.Fatal(err)
		}
		for _, v := range vs.Vitals {
			if v.Code == code {
				return v
			}
		}
	}
}

// TestReadingsReachTheVisitLive: the patient's blood-pressure reading, posted
// as the home kit posts it, reaches the clinician in the visit at once, with
// the device's precision; a reading of another patient's device is refused.
func TestReadingsReachTheVisitLive(t *testing.T) {
	a := newAPIClinic(t)
	sched := a.schedulerToken()
	b, err := a.c.store.Book(context.Background(), a.sched.Actor(), scheduler.BookRequest{ClinicianID: a.clin.ID,
		PatientID: a.patA.ID, Start: time.Now().Add(time.Minute).Truncate(time.Minute), Duration: 20 * time.Minute}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	visit := b.Appointment
	status, body, _ := a.do("POST", "/api/v1/patients/"+a.patA.ID+"/devices", sched,
		`{"type":"blood-pressure","model":"UA-651BLE","address":"00:09:1F:AA:BB:CC","identifiedBy":"bluetooth-address","label":"Arm cuff"}`, nil)
	if status != 201 {
		t.Fatalf("add device: %d %s", status, body)
	}
	var dev struct{ ID string }
	_ = json.Unmarshal(body, &dev)

	patTok := a.patientToken(visit, a.patA.ID)
	pat := a.wsJoin(visit.ID, patTok)
	clin := a.wsJoin(visit.ID, a.clinicianToken())
	_ = pat
	// Admit the patient so that both are in the call.
	if status, body, _ := a.do("POST", "/api/v1/appointments/"+visit.ID+"/admit", a.clinicianToken(), "", nil); status != 200 {
		t.Fatalf("admit: %d %s", status, body)
	}
	reading := `{"readings":[{"deviceId":"` + dev.ID + `","characteristic":"00002a35-0000-1000-8000-00805f9b34fb",` +
		`"value":"04780050005D004800","seq":1,"observedAt":"` + time.Now().UTC().Format(time.RFC3339) + `"}]}`
	sent := time.Now()
	status, body, _ = a.do("POST", "/api/v1/readings", patTok, reading, nil)
	if status != 200 || !strings.Contains(string(body), `"status":"stored"`) {
		t.Fatalf("post reading: %d %s", status, body)
	}
	v := waitVitals(t, clin, "8480-6")
	t.Logf("reading posted to vitals at the clinician: %s", time.Since(sent))
	if v.Value != "120" || v.Unit != "mm[Hg]" || v.DeviceID != dev.ID || v.Source != "device" {
		t.Fatalf("systolic vital %+v", v)
	}
	// A second reading; then the audit log says, once, that the clinician
	// was shown the patient's readings live in this visit.
	status, body, _ = a.do("POST", "/api/v1/readings", patTok, strings.Replace(reading, `"seq":1`, `"seq":3`, 1), nil)
	if status != 200 || !strings.Contains(string(body), `"status":"stored"`) {
		t.Fatalf("post second reading: %d %s", status, body)
	}
	waitVitals(t, clin, "8480-6")
	entries := a.auditLog(a.patA.ID)
	var shown []string
	for _, e := range entries {
		if e.Entity == homekit.EntityLiveVitals {
			shown = append(shown, e.ActorRole+" "+e.Action+" "+e.EntityID)
		}
	}
	if want := []string{"clinician read " + visit.ID}; !slices.Equal(shown, want) {
		t.Fatalf("live-vitals audit entries %q, want %q", shown, want)
	}
	// Patient B's link, two hours before its visit, sends nothing (a link
	// sends readings during its visit; that B's link cannot post to A's
	// devices is the home kit's own test).
	other := a.patientToken(a.apptB, a.patB.ID)
	status, body, _ = a.do("POST", "/api/v1/readings", other, strings.Replace(reading, `"seq":1`, `"seq":2`, 1), nil)
	if status != 403 || !strings.Contains(string(body), "readings are sent during the visit") {
		t.Fatalf("a link before its visit: %d %s", status, body)
	}
	// Nor read A's readings.
	if status, _, _ := a.do("GET", "/api/v1/patients/"+a.patA.ID+"/readings", other, "", nil); status != 404 && status != 403 {
		t.Fatalf("patient B reads A's readings: %d", status)
	}
}

// TestDemoKitMeasuresDuringTheVisit: the demo patient's simulated kit sends
// spec-valid readings while patient and clinician are in the call.
func TestDemoKitMeasuresDuringTheVisit(t *testing.T) {
	a := newAPIClinic(t)
	ctx := context.Background()
	b, err := a.c.store.Book(ctx, a.sched.Actor(), scheduler.BookRequest{ClinicianID: a.clin.ID,
		PatientID: a.patA.ID, Start: time.Now().Add(time.Minute).Truncate(time.Minute), Duration: 20 * time.Minute}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := demoKit(ctx, a.c.kit, a.sched, a.patA.ID); err != nil {
		t.Fatal(err)
	}
	a.wsJoin(b.ID, a.patientToken(b.Appointment, a.patA.ID))
	clin := a.wsJoin(b.ID, a.clinicianToken())
	if status, body, _ := a.do("POST", "/api/v1/appointments/"+b.ID+"/admit", a.clinicianToken(), "", nil); status != 200 {
		t.Fatalf("admit: %d %s", status, body)
	}
	kitCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.c.runDemoKit(kitCtx, b.Appointment, 20*time.Millisecond)
	}()
	defer func() {
		stop()
		<-done
	}()
	for _, code := range []string{"8480-6", "59408-5", "8310-5"} {
		v := waitVitals(t, clin, code)
		if v.Value == "" || v.Flag != "" || v.Source != "device" {
			t.Fatalf("simulated %s: %+v", code, v)
		}
	}
}

// BenchmarkLiveVitals measures the live path: a reading posted to
// /api/v1/readings (HTTP, decode, SQLite transaction, audit) until the
// clinician's WebSocket has the vitals message, in-process on loopback.
func BenchmarkLiveVitals(b *testing.B) {
	a := newAPIClinic(b)
	ctx := context.Background()
	bk, err := a.c.store.Book(ctx, a.sched.Actor(), scheduler.BookRequest{ClinicianID: a.clin.ID,
		PatientID: a.patA.ID, Start: time.Now().Add(time.Minute).Truncate(time.Minute), Duration: 20 * time.Minute}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	_, body, _ := a.do("POST", "/api/v1/patients/"+a.patA.ID+"/devices", a.schedulerToken(),
		`{"type":"blood-pressure","model":"UA-651BLE","address":"00:09:1F:AA:BB:CC","identifiedBy":"bluetooth-address","label":"Arm cuff"}`, nil)
	var dev struct{ ID string }
	_ = json.Unmarshal(body, &dev)
	patTok := a.patientToken(bk.Appointment, a.patA.ID)
	a.wsJoin(bk.ID, patTok)
	clin := a.wsJoin(bk.ID, a.clinicianToken())
	a.do("POST", "/api/v1/appointments/"+bk.ID+"/admit", a.clinicianToken(), "", nil)
	waitVitals := func() {
		_ = clin.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			var env signaling.Envelope
			if err := clin.ReadJSON(&env); err != nil {
				b.Fatal(err)
			}
			if env.Type == signaling.TypeVitals {
				return
			}
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		reading := fmt.Sprintf(`{"readings":[{"deviceId":%q,"characteristic":"2A35","value":"04780050005D004800","seq":%d,"observedAt":%q}]}`,
			dev.ID, i+1, time.Now().UTC().Format(time.RFC3339Nano))
		start := time.Now()
		if status, body, _ := a.do("POST", "/api/v1/readings", patTok, reading, nil); status != 200 {
			b.Fatalf("post: %d %s", status, body)
		}
		waitVitals()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
