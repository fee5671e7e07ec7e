package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"vclinic/homekit/gatt"
)

const testToken = "tok-123"

// fakeClinic is the part of the vclinic API kitsim talks to. It checks every
// request as the real server would and records the readings.
type fakeClinic struct {
	t       *testing.T
	devices string // the JSON of the kit
	fail    []int  // statuses to answer the next POSTs with, first first

	mu       sync.Mutex
	posts    int
	readings map[string][]reading // by device id
	onPost   func(n int)          // after each stored batch
}

func (f *fakeClinic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("%s %s: Authorization %q", r.Method, r.URL.Path, got)
		http.Error(w, "sign in", http.StatusUnauthorized)
		return
	}
	switch {
	case r.URL.Path == "/api/v1/patients/p-1/devices":
		if r.Method != http.MethodGet {
			t.Errorf("devices: method %s", r.Method)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(f.devices))
	case r.URL.Path == "/api/v1/readings":
		f.postReadings(w, r)
	default:
		t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	}
}

var wantChar = map[string]uint16{"dev-bp": gatt.BloodPressureMeasurement, "dev-temp": gatt.TemperatureMeasurement}

func (f *fakeClinic) postReadings(w http.ResponseWriter, r *http.Request) {
	t := f.t
	if r.Method != http.MethodPost {
		t.Errorf("readings: method %s", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("readings: Content-Type %q", ct)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts++
	if len(f.fail) > 0 {
		status := f.fail[0]
		f.fail = f.fail[1:]
		http.Error(w, "not now", status)
		return
	}
	// The server's strict decoding: unknown fields are errors.
	var body struct {
		Readings []struct {
			DeviceID       string `json:"deviceId"`
			Characteristic string `json:"characteristic"`
			Value          string `json:"value"`
			Seq            *int64 `json:"seq"`
			ObservedAt     string `json:"observedAt"`
		} `json:"readings"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Errorf("readings body: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	results := make([]map[string]any, len(body.Readings))
	for i, in := range body.Readings {
		results[i] = map[string]any{"index": i, "status": "stored", "id": "r-" + in.DeviceID}
		want, ok := wantChar[in.DeviceID]
		if !ok {
			t.Errorf("reading for device %q, not in the kit or not simulated", in.DeviceID)
			continue
		}
		char, err := gatt.ParseCharacteristic(in.Characteristic)
		if err != nil || char != want {
			t.Errorf("%s: characteristic %q, want %04X", in.DeviceID, in.Characteristic, want)
		}
		if strings.ContainsAny(in.Value, " :") || in.Value != strings.ToLower(in.Value) {
			t.Errorf("%s: value %q: want plain hex", in.DeviceID, in.Value)
		}
		raw, err := hex.DecodeString(in.Value)
		if err != nil {
			t.Errorf("%s: value %q: %v", in.DeviceID, in.Value, err)
		} else if d, err := gatt.Decode(want, raw); err != nil {
			t.Errorf("%s: value %s does not decode: %v", in.DeviceID, in.Value, err)
		} else if len(d.Measurements) == 0 || d.Time.IsZero() {
			t.Errorf("%s: value %s: %d measurements, time %v", in.DeviceID, in.Value, len(d.Measurements), d.Time)
		}
		if _, err := time.Parse(time.RFC3339, in.ObservedAt); err != nil {
			t.Errorf("%s: observedAt %q: %v", in.DeviceID, in.ObservedAt, err)
		}
		if in.Seq == nil || *in.Seq < 0 {
			t.Errorf("%s: seq %v", in.DeviceID, in.Seq)
			continue
		}
		prev := f.readings[in.DeviceID]
		if n := len(prev); n > 0 && *in.Seq <= prev[n-1].Seq {
			t.Errorf("%s: seq %d after %d", in.DeviceID, *in.Seq, prev[n-1].Seq)
		}
		f.readings[in.DeviceID] = append(prev, reading{DeviceID: in.DeviceID, Characteristic: in.Characteristic,
			Value: in.Value, Seq: *in.Seq, ObservedAt: in.ObservedAt})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"results": results})
	if f.onPost != nil {
		f.onPost(f.posts)
	}
}

const twoDevices = `{"devices":[
	{"id":"dev-bp","patientId":"p-1","type":"blood-pressure","model":"BM54","address":"AA:BB","identifiedBy":"address","label":"cuff"},
	{"id":"dev-gl","patientId":"p-1","type":"glucose-meter","model":"G1","address":"CC:DD","identifiedBy":"address","label":""},
	{"id":"dev-temp","patientId":"p-1","type":"thermometer","model":"FT95","address":"EE:FF","identifiedBy":"address","label":""}]}`

func newFake(t *testing.T) (*fakeClinic, *httptest.Server) {
	f := &fakeClinic{t: t, devices: twoDevices, readings: map[string][]reading{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func testOptions(out *bytes.Buffer) options {
	return options{Token: testToken, Patient: "p-1", Interval: time.Millisecond, Count: 3, Seed: 9,
		Out: out, Backoff: time.Millisecond}
}

func TestRunPostsCountReadings(t *testing.T) {
	f, srv := newFake(t)
	f.fail = []int{http.StatusServiceUnavailable} // the first batch is retried
	var out bytes.Buffer
	var log bytes.Buffer
	o := testOptions(&out)
	o.Log = &log
	// A frozen clock: seqs must still increase.
	at := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	o.Now = func() time.Time { return at }
	if err := run(context.Background(), srv.Client(), srv.URL+"/", o); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range wantChar {
		if n := len(f.readings[id]); n != 3 {
			t.Errorf("%s: %d readings, want 3", id, n)
		}
	}
	if len(f.readings) != 2 {
		t.Errorf("readings for %d devices, want 2: %v", len(f.readings), f.readings)
	}
	if f.posts != 4 {
		t.Errorf("%d POSTs, want 4 (one retried)", f.posts)
	}
	if got := f.readings["dev-bp"][0].Seq; got != at.UnixMilli() {
		t.Errorf("first seq %d, want the observation time in ms %d", got, at.UnixMilli())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d result lines, want 6:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, " stored id=r-dev-") {
			t.Errorf("result line %q", l)
		}
	}
	if !strings.Contains(log.String(), "dev-gl") || !strings.Contains(log.String(), "retrying") {
		t.Errorf("log does not name the skipped device and the retry:\n%s", log.String())
	}
}

func TestRunSameSeedSameValues(t *testing.T) {
	values := func() []string {
		f, srv := newFake(t)
		var out bytes.Buffer
		o := testOptions(&out)
		at := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
		o.Now = func() time.Time { return at } // the values carry the time stamp
		if err := run(context.Background(), srv.Client(), srv.URL, o); err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		var vs []string
		for _, r := range append(f.readings["dev-bp"], f.readings["dev-temp"]...) {
			vs = append(vs, r.Value)
		}
		return vs
	}
	a, b := values(), values()
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("seed 9 gave %v, then %v", a, b)
	}
}

func TestRunStopsOnClientError(t *testing.T) {
	f, srv := newFake(t)
	f.fail = []int{http.StatusUnprocessableEntity}
	var out bytes.Buffer
	err := run(context.Background(), srv.Client(), srv.URL, testOptions(&out))
	var he *httpError
	if !errors.As(err, &he) || he.status != http.StatusUnprocessableEntity {
		t.Fatalf("err %v, want a 422", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.posts != 1 {
		t.Errorf("%d POSTs, want 1 (a 4xx is not retried)", f.posts)
	}
}

func TestRunGivesUpOnPersistent5xx(t *testing.T) {
	f, srv := newFake(t)
	f.fail = []int{500, 502, 503, 504, 500, 500}
	var out bytes.Buffer
	o := testOptions(&out)
	o.Retries = 2
	err := run(context.Background(), srv.Client(), srv.URL, o)
	var he *httpError
	if !errors.As(err, &he) || he.status != 503 {
		t.Fatalf("err %v, want the third answer, 503", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.posts != 3 {
		t.Errorf("%d POSTs, want 3", f.posts)
	}
}

func TestRunUntilCancelled(t *testing.T) {
	f, srv := newFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.onPost = func(n int) {
		if n == 5 {
			cancel()
		}
	}
	var out bytes.Buffer
	o := testOptions(&out)
	o.Count = 0
	err := run(ctx, srv.Client(), srv.URL, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.readings["dev-bp"]); n < 5 {
		t.Errorf("%d readings before the cancel, want at least 5", n)
	}
}

func TestRunChecksOptions(t *testing.T) {
	var out bytes.Buffer
	for name, mod := range map[string]func(*options){
		"no patient": func(o *options) { o.Patient = "" },
		"no token":   func(o *options) { o.Token = "" },
		"interval":   func(o *options) { o.Interval = 0 },
		"count":      func(o *options) { o.Count = -1 },
	} {
		o := testOptions(&out)
		mod(&o)
		if err := run(context.Background(), http.DefaultClient, "http://127.0.0.1:1", o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := run(context.Background(), http.DefaultClient, "127.0.0.1:8080", testOptions(&out)); err == nil {
		t.Error("a URL without a scheme: no error")
	}
}

func TestRunNoSimulatedDevice(t *testing.T) {
	f, srv := newFake(t)
	f.devices = `{"devices":[{"id":"dev-gl","type":"glucose-meter"}]}`
	var out bytes.Buffer
	if err := run(context.Background(), srv.Client(), srv.URL, testOptions(&out)); err == nil {
		t.Fatal("no error for a kit without a simulated device")
	}
}
