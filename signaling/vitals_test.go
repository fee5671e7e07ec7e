package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func readVitals(t *testing.T, c *client) []Vital {
	t.Helper()
	var v Vitals
	if err := json.Unmarshal(c.read(TypeVitals).Payload, &v); err != nil {
		t.Fatal(err)
	}
	return v.Vitals
}

func TestVitalsReachOnlyThePatientsVisit(t *testing.T) {
	ts := newTestServer(t, Config{})
	pat := ts.mustDial("a", ts.token(RolePatient, "patient-1", "a"))
	pat.join()
	clin := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	clin.join()
	// Another patient's visit, which must never see patient-1's readings.
	other := ts.mustDial("b", ts.token(RolePatient, "patient-2", "b"))
	other.join()
	otherClin := ts.mustDial("b", ts.token(RoleClinician, "c2", ""))
	otherClin.join()

	v := Vital{Code: "8480-6", Value: "120", Unit: "mm[Hg]", At: time.Now().UTC(), DeviceID: "bp-1", Source: "device"}
	if n := ts.srv.PushVitals("patient-1", []Vital{v}); n != 1 {
		t.Fatalf("pushed to %d rooms, want 1", n)
	}
	for _, c := range []*client{pat, clin} {
		got := readVitals(t, c)
		if len(got) != 1 || got[0].Code != "8480-6" || got[0].Value != "120" {
			t.Fatalf("vitals %+v", got)
		}
	}
	// Patient-2's visit hears nothing: a ping is answered before any vitals.
	for _, c := range []*client{other, otherClin} {
		id := c.send(TypePing, Ping{})
		for {
			_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, data, err := c.ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			var env Envelope
			_ = json.Unmarshal(data, &env)
			if env.Type == TypeVitals {
				t.Fatalf("another patient's visit received vitals: %s", data)
			}
			if env.Type == TypePong && env.ID == id {
				break
			}
		}
	}
	// Someone joining later gets the newest values at once.
	rel := ts.mustDial("a", ts.token(RoleRelative, "r", "a"))
	rel.join()
	if got := readVitals(t, rel); len(got) != 1 || got[0].Value != "120" {
		t.Fatalf("late joiner got %+v", got)
	}
	if n := ts.srv.PushVitals("patient-3", []Vital{v}); n != 0 {
		t.Fatalf("pushed %d rooms for a patient in no visit", n)
	}
}

func TestRequestMeasurement(t *testing.T) {
	ts := newTestServer(t, Config{})
	pat := ts.mustDial("a", ts.token(RolePatient, "p", "a"))
	pat.join()
	clin := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	clin.join()

	id := pat.send(TypeRequestMeasurement, RequestMeasurement{Code: "8480-6"})
	pat.readError(CodeForbidden, id)
	id = clin.send(TypeRequestMeasurement, RequestMeasurement{Code: "<b>"})
	clin.readError(CodeBadPayload, id)
	id = clin.send(TypeRequestMeasurement, RequestMeasurement{Code: "8480-6", DeviceType: "toaster"})
	clin.readError(CodeBadPayload, id)

	clin.send(TypeRequestMeasurement, RequestMeasurement{Code: "8480-6", DeviceType: "blood-pressure"})
	var m RequestMeasurement
	if err := json.Unmarshal(pat.read(TypeRequestMeasurement).Payload, &m); err != nil {
		t.Fatal(err)
	}
	if m.Code != "8480-6" || m.DeviceType != "blood-pressure" {
		t.Fatalf("patient got %+v", m)
	}
}

// auditLog is a VitalsAudit that keeps what it records, and fails while
// failing is set.
type auditLog struct {
	mu      sync.Mutex
	entries []string
	failing bool
}

func (a *auditLog) VitalsShown(_ context.Context, viewerID, viewerRole, room, patientID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failing {
		return errors.New("audit store down")
	}
	a.entries = append(a.entries, viewerRole+":"+viewerID+" saw "+patientID+" in "+room)
	return nil
}

func (a *auditLog) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.entries)
}

func (a *auditLog) fail(on bool) {
	a.mu.Lock()
	a.failing = on
	a.mu.Unlock()
}

// TestVitalsShownAreRecorded: who is shown a patient's live readings is on
// record, once per participant, before the first values reach them; the
// patient seeing their own is not; a participant whose record cannot be
// written is not sent the values.
func TestVitalsShownAreRecorded(t *testing.T) {
	audit := &auditLog{}
	ts := newTestServer(t, Config{VitalsAudit: audit})
	pat := ts.mustDial("a", ts.token(RolePatient, "patient-1", "a"))
	pat.join()
	clin := ts.mustDial("a", ts.token(RoleClinician, "c", ""))
	clin.join()

	v := Vital{Code: "8480-6", Value: "120", Unit: "mm[Hg]", At: time.Now().UTC(), DeviceID: "bp-1", Source: "device"}
	for range 2 {
		ts.srv.PushVitals("patient-1", []Vital{v})
		readVitals(t, pat)
		readVitals(t, clin)
	}
	if got, want := audit.list(), []string{"clinician:c saw patient-1 in a"}; !slices.Equal(got, want) {
		t.Fatalf("recorded %q, want %q", got, want)
	}

	// A relative joins while the record cannot be written: no values for
	// them, and the others still get theirs.
	audit.fail(true)
	rel := ts.mustDial("a", ts.token(RoleRelative, "r", "a"))
	rel.join()
	ts.srv.PushVitals("patient-1", []Vital{v})
	readVitals(t, clin)
	id := rel.send(TypePing, Ping{})
	for {
		_ = rel.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := rel.ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var env Envelope
		_ = json.Unmarshal(data, &env)
		if env.Type == TypeVitals {
			t.Fatal("a relative was shown readings without a record of it")
		}
		if env.Type == TypePong && env.ID == id {
			break
		}
	}
	audit.fail(false)
	ts.srv.PushVitals("patient-1", []Vital{v})
	if got := readVitals(t, rel); len(got) != 1 {
		t.Fatalf("relative's vitals %+v", got)
	}
	if got, want := audit.list(), []string{"clinician:c saw patient-1 in a", "relative:r saw patient-1 in a"}; !slices.Equal(got, want) {
		t.Fatalf("recorded %q, want %q", got, want)
	}
}
