package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vclinic/scheduler"
	"vclinic/signaling"
)

// adminView is what the admin page shows, read for the test's messages.
type adminView struct {
	State          string `json:"state"`
	SettingsStatus string `json:"settingsStatus"`
	SettingsState  string `json:"settingsState"`
	TypesStatus    string `json:"typesStatus"`
	TypesState     string `json:"typesState"`
	Rows           string `json:"rows"`
}

const adminViewJS = `(() => {
  const s = document.getElementById('settings-status'), ts = document.getElementById('types-status');
  return {state: document.body.dataset.adminState || '', settingsStatus: s.textContent, settingsState: s.dataset.state || '',
    typesStatus: ts.textContent, typesState: ts.dataset.state || '',
    rows: [...document.querySelectorAll('#types-body tr')].map((tr) => tr.dataset.typeId + ' ' + tr.dataset.retired + ': ' +
      tr.querySelector('th').textContent).join('; ')};
})()`

// waitPage waits until js, a boolean expression, holds in the page.
func waitPage(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if evalPage[bool](t, ctx, what, js) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not within 10 s; the page shows %+v", what, evalPage[adminView](t, ctx, "the admin page", adminViewJS))
}

// runPage runs actions in the page, failing t with what it was doing.
func runPage(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(rctx, actions...); err != nil {
		t.Fatalf("%s: %v; the page shows %+v", what, err, evalPage[adminView](t, ctx, "the admin page", adminViewJS))
	}
}

// clearInput empties the input with the id, for typing into it anew.
func clearInput(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	if !evalPage[bool](t, ctx, "input "+id, `(() => { const el = document.getElementById('`+id+`'); el.value = ''; return true; })()`) {
		t.Fatalf("could not empty %s", id)
	}
}

// readOnlyView is what a member of staff who is not an admin sees.
type readOnlyView struct {
	Phone     string `json:"phone"`
	SaveOff   bool   `json:"saveOff"`   // the settings' Save is disabled
	InputsOff bool   `json:"inputsOff"` // every input of the settings is
	Note      bool   `json:"note"`      // the read-only note shows
	Rows      int    `json:"rows"`
	Actions   int    `json:"actions"` // buttons in the types' rows
	TypeForm  bool   `json:"typeForm"`
}

// apiType is an appointment type as the API gives it.
type apiType struct {
	ID              string            `json:"id"`
	Names           map[string]string `json:"names"`
	DurationMinutes int               `json:"durationMinutes"`
	HorizonDays     *int              `json:"horizonDays"`
	Expected        []string          `json:"expected"`
	Retired         bool              `json:"retired"`
}

// TestAdminPage: an admin changes the clinic's number and adds an
// appointment type on /admin, both stored; deleting a type an appointment
// uses shows the server's reason and offers to retire it, which the API then
// says it is; the page fits a phone's width; a scheduler sees it all
// read-only.
func TestAdminPage(t *testing.T) {
	requireBrowser(t, "chromium")
	a := newAPIClinic(t)
	ctx := context.Background()
	admin, err := a.c.store.CreateUser(ctx, scheduler.System, "root", "Ada Admin", scheduler.RoleAdmin, "a long password 4")
	if err != nil {
		t.Fatal(err)
	}
	adminTok := a.token(signaling.TokenRequest{Role: "admin", Subject: admin.ID, Name: admin.Name})
	used, err := a.c.store.CreateAppointmentType(ctx, scheduler.System, scheduler.AppointmentType{
		Names: scheduler.Names{DA: "Kontrol", EN: "Check-up"}, Duration: 20 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.c.store.Book(ctx, a.sched.Actor(), scheduler.BookRequest{ClinicianID: a.clin.ID, PatientID: a.patA.ID,
		TypeID: used.ID, Start: time.Now().Add(5 * time.Hour).Truncate(time.Minute)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	get := func(path string, out any) {
		t.Helper()
		status, b, _ := a.do("GET", path, adminTok, "", nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, b)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, b)
		}
	}
	types := func() []apiType {
		t.Helper()
		var ts []apiType
		get("/api/v1/appointment-types", &ts)
		return ts
	}

	page := chromiumPage(t, a.srv.URL+"/admin?lang=en#t="+adminTok)
	waitPage(t, page, "the page loads", `document.body.dataset.adminState === 'ready' && document.getElementById('s-name').value !== ''`)
	if got := evalPage[string](t, page, "the address", `location.href`); strings.Contains(got, "#t=") {
		t.Errorf("the token stays in the address bar: %s", got)
	}

	// The clinic's number.
	clearInput(t, page, "s-phone")
	runPage(t, page, "change the phone",
		chromedp.SendKeys("#s-phone", "+4570112233"),
		chromedp.Click(`button[data-action="save-settings"]`))
	waitPage(t, page, "settings saved", `document.getElementById('settings-status').dataset.state === 'ok'`)
	if v := evalPage[adminView](t, page, "the admin page", adminViewJS); !strings.HasPrefix(v.SettingsStatus, "Saved") {
		t.Errorf("settings status %q, want Saved", v.SettingsStatus)
	}
	var st struct {
		Phone string `json:"phone"`
	}
	get("/api/v1/settings", &st)
	if st.Phone != "+4570112233" {
		t.Errorf("stored phone %q, want +4570112233", st.Phone)
	}
	// Another admin saves in between: the page's save is refused with the
	// server's reason, and loading again shows the other change.
	if status, b, _ := a.do("PUT", "/api/v1/settings", adminTok, `{"name":"Lægehuset Nord"}`, nil); status != http.StatusOK {
		t.Fatalf("PUT settings: %d %s", status, b)
	}
	clearInput(t, page, "s-horizon")
	runPage(t, page, "save over another's change",
		chromedp.SendKeys("#s-horizon", "90"),
		chromedp.Click(`button[data-action="save-settings"]`))
	waitPage(t, page, "the conflict", `document.getElementById('settings-status').dataset.state === 'error'`)
	if v := evalPage[adminView](t, page, "the admin page", adminViewJS); !strings.Contains(v.SettingsStatus, "changed since version") {
		t.Errorf("settings status %q, want the server's 409 detail", v.SettingsStatus)
	}
	runPage(t, page, "load again", chromedp.Click(`button[data-action="reload-settings"]`))
	waitPage(t, page, "the other change", `document.getElementById('s-name').value === 'Lægehuset Nord' && document.getElementById('reload-box').hidden`)

	// A new appointment type, 15 minutes, expecting a blood pressure.
	runPage(t, page, "add a type",
		chromedp.SendKeys("#t-da", "Telefonopfølgning 15 min"),
		chromedp.SendKeys("#t-en", "Telephone follow-up"),
		chromedp.SendKeys("#t-duration", "15"),
		chromedp.Click("#t-exp-85354-9"),
		chromedp.Click(`button[data-action="save-type"]`))
	waitPage(t, page, "the new type in the table",
		`[...document.querySelectorAll('#types-body tr')].some((tr) => tr.querySelector('th').textContent === 'Telefonopfølgning 15 min')`)
	var added *apiType
	for _, ty := range types() {
		if ty.Names["da"] == "Telefonopfølgning 15 min" {
			added = &ty
		}
	}
	if added == nil {
		t.Fatalf("the API has no type named Telefonopfølgning 15 min: %+v", types())
	}
	if added.Names["en"] != "Telephone follow-up" || added.DurationMinutes != 15 || !slices.Equal(added.Expected, []string{"85354-9"}) ||
		added.HorizonDays != nil || added.Retired {
		t.Errorf("the added type: %+v", *added)
	}
	row := evalPage[string](t, page, "the new row", `(() => {
	  const tr = document.querySelector('#types-body tr[data-type-id="`+added.ID+`"]');
	  return tr ? tr.textContent : '';
	})()`)
	for _, want := range []string{"Telephone follow-up", "15 min", "Blood pressure", "clinic’s: 180 days", "Offered"} {
		if !strings.Contains(row, want) {
			t.Errorf("the new type's row %q lacks %q", row, want)
		}
	}

	// Deleting the type an appointment uses is refused with the server's
	// reason, and the page offers to retire it instead.
	del := `#delete-` + used.ID
	runPage(t, page, "delete the used type", chromedp.Click(del), chromedp.Click(del))
	waitPage(t, page, "the refusal", `document.getElementById('types-status').dataset.state === 'error'`)
	v := evalPage[adminView](t, page, "the admin page", adminViewJS)
	if !strings.Contains(v.TypesStatus, "appointments ahead use Check-up") || !strings.Contains(v.TypesStatus, "retire it instead") {
		t.Errorf("types status %q, want the server's 409 detail", v.TypesStatus)
	}
	offer := `#types-offer button[data-action="retire-type"][data-type-id="` + used.ID + `"]`
	if !evalPage[bool](t, page, "the offer", `document.activeElement === document.querySelector('`+offer+`')`) {
		t.Errorf("focus is not on the offer to retire the type")
	}
	runPage(t, page, "retire the type", chromedp.Click(offer))
	waitPage(t, page, "the type retired", `!!document.querySelector('#types-body tr[data-type-id="`+used.ID+`"][data-retired="true"]')`)
	for _, ty := range types() {
		if ty.ID == used.ID && !ty.Retired {
			t.Errorf("the API says %s is not retired", used.ID)
		}
	}
	if v := evalPage[adminView](t, page, "the admin page", adminViewJS); v.TypesState != "ok" || !strings.Contains(v.TypesStatus, "retired") {
		t.Errorf("types status after retiring: %q (%s)", v.TypesStatus, v.TypesState)
	}
	if !evalPage[bool](t, page, "the page's width", `document.documentElement.scrollWidth <= document.documentElement.clientWidth`) {
		t.Errorf("the page is wider than the %d px window", evalPage[int](t, page, "the window", `window.innerWidth`))
	}

	// A scheduler reads it all, and changes nothing.
	reopen(t, page, a.srv.URL+"/admin?lang=en#t="+a.schedulerToken())
	waitPage(t, page, "the page loads for a scheduler", `document.body.dataset.adminState === 'ready'`)
	ro := evalPage[readOnlyView](t, page, "the read-only page", `({
	  phone: document.getElementById('s-phone').value,
	  saveOff: document.querySelector('button[data-action="save-settings"]').matches(':disabled'),
	  inputsOff: [...document.querySelectorAll('#settings-form input, #settings-form select')].every((el) => el.matches(':disabled')),
	  note: !document.getElementById('read-only').hidden,
	  rows: document.querySelectorAll('#types-body tr').length,
	  actions: document.querySelectorAll('#types-body button').length,
	  typeForm: !document.getElementById('type-form').hidden,
	})`)
	if ro.Phone != "+4570112233" || !ro.SaveOff || !ro.InputsOff || !ro.Note || ro.Rows != len(types()) || ro.Actions != 0 || ro.TypeForm {
		t.Errorf("a scheduler's page: %+v", ro)
	}
}

// TestTypeDefaultLimitsOnAdminPage: an admin gives an appointment type its
// default limits on the admin page; the clinic keeps them.
func TestTypeDefaultLimitsOnAdminPage(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinicWith(t, "-language", "en")
	adminTok := fragmentToken(t, rc.admin)
	page := chromiumPage(t, rc.admin)
	for deadline := time.Now().Add(20 * time.Second); !evalPage[bool](t, page, "ready",
		`document.body.dataset.adminState === 'ready' && document.querySelectorAll('#tl-type option').length > 0`); time.Sleep(150 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the type limits never showed")
		}
	}
	typeID := evalPage[string](t, page, "the type", `document.getElementById('tl-type').value`)
	runPage(t, page, "set a default limit",
		chromedp.SendKeys(`#tl-8310-5-high`, "37.8"),
		chromedp.Click(`[data-action="save-type-limits"]`))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st := evalPage[string](t, page, "status", `document.getElementById('tl-status').dataset.state || ''`)
		if st == "saved" {
			break
		}
		if st != "" || time.Now().After(deadline) {
			t.Fatalf("saving: %q %q", st, evalPage[string](t, page, "status", `document.getElementById('tl-status').textContent`))
		}
	}
	var wt struct {
		Version int `json:"version"`
		Limits  []struct {
			Code string  `json:"code"`
			High float64 `json:"high"`
		} `json:"limits"`
	}
	if status := rc.api(t, "GET", "/api/v1/appointment-types/"+typeID+"/limits", adminTok, "", &wt); status != 200 || wt.Version != 1 ||
		len(wt.Limits) != 1 || wt.Limits[0].Code != "8310-5" || wt.Limits[0].High != 37.8 {
		t.Fatalf("the type's limits: %d %+v", status, wt)
	}
}
