package homekit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
)

// hexSpO2ClockNotSet is a PLX spot-check, SpO2 97 % and pulse 72, whose
// device says its clock is not set.
const hexSpO2ClockNotSet = "116100480000000101000000"

// TestCounters: every item the readings paths answer is counted once, by
// source and status, whether it came by HTTP or through SubmitReadings (the
// WebSocket); stored readings count their flags; a batch refused whole
// counts nothing.
func TestCounters(t *testing.T) {
	s := sqliteStore(t)
	f := newFixture(t, s)
	api, err := NewAPI(APIConfig{Now: func() time.Time { return f.now }}, s, AuthenticatorFunc(testAuth), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	api.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	af := &apiFixture{fixture: f, srv: srv}
	if got := api.Counters(); got != (Counters{}) {
		t.Fatalf("new API counters %+v, want zero", got)
	}

	// HTTP: stored, rejected (not a reading), duplicate, stored and
	// implausible, rejected (another patient's device).
	body := batchJSON(
		item(f.bp.ID, "2A35", hexBP, 1, observed),
		`5`,
		item(f.bp.ID, "2A35", hexBP, 1, observed),
		item(f.bp.ID, "2A35", hexBP400, 2, observed),
		item(f.boTemp.ID, "2A1C", hexTemp3760, 1, observed),
	)
	if code, v := af.do("POST", "/api/v1/readings", "patient:pat-ida", body); code != http.StatusOK {
		t.Fatalf("POST readings = %d %v", code, v)
	}
	// Batches refused whole count nothing.
	if code, v := af.do("POST", "/api/v1/readings", "patient:pat-ida", `{"readings": 5}`); code != http.StatusBadRequest {
		t.Fatalf("POST a non-batch = %d %v, want 400", code, v)
	}
	if code, v := af.do("POST", "/api/v1/readings", "gateway:gw-unknown", body); code != http.StatusNotFound {
		t.Fatalf("POST from an unregistered gateway = %d %v, want 404", code, v)
	}

	// The WebSocket's path: a stored reading whose device clock is not set,
	// and a duplicate.
	ctx := context.Background()
	ida := Principal{ID: "pat-ida", Role: RolePatient}
	ws := []json.RawMessage{
		json.RawMessage(item(f.oxi.ID, "2A5E", hexSpO2ClockNotSet, 1, observed)),
		json.RawMessage(item(f.bp.ID, "2A35", hexBP, 1, observed)),
	}
	rs, err := api.SubmitReadings(ctx, ida, ws)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != StatusStored || len(rs[0].Flags) != 1 || rs[0].Flags[0] != FlagDeviceClockNotSet || rs[1].Status != StatusDuplicate {
		t.Fatalf("SubmitReadings results %+v, want stored with %s, then duplicate", rs, FlagDeviceClockNotSet)
	}
	if _, err := api.SubmitReadings(ctx, Principal{ID: "u1", Role: RoleClinician}, ws); !errors.Is(err, ErrForbidden) {
		t.Fatalf("SubmitReadings by a clinician: %v, want ErrForbidden", err)
	}

	// Patient-entered: stored, stored and implausible (above 45 Cel),
	// rejected by the store (systolic alone), rejected as not JSON.
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"values": [{"code": "8310-5", "value": "37.2", "unit": "Cel"}]}`, http.StatusCreated},
		{`{"values": [{"code": "8310-5", "value": "45.5", "unit": "Cel"}]}`, http.StatusCreated},
		{`{"values": [{"code": "8480-6", "value": "135", "unit": "mm[Hg]"}]}`, http.StatusUnprocessableEntity},
		{`not json`, http.StatusBadRequest},
	} {
		if code, v := af.do("POST", "/api/v1/readings/manual", "patient:pat-ida", tc.body); code != tc.want {
			t.Fatalf("manual %s = %d %v, want %d", tc.body, code, v, tc.want)
		}
	}
	// A clinician may not enter readings for a patient: not counted.
	if code, v := af.do("POST", "/api/v1/readings/manual", "clinician:u1", `{"values": []}`); code != http.StatusForbidden {
		t.Fatalf("manual by a clinician = %d %v, want 403", code, v)
	}

	want := Counters{
		DeviceStored: 3, DeviceDuplicate: 2, DeviceRejected: 2,
		PatientEnteredStored: 2, PatientEnteredRejected: 2,
		FlaggedImplausible: 2, FlaggedDeviceClockNotSet: 1,
		BatchesHTTP: 1, BatchesWebSocket: 1,
	}
	if got := api.Counters(); got != want {
		t.Errorf("counters\n got %+v\nwant %+v", got, want)
	}
}
