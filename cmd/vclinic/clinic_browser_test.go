package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vclinic/internal/records"
)

// clinicContact is what a patient's page shows of the clinic.
type clinicContact struct {
	Lang      string `json:"lang"`
	Phone     string `json:"phone"`     // the tel: link's number
	PhoneText string `json:"phoneText"` // as the patient reads it
	Contact   string `json:"contact"`   // the whole line
	CallLink  string `json:"callLink"`  // the notice's call button, when there is one
	Heading   string `json:"heading"`
}

const clinicContactJS = `(() => {
  const a = document.querySelector('#clinic-contact:not([hidden]) a[data-clinic-phone]');
  const call = document.querySelector('#notice:not([hidden]) a[data-action="call-clinic"]');
  return {lang: document.documentElement.lang, phone: a ? a.dataset.clinicPhone : '', phoneText: a ? a.textContent : '',
    contact: (document.getElementById('clinic-contact') || {}).textContent || '',
    callLink: call ? call.getAttribute('href') : '', heading: document.querySelector('h1').textContent};
})()`

// waitContact waits until the page shows the clinic's number.
func waitContact(t *testing.T, ctx context.Context, phone string) clinicContact {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var got clinicContact
	for time.Now().Before(deadline) {
		got = evalPage[clinicContact](t, ctx, "the clinic's contact", clinicContactJS)
		if got.Phone == phone {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the page shows %+v, want the number %s", got, phone)
	return got
}

// TestPatientPageReadsClinicSettings: the patient's page speaks the clinic's
// language and shows its number; an admin's change shows on the next load,
// without a restart; a link that no longer works offers the number to call.
func TestPatientPageReadsClinicSettings(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	admin := fragmentToken(t, rc.admin)

	// The demo clinic is Danish: a patient on an English browser reads
	// Danish, with the clinic's number.
	pat := chromiumPage(t, rc.patient)
	got := waitContact(t, pat, "+4512345678")
	if got.Lang != "da" || got.PhoneText != "+45 12 34 56 78" || got.Heading != "Din videokonsultation" {
		t.Errorf("the patient's page: %+v", got)
	}

	// An admin changes the number and the patients' language.
	body := `{"phone":"+45 70 11 22 33","language":"en"}`
	if status := rc.api(t, "PUT", "/api/v1/settings", admin, body, nil); status != http.StatusOK {
		t.Fatalf("PUT settings: %d", status)
	}
	// The demo's link carries the language the clinic spoke when it was
	// made; one without a language of its own follows the clinic's.
	bare, ok := strings.CutSuffix(rc.patient, "&lang=da")
	if !ok {
		t.Errorf("the demo's link %q carries no language", rc.patient)
	}
	reopen(t, pat, bare)
	got = waitContact(t, pat, "+4570112233")
	if got.Lang != "en" || got.PhoneText != "+45 70 11 22 33" || got.Heading != "Your video visit" {
		t.Errorf("after the change: %+v", got)
	}
	// A Danish patient of an English clinic, on an English browser, reads
	// Danish: their link says so; ?lang= still decides for whoever holds
	// the phone.
	sched := fragmentToken(t, rc.scheduler)
	berg := rc.allDayClinician(t, sched)
	appt := rc.bookNew(t, sched, berg, rc.newPatient(t, sched, `{"name":"Ole Sørensen","phone":"20 00 00 09","language":"da"}`), 2*time.Minute)
	if !strings.HasSuffix(appt.PatientLink, "&lang=da") {
		t.Errorf("the Danish patient's link %q", appt.PatientLink)
	}
	ctx := chromiumPage(t, appt.PatientLink)
	if got = waitContact(t, ctx, "+4570112233"); got.Lang != "da" {
		t.Errorf("the Danish patient's page: %+v", got)
	}
	// A reload keeps the link's language (the token left the address bar).
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if got = waitContact(t, ctx, "+4570112233"); got.Lang != "da" {
		t.Errorf("the Danish patient's page, reloaded: %+v", got)
	}
	reopen(t, ctx, withQuery(appt.PatientLink, "lang=en"))
	if got = waitContact(t, ctx, "+4570112233"); got.Lang != "en" {
		t.Errorf("with ?lang=en: %+v", got)
	}

	// The visit is cancelled: the link says so and offers the number.
	page, _, _ := strings.Cut(rc.patient, "#")
	demo := strings.TrimPrefix(page, rc.base+"/visit/")
	if status := rc.api(t, "POST", "/api/v1/appointments/"+demo+"/cancel", sched, `{"reason":"test"}`, nil); status != http.StatusOK {
		t.Fatalf("cancel: %d", status)
	}
	reopen(t, pat, rc.patient)
	waitState(t, pat, "patient", "expired")
	if got = waitContact(t, pat, "+4570112233"); got.CallLink != "tel:+4570112233" {
		t.Errorf("the ended visit's notice: %+v", got)
	}
}

// bookedVisit is a booking's answer: its id and the patient's link.
type bookedVisit struct{ ID, PatientLink string }

// allDayClinician returns the id of the demo's Dr. Peter Berg, available all
// of today and tomorrow (workAllDay).
func (rc *runningClinic) allDayClinician(t *testing.T, token string) string {
	t.Helper()
	var clinicians []struct{ ID, Name string }
	rc.api(t, "GET", "/api/v1/clinicians", token, "", &clinicians)
	for _, c := range clinicians {
		if c.Name == "Dr. Peter Berg" {
			rc.workAllDay(t, token, c.ID)
			return c.ID
		}
	}
	t.Fatal("the demo has no Dr. Peter Berg")
	return ""
}

// newPatient creates a patient from body (as POST /api/v1/patients takes
// it) and returns the id.
func (rc *runningClinic) newPatient(t *testing.T, token, body string) string {
	t.Helper()
	var p struct{ ID string }
	if status := rc.api(t, "POST", "/api/v1/patients", token, body, &p); status != http.StatusCreated {
		t.Fatalf("patient %s: %d", body, status)
	}
	return p.ID
}

// bookNew books 15 minutes for patientID with clinID to start in `in`, to
// the minute.
func (rc *runningClinic) bookNew(t *testing.T, token, clinID, patientID string, in time.Duration) bookedVisit {
	t.Helper()
	var a bookedVisit
	body := fmt.Sprintf(`{"clinicianId":%q,"patientId":%q,"start":%q,"durationMinutes":15}`, clinID, patientID,
		time.Now().Add(in).Truncate(time.Minute).UTC().Format(time.RFC3339))
	if status := rc.api(t, "POST", "/api/v1/appointments", token, body, &a); status != http.StatusCreated {
		t.Fatalf("booking: %d", status)
	}
	return a
}

// withQuery puts a query before a link's fragment.
func withQuery(link, query string) string {
	page, frag, _ := strings.Cut(link, "#")
	return page + "?" + query + "#" + frag
}

// reopen loads link afresh in ctx's tab (a link that differs from the page's
// only after # would not load the page again).
func reopen(t *testing.T, ctx context.Context, link string) {
	t.Helper()
	for _, u := range []string{"about:blank", link} {
		if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
			t.Fatalf("open %s: %v", u, err)
		}
	}
}

// visitScreen is what the patient's page shows before, or instead of, the
// call.
type visitScreen struct {
	Visit    string `json:"visit"` // data-visit-state
	Call     string `json:"call"`  // data-call-state
	Status   string `json:"status"`
	Title    string `json:"title"` // the notice's, "" when none shows
	CallLink string `json:"callLink"`
}

const visitScreenJS = `(() => {
  const notice = document.querySelector('#notice:not([hidden])');
  const call = document.querySelector('#notice:not([hidden]) a[data-action="call-clinic"]');
  return {visit: document.body.dataset.visitState || '', call: document.body.dataset.callState || '',
    status: document.getElementById('status').textContent,
    title: notice ? document.getElementById('notice-title').textContent : '',
    callLink: call ? call.getAttribute('href') : ''};
})()`

// TestVisitPageSaysWhatHappened: the patient's page has a screen for each
// thing that can have happened to a visit, in plain words, with the clinic's
// number wherever it asks the patient to call.
func TestVisitPageSaysWhatHappened(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	sched := fragmentToken(t, rc.scheduler)
	berg := rc.allDayClinician(t, sched)
	patient := rc.newPatient(t, sched, `{"name":"Inge Lund","phone":"20 00 00 08"}`)
	book := func(in time.Duration) bookedVisit { return rc.bookNew(t, sched, berg, patient, in) }
	ctx := chromiumPage(t, "about:blank")
	screen := func(link, visit string) visitScreen {
		t.Helper()
		reopen(t, ctx, link)
		deadline := time.Now().Add(15 * time.Second)
		var got visitScreen
		for time.Now().Before(deadline) {
			got = evalPage[visitScreen](t, ctx, "the visit screen", visitScreenJS)
			if got.Visit == visit && got.Status != "" {
				return got
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("the page shows %+v, want visit state %s", got, visit)
		return got
	}
	const tel = "tel:+4512345678" // the demo clinic's number

	early := book(3 * time.Hour)
	if got := screen(early.PatientLink, "early"); got.Call != "early" || got.Title != "" {
		t.Errorf("early: %+v", got)
	}
	later := time.Now().Add(4 * time.Hour).Truncate(time.Minute).UTC().Format(time.RFC3339)
	if status := rc.api(t, "POST", "/api/v1/appointments/"+early.ID+"/reschedule", sched, `{"start":"`+later+`"}`, nil); status != http.StatusOK {
		t.Fatalf("reschedule: %d", status)
	}
	if got := screen(early.PatientLink, "moved"); got.Call != "early" || !strings.Contains(got.Status, "flyttet") {
		t.Errorf("moved: %+v", got)
	}

	now := book(2 * time.Minute)
	if got := screen(now.PatientLink, "open"); got.Title != "" {
		t.Errorf("open: %+v", got)
	}
	waitState(t, ctx, "patient", "waiting")
	if status := rc.api(t, "POST", "/api/v1/appointments/"+now.ID+"/status", sched, `{"status":"fulfilled"}`, nil); status != http.StatusOK {
		t.Fatalf("fulfilled: %d", status)
	}
	if got := screen(now.PatientLink, "ended"); got.Call != "expired" || got.Title != "Din videokonsultation er slut" || got.CallLink != tel {
		t.Errorf("ended: %+v", got)
	}

	cancelled := book(5 * time.Hour)
	if status := rc.api(t, "POST", "/api/v1/appointments/"+cancelled.ID+"/cancel", sched, `{"reason":"ill"}`, nil); status != http.StatusOK {
		t.Fatalf("cancel: %d", status)
	}
	if got := screen(cancelled.PatientLink, "cancelled"); got.Title != "Videokonsultationen er aflyst" || got.CallLink != tel {
		t.Errorf("cancelled: %+v", got)
	}

	page, _, _ := strings.Cut(cancelled.PatientLink, "#")
	if got := screen(page+"#t=not.a.token&lang=da", "invalid"); got.Title != "Linket virker ikke" || got.CallLink != tel {
		t.Errorf("invalid: %+v", got)
	}

	// A visit nobody ended, whose link's window closed (30 minutes after
	// its end) but whose page still opens: the link's time is over. Its
	// times are moved eight hours back in the records, to two hours ago, as
	// the clock would have moved them.
	past := book(6 * time.Hour)
	rc.moveInRecords(t, past.ID, -8*time.Hour)
	if got := screen(past.PatientLink, "expired"); got.Title != "Linkets tid er forbi" || got.CallLink != tel {
		t.Errorf("expired: %+v", got)
	}
}

// moveInRecords moves an appointment by d in the running clinic's records
// (SQLite in its data directory), as the passing of time would: what the
// API cannot do, since it books nothing in the past.
func (rc *runningClinic) moveInRecords(t *testing.T, id string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	db, err := records.Open(ctx, records.Config{SQLitePath: filepath.Join(rc.data, "vclinic.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.InTx(ctx, "move appointment", func(tx *sql.Tx) error {
		var start, end, occStart, occEnd time.Time
		if err := tx.QueryRowContext(ctx, `SELECT start_at, end_at, occ_start, occ_end FROM appointments WHERE id = $1`, id).
			Scan(records.Time(&start), records.Time(&end), records.Time(&occStart), records.Time(&occEnd)); err != nil {
			return err
		}
		ts := db.Dialect().TS
		_, err := tx.ExecContext(ctx, `UPDATE appointments SET start_at = $1, end_at = $2, occ_start = $3, occ_end = $4 WHERE id = $5`,
			ts(start.Add(d)), ts(end.Add(d)), ts(occStart.Add(d)), ts(occEnd.Add(d)), id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPatientRepliesReachCalendar: from the link the patient says they
// cannot come (two presses, so that no stray tap sends it); the page says
// the clinic has it, also after a reload, and the scheduler's calendar shows
// it on the appointment.
func TestPatientRepliesReachCalendar(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	sched := fragmentToken(t, rc.scheduler)
	clinID := rc.allDayClinician(t, sched)
	start := time.Now().Add(3 * time.Hour).Truncate(time.Minute)
	appt := rc.bookNew(t, sched, clinID, rc.newPatient(t, sched, `{"name":"Erik Holm","phone":"20 00 00 07"}`), 3*time.Hour)
	ctx := chromiumPage(t, appt.PatientLink)
	const replyJS = `(() => { const s = document.getElementById('reply');
	  return s && !s.hidden ? (s.dataset.replySent || '') + '|' + document.getElementById('reply-status').textContent : 'hidden'; })()`
	waitFor := func(what string, ok func(string) bool) string {
		t.Helper()
		var got string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got = evalPage[string](t, ctx, what, replyJS); ok(got) {
				return got
			}
		}
		t.Fatalf("%s: the reply section shows %q", what, got)
		return got
	}
	waitFor("the reply section", func(s string) bool { return s == "|" })
	for range 2 {
		evalPage[bool](t, ctx, "press", `(document.querySelector('[data-action="reply-cannot-come"]').click(), true)`)
	}
	got := waitFor("sent", func(s string) bool { return strings.HasPrefix(s, "cannot-come|") })
	if !strings.Contains(got, "Klinikken har fået din besked") {
		t.Errorf("after sending: %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitFor("after a reload", func(s string) bool { return strings.HasPrefix(s, "cannot-come|Klinikken har fået") })

	// The scheduler's calendar, at that week.
	cal := chromiumPage(t, rc.scheduler)
	week := start.In(time.Local).Format(time.DateOnly)
	reopen(t, cal, rc.base+"/calendar?clinician="+clinID+"&week="+week+"#t="+sched)
	sel := fmt.Sprintf(`button[data-appointment=%q] [data-patient-reply="cannot-come"]`, appt.ID)
	var text string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if text = evalPage[string](t, cal, "the calendar", `(document.querySelector('`+sel+`') || {}).textContent || ''`); text != "" {
			break
		}
	}
	// Staff pages speak the browser's language (English here).
	if text != "Patient cannot come" {
		t.Errorf("the calendar shows %q for the appointment", text)
	}
}
