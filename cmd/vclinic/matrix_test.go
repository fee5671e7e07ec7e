package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"vclinic/scheduler"
	"vclinic/signaling"
)

// The authorization matrix: every route of the OpenAPI document, asked by
// every kind of caller, on the resources of appointment A (patient A,
// clinician A), with the status the rules give:
//
//   - 401: no credential, or an invalid, expired or revoked one.
//   - 403: staff acting on what is not theirs (another clinician's
//     appointment); a guest, patient or gateway acting beyond their scope on
//     their own kind of resource.
//   - 404: a patient, guest or gateway naming anything not theirs (never
//     saying whether it exists).
//
// A route that the document lists and the matrix does not, or the other way
// round, fails the test; so does a route the servers register that the
// document does not list.

// Callers of the matrix.
const (
	anon           = "anonymous"
	patient        = "patient"         // patient A's link for appointment A
	patientOther   = "patient-other"   // patient B's link for appointment B
	relative       = "relative"        // a relative's link for appointment A
	gateway        = "gateway"         // patient A's home gateway, with an operator's token
	gatewayOther   = "gateway-other"   // patient B's home gateway, with an operator's token
	kit            = "kit"             // patient A's home gateway, with its own credential
	kitOther       = "kit-other"       // patient B's home gateway, with its own credential
	kitRevoked     = "kit-revoked"     // a credential of patient A's that staff revoked
	clinician      = "clinician"       // appointment A's clinician
	clinicianOther = "clinician-other" // another clinician
	schedulerRole  = "scheduler"
	adminRole      = "admin"
)

var callers = []string{anon, patient, patientOther, relative, gateway, gatewayOther, kit, kitOther, kitRevoked,
	clinician, clinicianOther, schedulerRole, adminRole}

// publicRoutes need no credential.
var publicRoutes = map[string]bool{"GET /api/v1/login": true, "POST /api/v1/login": true, "POST /api/v1/logout": true, "POST /api/v1/kit/pair": true,
	"GET /api/v1/clinic": true, "POST /api/v1/sms/status": true}

// kitAs: a gateway's own credential is answered as the gateway's token is
// on the home kit's routes, and is no credential at all elsewhere.
var kitAs = map[string]string{kit: gateway, kitOther: gatewayOther}

// row is one route's expected statuses: every caller not named gets def.
type row struct {
	body   string // JSON body, with {appt}, {patient}, {clinician}, {start} filled in
	def    int
	status map[string]int
}

// matrix is keyed "METHOD /path" as the OpenAPI document writes it.
var matrix = map[string]row{
	"GET /api/v1/login":   {def: 200},
	"POST /api/v1/login":  {body: `{"username":"anna","password":"a long password 2"}`, def: 200},
	"POST /api/v1/logout": {def: 204},
	"GET /api/v1/me":      {def: 403, status: staffAll(200)},

	"GET /api/v1/clinicians":                   {def: 403, status: staffAll(200)},
	"POST /api/v1/clinicians":                  {body: `{"name":"Dr. New"}`, def: 403, status: schedAdmin(201)},
	"PUT /api/v1/clinicians/{id}":              {body: `{"name":"Dr. Renamed"}`, def: 403, status: schedAdmin(200)},
	"GET /api/v1/clinicians/{id}/availability": {def: 403, status: staffAll(200)},
	"PUT /api/v1/clinicians/{id}/availability": {body: `{"zone":"Europe/Copenhagen","rules":[{"weekday":1,"start":"08:00","end":"16:00"}],"exceptions":[]}`,
		def: 403, status: ownStaff(200)},
	"GET /api/v1/clinicians/{id}/slots":        {def: 403, status: staffAll(200)},
	"GET /api/v1/clinicians/{id}/appointments": {def: 403, status: ownStaff(200)},
	"GET /api/v1/clinicians/{id}/presence":     {def: 403, status: ownStaff(200)},

	"GET /api/v1/patients":          {def: 403, status: staffAll(200)},
	"POST /api/v1/patients":         {body: `{"name":"New Patient"}`, def: 403, status: schedAdmin(201)},
	"GET /api/v1/patients/{id}":     {def: 403, status: staffAll(200)},
	"PUT /api/v1/patients/{id}":     {body: `{"language":"da"}`, def: 403, status: schedAdmin(200)},
	"GET /api/v1/appointment-types": {def: 403, status: staffAll(200)},
	// The clinic's configuration: admins change it, staff read it, anyone
	// reads what patients see.
	"POST /api/v1/appointment-types":        {body: `{"names":{"da":"Telefonopfølgning"},"durationMinutes":15}`, def: 403, status: map[string]int{adminRole: 201}},
	"PUT /api/v1/appointment-types/{id}":    {body: `{"noticeMinutes":30}`, def: 403, status: map[string]int{adminRole: 200}},
	"DELETE /api/v1/appointment-types/{id}": {def: 403, status: map[string]int{adminRole: 204}},
	"GET /api/v1/stats":                     {def: 403, status: map[string]int{adminRole: 200}},
	"GET /api/v1/settings":                  {def: 403, status: staffAll(200)},
	"PUT /api/v1/settings":                  {body: `{"phone":"+4570112233"}`, def: 403, status: map[string]int{adminRole: 200}},
	"GET /api/v1/clinic":                    {def: 200},

	// The triage list: each clinician's own patients.
	"GET /api/v1/triage": {def: 403, status: map[string]int{clinician: 200, clinicianOther: 200}},

	// Messages to the patient: those who may run the visit. Delivery
	// reports: this clinic sends no SMS.
	"GET /api/v1/appointments/{id}/messages": {def: 403, status: ownStaff(200)},
	"POST /api/v1/sms/status":                {body: `{"id":"x","status":"delivered"}`, def: 404},
	// The patient's answer to their invitation: patients, on their own.
	"POST /api/v1/visit/reply": {body: `{"kind":"new-time"}`, def: 403, status: map[string]int{patient: 201, patientOther: 201}},
	// The patient's pre-visit check: patients, on their own visit. A probe
	// with an offer that is none is let through to be refused as such.
	"POST /api/v1/visit/check": {body: `{"runId":"run-matrix-1","camera":"pass","microphone":"pass","speaker":"pass","udp":"pass",` +
		`"tcp":"pass","relay":"not-configured","downKbps":2000,"upKbps":1000,"verdict":"ready","durationMs":20000}`,
		def: 403, status: map[string]int{patient: 201, patientOther: 201}},
	"GET /api/v1/visit/check/servers": {def: 403, status: map[string]int{patient: 200, patientOther: 200}},
	"POST /api/v1/visit/check/probe":  {body: `{"sdp":"v=0","transport":"udp"}`, def: 403, status: map[string]int{patient: 400, patientOther: 400}},

	"POST /api/v1/appointments": {body: `{"clinicianId":"{clinician}","patientId":"{patient}","start":"{start}","durationMinutes":20}`,
		def: 403, status: schedAdmin(201)},
	"GET /api/v1/appointments/{id}":             {def: 404, status: with(staffAll(200), map[string]int{patient: 200, relative: 200})},
	"POST /api/v1/appointments/{id}/cancel":     {body: `{"reason":"ill"}`, def: 403, status: ownStaff(200)},
	"POST /api/v1/appointments/{id}/reschedule": {body: `{"start":"{later}"}`, def: 403, status: schedAdmin(200)},
	"POST /api/v1/appointments/{id}/status":     {body: `{"status":"arrived"}`, def: 403, status: ownStaff(200)},
	"POST /api/v1/appointments/{id}/links":      {body: `{"role":"relative","name":"Jens"}`, def: 403, status: ownStaff(201)},
	// The visit's room: only its own clinician admits and ends.
	// The visit's connection quality: its own clinician and admins.
	"GET /api/v1/appointments/{id}/quality": {def: 403, status: map[string]int{clinician: 200, adminRole: 200}},
	// Bringing someone along: those who run the visit, and the patient
	// when the clinic allows it (not here). This clinic sends no messages,
	// so those allowed hear that (422).
	"POST /api/v1/appointments/{id}/invite": {body: `{"role":"relative","name":"Bo Berg","phone":"+4520000009"}`,
		def: 403, status: map[string]int{clinician: 422, schedulerRole: 422, adminRole: 422, patientOther: 404}},
	// The visit's chat is clinical talk: its own clinician only.
	"GET /api/v1/appointments/{id}/chat":       {def: 403, status: map[string]int{clinician: 200}},
	"POST /api/v1/appointments/{id}/admit":     {def: 403, status: map[string]int{clinician: 200}},
	"POST /api/v1/appointments/{id}/end":       {def: 403, status: map[string]int{clinician: 204}},
	"GET /api/v1/appointments/{id}/invite.ics": {def: 403, status: ownStaff(200)},
	"GET /api/v1/visit":                        {def: 404, status: map[string]int{patient: 200, patientOther: 200, relative: 200}},
	"GET /api/v1/rooms/{id}":                   {def: 403, status: map[string]int{clinician: 404, adminRole: 404}}, // no live room
	"GET /fhir/r4/Schedule":                    {def: 403, status: staffAll(200)},
	"GET /fhir/r4/Slot":                        {def: 403, status: staffAll(200)},
	"GET /fhir/r4/Appointment/{id}":            {def: 403, status: staffAll(200)},
	"GET /fhir/r4/Encounter/{id}":              {def: 403, status: staffAll(200)},
	"GET /fhir/r4/Encounter":                   {def: 403, status: staffAll(200)},
	"POST /api/v1/readings":                    {body: `{"readings":[]}`, def: 403, status: map[string]int{gateway: 200, gatewayOther: 200}},
	"POST /api/v1/readings/manual":             {body: `{"values":[{"code":"8310-5","value":"37.2","unit":"Cel"}]}`, def: 403},
	// A value staff type for the patient: the clinicians caring for them.
	"POST /api/v1/patients/{id}/readings/manual": {body: `{"values":[{"code":"8310-5","value":"37.2","unit":"Cel"}]}`, def: 403,
		status: map[string]int{clinician: 201, clinicianOther: 403, patientOther: 403, relative: 403, gateway: 403, gatewayOther: 403}},
	"GET /api/v1/patients/{id}/devices": {def: 404, status: with(staffAll(200), map[string]int{patient: 200, gateway: 200})},
	"POST /api/v1/patients/{id}/devices": {body: `{"type":"scale","address":"00:09:1F:00:00:0B","identifiedBy":"bluetooth-address"}`,
		def: 403, status: staffAll(201)},
	// Clinical data: the clinicians caring for the patient (appointment A's
	// clinician has an appointment with patient A within the care window);
	// never schedulers or admins.
	"GET /api/v1/patients/{id}/readings": {def: 404, status: map[string]int{clinician: 200, clinicianOther: 403,
		schedulerRole: 403, adminRole: 403, patient: 403, gateway: 403}},
	"GET /api/v1/patients/{id}/news2": {def: 404, status: map[string]int{clinician: 200, clinicianOther: 403,
		schedulerRole: 403, adminRole: 403, patient: 403, gateway: 403}},
	"GET /api/v1/patients/{id}/trends": {def: 404, status: map[string]int{clinician: 200, clinicianOther: 403,
		schedulerRole: 403, adminRole: 403, patient: 403, gateway: 403}},
	"GET /api/v1/appointments/{id}/expected": {def: 403, status: map[string]int{clinician: 200}},
	"PUT /api/v1/appointments/{id}/expected": {body: `{"codes":["8310-5"]}`, def: 403, status: map[string]int{clinician: 200}},
	"GET /fhir/r4/Observation":               {def: 403, status: map[string]int{clinician: 200}},
	"POST /api/v1/patients/{id}/care-team":   {body: `{"userId":"{clinicianUser}"}`, def: 403, status: map[string]int{adminRole: 201}},
	"POST /api/v1/patients/{id}/break-glass": {body: `{"reason":"covering the ward tonight"}`, def: 403, status: map[string]int{clinician: 201, clinicianOther: 201}},
	"GET /api/v1/break-glass":                {def: 403, status: map[string]int{adminRole: 200}},
	"GET /fhir/r4/Device":                    {def: 403, status: staffAll(200)},
	"POST /api/v1/patients/{id}/gateways":    {body: `{"label":"hall"}`, def: 403, status: staffAll(201)},
	"GET /api/v1/patients/{id}/gateways":     {def: 403, status: staffAll(200)},

	// Limits and flagged readings are clinical data: the clinician caring
	// for the patient. An appointment type's defaults: staff read, admins set.
	"GET /api/v1/patients/{id}/limits":                                  {def: 403, status: map[string]int{clinician: 200}},
	"PUT /api/v1/patients/{id}/limits":                                  {body: `{"version":0,"limits":[{"code":"8310-5","high":38}]}`, def: 403, status: map[string]int{clinician: 200}},
	"GET /api/v1/patients/{id}/flagged-readings":                        {def: 403, status: map[string]int{clinician: 200}},
	"POST /api/v1/patients/{id}/flagged-readings/{reading}/acknowledge": {body: `{}`, def: 403, status: map[string]int{clinician: 404}}, // no such reading
	"GET /api/v1/appointment-types/{id}/limits":                         {def: 403, status: staffAll(200)},
	"PUT /api/v1/appointment-types/{id}/limits":                         {body: `{"version":0}`, def: 403, status: map[string]int{adminRole: 200}},

	// Another pairing code for gw-a; then gw-a revoked (the callers that
	// ask after the first staff member meet it revoked: nothing to do).
	"POST /api/v1/patients/{id}/gateways/{gateway}/pairing": {def: 403, status: staffAll(201)},
	"POST /api/v1/patients/{id}/gateways/{gateway}/revoke":  {def: 403, status: staffAll(204)},
	"POST /api/v1/kit/pair":                                 {body: `{"code":"AAAA-BBBB-CCCC"}`, def: 404},
	"GET /api/v1/audit":                                     {def: 403, status: map[string]int{adminRole: 200}},
	"GET /api/v1/cluster":                                   {def: 403, status: map[string]int{adminRole: 200}},
	"GET /api/v1/me/access-log":                             {def: 403, status: map[string]int{patient: 200, patientOther: 200}},
	// Only appointment A's clinician knows this password; for other staff
	// the current password is wrong (401).
	"POST /api/v1/me/password": {body: `{"current":"a long password 2","new":"a brand new password"}`,
		def: 403, status: map[string]int{clinician: 200, clinicianOther: 401, schedulerRole: 401, adminRole: 401}},
	"POST /api/v1/users/{id}/unlock":   {def: 403, status: map[string]int{adminRole: 204}},
	"POST /api/v1/users/{id}/sign-out": {def: 403, status: map[string]int{clinician: 204, adminRole: 204}},
	"POST /api/v1/users/{id}/disable":  {def: 403, status: map[string]int{adminRole: 204}},
	"POST /api/v1/users/{id}/enable":   {def: 403, status: map[string]int{adminRole: 204}},
}

func staffAll(s int) map[string]int {
	return map[string]int{clinician: s, clinicianOther: s, schedulerRole: s, adminRole: s}
}

// ownStaff: the appointment's (or calendar's) own clinician, schedulers and
// admins; another clinician is 403.
func ownStaff(s int) map[string]int {
	return map[string]int{clinician: s, schedulerRole: s, adminRole: s}
}

func schedAdmin(s int) map[string]int { return map[string]int{schedulerRole: s, adminRole: s} }

func with(a, b map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// want is the status row gives caller: 401 for no credential, else the
// caller's own or the row's default.
func (r row) want(caller string, route string) int {
	if (caller == anon || caller == kitRevoked) && !publicRoutes[route] {
		return 401
	}
	if as, ok := kitAs[caller]; ok {
		if !publicRoutes[route] && !homekitRoutes()[routeShape(route)] {
			return 401
		}
		caller = as
	}
	if s, ok := r.status[caller]; ok {
		return s
	}
	return r.def
}

// openAPIRoutes lists "METHOD /path" of every operation the document has.
func openAPIRoutes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../scheduler/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for p, ops := range doc.Paths {
		for m := range ops {
			switch m {
			case "get", "post", "put", "delete", "patch":
				out = append(out, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// registeredRoutes reads the API routes the servers register from their
// source (httprouter keeps no list), as the OpenAPI document writes them.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	re := regexp.MustCompile(`r\.(?:(GET|POST|PUT|DELETE|PATCH)\(|HandlerFunc\(http\.Method(Get|Post|Put|Delete|Patch), )"(/(?:api|fhir)/[^"]+)"`)
	var out []string
	for _, f := range []string{"serve.go", "../../scheduler/api.go", "../../homekit/api.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			path := regexp.MustCompile(`:(\w+)`).ReplaceAllString(m[3], "{$1}")
			out = append(out, strings.ToUpper(m[1]+m[2])+" "+path)
		}
	}
	if len(out) < 30 {
		t.Fatalf("found %d routes in the source; the pattern no longer matches how routes are registered", len(out))
	}
	return out
}

// homekitRoutes are the shapes of the routes package homekit serves, read
// from its source as registeredRoutes reads them.
var homekitRoutes = sync.OnceValue(func() map[string]bool {
	b, err := os.ReadFile("../../homekit/api.go")
	if err != nil {
		panic(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`r\.(GET|POST|PUT|DELETE|PATCH)\("(/[^"]+)"`).FindAllStringSubmatch(string(b), -1) {
		out[routeShape(m[1]+" "+regexp.MustCompile(`:(\w+)`).ReplaceAllString(m[2], "{$1}"))] = true
	}
	return out
})

// routeShape is a route with its parameters' names left out: the document
// and the routers may name them differently.
func routeShape(route string) string {
	return regexp.MustCompile(`\{\w+\}`).ReplaceAllString(route, "{}")
}

func TestAuthorizationMatrixCoversEveryRoute(t *testing.T) {
	doc := openAPIRoutes(t)
	var shapes []string
	for _, r := range doc {
		shapes = append(shapes, routeShape(r))
	}
	for _, r := range doc {
		if _, ok := matrix[r]; !ok {
			t.Errorf("%s is in the OpenAPI document but not in the matrix", r)
		}
	}
	for r := range matrix {
		if !slices.Contains(doc, r) {
			t.Errorf("%s is in the matrix but not in the OpenAPI document", r)
		}
	}
	for _, r := range registeredRoutes(t) {
		if r == "GET /api/v1/openapi.json" {
			continue
		}
		if !slices.Contains(shapes, routeShape(r)) {
			t.Errorf("%s is served but not in the OpenAPI document", r)
		}
	}
}

// matrixClinic is an apiClinic with a token for every caller.
type matrixClinic struct {
	*apiClinic
	tokens map[string]string
	slot   int    // which caller asks: new bookings start an hour apart
	typeID string // an appointment type no appointment uses
}

func newMatrixClinic(t *testing.T) *matrixClinic {
	a := newAPIClinic(t)
	ctx := context.Background()
	m := &matrixClinic{apiClinic: a, tokens: map[string]string{}}
	other, err := a.c.store.CreateUser(ctx, scheduler.System, "peter", "Dr. Peter Berg", scheduler.RoleClinician, "a long password 3")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := a.c.store.CreateUser(ctx, scheduler.System, "root", "Ada Admin", scheduler.RoleAdmin, "a long password 4")
	if err != nil {
		t.Fatal(err)
	}
	// Each gateway pairs for its own credential, as a gateway in a home does.
	for id, pid := range map[string]string{"gw-a": a.patA.ID, "gw-b": a.patB.ID, "gw-r": a.patA.ID} {
		status, b, _ := a.do("POST", "/api/v1/patients/"+pid+"/gateways", a.schedulerToken(), `{"id":"`+id+`"}`, nil)
		var reg struct {
			PairingCode string `json:"pairingCode"`
		}
		if status != 201 || json.Unmarshal(b, &reg) != nil || reg.PairingCode == "" {
			t.Fatalf("gateway %s: %d %s", id, status, b)
		}
		status, b, _ = a.do("POST", "/api/v1/kit/pair", "", `{"code":"`+reg.PairingCode+`"}`, nil)
		var paired struct {
			Credential string `json:"credential"`
		}
		if status != 200 || json.Unmarshal(b, &paired) != nil || paired.Credential == "" {
			t.Fatalf("pair %s: %d %s", id, status, b)
		}
		m.tokens[map[string]string{"gw-a": kit, "gw-b": kitOther, "gw-r": kitRevoked}[id]] = paired.Credential
	}
	if status, b, _ := a.do("POST", "/api/v1/patients/"+a.patA.ID+"/gateways/gw-r/revoke", a.schedulerToken(), "", nil); status != 204 {
		t.Fatalf("revoke gw-r: %d %s", status, b)
	}
	m.tokens[patient] = a.patientToken(a.apptA, a.patA.ID)
	m.tokens[patientOther] = a.patientToken(a.apptB, a.patB.ID)
	m.tokens[relative] = a.token(signaling.TokenRequest{Role: "relative", Subject: "relative-1", Appt: a.apptA.ID})
	m.tokens[gateway] = a.token(signaling.TokenRequest{Role: "gateway", Subject: "gw-a"})
	m.tokens[gatewayOther] = a.token(signaling.TokenRequest{Role: "gateway", Subject: "gw-b"})
	m.tokens[clinician] = a.clinicianToken()
	m.tokens[clinicianOther] = a.token(signaling.TokenRequest{Role: "clinician", Subject: other.ID, Name: other.Name})
	m.tokens[schedulerRole] = a.schedulerToken()
	m.tokens[adminRole] = a.token(signaling.TokenRequest{Role: "admin", Subject: admin.ID, Name: admin.Name})
	typ, err := a.c.store.CreateAppointmentType(ctx, scheduler.System, scheduler.AppointmentType{Name: "Matrix", Duration: 20 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	m.typeID = typ.ID
	return m
}

// request fills route's path and body for the matrix's resources.
func (m *matrixClinic) request(route string, body string) (method, path, filled string) {
	method, path, _ = strings.Cut(route, " ")
	id := m.apptA.ID
	switch {
	case strings.HasPrefix(path, "/api/v1/clinicians/"):
		id = m.clin.ID
	case strings.HasPrefix(path, "/api/v1/patients/"):
		id = m.patA.ID
	case strings.HasPrefix(path, "/api/v1/users/"):
		id = m.clinUser.ID
	case strings.HasPrefix(path, "/api/v1/appointment-types/"):
		id = m.typeID
	}
	path = strings.ReplaceAll(strings.ReplaceAll(path, "{id}", id), "{gateway}", "gw-a")
	path = strings.ReplaceAll(path, "{reading}", "rd-none")
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	to := time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	switch path {
	case "/api/v1/clinicians/" + m.clin.ID + "/slots", "/api/v1/clinicians/" + m.clin.ID + "/appointments",
		"/api/v1/clinicians/" + m.clin.ID + "/presence":
		path += "?from=" + from + "&to=" + to
	case "/api/v1/stats":
		path += "?from=" + time.Now().AddDate(0, 0, -7).Format(time.DateOnly) + "&to=" + time.Now().Format(time.DateOnly)
	case "/fhir/r4/Schedule":
		path += "?actor=Practitioner/" + m.clin.ID
	case "/fhir/r4/Slot":
		path += "?schedule=Schedule/sched-" + m.clin.ID + "&start=ge" + from + "&start=lt" + to
	case "/fhir/r4/Observation", "/fhir/r4/Device", "/fhir/r4/Encounter":
		path += "?patient=" + m.patA.ID
	}
	filled = strings.NewReplacer(
		"{appt}", m.apptA.ID, "{patient}", m.patA.ID, "{clinician}", m.clin.ID, "{clinicianUser}", m.clinUser.ID,
		"{start}", time.Now().Add(time.Duration(26+m.slot)*time.Hour).Truncate(time.Hour).UTC().Format(time.RFC3339),
		"{later}", m.apptA.Start.Add(48*time.Hour).UTC().Format(time.RFC3339),
	).Replace(body)
	return method, path, filled
}

func TestAuthorizationMatrix(t *testing.T) {
	routes := openAPIRoutes(t)
	for _, route := range routes {
		r, ok := matrix[route]
		if !ok {
			continue // TestAuthorizationMatrixCoversEveryRoute says so
		}
		t.Run(route, func(t *testing.T) {
			m := newMatrixClinic(t)
			method, _, _ := strings.Cut(route, " ")
			changes := method != "GET" && strings.HasPrefix(route, method+" /api/v1/appointments/{id}")
			for i, caller := range callers {
				want := r.want(caller, route)
				if changes && want < 300 {
					// A change that succeeds meets an appointment of its
					// own, so that the next caller meets the same state.
					m.apptA = m.book(time.Now().Add(time.Duration(3+i) * time.Hour))
				}
				m.slot = i
				// Each caller from an address of its own: sign-in attempts
				// are limited per address.
				m.client = clientFrom(fmt.Sprintf("127.0.0.%d", 10+i))
				method, path, body := m.request(route, r.body)
				status, b, _ := m.do(method, path, m.tokens[caller], body, nil)
				if status != want {
					t.Errorf("%s as %s: %d, want %d: %s", route, caller, status, want, strings.TrimSpace(string(b)))
				}
			}
		})
	}
}

// book books a fresh appointment of patient A with clinician A at start.
func (m *matrixClinic) book(start time.Time) scheduler.Appointment {
	m.t.Helper()
	b, err := m.c.store.Book(context.Background(), m.sched.Actor(), scheduler.BookRequest{ClinicianID: m.clin.ID,
		PatientID: m.patA.ID, Start: start.Truncate(time.Minute), Duration: 30 * time.Minute}, time.Now())
	if err != nil {
		m.t.Fatal(err)
	}
	return b.Appointment
}

// TestAuthorizationMatrixWebSocket: who may open the visit's WebSocket of
// appointment A (the upgrade's status; 101 when it went through). The
// visit is two hours ahead: its patient and relative are told to come back
// later (403), the clinician may wait in the room.
func TestAuthorizationMatrixWebSocket(t *testing.T) {
	m := newMatrixClinic(t)
	want := map[string]int{anon: 401, clinician: 101, kit: 401, kitOther: 401, kitRevoked: 401}
	for _, caller := range callers {
		w, ok := want[caller]
		if !ok {
			w = 403
		}
		if caller == anon {
			if got := m.wsDialNoToken(m.apptA.ID); got != w {
				t.Errorf("WebSocket as %s: %d, want %d", caller, got, w)
			}
			continue
		}
		if got := m.wsDial(m.apptA.ID, m.tokens[caller]); got != w {
			t.Errorf("WebSocket as %s: %d, want %d", caller, got, w)
		}
	}
}

// wsDialNoToken opens the WebSocket of room with no credential.
func (a *apiClinic) wsDialNoToken(room string) int {
	a.t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.srv.URL, "http")+"/ws?room="+room, nil)
	if err == nil {
		ws.Close()
	}
	if resp == nil {
		a.t.Fatalf("dial %s: %v", room, err)
	}
	return resp.StatusCode
}

// TestAuthorizationMatrixMessages: in an open visit, which participant may
// send which message: only the appointment's clinician admits, ends and asks
// for a measurement; only the patient sends readings. A refusal is an error
// "forbidden" naming the message; an allowed message is answered in kind or
// not at all.
func TestAuthorizationMatrixMessages(t *testing.T) {
	m := newMatrixClinic(t)
	now := m.book(time.Now().Add(time.Minute))
	tokens := map[string]string{
		patient:   m.patientToken(now, m.patA.ID),
		relative:  m.token(signaling.TokenRequest{Role: "relative", Subject: "relative-1", Appt: now.ID}),
		clinician: m.tokens[clinician],
	}
	conns := map[string]*websocket.Conn{}
	for _, who := range []string{clinician, patient, relative} {
		conns[who] = m.wsJoin(now.ID, tokens[who])
		readUntil(t, conns[who], func(env signaling.Envelope) bool { return env.Type == signaling.TypeJoined })
	}
	readings := map[string]any{"readings": []any{}}
	for _, tc := range []struct {
		who, typ  string
		payload   any
		forbidden bool
	}{
		{patient, signaling.TypeEnd, struct{}{}, true},
		{patient, signaling.TypeRequestMeasurement, signaling.RequestMeasurement{Code: "8310-5"}, true},
		{patient, signaling.TypeAdmit, signaling.Admit{ParticipantID: "p-someone"}, true},
		{relative, signaling.TypeReadings, readings, true},
		{relative, signaling.TypeAdmit, signaling.Admit{ParticipantID: "p-someone"}, true},
		{clinician, signaling.TypeReadings, readings, true},
		{patient, signaling.TypeReadings, readings, false},
		{clinician, signaling.TypeRequestMeasurement, signaling.RequestMeasurement{Code: "8310-5"}, false},
	} {
		t.Run(tc.who+" sends "+tc.typ, func(t *testing.T) {
			ws := conns[tc.who]
			id := "m-" + tc.typ
			payload, _ := json.Marshal(tc.payload)
			if err := ws.WriteJSON(signaling.Envelope{Type: tc.typ, ID: id, Payload: payload}); err != nil {
				t.Fatal(err)
			}
			// A ping after it: its pong comes after any answer to it.
			if err := ws.WriteJSON(signaling.Envelope{Type: signaling.TypePing, ID: "p-" + tc.typ}); err != nil {
				t.Fatal(err)
			}
			var refused string
			readUntil(t, ws, func(env signaling.Envelope) bool {
				if env.Type == signaling.TypeError {
					var e signaling.Error
					_ = json.Unmarshal(env.Payload, &e)
					if e.Ref == id {
						refused = e.Code
					}
				}
				return env.Type == signaling.TypePong && env.ID == "p-"+tc.typ
			})
			if tc.forbidden && refused != signaling.CodeForbidden {
				t.Errorf("answered %q, want forbidden", refused)
			}
			if !tc.forbidden && refused != "" {
				t.Errorf("refused with %q", refused)
			}
		})
	}
}

// readUntil reads messages until done says so, for at most 10 seconds.
func readUntil(t *testing.T, ws *websocket.Conn, done func(signaling.Envelope) bool) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var env signaling.Envelope
		if err := ws.ReadJSON(&env); err != nil {
			t.Fatalf("reading: %v", err)
		}
		if done(env) {
			return
		}
	}
}
