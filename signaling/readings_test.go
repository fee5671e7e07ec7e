package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// testSink is a readings sink standing in for package homekit, which is tested
// end to end in cmd/vclinic: it knows one device, "bp-1", stores each (device,
// seq) once and shows what it stores live, as homekit's feed does.
type testSink struct {
	srv *Server // set before anyone connects

	mu    sync.Mutex // guards the following
	seen  map[string]string
	calls []string // "<subject>/<appointment>:<items>"
	fail  error    // returned once by the next call
}

func newTestSink() *testSink { return &testSink{seen: map[string]string{}} }

func (k *testSink) SubmitReadings(_ context.Context, by *Claims, items []json.RawMessage) ([]ReadingResult, error) {
	k.mu.Lock()
	k.calls = append(k.calls, fmt.Sprintf("%s/%s:%d", by.Subject, by.Appt, len(items)))
	if err := k.fail; err != nil {
		k.fail = nil
		k.mu.Unlock()
		return nil, err
	}
	out := make([]ReadingResult, len(items))
	var vs []Vital
	for i, raw := range items {
		var in struct {
			DeviceID string `json:"deviceId"`
			Seq      int64  `json:"seq"`
		}
		switch err := json.Unmarshal(raw, &in); {
		case err != nil:
			out[i] = ReadingResult{Index: i, Status: ReadingRejected, Reason: "not a reading"}
			continue
		case in.DeviceID != "bp-1":
			out[i] = ReadingResult{Index: i, Status: ReadingRejected, Reason: "unknown device"}
			continue
		}
		key := fmt.Sprint(in.DeviceID, "/", in.Seq)
		if id, ok := k.seen[key]; ok {
			out[i] = ReadingResult{Index: i, Status: ReadingDuplicate, ID: id}
			continue
		}
		id := fmt.Sprintf("rd-%d", len(k.seen)+1)
		k.seen[key] = id
		out[i] = ReadingResult{Index: i, Status: ReadingStored, ID: id}
		vs = append(vs, Vital{Code: "8480-6", Value: fmt.Sprint(100 + in.Seq), Unit: "mm[Hg]",
			At: time.Now().UTC(), DeviceID: in.DeviceID, Source: "device"})
	}
	k.mu.Unlock()
	k.srv.PushVitals(by.Subject, vs)
	return out, nil
}

func (k *testSink) failNext(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fail = err
}

func (k *testSink) callLog() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.calls...)
}

func newReadingsServer(t *testing.T) (*testServer, *testSink) {
	sink := newTestSink()
	ts := newTestServer(t, Config{Readings: sink, Visits: newTestVisits(map[string]string{"appt-1": WindowOpen})})
	sink.srv = ts.srv
	return ts, sink
}

// readResult reads the next readings-result and checks that it answers id.
func (c *client) readResult(id string) []ReadingResult {
	c.t.Helper()
	env := c.read(TypeReadingsResult)
	if env.ID != id {
		c.t.Fatalf("readings-result for %q, want %q", env.ID, id)
	}
	var r ReadingsResult
	if err := json.Unmarshal(env.Payload, &r); err != nil {
		c.t.Fatal(err)
	}
	if r.Results == nil {
		c.t.Fatalf("readings-result %s without results: %s", id, env.Payload)
	}
	return r.Results
}

func reading(device string, seq int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"deviceId":%q,"characteristic":"2A35","value":"04780050005D004800","seq":%d,"observedAt":"2026-11-26T09:30:00Z"}`,
		device, seq))
}

func statuses(rs []ReadingResult) string {
	var s []string
	for i, r := range rs {
		if r.Index != i {
			return fmt.Sprintf("result %d has index %d", i, r.Index)
		}
		s = append(s, r.Status)
	}
	return strings.Join(s, ",")
}

// TestReadingsOverWebSocket: the patient's page sends readings in the
// waiting room and in the call; each batch is answered by id, one result per
// item in order, and what is stored reaches the clinician live.
func TestReadingsOverWebSocket(t *testing.T) {
	ts, sink := newReadingsServer(t)
	pat := ts.mustDial("appt-1", ts.apptToken(RolePatient, "patient-1", "appt-1"))
	if !pat.join().Waiting {
		t.Fatal("patient not in the waiting room")
	}
	clin := ts.mustDial("appt-1", ts.token(RoleClinician, "c", ""))
	clin.join()
	// The join goes on after its answer (media, the room's newest values):
	// a ping answered means it is over, so the values below are new ones.
	clin.alive()

	// Two batches sent back to back: each answer carries its batch's id.
	first := pat.send(TypeReadings, Readings{Readings: []json.RawMessage{
		reading("bp-1", 1), json.RawMessage(`5`), reading("bp-9", 1)}})
	second := pat.send(TypeReadings, Readings{Readings: []json.RawMessage{reading("bp-1", 1), reading("bp-1", 2)}})
	r1 := pat.readResult(first)
	if got := statuses(r1); got != "stored,rejected,rejected" {
		t.Fatalf("first batch: %s (%+v)", got, r1)
	}
	if r1[1].Reason == "" || r1[2].Reason != "unknown device" {
		t.Fatalf("rejections without their reasons: %+v", r1)
	}
	r2 := pat.readResult(second)
	if got := statuses(r2); got != "duplicate,stored" {
		t.Fatalf("second batch: %s (%+v)", got, r2)
	}
	if r2[0].ID != r1[0].ID || r2[1].ID == r1[0].ID {
		t.Fatalf("ids: first %+v, second %+v", r1, r2)
	}
	// An empty batch is a batch, answered with no results.
	empty := pat.send(TypeReadings, Readings{Readings: []json.RawMessage{}})
	if rs := pat.readResult(empty); len(rs) != 0 {
		t.Fatalf("empty batch: %+v", rs)
	}

	// What was stored is shown live in the visit.
	if v := readVitals(t, clin); len(v) != 1 || v[0].Value != "101" || v[0].DeviceID != "bp-1" {
		t.Fatalf("clinician got vitals %+v", v)
	}
	if v := readVitals(t, clin); len(v) != 1 || v[0].Value != "102" {
		t.Fatalf("clinician got vitals %+v", v)
	}
	// The sink heard the patient and the appointment of the token.
	if got, want := strings.Join(sink.callLog(), " "), "patient-1/appt-1:3 patient-1/appt-1:2 patient-1/appt-1:0"; got != want {
		t.Fatalf("sink calls %q, want %q", got, want)
	}
}

// TestReadingsRefused: a payload that is not a batch, a sender who is not
// the patient, and a batch the sink refuses each get a typed error naming
// the message, and the session goes on.
func TestReadingsRefused(t *testing.T) {
	ts, sink := newReadingsServer(t)
	pat := ts.mustDial("a", ts.token(RolePatient, "patient-1", "a"))

	// Before join, like every call message.
	id := pat.send(TypeReadings, Readings{Readings: []json.RawMessage{reading("bp-1", 1)}})
	pat.readError(CodeNotJoined, id)
	pat.join()

	for i, payload := range []string{
		`,"payload":{"readings":5}`,
		`,"payload":{"readings":{}}`,
		`,"payload":{"readings":null}`,
		`,"payload":{}`,
		`,"payload":[]`,
		`,"payload":"readings"`,
		``,
		`,"payload":{"readings":[` + strings.Repeat(`{},`, MaxReadings) + `{}]}`,
	} {
		ref := fmt.Sprintf("bad-%d", i)
		pat.sendRaw([]byte(`{"type":"readings","id":"` + ref + `"` + payload + `}`))
		pat.readError(CodeBadPayload, ref)
	}
	pat.alive()

	// Only the patient sends readings.
	clin := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	clin.join()
	rel := ts.mustDial("a", ts.token(RoleRelative, "r", "a"))
	rel.join()
	for _, c := range []*client{clin, rel} {
		id := c.send(TypeReadings, Readings{Readings: []json.RawMessage{reading("bp-1", 1)}})
		c.readError(CodeForbidden, id)
		c.alive()
	}
	if calls := sink.callLog(); len(calls) != 0 {
		t.Fatalf("the sink was called for refused messages: %v", calls)
	}

	// The sink refuses a batch, or fails.
	for _, tc := range []struct {
		err  error
		code string
	}{
		{fmt.Errorf("%w: 600 readings in one batch; at most 500", ErrBadReadings), CodeBadPayload},
		{fmt.Errorf("%w: no such gateway", ErrForbidden), CodeForbidden},
		{errors.New("disk on fire"), CodeInternal},
	} {
		sink.failNext(tc.err)
		id := pat.send(TypeReadings, Readings{Readings: []json.RawMessage{reading("bp-1", 1)}})
		if e := pat.readError(tc.code, id); strings.Contains(e.Message, "disk") {
			t.Errorf("internal failure shown to the client: %q", e.Message)
		}
	}

	// The session goes on: the same reading is filed now, once.
	id = pat.send(TypeReadings, Readings{Readings: []json.RawMessage{reading("bp-1", 1)}})
	if got := statuses(pat.readResult(id)); got != "stored" {
		t.Fatalf("after the refusals: %s", got)
	}
	if got, want := strings.Join(sink.callLog(), " "), "patient-1/:1 patient-1/:1 patient-1/:1 patient-1/:1"; got != want {
		t.Fatalf("sink calls %q, want %q", got, want)
	}
}

// TestReadingsWithoutSink: a server with no readings sink refuses readings.
func TestReadingsWithoutSink(t *testing.T) {
	ts := newTestServer(t, Config{})
	pat := ts.mustDial("a", ts.token(RolePatient, "patient-1", "a"))
	pat.join()
	id := pat.send(TypeReadings, Readings{Readings: []json.RawMessage{reading("bp-1", 1)}})
	pat.readError(CodeForbidden, id)
	pat.alive()
}
