package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"vclinic/scheduler"
	"vclinic/signaling"
)

// TestMetricsHomeKit: readings posted by HTTP, sent over the visit's
// WebSocket and typed by the patient show in /metrics by source, status,
// flag and transport, with the live pushes to the visit; no label names a
// patient or a device.
func TestMetricsHomeKit(t *testing.T) {
	a := newAPIClinic(t)
	sched := a.schedulerToken()
	b, err := a.c.store.Book(t.Context(), a.sched.Actor(), scheduler.BookRequest{ClinicianID: a.clin.ID,
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
	now := time.Now().UTC().Format(time.RFC3339)
	bp := func(seq int, value string) string {
		return fmt.Sprintf(`{"deviceId":%q,"characteristic":"2A35","value":%q,"seq":%d,"observedAt":%q}`, dev.ID, value, seq, now)
	}

	// Before the visit, by HTTP: stored, duplicate, rejected. The patient is
	// in no visit, so nothing is pushed.
	status, body, _ = a.do("POST", "/api/v1/readings", patTok,
		`{"readings":[`+bp(1, "04780050005D004800")+`,`+bp(1, "04780050005D004800")+`,{"deviceId":"nope"}]}`, nil)
	if status != 200 {
		t.Fatalf("post readings: %d %s", status, body)
	}

	// In the visit, over the WebSocket: systolic 400, stored and flagged,
	// pushed to the one visit.
	pat := a.wsJoin(visit.ID, patTok)
	clinTok := a.clinicianToken()
	clin := a.wsJoin(visit.ID, clinTok)
	waitJoined(t, pat)
	waitJoined(t, clin)
	if status, body, _ := a.do("POST", "/api/v1/appointments/"+visit.ID+"/admit", clinTok, "", nil); status != 200 {
		t.Fatalf("admit: %d %s", status, body)
	}
	sendReadings(t, pat, "r1", bp(2, "00900150005D00"))
	if r := readingsResult(t, pat, "r1"); r.Status != signaling.ReadingStored || len(r.Flags) == 0 {
		t.Fatalf("systolic 400 over the WebSocket: %+v, want stored and flagged", r)
	}

	// Typed by the patient: stored (and pushed), and a systolic alone, refused.
	if status, body, _ := a.do("POST", "/api/v1/readings/manual", patTok,
		`{"values":[{"code":"8310-5","value":"37.2","unit":"Cel"}]}`, nil); status != 201 {
		t.Fatalf("manual: %d %s", status, body)
	}
	if status, body, _ := a.do("POST", "/api/v1/readings/manual", patTok,
		`{"values":[{"code":"8480-6","value":"135","unit":"mm[Hg]"}]}`, nil); status != 422 {
		t.Fatalf("manual systolic alone: %d %s, want 422", status, body)
	}

	status, body, ctype := a.do("GET", "/metrics", "", "", nil)
	if status != 200 || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("GET /metrics: %d %s", status, ctype)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(body), "\n") {
		lines[l] = true
	}
	for _, want := range []string{
		`vclinic_readings_total{source="device",status="stored"} 2`,
		`vclinic_readings_total{source="device",status="duplicate"} 1`,
		`vclinic_readings_total{source="device",status="rejected"} 1`,
		`vclinic_readings_total{source="patient-entered",status="stored"} 1`,
		`vclinic_readings_total{source="patient-entered",status="rejected"} 1`,
		`vclinic_readings_flagged_total{flag="implausible"} 1`,
		`vclinic_readings_flagged_total{flag="device-clock-not-set"} 0`,
		`vclinic_readings_batches_total{transport="http"} 1`,
		`vclinic_readings_batches_total{transport="websocket"} 1`,
		`vclinic_live_vitals_pushes_total 2`,
		`# TYPE vclinic_readings_total counter`,
		`# TYPE vclinic_live_vitals_pushes_total counter`,
		// No media in this clinic: the downlink caps are there, at zero.
		`vclinic_rembs_sent_total 0`,
		`vclinic_downlink_limited_tracks 0`,
	} {
		if !lines[want] {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, id := range []string{a.patA.ID, dev.ID, visit.ID} {
		if strings.Contains(string(body), id) {
			t.Errorf("/metrics names %q", id)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLines(string(body), "vclinic_readings", "vclinic_live"))
	}
}

// grepLines returns the lines of s that start with one of prefixes.
func grepLines(s string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
