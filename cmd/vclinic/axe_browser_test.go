package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeJS is axe-core, vendored for the tests (testdata/axe).
func axeJS(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/axe/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// axeViolation is one rule a page breaks, with where.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// runAxe checks the page in ctx against WCAG 2.1 A and AA with axe-core and
// returns what it breaks. axe is put in through the DevTools protocol, which
// the pages' Content-Security-Policy does not govern.
func runAxe(t *testing.T, ctx context.Context, axe string) []axeViolation {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axe+";true")); err != nil {
		t.Fatalf("load axe: %v", err)
	}
	js := `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}).then(r =>
	  JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
	    targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))))`
	ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := chromedp.Run(ectx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run: %v", err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestAccessibilityAxe: axe-core finds nothing against WCAG 2.1 AA on the
// pages and states the browser tests reach: the patient's waiting room and
// its chat, early screen with its reply buttons, a cancelled visit and a broken link;
// the clinician's day list and call page; the scheduler's calendar; the
// admin page; the review figures, and a scheduler's refusal there; the
// sign-in page. The patient's pages include the note on
// whether the clinic watches the readings ([data-readings-watch]). The states
// that need a reading outside a patient's limits (the call page with a
// flagged value and its acknowledge button, the day list with its count) are
// checked where the test makes them: TestLimitsFlagsAndAcknowledgementInChromium;
// the triage list with a flagged patient first: TestTriageListInChromium.
func TestAccessibilityAxe(t *testing.T) {
	requireBrowser(t, "chromium")
	axe := axeJS(t)
	rc := startClinic(t)
	sched := fragmentToken(t, rc.scheduler)
	visit := rc.bookNew(t, sched, rc.allDayClinician(t, sched), rc.newPatient(t, sched, `{"name":"Axel Andersen","phone":"20 00 00 04"}`), 3*time.Hour)
	cancelled := rc.bookNew(t, sched, rc.allDayClinician(t, sched), rc.newPatient(t, sched, `{"name":"Bodil Berg","phone":"20 00 00 03"}`), 5*time.Hour)
	if status := rc.api(t, "POST", "/api/v1/appointments/"+cancelled.ID+"/cancel", sched, `{"reason":"test"}`, nil); status != 200 {
		t.Fatalf("cancel: %d", status)
	}
	demoAppt := rc.demoAppointment()
	clinTok := fragmentToken(t, rc.clinician)
	page, _, _ := strings.Cut(cancelled.PatientLink, "#")
	states := []struct {
		name, link, ready string
	}{
		{"the patient's waiting room", rc.patient, `document.body.dataset.callState === 'waiting'`},
		// The chat opened from the Chat button, with a message sent.
		{"the patient's chat", rc.patient, `(() => {
			if (document.body.dataset.callState !== 'waiting') return false;
			const chat = document.getElementById('chat');
			if (chat.hidden) { document.querySelector('[data-action="open-chat"]').click(); document.querySelector('[data-action="chat-phrase"]').click(); }
			return !chat.hidden && !!chat.querySelector('li[data-chat-seq]');
		})()`},
		{"the patient's early screen", visit.PatientLink, `document.body.dataset.callState === 'early' && !document.getElementById('reply').hidden`},
		{"the patient's pre-visit check", withQuery(visit.PatientLink, "check=1"), `!!document.querySelector('#check:not([hidden]) [data-action="speaker-heard"]')`},
		{"a cancelled visit's page", cancelled.PatientLink, `document.body.dataset.visitState === 'cancelled'`},
		{"a broken link's page", page + "#t=broken", `document.body.dataset.visitState === 'invalid'`},
		{"the clinician's day list", rc.clinician, `document.querySelectorAll('li[data-appointment]').length > 0`},
		{"the clinician's call page", rc.base + "/call/" + demoAppt + "#t=" + clinTok, `['waiting', 'connecting', 'in-call'].includes(document.body.dataset.callState)`},
		{"the scheduler's calendar", rc.scheduler, `document.querySelectorAll('button[data-appointment]').length > 0 || document.getElementById('note').textContent !== ''`},
		{"the admin page", rc.admin, `document.querySelectorAll('[data-type-id]').length > 0`},
		// The figures by clinician: the table (the demo's one visit as
		// "fewer than 5"), the charts and their legends.
		{"the review figures", rc.base + "/review?by=clinician#t=" + fragmentToken(t, rc.admin),
			`document.body.dataset.reviewState === 'ready' && document.querySelectorAll('#figures-body tr').length > 0 && !!document.querySelector('#charts svg[role="img"]')`},
		{"the review page for a scheduler", rc.base + "/review#t=" + sched, `document.body.dataset.reviewState === 'forbidden'`},
		{"the clinician's triage list", rc.base + "/triage#t=" + clinTok, `document.getElementById('triage').dataset.triageState === 'ready'`},
		{"the sign-in page", rc.base + "/login", `!!document.querySelector('form')`},
		{"the clinician's page of a patient", rc.base + "/patients/" + rc.patientOf(t, demoAppt, clinTok) + "#t=" + clinTok,
			`document.body.dataset.ready === 'true'`},
	}
	// The check can fail: a picture without words on the sign-in page is
	// found.
	t.Run("a planted fault", func(t *testing.T) {
		ctx := chromiumPage(t, rc.base+"/login")
		evalPage[bool](t, ctx, "plant", `(document.body.append(Object.assign(document.createElement('img'), {src: 'data:,'})), true)`)
		found := false
		for _, v := range runAxe(t, ctx, axe) {
			found = found || v.ID == "image-alt"
		}
		if !found {
			t.Error("axe did not find an image without alternative text")
		}
	})
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			ctx := chromiumPage(t, st.link)
			ok := false
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				if ok = evalPage[bool](t, ctx, "ready", st.ready); ok {
					break
				}
			}
			if !ok {
				t.Fatalf("%s never got ready (%s)", st.name, st.ready)
			}
			for _, v := range runAxe(t, ctx, axe) {
				t.Errorf("%s: %s (%s): %s at %v", st.name, v.ID, v.Impact, v.Help, v.Targets)
			}
		})
	}
}
