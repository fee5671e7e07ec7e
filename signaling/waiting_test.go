package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// testVisits is an in-memory appointment book standing in for package scheduler,
// which is tested against the real stores elsewhere.
type testVisits struct {
	mu     sync.Mutex
	state  map[string]string // appointment id -> window state
	events []string          // "arrived:<id>:<role>", "admitted:<id>", "ended:<id>"
	// practitioner is the subject of an appointment's clinician when it is
	// not testPractitioner.
	practitioner map[string]string
	// admitted are the appointments whose guests are let in at once.
	admitted map[string]bool
	// let are the guests besides the patient let into each appointment,
	// as Admitted was told and as a store keeps them.
	let map[string][]string
}

// testPractitioner is the subject of the clinician of the test appointments.
const testPractitioner = "c"

func newTestVisits(appts map[string]string) *testVisits {
	return &testVisits{state: appts, practitioner: map[string]string{}, let: map[string][]string{}}
}

func (v *testVisits) Window(_ context.Context, id string, now time.Time) (VisitWindow, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st, ok := v.state[id]
	if !ok {
		return VisitWindow{}, ErrNoVisit
	}
	who, ok := v.practitioner[id]
	if !ok {
		who = testPractitioner
	}
	return VisitWindow{State: st, Opens: now.Add(-time.Minute), Closes: now.Add(time.Hour), Practitioner: who, Admitted: v.admitted[id],
		Let: slices.Clone(v.let[id])}, nil
}

func (v *testVisits) record(e string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.events = append(v.events, e)
	return nil
}

func (v *testVisits) Arrived(_ context.Context, id string, by *Claims) error {
	return v.record("arrived:" + id + ":" + by.Role)
}

func (v *testVisits) Admitted(_ context.Context, id string, by *Claims, guests []string) error {
	v.mu.Lock()
	v.let[id] = append(v.let[id], guests...)
	v.mu.Unlock()
	return v.record("admitted:" + id + ":" + by.Role)
}

func (v *testVisits) Ended(_ context.Context, id string, by *Claims) error {
	v.mu.Lock()
	v.state[id] = WindowExpired
	v.mu.Unlock()
	return v.record("ended:" + id + ":" + by.Role)
}

func (v *testVisits) has(e string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, got := range v.events {
		if got == e {
			return true
		}
	}
	return false
}

func (ts *testServer) apptToken(role, sub, appt string) string {
	return mustSign(ts.t, ts.keys, TokenRequest{Role: role, Subject: sub, Appt: appt, Name: sub})
}

func findParticipant(ps []Participant, id string) (Participant, bool) {
	for _, p := range ps {
		if p.ID == id {
			return p, true
		}
	}
	return Participant{}, false
}

func TestWaitingRoomAdmit(t *testing.T) {
	visits := newTestVisits(map[string]string{"appt-1": WindowOpen})
	ts := newTestServer(t, Config{Visits: visits})

	pat := ts.mustDial("appt-1", ts.apptToken(RolePatient, "p", "appt-1"))
	pj := pat.join()
	if !pj.Waiting {
		t.Fatal("patient of an appointment was not put in the waiting room")
	}
	if !visits.has("arrived:appt-1:patient") {
		t.Fatal("arrival not recorded")
	}
	// No media before admission.
	id := pat.send(TypeOffer, SDP{PC: PCPublish, SDP: "v=0"})
	pat.readError(CodeWaiting, id)
	// A guest cannot admit itself or end the visit.
	id = pat.send(TypeAdmit, Admit{ParticipantID: pj.ParticipantID})
	pat.readError(CodeForbidden, id)
	id = pat.send(TypeEnd, End{})
	pat.readError(CodeForbidden, id)

	clin := ts.mustDial("appt-1", ts.token(RoleClinician, testPractitioner, ""))
	cj := clin.join()
	if cj.Waiting {
		t.Fatal("clinician put in the waiting room")
	}
	if p, ok := findParticipant(cj.Participants, pj.ParticipantID); !ok || p.State != StateWaiting {
		t.Fatalf("clinician sees the patient as %+v, want waiting", p)
	}
	id = clin.send(TypeAdmit, Admit{ParticipantID: "nobody"})
	clin.readError(CodeNotFound, id)
	clin.send(TypeAdmit, Admit{ParticipantID: pj.ParticipantID})

	var adm Admitted
	if err := json.Unmarshal(pat.read(TypeAdmitted).Payload, &adm); err != nil {
		t.Fatal(err)
	}
	if p, ok := findParticipant(adm.Participants, pj.ParticipantID); !ok || p.State != StateActive {
		t.Fatalf("after admission the patient is %+v, want active", p)
	}
	clin.waitParticipants(func(ps []Participant) bool {
		p, ok := findParticipant(ps, pj.ParticipantID)
		return ok && p.State == StateActive
	})
	if !visits.has("admitted:appt-1:clinician") {
		t.Fatal("admission not recorded")
	}

	// Once the visit is open, the patient comes back directly (another
	// device replaces the first); a relative waits to be admitted, once.
	rel := ts.mustDial("appt-1", ts.apptToken(RoleRelative, "r", "appt-1"))
	rj := rel.join()
	if !rj.Waiting {
		t.Fatal("a relative entered without being admitted")
	}
	clin.send(TypeAdmit, Admit{ParticipantID: rj.ParticipantID})
	rel.read(TypeAdmitted)
	rel2 := ts.mustDial("appt-1", ts.apptToken(RoleRelative, "r", "appt-1"))
	if j := rel2.join(); j.Waiting {
		t.Fatal("the admitted relative, back from another device, waits again")
	}
	rel = rel2
	other := ts.mustDial("appt-1", ts.apptToken(RoleInterpreter, "i", "appt-1"))
	if j := other.join(); !j.Waiting {
		t.Fatal("an interpreter entered on the relative's admission")
	}
	pat2 := ts.mustDial("appt-1", ts.apptToken(RolePatient, "p", "appt-1"))
	if j := pat2.join(); j.Waiting {
		t.Fatal("the patient, back from another device, waits although the visit is open")
	}
	pat = pat2

	// The clinician ends the visit: everyone is told, the link stops working.
	clin.send(TypeEnd, End{})
	for _, c := range []*client{pat, rel} {
		var l Leave
		if err := json.Unmarshal(c.read(TypeLeave).Payload, &l); err != nil {
			t.Fatal(err)
		}
		if l.Reason != ReasonEnded {
			t.Fatalf("leave reason %q, want ended", l.Reason)
		}
	}
	if !visits.has("ended:appt-1:clinician") {
		t.Fatal("end not recorded")
	}
	_, resp, err := ts.dial("appt-1", ts.apptToken(RolePatient, "p", "appt-1"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("link after the end: err %v, want 403", err)
	}
}

func TestAdmitFromConsole(t *testing.T) {
	visits := newTestVisits(map[string]string{"appt-2": WindowOpen})
	ts := newTestServer(t, Config{Visits: visits})
	pat := ts.mustDial("appt-2", ts.apptToken(RolePatient, "p", "appt-2"))
	pat.join()
	interp := ts.mustDial("appt-2", ts.apptToken(RoleInterpreter, "i", "appt-2"))
	interp.join()

	if w, in := ts.srv.Presence("appt-2"); w != 2 || in != 0 {
		t.Fatalf("presence before admission: %d waiting, %d in the call; want 2, 0", w, in)
	}
	patientClaims, _ := ts.keys.Verify(ts.apptToken(RolePatient, "p", "appt-2"))
	if _, err := ts.srv.Admit(context.Background(), "appt-2", patientClaims); err == nil {
		t.Fatal("a patient admitted from the console")
	}
	clinClaims, _ := ts.keys.Verify(ts.token(RoleClinician, testPractitioner, ""))
	n, err := ts.srv.Admit(context.Background(), "appt-2", clinClaims)
	if err != nil || n != 2 {
		t.Fatalf("Admit = %d, %v; want 2 admitted", n, err)
	}
	pat.read(TypeAdmitted)
	interp.read(TypeAdmitted)
	// Both stay in the call once their media has joined.
	deadline := time.Now().Add(5 * time.Second)
	for {
		w, in := ts.srv.Presence("appt-2")
		if w == 0 && in == 2 {
			break
		}
		if time.Now().After(deadline) {
			st, _ := ts.srv.Room("appt-2", true)
			t.Fatalf("presence after admission: %d waiting, %d in the call; want 0, 2 (room %+v)", w, in, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGuestsLetAreKept: the guests a clinician admits are handed to Visits
// (kept with the appointment), once each; a room opened afresh for a visit
// whose guests were let in before (on another node, after everyone left)
// lets those guests in at once, and others wait.
func TestGuestsLetAreKept(t *testing.T) {
	visits := newTestVisits(map[string]string{"appt-5": WindowOpen, "appt-6": WindowOpen})
	ts := newTestServer(t, Config{Visits: visits})
	pat := ts.mustDial("appt-5", ts.apptToken(RolePatient, "p", "appt-5"))
	pat.join()
	rel := ts.mustDial("appt-5", ts.apptToken(RoleRelative, "relative-1", "appt-5"))
	rel.join()
	clin, _ := ts.keys.Verify(ts.token(RoleClinician, testPractitioner, ""))
	if n, err := ts.srv.Admit(context.Background(), "appt-5", clin); err != nil || n != 2 {
		t.Fatalf("Admit = %d, %v", n, err)
	}
	rel.read(TypeAdmitted)
	// Admitting again lets no one new in: nothing more is kept.
	if _, err := ts.srv.Admit(context.Background(), "appt-5", clin); err != nil {
		t.Fatal(err)
	}
	visits.mu.Lock()
	got := fmt.Sprint(visits.let["appt-5"])
	visits.mu.Unlock()
	if got != "[relative|relative-1]" {
		t.Fatalf("guests kept: %s, want the relative once (not the patient)", got)
	}

	// A visit admitted before, with its relative let in, whose room is
	// opened here for the first time: the relative comes straight in, an
	// interpreter never admitted waits.
	visits.mu.Lock()
	visits.admitted = map[string]bool{"appt-6": true}
	visits.let["appt-6"] = []string{"relative|relative-2"}
	visits.mu.Unlock()
	back := ts.mustDial("appt-6", ts.apptToken(RoleRelative, "relative-2", "appt-6"))
	if j := back.join(); j.Waiting {
		t.Fatal("a relative let in before waits again in the room opened afresh")
	}
	other := ts.mustDial("appt-6", ts.apptToken(RoleInterpreter, "interpreter-1", "appt-6"))
	if j := other.join(); !j.Waiting {
		t.Fatal("an interpreter never admitted came straight in")
	}
}

func TestAppointmentLinkWindow(t *testing.T) {
	visits := newTestVisits(map[string]string{"early": WindowEarly, "late": WindowExpired, "open": WindowOpen})
	ts := newTestServer(t, Config{Visits: visits})
	for appt, want := range map[string]int{"early": http.StatusForbidden, "late": http.StatusForbidden,
		"missing": http.StatusForbidden} {
		t.Run(appt, func(t *testing.T) {
			_, resp, err := ts.dial(appt, ts.apptToken(RolePatient, "p", appt), nil)
			if err == nil || resp == nil || resp.StatusCode != want {
				t.Fatalf("dial: %v, want status %d", err, want)
			}
		})
	}
	// A token for one appointment never enters another's room.
	_, resp, err := ts.dial("open", ts.apptToken(RolePatient, "p", "early"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("token of appointment early in room open: %v", err)
	}
	ts.mustDial("open", ts.apptToken(RolePatient, "p", "open")).alive()
}

func TestAppointmentTokenWithoutScheduler(t *testing.T) {
	ts := newTestServer(t, Config{})
	_, resp, err := ts.dial("appt-9", ts.apptToken(RolePatient, "p", "appt-9"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("appointment token without appointments: %v, want 403", err)
	}
}

// TestOnlyTheAppointmentsClinician: a clinician joins, admits and ends only
// the visits of their own appointments. Another clinician is refused before
// the WebSocket upgrade and by the console's admit and end; rooms that are no
// appointment's stay open to every clinician.
func TestOnlyTheAppointmentsClinician(t *testing.T) {
	visits := newTestVisits(map[string]string{"appt-3": WindowOpen, "appt-4": WindowOpen})
	visits.practitioner["appt-4"] = "" // its clinician cannot sign in
	ts := newTestServer(t, Config{Visits: visits})
	ctx := context.Background()
	pat := ts.mustDial("appt-3", ts.apptToken(RolePatient, "p", "appt-3"))
	pat.join()

	other := ts.token(RoleClinician, "c2", "")
	otherClaims, err := ts.keys.Verify(other)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, room, token string
	}{
		{"another clinician", "appt-3", other},
		{"a scheduler", "appt-3", ts.token(RoleScheduler, "s", "")},
		{"an admin", "appt-3", ts.token(RoleAdmin, "a", "")},
		{"a clinician, where the appointment's clinician cannot sign in", "appt-4", ts.token(RoleClinician, testPractitioner, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp, err := ts.dial(tc.room, tc.token, nil)
			if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("dial %s: %v, want 403 before the upgrade", tc.room, err)
			}
		})
	}
	if _, err := ts.srv.Admit(ctx, "appt-3", otherClaims); !errors.Is(err, ErrForbidden) {
		t.Fatalf("another clinician admits: %v, want ErrForbidden", err)
	}
	if err := ts.srv.End(ctx, "appt-3", otherClaims); !errors.Is(err, ErrForbidden) {
		t.Fatalf("another clinician ends: %v, want ErrForbidden", err)
	}
	// The console's HTTP endpoints answer 403 problem details.
	for name, serve := range map[string]func(http.ResponseWriter, *http.Request, string){
		"admit": ts.srv.ServeAdmit, "end": ts.srv.ServeEnd, "room": ts.srv.ServeRoom,
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/api/v1/appointments/appt-3/"+name, nil)
		req.Header.Set("Authorization", "Bearer "+other)
		serve(rec, req, "appt-3")
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s by another clinician: %d %s, want 403", name, rec.Code, rec.Body)
		}
	}
	// Nothing happened: the patient still waits, nothing was recorded.
	if w, in := ts.srv.Presence("appt-3"); w != 1 || in != 0 {
		t.Fatalf("after the refusals: %d waiting, %d in the call; want 1, 0", w, in)
	}
	if visits.has("admitted:appt-3:clinician") || visits.has("ended:appt-3:clinician") {
		t.Fatalf("a refused clinician's admit or end was recorded: %v", visits.events)
	}

	// The appointment's own clinician joins, admits and ends.
	own := ts.token(RoleClinician, testPractitioner, "")
	ownClaims, err := ts.keys.Verify(own)
	if err != nil {
		t.Fatal(err)
	}
	ts.mustDial("appt-3", own).join()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/rooms/appt-3", nil)
	req.Header.Set("Authorization", "Bearer "+own)
	ts.srv.ServeRoom(rec, req, "appt-3")
	if rec.Code != http.StatusOK {
		t.Fatalf("own clinician reads the room: %d %s", rec.Code, rec.Body)
	}
	if n, err := ts.srv.Admit(ctx, "appt-3", ownClaims); err != nil || n != 1 {
		t.Fatalf("own clinician admits: %d, %v; want 1 admitted", n, err)
	}
	pat.read(TypeAdmitted)
	if err := ts.srv.End(ctx, "appt-3", ownClaims); err != nil {
		t.Fatalf("own clinician ends: %v", err)
	}
	if !visits.has("ended:appt-3:clinician") {
		t.Fatal("end not recorded")
	}

	// A room that is no appointment's is open to every clinician.
	ts.mustDial("huddle", other).join()
}
