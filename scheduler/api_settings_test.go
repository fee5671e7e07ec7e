package scheduler

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"

	"vclinic/internal/records/recordstest"
)

// decodeAs unmarshals an answer the test expects to be JSON.
func decodeAs[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// expect fails the test unless the request answers want.
func (f *apiFixture) expect(want int, method, path, token, body string) []byte {
	f.t.Helper()
	status, b := f.do(method, path, token, body)
	if status != want {
		f.t.Fatalf("%s %s: %d %s, want %d", method, path, status, b, want)
	}
	return b
}

const (
	adminToken     = RoleAdmin + ":user-admin"
	schedulerToken = RoleScheduler + ":user-scheduler"
)

func TestAppointmentTypesAPI(t *testing.T) {
	f := newAPIFixture(t)
	body := `{"names":{"da":"Telefonopfølgning","en":"Telephone follow-up"},"durationMinutes":15,
		"bufferBeforeMinutes":0,"bufferAfterMinutes":5,"noticeMinutes":60,"expected":["85354-9","8310-5"]}`
	f.expect(403, "POST", "/api/v1/appointment-types", schedulerToken, body)
	f.expect(403, "POST", "/api/v1/appointment-types", f.mineToken, body)
	f.expect(401, "POST", "/api/v1/appointment-types", "", body)
	created := decodeAs[typeView](t, f.expect(201, "POST", "/api/v1/appointment-types", adminToken, body))
	if created.Name != "Telephone follow-up" || created.Names.DA != "Telefonopfølgning" || created.DurationMinutes != 15 ||
		created.BufferAfterMinutes != 5 || created.NoticeMinutes != 60 || created.MinNoticeMinutes != 60 ||
		created.HorizonDays != nil || created.BookableDays != 180 || !slices.Equal(created.Expected, []string{"8310-5", "85354-9"}) || created.Retired {
		t.Errorf("created %+v", created)
	}
	for _, tc := range []struct {
		body   string
		status int
		detail string
	}{
		{`{"names":{"da":"x"},"durationMinutes":3}`, 422, "duration must be"},
		{`{"names":{"de":"x"},"durationMinutes":30}`, 400, "unknown field"},
		{`{"durationMinutes":30}`, 422, "names: give da, en or both"},
		{`{"name":"x","durationMinutes":30,"horizonDays":0}`, 422, "horizon"},
		{`{"name":"x","durationMinutes":30,"expected":["12345-6"]}`, 422, `\"12345-6\" is not a LOINC code`},
		{`{"name":"x","durationMinutes":30,"retired":"yes"}`, 400, "invalid JSON"},
		{`{"name":"x"} {}`, 400, "one JSON object"},
	} {
		status, b := f.do("POST", "/api/v1/appointment-types", adminToken, tc.body)
		if status != tc.status || !strings.Contains(string(b), tc.detail) {
			t.Errorf("POST %s: %d %s, want %d with %q", tc.body, status, b, tc.status, tc.detail)
		}
	}
	path := "/api/v1/appointment-types/" + created.ID
	// A PUT changes what it names and keeps the rest; a GET's answer sent
	// back with one change changes that one.
	changed := decodeAs[typeView](t, f.expect(200, "PUT", path, adminToken, `{"noticeMinutes":120,"horizonDays":40}`))
	if changed.NoticeMinutes != 120 || *changed.HorizonDays != 40 || changed.BookableDays != 40 || changed.Names != created.Names {
		t.Errorf("changed %+v", changed)
	}
	changed.Names.DA = "Telefonopfølgning 15 min"
	changed.NoticeMinutes = 30 // minNoticeMinutes still says 120: the new name wins
	b, _ := json.Marshal(changed)
	again := decodeAs[typeView](t, f.expect(200, "PUT", path, adminToken, string(b)))
	if again.Names.DA != "Telefonopfølgning 15 min" || again.NoticeMinutes != 30 || again.Name != "Telephone follow-up" {
		t.Errorf("after the GET's answer came back %+v", again)
	}
	f.expect(200, "PUT", path, adminToken, `{"minNoticeMinutes":45,"horizonDays":null}`)
	list := decodeAs[[]typeView](t, f.expect(200, "GET", "/api/v1/appointment-types", f.mineToken, ""))
	i := slices.IndexFunc(list, func(v typeView) bool { return v.ID == created.ID })
	if i < 0 || list[i].NoticeMinutes != 45 || list[i].HorizonDays != nil || list[i].BookableDays != 180 {
		t.Errorf("listed %+v", list)
	}
	f.expect(422, "PUT", path, adminToken, `{"durationMinutes":500}`)
	f.expect(403, "PUT", path, schedulerToken, `{"durationMinutes":20}`)
	f.expect(404, "PUT", "/api/v1/appointment-types/nothing", adminToken, `{"durationMinutes":20}`)

	// In use: 409, retire instead; retired types are left out on request.
	typPath := "/api/v1/appointment-types/" + f.typ.ID
	if b := f.expect(409, "DELETE", typPath, adminToken, ""); !strings.Contains(string(b), "retire it instead") {
		t.Errorf("refusal %s", b)
	}
	f.expect(200, "PUT", typPath, adminToken, `{"retired":true}`)
	active := decodeAs[[]typeView](t, f.expect(200, "GET", "/api/v1/appointment-types?retired=false", schedulerToken, ""))
	if slices.ContainsFunc(active, func(v typeView) bool { return v.ID == f.typ.ID }) || len(active) != 1 {
		t.Errorf("active types %+v", active)
	}
	booking := fmt.Sprintf(`{"clinicianId":%q,"patientId":%q,"typeId":%q,"start":"2026-06-03T10:00:00+02:00"}`, f.clin.ID, f.pat.ID, f.typ.ID)
	if b := f.expect(422, "POST", "/api/v1/appointments", schedulerToken, booking); !strings.Contains(string(b), "retired") {
		t.Errorf("booking a retired type: %s", b)
	}
	f.expect(422, "GET", "/api/v1/clinicians/"+f.clin.ID+"/slots?from=2026-06-02T00:00:00Z&to=2026-06-03T00:00:00Z&type="+f.typ.ID, schedulerToken, "")
	// The appointment booked with it is as it was.
	appt := decodeAs[Appointment](t, f.expect(200, "GET", "/api/v1/appointments/"+f.theirs.ID, schedulerToken, ""))
	if appt.TypeID != f.typ.ID || !appt.End.Equal(f.theirs.End) || appt.Status != StatusBooked {
		t.Errorf("the appointment of the retired type %+v", appt)
	}
	f.expect(403, "DELETE", path, schedulerToken, "")
	f.expect(204, "DELETE", path, adminToken, "")
	f.expect(404, "DELETE", path, adminToken, "")
}

func TestSettingsAPI(t *testing.T) {
	f := newAPIFixture(t)
	if err := f.s.SeedSettings(f.ctx, "da"); err != nil {
		t.Fatal(err)
	}
	st := decodeAs[Settings](t, f.expect(200, "GET", "/api/v1/settings", schedulerToken, ""))
	if st.Language != "da" || st.Version != 1 {
		t.Errorf("seeded %+v", st)
	}
	f.expect(401, "GET", "/api/v1/settings", "", "")
	f.expect(403, "GET", "/api/v1/settings", RolePatient+":"+f.pat.ID+":"+f.apptA.ID, "")
	f.expect(403, "PUT", "/api/v1/settings", schedulerToken, `{"phone":"+4570112233"}`)
	put := decodeAs[Settings](t, f.expect(200, "PUT", "/api/v1/settings", adminToken,
		`{"name":"Medicinsk Ambulatorium, Regionshospitalet","phone":"+45 70 11 22 33","version":1,
		  "department":[{"id":"med","names":{"da":"Medicinsk afdeling","en":"Medical department"}}],
		  "hours":{"saturday":[{"open":"09:00","close":"12:00"}]}}`))
	if put.Phone != "+4570112233" || put.Version != 2 || put.Language != "da" || len(put.Departments) != 1 ||
		len(put.Hours.Saturday) != 1 || len(put.Hours.Monday) != 1 || !slices.Equal(put.Reminders, []string{"24h", "1h"}) {
		t.Errorf("after PUT %+v", put)
	}
	// Anyone reads what patients see, at once after the change.
	info := decodeAs[ClinicInfo](t, f.expect(200, "GET", "/api/v1/clinic", "", ""))
	if info.Name != "Medicinsk Ambulatorium, Regionshospitalet" || info.Phone != "+4570112233" || info.Language != "da" ||
		info.OpenNow || len(info.Hours.Saturday) != 1 {
		t.Errorf("public %+v (07:00 on a Monday: closed)", info)
	}
	b := f.expect(409, "PUT", "/api/v1/settings", adminToken, `{"phone":"+4570000000","version":1}`)
	if !strings.Contains(string(b), "changed since version 1") {
		t.Errorf("stale version: %s", b)
	}
	for _, bad := range []string{`{"language":"de"}`, `{"phone":"12345"}`, `{"reminders":["tomorrow"]}`, `{"horizonDays":1000}`} {
		f.expect(422, "PUT", "/api/v1/settings", adminToken, bad)
	}
	f.expect(400, "PUT", "/api/v1/settings", adminToken, `{"colour":"blue"}`)
	if now := decodeAs[Settings](t, f.expect(200, "GET", "/api/v1/settings", f.mineToken, "")); now.Version != 2 || now.Phone != "+4570112233" {
		t.Errorf("refused changes were kept: %+v", now)
	}
}

// TestSlotSearchHorizon: the slot search follows the booking's horizon,
// says so when it reaches past it, and has a range limit of its own.
func TestSlotSearchHorizon(t *testing.T) {
	f := newAPIFixture(t)
	slots := func(from, to time.Time, typ string) string {
		p := "/api/v1/clinicians/" + f.clin.ID + "/slots?from=" + from.UTC().Format(time.RFC3339) + "&to=" + to.UTC().Format(time.RFC3339)
		if typ != "" {
			p += "&type=" + typ
		}
		return p
	}
	day := 24 * time.Hour
	// f.typ books 30 days ahead: a week that ends on day 31 reaches past.
	b := f.expect(422, "GET", slots(f.now.Add(24*day), f.now.Add(31*day), f.typ.ID), schedulerToken, "")
	problem := decodeAs[map[string]any](t, b)
	if problem["bookableUntil"] != f.now.Add(30*day).UTC().Format(time.RFC3339) ||
		!strings.Contains(problem["detail"].(string), "reaches past the 30-day booking horizon") {
		t.Errorf("problem %v", problem)
	}
	// Up to the horizon it answers, its last slot at most 30 days ahead.
	got := decodeAs[struct{ Slots []Slot }](t, f.expect(200, "GET", slots(f.now.Add(24*day), f.now.Add(30*day), f.typ.ID), schedulerToken, ""))
	if len(got.Slots) == 0 || got.Slots[len(got.Slots)-1].Start.After(f.now.Add(30*day)) {
		t.Errorf("slots up to the horizon: %d", len(got.Slots))
	}
	// The range limit is its own: 63 days.
	b = f.expect(400, "GET", slots(f.now, f.now.Add(64*day), ""), schedulerToken, "")
	if !strings.Contains(string(b), "the search range limit") {
		t.Errorf("range limit: %s", b)
	}
	// Without a type, the clinic's horizon (180 days): a slot 113 days
	// ahead is listed and can be booked.
	from := f.now.Add(113 * day)
	got = decodeAs[struct{ Slots []Slot }](t, f.expect(200, "GET", slots(from, from.Add(7*day), ""), schedulerToken, ""))
	if len(got.Slots) == 0 {
		t.Fatal("no slot 113 days ahead")
	}
	book := func(start time.Time) (int, []byte) {
		return f.do("POST", "/api/v1/appointments", schedulerToken, fmt.Sprintf(
			`{"clinicianId":%q,"patientId":%q,"durationMinutes":30,"start":%q}`, f.clin.ID, f.pat.ID, start.Format(time.RFC3339)))
	}
	if status, b := book(got.Slots[0].Start); status != http.StatusCreated {
		t.Fatalf("booking the listed slot: %d %s", status, b)
	}
	// The clinic's horizon becomes 90 days: the search and the booking
	// both refuse the same day, and both take day 89.
	f.expect(200, "PUT", "/api/v1/settings", adminToken, `{"horizonDays":90}`)
	f.expect(422, "GET", slots(from, from.Add(7*day), ""), schedulerToken, "")
	if status, b := book(got.Slots[1].Start); status != 422 || !strings.Contains(string(b), "beyond the 90-day booking horizon") {
		t.Errorf("booking past the new horizon: %d %s", status, b)
	}
	near := f.now.Add(82 * day)
	got = decodeAs[struct{ Slots []Slot }](t, f.expect(200, "GET", slots(near, near.Add(7*day), ""), schedulerToken, ""))
	if len(got.Slots) == 0 {
		t.Fatal("no slot 82-89 days ahead")
	}
	if status, b := book(got.Slots[len(got.Slots)-1].Start); status != http.StatusCreated {
		t.Errorf("booking the last listed slot: %d %s", status, b)
	}
}

// TestLOINCCheckDigit: the codes of the home kit pass, a wrong check digit
// does not.
func TestLOINCCheckDigit(t *testing.T) {
	for _, c := range []string{"8310-5", "85354-9", "8867-4", "59408-5", "29463-7", "8480-6", "8462-4", "39156-5",
		"8302-2", "2339-0", "15074-8", "8478-0", "12345-5"} {
		if !validLOINC(c) {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"12345-6", "8310-4", "x-1", "8310-55", "-5", "12345678-9"} {
		if validLOINC(c) {
			t.Errorf("%s accepted", c)
		}
	}
}

// TestLinksCarryLanguage: an invitation link carries the language its
// reader reads: the patient's own, else the clinic's; a guest's as asked.
func TestLinksCarryLanguage(t *testing.T) {
	f := newAPIFixture(t)
	if err := f.s.SeedSettings(f.ctx, "da"); err != nil {
		t.Fatal(err)
	}
	english := decodeAs[Patient](t, f.expect(201, "POST", "/api/v1/patients", schedulerToken,
		`{"name":"John Smith","email":"john@example.org","phone":"+44 20 7946 0000","language":"en"}`))
	if english.Phone != "+442079460000" || english.ContactBy != ContactBoth || english.Language != "en" {
		t.Errorf("created %+v", english)
	}
	f.expect(422, "POST", "/api/v1/patients", schedulerToken, `{"name":"X","language":"fr"}`)
	book := func(patientID, start string) appointmentView {
		return decodeAs[appointmentView](t, f.expect(201, "POST", "/api/v1/appointments", schedulerToken, fmt.Sprintf(
			`{"clinicianId":%q,"patientId":%q,"durationMinutes":30,"start":%q}`, f.clin.ID, patientID, start)))
	}
	if a := book(english.ID, "2026-06-03T10:00:00+02:00"); !strings.HasSuffix(a.PatientLink, "&lang=en") || !strings.Contains(a.PatientLink, "#t=") {
		t.Errorf("the English patient's link %q", a.PatientLink)
	}
	danish := book(f.pat.ID, "2026-06-03T11:00:00+02:00")
	if !strings.HasSuffix(danish.PatientLink, "&lang=da") {
		t.Errorf("the link of a patient without a language of their own %q: want the clinic's", danish.PatientLink)
	}
	guest := decodeAs[struct{ Link string }](t, f.expect(201, "POST", "/api/v1/appointments/"+danish.ID+"/links", schedulerToken,
		`{"role":"interpreter","name":"Ali","language":"en"}`))
	if !strings.HasSuffix(guest.Link, "&lang=en") {
		t.Errorf("the interpreter's link %q", guest.Link)
	}
	f.expect(422, "POST", "/api/v1/appointments/"+danish.ID+"/links", schedulerToken, `{"role":"relative","name":"Bo","language":"sv"}`)
}

// TestVisitSaysWhatHappened: GET /api/v1/visit tells the bearer of a link
// what happened to their visit, one state for each case.
func TestVisitSaysWhatHappened(t *testing.T) {
	f := newAPIFixture(t)
	state := func(token string, wantStatus int) string {
		t.Helper()
		b := f.expect(wantStatus, "GET", "/api/v1/visit", token, "")
		return decodeAs[map[string]any](t, b)["state"].(string)
	}
	link := func(a Appointment) string { return RolePatient + ":" + a.PatientID + ":" + a.ID }
	if got := state(link(f.apptA), 200); got != VisitEarly {
		t.Errorf("a day ahead: %s", got)
	}
	moved := stMust(f.s.Reschedule(f.ctx, f.staff, f.apptB.ID, stTime(t, "2026-06-02T14:00:00+02:00"), 0, f.now))(t)
	b := f.expect(200, "GET", "/api/v1/visit", link(moved), "")
	v := decodeAs[map[string]any](t, b)
	if v["state"] != VisitMoved || v["start"] != "2026-06-02T12:00:00Z" {
		t.Errorf("rescheduled: %v", v)
	}
	f.now = stTime(t, "2026-06-02T09:50:00+02:00")
	if got := state(link(f.apptA), 200); got != VisitOpen {
		t.Errorf("10 minutes before: %s", got)
	}
	stMust(f.s.SetStatus(f.ctx, f.staff, f.theirs.ID, StatusCancelled, "ill"))(t)
	if got := state(link(f.theirs), 200); got != VisitCancelled {
		t.Errorf("cancelled: %s", got)
	}
	f.now = stTime(t, "2026-06-02T11:00:00+02:00") // apptA ended 10:30; its window closed 11:00
	if got := state(link(f.apptA), 200); got != VisitExpired {
		t.Errorf("after the window: %s", got)
	}
	stMust(f.s.SetStatus(f.ctx, f.staff, f.apptA.ID, StatusNoShow, "did not come"))(t)
	if got := state(link(f.apptA), 200); got != VisitEnded {
		t.Errorf("no-show: %s", got)
	}
	// Not a working link of an appointment: invalid, with the error.
	if got := state("", 401); got != VisitInvalid {
		t.Errorf("no link: %s", got)
	}
	if got := state(schedulerToken, 404); got != VisitInvalid {
		t.Errorf("a staff token: %s", got)
	}
	if got := state(RolePatient+":"+f.pat.ID+":nothing", 404); got != VisitInvalid {
		t.Errorf("an appointment not in the records: %s", got)
	}
}

// TestSMSDeliveryReports: the messages of an appointment for staff, and an
// SMS provider's delivery report, which must carry the clinic's
// Authorization.
func TestSMSDeliveryReports(t *testing.T) {
	s := openStore(t, recordstest.Backends()[0], Config{Channels: Channels{SMS: true}})
	f := newStoreFixture(t, s)
	pt := stMust(s.CreatePatient(f.ctx, f.staff, Patient{Name: "Jens", Phone: "20000000"}))(t)
	b := stMust(s.Book(f.ctx, f.staff, BookRequest{ClinicianID: f.clin.ID, PatientID: pt.ID, Duration: 30 * time.Minute,
		Start: stTime(t, "2026-06-02T10:00:00+02:00")}, f.now))(t)
	m, ok, err := s.ClaimMessage(f.ctx)
	if err != nil || !ok || m.Channel != ChannelSMS || m.Address != "+4520000000" {
		t.Fatalf("claimed %+v, %t, %v", m, ok, err)
	}
	if _, again, _ := s.ClaimMessage(f.ctx); again {
		t.Error("a claimed message was claimed again")
	}
	if err := s.MessageSentAs(f.ctx, m, nil, false); err != nil {
		t.Fatal(err)
	}
	api, err := NewAPI(APIConfig{Now: func() time.Time { return f.now }, SMSReports: true, SMSAuthorization: "Bearer sms-key"},
		s, testAuth{}, testIssuer{}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	api.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	post := func(auth, body string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/sms/status", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	report := fmt.Sprintf(`{"id":%q,"status":"delivered"}`, m.ID)
	for _, tc := range []struct {
		auth, body string
		want       int
	}{
		{"", report, 401},
		{"Bearer wrong", report, 401},
		{"Bearer sms-key", `{"id":"nothing","status":"delivered"}`, 404},
		{"Bearer sms-key", fmt.Sprintf(`{"id":%q,"status":"read"}`, m.ID), 400},
		{"Bearer sms-key", report, 204},
	} {
		if got := post(tc.auth, tc.body); got != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.auth, tc.body, got, tc.want)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/appointments/"+b.ID+"/messages", nil)
	req.Header.Set("Authorization", "Bearer "+schedulerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ Messages []Message }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got.Messages) != 1 || got.Messages[0].State != MessageDelivered ||
		got.Messages[0].Kind != MessageInvitation || !strings.Contains(got.Messages[0].Text, "[link]") {
		t.Errorf("messages %+v (%v)", got, err)
	}
}

// TestPatientReplies: a patient says they cannot come or asks for another
// time from their link; a second press adds nothing; staff see it on the
// appointment, the patient on their visit.
func TestPatientReplies(t *testing.T) {
	f := newAPIFixture(t)
	link := RolePatient + ":" + f.apptA.PatientID + ":" + f.apptA.ID
	first := decodeAs[Reply](t, f.expect(201, "POST", "/api/v1/visit/reply", link, `{"kind":"cannot-come","text":"Jeg er  syg.\nUndskyld."}`))
	if first.Kind != ReplyCannotCome || first.Text != "Jeg er syg. Undskyld." {
		t.Errorf("reply %+v", first)
	}
	again := decodeAs[Reply](t, f.expect(200, "POST", "/api/v1/visit/reply", link, `{"kind":"cannot-come","text":"igen"}`))
	if again != first {
		t.Errorf("a second press: %+v, want the first %+v", again, first)
	}
	f.expect(201, "POST", "/api/v1/visit/reply", link, `{"kind":"new-time"}`)
	f.expect(422, "POST", "/api/v1/visit/reply", link, `{"kind":"later"}`)
	f.expect(422, "POST", "/api/v1/visit/reply", link, `{"kind":"new-time","text":"`+strings.Repeat("x", 501)+`"}`)
	f.expect(403, "POST", "/api/v1/visit/reply", schedulerToken, `{"kind":"new-time"}`)
	f.expect(403, "POST", "/api/v1/visit/reply", RoleRelative+":r1:"+f.apptA.ID, `{"kind":"new-time"}`)
	f.expect(401, "POST", "/api/v1/visit/reply", "", `{"kind":"new-time"}`)
	// Staff see both on the appointment and the day list.
	view := decodeAs[appointmentView](t, f.expect(200, "GET", "/api/v1/appointments/"+f.apptA.ID, schedulerToken, ""))
	if len(view.Replies) != 2 || view.Replies[0].Kind != ReplyCannotCome || view.Replies[1].Kind != ReplyNewTime {
		t.Errorf("the appointment's replies %+v", view.Replies)
	}
	day := decodeAs[[]dayEntry](t, f.expect(200, "GET", "/api/v1/clinicians/"+f.mine.ID+"/appointments"+f.day, f.mineToken, ""))
	found := false
	for _, e := range day {
		if e.Appointment.ID == f.apptA.ID {
			found = len(e.Appointment.Replies) == 2
		}
	}
	if !found {
		t.Errorf("the day list does not show the replies: %+v", day)
	}
	// The patient sees what they sent.
	v := decodeAs[struct{ Replies []Reply }](t, f.expect(200, "GET", "/api/v1/visit", link, ""))
	if len(v.Replies) != 2 {
		t.Errorf("the patient's visit: %+v", v)
	}
	// A cancelled visit takes no new reply.
	stMust(f.s.SetStatus(f.ctx, f.staff, f.apptB.ID, StatusCancelled, ""))(t)
	f.expect(409, "POST", "/api/v1/visit/reply", RolePatient+":"+f.apptB.PatientID+":"+f.apptB.ID, `{"kind":"new-time"}`)
}

// TestUpdatePatient: a scheduler changes how the clinic reaches a patient
// and the language they read; the CPR number stays; wrong details are
// refused and change nothing.
func TestUpdatePatient(t *testing.T) {
	f := newAPIFixture(t)
	path := "/api/v1/patients/" + f.pat.ID
	got := decodeAs[Patient](t, f.expect(200, "PUT", path, schedulerToken, `{"phone":"20 00 00 05","language":"en"}`))
	if got.Phone != "+4520000005" || got.Email != "ida@example.dk" || got.ContactBy != ContactBoth || got.Language != "en" ||
		got.CPR != f.pat.CPR || got.Name != f.pat.Name {
		t.Errorf("after the change %+v", got)
	}
	got = decodeAs[Patient](t, f.expect(200, "PUT", path, adminToken, `{"contactBy":"sms"}`))
	if got.ContactBy != ContactSMS {
		t.Errorf("contactBy %q", got.ContactBy)
	}
	// Removing the number makes sms impossible: the way follows what is left.
	got = decodeAs[Patient](t, f.expect(200, "PUT", path, adminToken, `{"phone":""}`))
	if got.Phone != "" || got.ContactBy != ContactEmail {
		t.Errorf("without a number %+v", got)
	}
	f.expect(422, "PUT", path, schedulerToken, `{"email":"nope"}`)
	f.expect(422, "PUT", path, schedulerToken, `{"language":"de"}`)
	f.expect(422, "PUT", path, schedulerToken, `{"contactBy":"sms"}`)
	f.expect(400, "PUT", path, schedulerToken, `{"cpr":"0101901234"}`)
	f.expect(403, "PUT", path, f.mineToken, `{"language":"da"}`)
	f.expect(404, "PUT", "/api/v1/patients/nobody", schedulerToken, `{"language":"da"}`)
	if now := stMust(f.s.GetPatient(f.ctx, f.staff, f.pat.ID))(t); now.Email != "ida@example.dk" || now.Language != "en" || now.ContactBy != ContactEmail {
		t.Errorf("refused changes were kept: %+v", now)
	}
}
