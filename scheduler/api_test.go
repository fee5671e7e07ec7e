package scheduler

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/internal/records/recordstest"
)

// testAuth reads "Bearer <role>:<id>[:<appointment>]".
type testAuth struct{}

func (testAuth) Authenticate(r *http.Request) (Principal, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	parts := strings.Split(tok, ":")
	if !ok || len(parts) < 2 {
		return Principal{}, errors.New("no token")
	}
	p := Principal{Actor: Actor{Role: parts[0], ID: parts[1]}}
	if len(parts) > 2 {
		p.Appt = parts[2]
	}
	return p, nil
}

// testIssuer mints links that name what they are for.
type testIssuer struct{}

func (testIssuer) Session(u User, sid string, _ time.Duration) (string, error) {
	return "session-" + u.ID + "-" + sid, nil
}

func (testIssuer) GuestLink(a Appointment, role, subject, _ string, _ time.Time) (string, error) {
	return "https://clinic.example/visit/" + a.ID + "#t=" + role + ":" + subject, nil
}

// testPresence is the waiting room as the test sets it.
type testPresence struct {
	mu    sync.Mutex // guards rooms
	rooms map[string][2]int
}

func (p *testPresence) set(room string, waiting, inCall int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rooms[room] = [2]int{waiting, inCall}
}

func (p *testPresence) Presence(room string) (int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.rooms[room]
	return n[0], n[1]
}

// apiFixture is the store fixture behind the API, with a second
// clinician ("mine") who signs in as user u-anna and has two appointments on
// Tuesday 2026-06-02; the fixture's own clinician has one that day.
type apiFixture struct {
	*storeFixture
	srv      *httptest.Server
	presence *testPresence
	mine     Clinician
	apptA    Appointment // mine, 10:00
	apptB    Appointment // mine, 11:00
	theirs   Appointment // f.clin's, 10:00
	day      string      // ?from=&to= of the Tuesday
	// mineToken is mine's user's bearer token.
	mineToken string
}

func newAPIFixture(t *testing.T) *apiFixture {
	s := openStore(t, recordstest.Backends()[0], Config{})
	f := &apiFixture{storeFixture: newStoreFixture(t, s), presence: &testPresence{rooms: map[string][2]int{}}}
	u := stMust(s.CreateUser(f.ctx, f.admin, "anna", "Dr. Anna Holm", RoleClinician, "a long password"))(t)
	f.mine = stMust(s.CreateClinician(f.ctx, f.staff, Clinician{Name: "Dr. Anna Holm", UserID: u.ID}))(t)
	var rules []WeeklyRule
	for d := time.Monday; d <= time.Friday; d++ {
		rules = append(rules, WeeklyRule{Weekday: d, Start: Clock(8, 0), End: Clock(16, 0)})
	}
	stMust(s.PutAvailability(f.ctx, f.staff, f.mine.ID, Availability{Rules: rules}))(t)
	f.apptA = f.bookMine("2026-06-02T10:00:00+02:00")
	f.apptB = f.bookMine("2026-06-02T11:00:00+02:00")
	f.theirs = f.mustBook("2026-06-02T10:00:00+02:00")
	f.day = "?from=2026-06-02T00:00:00%2B02:00&to=2026-06-03T00:00:00%2B02:00"

	api, err := NewAPI(APIConfig{Now: func() time.Time { return f.now }}, s, testAuth{}, testIssuer{}, f.presence,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	api.Routes(r)
	f.srv = httptest.NewServer(r)
	t.Cleanup(f.srv.Close)
	f.mineToken = RoleClinician + ":" + u.ID
	return f
}

func (f *apiFixture) bookMine(start string) Appointment {
	f.t.Helper()
	return stMust(f.s.Book(f.ctx, f.staff, BookRequest{ClinicianID: f.mine.ID, PatientID: f.pat.ID,
		Start: stTime(f.t, start), Duration: 30 * time.Minute}, f.now))(f.t).Appointment
}

// do sends a request and returns the status and body.
func (f *apiFixture) do(method, path, token, body string) (int, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// poll reads mine's presence for the Tuesday as mine.
func (f *apiFixture) poll() dayPresence {
	f.t.Helper()
	status, b := f.do("GET", "/api/v1/clinicians/"+f.mine.ID+"/presence"+f.day, f.mineToken, "")
	if status != http.StatusOK {
		f.t.Fatalf("presence: %d %s", status, b)
	}
	var p dayPresence
	if err := json.Unmarshal(b, &p); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func TestPresenceAuthorisation(t *testing.T) {
	f := newAPIFixture(t)
	path := func(clinician string) string { return "/api/v1/clinicians/" + clinician + "/presence" + f.day }
	tests := []struct {
		name, path, token string
		want              int
	}{
		{"the clinician", path(f.mine.ID), f.mineToken, 200},
		{"another clinician's list", path(f.clin.ID), f.mineToken, 403},
		{"a clinician without a clinician record", path(f.mine.ID), RoleClinician + ":u-nobody", 403},
		{"a scheduler", path(f.mine.ID), RoleScheduler + ":u-mette", 200},
		{"an admin", path(f.clin.ID), RoleAdmin + ":u-ops", 200},
		{"the patient", path(f.mine.ID), RolePatient + ":" + f.pat.ID + ":" + f.apptA.ID, 403},
		{"a gateway", path(f.mine.ID), "gateway:gw-1", 403},
		{"no token", path(f.mine.ID), "", 401},
		{"unknown clinician", path("nobody"), RoleScheduler + ":u-mette", 404},
		{"no range", "/api/v1/clinicians/" + f.mine.ID + "/presence", f.mineToken, 400},
		{"range too long", "/api/v1/clinicians/" + f.mine.ID + "/presence?from=2026-06-01T00:00:00Z&to=2026-08-01T00:00:00Z", f.mineToken, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, b := f.do("GET", tc.path, tc.token, "")
			if status != tc.want {
				t.Fatalf("GET %s: %d %s, want %d", tc.path, status, b, tc.want)
			}
		})
	}
}

func TestPresenceReflectsTheWaitingRoom(t *testing.T) {
	f := newAPIFixture(t)
	p := f.poll()
	if len(p.Appointments) != 2 || p.Appointments[0].AppointmentID != f.apptA.ID || p.Appointments[1].AppointmentID != f.apptB.ID {
		t.Fatalf("presence lists %+v, want %s and %s by start", p.Appointments, f.apptA.ID, f.apptB.ID)
	}
	for _, e := range p.Appointments {
		if e.Waiting != 0 || e.InCall != 0 || e.Status != StatusBooked {
			t.Fatalf("before anyone arrives: %+v", e)
		}
	}
	f.presence.set(f.apptB.ID, 1, 0)
	p = f.poll()
	if got := p.Appointments[1]; got.Waiting != 1 || got.InCall != 0 {
		t.Fatalf("patient waiting for %s: presence %+v, want 1 waiting", f.apptB.ID, got)
	}
	if got := p.Appointments[0]; got.Waiting != 0 {
		t.Fatalf("nobody waits for %s: presence %+v", f.apptA.ID, got)
	}
	f.presence.set(f.apptB.ID, 0, 2)
	if got := f.poll().Appointments[1]; got.Waiting != 0 || got.InCall != 2 {
		t.Fatalf("after admission: %+v, want 2 in the call", got)
	}
	// Nothing about the patient: no id, name, contact, CPR or link.
	_, b := f.do("GET", "/api/v1/clinicians/"+f.mine.ID+"/presence"+f.day, f.mineToken, "")
	for _, leak := range []string{f.pat.ID, f.pat.Name, f.pat.Contact, string(f.pat.CPR), "patient", "visit/"} {
		if strings.Contains(string(b), leak) {
			t.Fatalf("presence holds %q: %s", leak, b)
		}
	}
}

func TestPresenceVersion(t *testing.T) {
	f := newAPIFixture(t)
	v0 := f.poll().Version
	if v0 == "" {
		t.Fatal("no version")
	}
	// Presence alone does not change the list.
	f.presence.set(f.apptA.ID, 1, 0)
	if v := f.poll().Version; v != v0 {
		t.Fatalf("a patient waiting changed the version %s -> %s", v0, v)
	}
	// Another clinician's booking is not in this list.
	f.mustBook("2026-06-02T13:00:00+02:00")
	if v := f.poll().Version; v != v0 {
		t.Fatalf("another clinician's booking changed the version")
	}
	seen := map[string]string{v0: "start"}
	step := func(what string, change func()) {
		t.Helper()
		change()
		v := f.poll().Version
		if prev, ok := seen[v]; ok {
			t.Fatalf("after %s the version %s is the one of %s", what, v, prev)
		}
		seen[v] = what
	}
	step("a booking", func() {
		status, b := f.do("POST", "/api/v1/appointments", RoleScheduler+":u-mette",
			`{"clinicianId":"`+f.mine.ID+`","patientId":"`+f.pat.ID+`","start":"2026-06-02T14:00:00+02:00","durationMinutes":20}`)
		if status != http.StatusCreated {
			t.Fatalf("book: %d %s", status, b)
		}
	})
	step("a cancellation", func() {
		if status, b := f.do("POST", "/api/v1/appointments/"+f.apptB.ID+"/cancel", RoleScheduler+":u-mette", ""); status != http.StatusOK {
			t.Fatalf("cancel: %d %s", status, b)
		}
	})
	step("a reschedule", func() {
		if status, b := f.do("POST", "/api/v1/appointments/"+f.apptA.ID+"/reschedule", RoleScheduler+":u-mette",
			`{"start":"2026-06-02T12:00:00+02:00"}`); status != http.StatusOK {
			t.Fatalf("reschedule: %d %s", status, b)
		}
	})
	step("an arrival", func() {
		stMust(f.s.SetStatus(f.ctx, System, f.apptA.ID, StatusArrived, "video visit"))(t)
	})
	// The same list answers the same version, on every poll.
	if a, b := f.poll().Version, f.poll().Version; a != b {
		t.Fatalf("unchanged list, versions %s and %s", a, b)
	}
}

func TestPresenceWritesNoAuditRows(t *testing.T) {
	f := newAPIFixture(t)
	f.presence.set(f.apptA.ID, 1, 0)
	before := auditCount(t, f.storeFixture)
	for range 10 {
		f.poll()
	}
	if after := auditCount(t, f.storeFixture); after != before {
		t.Fatalf("10 presence polls wrote %d audit rows, want none", after-before)
	}
	// The day list, by contrast, logs its reads: the count above can move.
	if status, b := f.do("GET", "/api/v1/clinicians/"+f.mine.ID+"/appointments"+f.day, f.mineToken, ""); status != http.StatusOK {
		t.Fatalf("day list: %d %s", status, b)
	}
	if after := auditCount(t, f.storeFixture); after <= before {
		t.Fatalf("the day list wrote no audit rows (%d -> %d)", before, after)
	}
}

// TestClinicianRunsOnlyOwnVisits: a clinician changes the status of, and
// invites guests to, only their own appointments' visits; schedulers any.
func TestClinicianRunsOnlyOwnVisits(t *testing.T) {
	f := newAPIFixture(t)
	sched := RoleScheduler + ":u-mette"
	tests := []struct {
		name, path, token, body string
		want                    int
	}{
		{"another clinician's status", "/api/v1/appointments/" + f.theirs.ID + "/status", f.mineToken, `{"status":"arrived"}`, 403},
		{"another clinician's guest link", "/api/v1/appointments/" + f.theirs.ID + "/links", f.mineToken, `{"role":"interpreter","name":"Ali Yilmaz"}`, 403},
		{"an unknown appointment", "/api/v1/appointments/nope/status", f.mineToken, `{"status":"arrived"}`, 404},
		{"own status", "/api/v1/appointments/" + f.apptA.ID + "/status", f.mineToken, `{"status":"arrived"}`, 200},
		{"own guest link", "/api/v1/appointments/" + f.apptA.ID + "/links", f.mineToken, `{"role":"relative","name":"Bo Berg"}`, 201},
		{"a scheduler, any status", "/api/v1/appointments/" + f.theirs.ID + "/status", sched, `{"status":"arrived"}`, 200},
		{"a scheduler, any guest link", "/api/v1/appointments/" + f.theirs.ID + "/links", sched, `{"role":"interpreter","name":"Ali Yilmaz"}`, 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, b := f.do("POST", tc.path, tc.token, tc.body); status != tc.want {
				t.Fatalf("POST %s: %d %s, want %d", tc.path, status, b, tc.want)
			}
		})
	}
}
