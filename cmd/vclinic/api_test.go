package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"vclinic/internal/records/audit"
	"vclinic/scheduler"
	"vclinic/signaling"
)

// apiClinic is the wired clinic in-process on a real SQLite store, with a
// small clinic seeded: a scheduler, two clinicians, two patients and one
// appointment each.
type apiClinic struct {
	t        testing.TB
	c        *clinic
	srv      *httptest.Server
	sched    scheduler.User
	clinUser scheduler.User
	clin     scheduler.Clinician
	other    scheduler.Clinician
	patA     scheduler.Patient
	patB     scheduler.Patient
	apptA    scheduler.Appointment
	apptB    scheduler.Appointment
	// client sends do's requests; nil is http.DefaultClient.
	client *http.Client
}

func newAPIClinic(t testing.TB) *apiClinic {
	t.Helper()
	return newAPIClinicWith(t, nil)
}

// newAPIClinicWith is newAPIClinic with configure changing the
// configuration first.
func newAPIClinicWith(t testing.TB, configure func(*serveConfig)) *apiClinic {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newAPIClinicOn(t, ln, configure)
}

// newAPIClinicOn is newAPIClinicWith served on ln, which a test opens first
// when something else must know the clinic's address before it starts.
func newAPIClinicOn(t testing.TB, ln net.Listener, configure func(*serveConfig)) *apiClinic {
	t.Helper()
	ctx := context.Background()
	cfg := serveConfig{Addr: ln.Addr().String(), Data: filepath.Join(t.TempDir(), "data"), UDPPort: 0, TCPPort: -1,
		Grace: 20 * time.Second}
	if configure != nil {
		configure(&cfg)
	}
	base := "http://" + ln.Addr().String()
	c, err := newClinic(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), base, false)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: c.routes()}}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		c.Close()
	})
	a := &apiClinic{t: t, c: c, srv: srv}
	s := c.store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	a.sched, err = s.CreateUser(ctx, scheduler.System, "mette", "Mette Lund", scheduler.RoleScheduler, "a long password 1")
	must(err)
	a.clinUser, err = s.CreateUser(ctx, scheduler.System, "anna", "Dr. Anna Holm", scheduler.RoleClinician, "a long password 2")
	must(err)
	actor := a.sched.Actor()
	a.clin, err = s.CreateClinician(ctx, actor, scheduler.Clinician{Name: "Dr. Anna Holm", Zone: scheduler.DefaultZone, UserID: a.clinUser.ID})
	must(err)
	a.other, err = s.CreateClinician(ctx, actor, scheduler.Clinician{Name: "Dr. Peter Berg", Zone: scheduler.DefaultZone})
	must(err)
	for _, cl := range []scheduler.Clinician{a.clin, a.other} {
		av := scheduler.Availability{ClinicianID: cl.ID, Zone: cl.Zone}
		for d := time.Sunday; d <= time.Saturday; d++ {
			av.Rules = append(av.Rules, scheduler.WeeklyRule{Weekday: d, Start: 0, End: scheduler.Clock(24, 0)})
		}
		_, err = s.PutAvailability(ctx, actor, cl.ID, av)
		must(err)
	}
	a.patA, err = s.CreatePatient(ctx, actor, scheduler.Patient{Name: "Karen Jensen", CPR: "0101701234"})
	must(err)
	a.patB, err = s.CreatePatient(ctx, actor, scheduler.Patient{Name: "Jens Nielsen"})
	must(err)
	start := time.Now().Add(2 * time.Hour).Truncate(time.Minute)
	b, err := s.Book(ctx, actor, scheduler.BookRequest{ClinicianID: a.clin.ID, PatientID: a.patA.ID, Start: start, Duration: 30 * time.Minute}, time.Now())
	must(err)
	a.apptA = b.Appointment
	b, err = s.Book(ctx, actor, scheduler.BookRequest{ClinicianID: a.other.ID, PatientID: a.patB.ID, Start: start, Duration: 30 * time.Minute}, time.Now())
	must(err)
	a.apptB = b.Appointment
	return a
}

// auditLog reads the clinic's whole audit log, of one patient or of all
// when patientID is "", oldest first, without logging the read.
func (a *apiClinic) auditLog(patientID string) []audit.Entry {
	a.t.Helper()
	var out []audit.Entry
	f := audit.Filter{PatientID: patientID, Limit: audit.MaxLimit}
	for {
		page, err := a.c.trail.Query(context.Background(), a.c.db, f)
		if err != nil {
			a.t.Fatal(err)
		}
		out = append(out, page.Rows...)
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	slices.Reverse(out)
	return out
}

func (a *apiClinic) token(req signaling.TokenRequest) string {
	a.t.Helper()
	if req.TTL == 0 {
		req.TTL = time.Hour
	}
	tok, err := a.c.keys.Sign(req)
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

func (a *apiClinic) schedulerToken() string {
	return a.token(signaling.TokenRequest{Role: "scheduler", Subject: a.sched.ID, Name: a.sched.Name})
}

func (a *apiClinic) clinicianToken() string {
	return a.token(signaling.TokenRequest{Role: "clinician", Subject: a.clinUser.ID, Name: a.clinUser.Name})
}

func (a *apiClinic) patientToken(appt scheduler.Appointment, patient string) string {
	return a.token(signaling.TokenRequest{Role: "patient", Subject: patient, Appt: appt.ID})
}

// do sends a request with a bearer token (when given) and, for a body, its
// JSON Content-Type, and returns the status, body and content type.
func (a *apiClinic) do(method, path, token, body string, hdr map[string]string) (int, []byte, string) {
	a.t.Helper()
	h := map[string]string{}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	for k, v := range hdr {
		h[k] = v
	}
	return a.doRaw(method, path, body, h)
}

func TestAPIAuthorisation(t *testing.T) {
	a := newAPIClinic(t)
	sched, clin := a.schedulerToken(), a.clinicianToken()
	patA := a.patientToken(a.apptA, a.patA.ID)
	gateway := a.token(signaling.TokenRequest{Role: "gateway", Subject: "gw-1"})
	book := `{"clinicianId":"` + a.clin.ID + `","patientId":"` + a.patA.ID + `","start":"` +
		time.Now().Add(5*time.Hour).Truncate(time.Minute).Format(time.RFC3339) + `","durationMinutes":20}`
	day := "?from=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + "&to=" + time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name         string
		method, path string
		token, body  string
		want         int
	}{
		{"no token", "GET", "/api/v1/clinicians", "", "", 401},
		{"garbage token", "GET", "/api/v1/clinicians", "nope", "", 401},
		{"patient reads own appointment", "GET", "/api/v1/appointments/" + a.apptA.ID, patA, "", 200},
		{"patient reads another patient's appointment", "GET", "/api/v1/appointments/" + a.apptB.ID, patA, "", 404},
		{"patient lists patients", "GET", "/api/v1/patients", patA, "", 403},
		{"patient books", "POST", "/api/v1/appointments", patA, book, 403},
		{"patient reads FHIR", "GET", "/fhir/r4/Appointment/" + a.apptA.ID, patA, "", 403},
		{"patient reads the ICS", "GET", "/api/v1/appointments/" + a.apptA.ID + "/invite.ics", patA, "", 403},
		{"patient admits", "POST", "/api/v1/appointments/" + a.apptA.ID + "/admit", patA, "", 403},
		{"patient ends", "POST", "/api/v1/appointments/" + a.apptA.ID + "/end", patA, "", 403},
		{"gateway reads appointments", "GET", "/api/v1/appointments/" + a.apptA.ID, gateway, "", 404},
		{"gateway lists clinicians", "GET", "/api/v1/clinicians", gateway, "", 403},
		{"clinician books", "POST", "/api/v1/appointments", clin, book, 403},
		{"clinician reads own list", "GET", "/api/v1/clinicians/" + a.clin.ID + "/appointments" + day, clin, "", 200},
		{"clinician reads another's list", "GET", "/api/v1/clinicians/" + a.other.ID + "/appointments" + day, clin, "", 403},
		{"scheduler reads any list", "GET", "/api/v1/clinicians/" + a.other.ID + "/appointments" + day, sched, "", 200},
		{"clinician reads own presence", "GET", "/api/v1/clinicians/" + a.clin.ID + "/presence" + day, clin, "", 200},
		{"clinician reads another's presence", "GET", "/api/v1/clinicians/" + a.other.ID + "/presence" + day, clin, "", 403},
		{"patient reads presence", "GET", "/api/v1/clinicians/" + a.clin.ID + "/presence" + day, patA, "", 403},
		{"scheduler reads any presence", "GET", "/api/v1/clinicians/" + a.other.ID + "/presence" + day, sched, "", 200},
		{"clinician admits another's appointment", "POST", "/api/v1/appointments/" + a.apptB.ID + "/admit", clin, "", 403},
		{"clinician ends another's appointment", "POST", "/api/v1/appointments/" + a.apptB.ID + "/end", clin, "", 403},
		{"scheduler admits", "POST", "/api/v1/appointments/" + a.apptA.ID + "/admit", sched, "", 403},
		{"scheduler ends", "POST", "/api/v1/appointments/" + a.apptA.ID + "/end", sched, "", 403},
		{"scheduler books", "POST", "/api/v1/appointments", sched, book, 201},
		{"visit without appointment link", "GET", "/api/v1/visit", sched, "", 404},
		{"visit with the patient's link", "GET", "/api/v1/visit", patA, "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, ctype := a.do(tc.method, tc.path, tc.token, tc.body, nil)
			if status != tc.want {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, status, body, tc.want)
			}
			if status >= 400 && !strings.HasPrefix(ctype, "application/problem+json") {
				t.Fatalf("error answered as %q, want application/problem+json", ctype)
			}
		})
	}
	// A guest never sees the patient's link or name of the clinic's view.
	_, body, _ := a.do("GET", "/api/v1/appointments/"+a.apptA.ID, patA, "", nil)
	if strings.Contains(string(body), "patientLink") || strings.Contains(string(body), a.patA.CPR.String()) {
		t.Fatalf("patient view leaks staff fields: %s", body)
	}
}

func TestAPIBooking(t *testing.T) {
	a := newAPIClinic(t)
	sched := a.schedulerToken()
	start := time.Now().Add(6 * time.Hour).Truncate(time.Minute)
	// Any offset in, UTC out.
	local := start.In(time.FixedZone("UTC+05:30", 5*3600+1800)).Format(time.RFC3339)
	body := `{"clinicianId":"` + a.clin.ID + `","patientId":"` + a.patB.ID + `","start":"` + local + `","durationMinutes":30}`
	key := map[string]string{"Idempotency-Key": "book-1"}

	status, b, _ := a.do("POST", "/api/v1/appointments", sched, body, key)
	if status != 201 {
		t.Fatalf("book: %d %s", status, b)
	}
	var got struct {
		ID          string `json:"id"`
		Start       string `json:"start"`
		PatientLink string `json:"patientLink"`
		Status      string `json:"status"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID == "" || !strings.HasSuffix(got.Start, "Z") || got.Status != "booked" ||
		!strings.HasPrefix(got.PatientLink, a.srv.URL+"/visit/"+got.ID+"#t=") {
		t.Fatalf("booked %+v", got)
	}
	if s, _ := time.Parse(time.RFC3339, got.Start); !s.Equal(start) {
		t.Fatalf("start %s, want %s", got.Start, start.UTC().Format(time.RFC3339))
	}
	// A retry with the same key books once.
	status, b, _ = a.do("POST", "/api/v1/appointments", sched, body, key)
	var again struct{ ID string }
	_ = json.Unmarshal(b, &again)
	if status != 201 || again.ID != got.ID {
		t.Fatalf("retry: %d %s, want the same appointment %s", status, b, got.ID)
	}
	// The same time without the key conflicts.
	status, b, _ = a.do("POST", "/api/v1/appointments", sched, body, nil)
	if status != 409 || !bytes.Contains(b, []byte(`"detail"`)) {
		t.Fatalf("double booking: %d %s, want 409 with a detail", status, b)
	}
	bad := map[string]string{
		"not JSON":        `{"clinicianId":`,
		"unknown field":   `{"clinicianId":"x","patientId":"y","start":"2026-01-01T10:00:00Z","durationMinutes":20,"room":"x"}`,
		"no start":        `{"clinicianId":"x","patientId":"y","durationMinutes":20}`,
		"start not 3339":  `{"clinicianId":"x","patientId":"y","start":"tomorrow","durationMinutes":20}`,
		"no duration":     `{"clinicianId":"x","patientId":"y","start":"2026-01-01T10:00:00Z"}`,
		"two objects":     `{"clinicianId":"x"} {}`,
		"body too large":  `{"clinicianId":"` + strings.Repeat("x", 70<<10) + `"}`,
		"no clinician id": `{"patientId":"y","start":"2026-01-01T10:00:00Z","durationMinutes":20}`,
	}
	for name, body := range bad {
		t.Run(name, func(t *testing.T) {
			if status, b, _ := a.do("POST", "/api/v1/appointments", sched, body, nil); status != 400 {
				t.Fatalf("%d %s, want 400", status, b)
			}
		})
	}
	past := `{"clinicianId":"` + a.clin.ID + `","patientId":"` + a.patB.ID + `","start":"` +
		time.Now().Add(-2*time.Hour).UTC().Format(time.RFC3339) + `","durationMinutes":30}`
	if status, b, _ := a.do("POST", "/api/v1/appointments", sched, past, nil); status != 422 {
		t.Fatalf("booking in the past: %d %s, want 422", status, b)
	}
	unknown := `{"clinicianId":"nobody","patientId":"` + a.patB.ID + `","start":"` + start.Format(time.RFC3339) + `","durationMinutes":30}`
	if status, b, _ := a.do("POST", "/api/v1/appointments", sched, unknown, nil); status != 404 {
		t.Fatalf("unknown clinician: %d %s, want 404", status, b)
	}

	// Reschedule keeps the id and bumps the ICS sequence; cancel turns the
	// invitation into a CANCEL.
	_, ics1, ctype := a.do("GET", "/api/v1/appointments/"+got.ID+"/invite.ics", sched, "", nil)
	if !strings.HasPrefix(ctype, "text/calendar") || !bytes.Contains(ics1, []byte("METHOD:REQUEST")) {
		t.Fatalf("ics: %s\n%s", ctype, ics1)
	}
	moved := `{"start":"` + start.Add(time.Hour).Format(time.RFC3339) + `"}`
	if status, b, _ := a.do("POST", "/api/v1/appointments/"+got.ID+"/reschedule", sched, moved, nil); status != 200 ||
		!bytes.Contains(b, []byte(`"id":"`+got.ID+`"`)) {
		t.Fatalf("reschedule: %d %s", status, b)
	}
	if status, b, _ := a.do("POST", "/api/v1/appointments/"+got.ID+"/cancel", sched, "", nil); status != 200 {
		t.Fatalf("cancel: %d %s", status, b)
	}
	_, ics2, _ := a.do("GET", "/api/v1/appointments/"+got.ID+"/invite.ics", sched, "", nil)
	if !bytes.Contains(ics2, []byte("METHOD:CANCEL")) || !bytes.Contains(ics2, []byte("UID:"+got.ID+"@vclinic")) {
		t.Fatalf("ics after cancel:\n%s", ics2)
	}
	if bytes.Equal(icsLine(ics1, "SEQUENCE:"), icsLine(ics2, "SEQUENCE:")) {
		t.Fatalf("SEQUENCE did not change: %s", icsLine(ics2, "SEQUENCE:"))
	}
	// A cancelled appointment cannot be fulfilled.
	if status, b, _ := a.do("POST", "/api/v1/appointments/"+got.ID+"/status", sched, `{"status":"fulfilled"}`, nil); status != 409 {
		t.Fatalf("cancelled -> fulfilled: %d %s, want 409", status, b)
	}
}

func icsLine(ics []byte, prefix string) []byte {
	for _, line := range bytes.Split(ics, []byte("\r\n")) {
		if bytes.HasPrefix(line, []byte(prefix)) {
			return line
		}
	}
	return nil
}

func TestAPIDocumentsItsRoutes(t *testing.T) {
	a := newAPIClinic(t)
	status, b, _ := a.do("GET", "/api/v1/openapi.json", "", "", nil)
	if status != 200 {
		t.Fatalf("openapi.json: %d", status)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Paths) < 15 {
		t.Fatalf("openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}
	// Every documented operation is routed: it answers something other than
	// 404 from the router or 405.
	sched := a.schedulerToken()
	for path, ops := range doc.Paths {
		concrete := strings.NewReplacer("{id}", a.apptA.ID).Replace(path)
		if strings.HasPrefix(path, "/api/v1/clinicians/{id}") {
			concrete = strings.Replace(path, "{id}", a.clin.ID, 1)
		}
		for method := range ops {
			if method == "parameters" {
				continue
			}
			req, _ := http.NewRequest(strings.ToUpper(method), a.srv.URL+concrete, nil)
			req.Header.Set("Authorization", "Bearer "+sched)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == 405 || (resp.StatusCode == 404 && resp.Header.Get("Content-Type") == "text/plain; charset=utf-8") {
				t.Errorf("%s %s documented but not routed (%d)", strings.ToUpper(method), path, resp.StatusCode)
			}
		}
	}
}

func TestAPIAuditsReads(t *testing.T) {
	a := newAPIClinic(t)
	clin := a.clinicianToken()
	if status, b, _ := a.do("GET", "/api/v1/appointments/"+a.apptA.ID, clin, "", nil); status != 200 {
		t.Fatalf("%d %s", status, b)
	}
	entries := a.auditLog(a.patA.ID)
	found := false
	for _, e := range entries {
		if e.ActorID == a.clinUser.ID && e.Action == "read" {
			found = true
		}
		if strings.Contains(e.Detail, string(a.patA.CPR)) {
			t.Fatalf("audit detail holds the CPR number: %+v", e)
		}
	}
	if !found {
		t.Fatalf("no audit row of the clinician reading patient A: %+v", entries)
	}
}

func TestAPIFHIR(t *testing.T) {
	a := newAPIClinic(t)
	clin := a.clinicianToken()
	get := func(path string) map[string]any {
		t.Helper()
		status, b, ctype := a.do("GET", path, clin, "", nil)
		if status != 200 || !strings.HasPrefix(ctype, "application/fhir+json") {
			t.Fatalf("GET %s: %d %s %s", path, status, ctype, b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	bundle := get("/fhir/r4/Schedule?actor=Practitioner/" + a.clin.ID)
	entries, _ := bundle["entry"].([]any)
	if bundle["resourceType"] != "Bundle" || bundle["type"] != "searchset" || len(entries) != 1 {
		t.Fatalf("Schedule search: %v", bundle)
	}
	first := entries[0].(map[string]any)
	if full, _ := first["fullUrl"].(string); !strings.HasPrefix(full, a.srv.URL+"/fhir/r4/Schedule/") {
		t.Fatalf("fullUrl %q is not absolute under the clinic's URL", full)
	}
	schedID := first["resource"].(map[string]any)["id"].(string)
	from := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	slots := get("/fhir/r4/Slot?schedule=Schedule/" + schedID + "&start=ge" + from)
	if se, _ := slots["entry"].([]any); len(se) == 0 {
		t.Fatalf("no free slots found in the next week: %v", slots)
	} else if st := se[0].(map[string]any)["resource"].(map[string]any); st["status"] != "free" || !strings.HasSuffix(st["start"].(string), "Z") {
		t.Fatalf("slot %v", st)
	}
	appt := get("/fhir/r4/Appointment/" + a.apptA.ID)
	if appt["resourceType"] != "Appointment" || appt["status"] != "booked" {
		t.Fatalf("appointment %v", appt)
	}
	b, _ := json.Marshal(appt)
	if !bytes.Contains(b, []byte("extension-Appointment.virtualService")) || !bytes.Contains(b, []byte("/visit/"+a.apptA.ID)) {
		t.Fatalf("no video link in the virtualService extension: %s", b)
	}
	if status, _, _ := a.do("GET", "/fhir/r4/Slot?schedule=nonsense", clin, "", nil); status != 400 {
		t.Fatalf("bad schedule: %d, want 400", status)
	}
	if status, _, _ := a.do("GET", "/fhir/r4/Appointment/nope", clin, "", nil); status != 404 {
		t.Fatalf("unknown appointment: %d, want 404", status)
	}
}

func TestAPIGuestLinks(t *testing.T) {
	a := newAPIClinic(t)
	sched := a.schedulerToken()
	status, b, _ := a.do("POST", "/api/v1/appointments/"+a.apptA.ID+"/links", sched, `{"role":"interpreter","name":"Ali Yilmaz"}`, nil)
	if status != 201 {
		t.Fatalf("interpreter link: %d %s", status, b)
	}
	var out struct{ Link string }
	_ = json.Unmarshal(b, &out)
	if !strings.HasPrefix(out.Link, a.srv.URL+"/visit/"+a.apptA.ID+"#t=") {
		t.Fatalf("link %q", out.Link)
	}
	tok := linkToken(t, out.Link)
	claims, err := a.c.keys.Verify(tok)
	if err != nil || claims.Role != "interpreter" || claims.Appt != a.apptA.ID || claims.Name != "Ali Yilmaz" {
		t.Fatalf("claims %+v, %v", claims, err)
	}
	// The interpreter sees the appointment its link belongs to, and only that.
	if status, _, _ := a.do("GET", "/api/v1/appointments/"+a.apptA.ID, tok, "", nil); status != 200 {
		t.Fatalf("interpreter reads its appointment: %d", status)
	}
	if status, _, _ := a.do("GET", "/api/v1/appointments/"+a.apptB.ID, tok, "", nil); status != 404 {
		t.Fatalf("interpreter reads another appointment: %d, want 404", status)
	}
	for name, body := range map[string]string{
		"patient role": `{"role":"patient","name":"X"}`,
		"no name":      `{"role":"relative","name":""}`,
		"clinician":    `{"role":"clinician","name":"X"}`,
	} {
		if status, b, _ := a.do("POST", "/api/v1/appointments/"+a.apptA.ID+"/links", sched, body, nil); status != 400 {
			t.Errorf("%s: %d %s, want 400", name, status, b)
		}
	}
}

// wsDial opens the WebSocket of room with token and returns the HTTP status
// of the answer: 101 when the upgrade went through.
func (a *apiClinic) wsDial(room, token string) int {
	a.t.Helper()
	url := "ws" + strings.TrimPrefix(a.srv.URL, "http") + "/ws?room=" + room
	ws, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + token}})
	if err == nil {
		ws.Close()
	}
	if resp == nil {
		a.t.Fatalf("dial %s: %v", room, err)
	}
	return resp.StatusCode
}

// TestAPIOnlyTheAppointmentsClinician: a clinician joins, admits and ends
// only their own appointments' visits, and sees only their rooms; schedulers
// join and admit none.
func TestAPIOnlyTheAppointmentsClinician(t *testing.T) {
	a := newAPIClinic(t)
	clin, sched := a.clinicianToken(), a.schedulerToken()
	// A clinician token must name the signed-in user, not the clinician
	// record: one that names no user is no credential (401).
	byRecordID := a.token(signaling.TokenRequest{Role: "clinician", Subject: a.clin.ID, Name: a.clin.Name})
	for _, tc := range []struct {
		name         string
		room, token  string
		wantWS       int
		wantRoomRead int
	}{
		{"another clinician's appointment", a.apptB.ID, clin, 403, 403},
		{"a token naming the clinician record", a.apptA.ID, byRecordID, 401, 401},
		{"a scheduler", a.apptA.ID, sched, 403, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := a.wsDial(tc.room, tc.token); got != tc.wantWS {
				t.Errorf("WebSocket: %d, want %d", got, tc.wantWS)
			}
			if got, b, _ := a.do("GET", "/api/v1/rooms/"+tc.room, tc.token, "", nil); got != tc.wantRoomRead {
				t.Errorf("room status: %d %s, want %d", got, b, tc.wantRoomRead)
			}
			for _, op := range []string{"admit", "end"} {
				if got, b, _ := a.do("POST", "/api/v1/appointments/"+tc.room+"/"+op, tc.token, "", nil); got != tc.wantRoomRead {
					t.Errorf("%s: %d %s, want %d", op, got, b, tc.wantRoomRead)
				}
			}
		})
	}
	// Patient B's appointment was left alone.
	if ap, err := a.c.store.GetAppointment(context.Background(), scheduler.System, a.apptB.ID); err != nil || ap.Status != scheduler.StatusBooked {
		t.Fatalf("appointment B after the refusals: %+v, %v", ap, err)
	}
	// The appointment's own clinician joins, admits and ends.
	if got := a.wsDial(a.apptA.ID, clin); got != http.StatusSwitchingProtocols {
		t.Fatalf("own clinician's WebSocket: %d, want 101", got)
	}
	if got, b, _ := a.do("POST", "/api/v1/appointments/"+a.apptA.ID+"/admit", clin, "", nil); got != 200 {
		t.Fatalf("own clinician admits: %d %s", got, b)
	}
	if got, b, _ := a.do("POST", "/api/v1/appointments/"+a.apptA.ID+"/end", clin, "", nil); got != 204 {
		t.Fatalf("own clinician ends: %d %s", got, b)
	}
	if ap, err := a.c.store.GetAppointment(context.Background(), scheduler.System, a.apptA.ID); err != nil || ap.Status != scheduler.StatusFulfilled {
		t.Fatalf("appointment A after its end: %+v, %v", ap, err)
	}
}

// TestAPIPresence: the console's poll shows a patient who waits, changes
// version when the list does, and adds nothing to the audit log.
func TestAPIPresence(t *testing.T) {
	a := newAPIClinic(t)
	clin, sched := a.clinicianToken(), a.schedulerToken()
	now := time.Now()
	path := "/api/v1/clinicians/" + a.clin.ID + "/presence?from=" + now.Add(-time.Hour).UTC().Format(time.RFC3339) +
		"&to=" + now.Add(24*time.Hour).UTC().Format(time.RFC3339)
	type presence struct {
		Version      string
		Appointments []struct {
			AppointmentID string
			Status        string
			Waiting       int
			InCall        int
		}
	}
	poll := func() presence {
		t.Helper()
		status, b, _ := a.do("GET", path, clin, "", nil)
		var p presence
		if status != 200 || json.Unmarshal(b, &p) != nil {
			t.Fatalf("presence: %d %s", status, b)
		}
		return p
	}
	auditRows := func() int {
		t.Helper()
		return len(a.auditLog(""))
	}
	v0 := poll().Version
	// A booking that starts now: its link is open.
	body := `{"clinicianId":"` + a.clin.ID + `","patientId":"` + a.patB.ID + `","start":"` +
		now.Add(time.Minute).Truncate(time.Minute).UTC().Format(time.RFC3339) + `","durationMinutes":20}`
	status, b, _ := a.do("POST", "/api/v1/appointments", sched, body, nil)
	var booked struct{ ID string }
	if status != 201 || json.Unmarshal(b, &booked) != nil {
		t.Fatalf("book: %d %s", status, b)
	}
	p := poll()
	if p.Version == v0 {
		t.Fatal("the booking did not change the version")
	}
	// The patient opens the link and waits.
	ws := a.wsJoin(booked.ID, a.patientToken(scheduler.Appointment{ID: booked.ID}, a.patB.ID))
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var env signaling.Envelope
		if err := ws.ReadJSON(&env); err != nil {
			t.Fatalf("waiting for joined: %v", err)
		}
		if env.Type == signaling.TypeJoined {
			break
		}
	}
	before := auditRows()
	p = poll()
	var found bool
	for _, e := range p.Appointments {
		if e.AppointmentID == booked.ID {
			found = true
			if e.Waiting != 1 || e.Status != "arrived" {
				t.Fatalf("the waiting patient's appointment: %+v, want 1 waiting, arrived", e)
			}
		}
	}
	if !found {
		t.Fatalf("presence %+v lacks appointment %s", p, booked.ID)
	}
	for range 5 {
		poll()
	}
	if after := auditRows(); after != before {
		t.Fatalf("presence polls wrote %d audit rows, want none", after-before)
	}
}

// TestAPIExpectedOnlyTheAppointmentsClinician: a clinician sees and changes
// what only their own appointments expect from the home kit; schedulers,
// who see no clinical data, none; and the checks add nothing to the audit
// log.
func TestAPIExpectedOnlyTheAppointmentsClinician(t *testing.T) {
	a := newAPIClinic(t)
	clin, sched := a.clinicianToken(), a.schedulerToken()
	body := func(patient string) string { return `{"patientId":"` + patient + `","codes":["85354-9"]}` }
	for _, tc := range []struct {
		name, token, appt, patient string
		want                       int
	}{
		{"own clinician", clin, a.apptA.ID, a.patA.ID, 200},
		{"another clinician's appointment", clin, a.apptB.ID, a.patB.ID, 403},
		{"an appointment that does not exist", clin, "no-such-appointment", a.patA.ID, 404},
		{"a scheduler", sched, a.apptB.ID, a.patB.ID, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, b, _ := a.do("PUT", "/api/v1/appointments/"+tc.appt+"/expected", tc.token, body(tc.patient), nil); got != tc.want {
				t.Errorf("PUT: %d %s, want %d", got, b, tc.want)
			}
			if got, b, _ := a.do("GET", "/api/v1/appointments/"+tc.appt+"/expected", tc.token, "", nil); got != tc.want {
				t.Errorf("GET: %d %s, want %d", got, b, tc.want)
			}
		})
	}
	// Rows about patients and appointments; reading the log adds its own row.
	auditRows := func() []audit.Entry {
		t.Helper()
		var out []audit.Entry
		for _, e := range a.auditLog("") {
			if e.Entity != "audit" {
				out = append(out, e)
			}
		}
		return out
	}
	before := auditRows()
	for range 5 {
		if got, b, _ := a.do("GET", "/api/v1/appointments/"+a.apptA.ID+"/expected", clin, "", nil); got != 200 {
			t.Fatalf("GET: %d %s", got, b)
		}
	}
	// Whether a patient's measurements arrived is their data: each read is
	// on the audit log, naming who, whose and from where.
	after := auditRows()
	if len(after) != len(before)+5 {
		t.Fatalf("5 reads of the checklist wrote %d audit rows, want 5", len(after)-len(before))
	}
	for _, e := range after[len(before):] {
		if e.Entity != "expected" || e.EntityID != a.apptA.ID || e.PatientID != a.patA.ID ||
			e.ActorID != a.clinUser.ID || e.Address != "127.0.0.1" {
			t.Errorf("audit row %+v", e)
		}
	}
}
