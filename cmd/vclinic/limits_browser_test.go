package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// waitTrue polls js on the page until it is true, or fails after 20 s.
func waitTrue(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if evalPage[bool](t, ctx, what, js) {
			return
		}
	}
	html := evalPage[string](t, ctx, "page", `(document.querySelector('main') || document.body).outerHTML.slice(0, 3000)`)
	t.Fatalf("%s: never true (%s)\n%s", what, js, html)
}

// TestLimitsFlagsAndAcknowledgementInChromium: the clinician sets the
// patient's limits through the API; the patient's thermometer reading,
// sent from the waiting room, lies above them; the day list says so; in
// the call the clinician's page marks the value in words ("above limit")
// as well as colour, beside the decision-support label; pulse from the
// oximeter and the cuff is one row with the other listed under it, each
// named by device; the clinician acknowledges the flagged value and the day
// list count is gone. The patient's page says
// whether the clinic watches the readings now. axe-core finds nothing on
// the new states (the flagged call page, the day list with its count).
func TestLimitsFlagsAndAcknowledgementInChromium(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	sched := fragmentToken(t, rc.scheduler)
	clinTok := fragmentToken(t, rc.clinician)
	clinID := rc.demoClinician(t, sched)
	rc.workAllDay(t, sched, clinID)
	demoAppt := rc.demoAppointment()
	if status := rc.api(t, "POST", "/api/v1/appointments/"+demoAppt+"/cancel", sched, `{"reason":"test"}`, nil); status != http.StatusOK {
		t.Fatalf("cancel the demo appointment: %d", status)
	}
	patientID := rc.newPatient(t, sched, `{"name":"Grete Lund","phone":"20 00 00 18"}`)
	visit := rc.bookNew(t, sched, clinID, patientID, 2*time.Minute)
	if status := rc.api(t, "PUT", "/api/v1/patients/"+patientID+"/limits", clinTok,
		`{"version":0,"limits":[{"code":"8310-5","unit":"Cel","low":35.5,"high":37.5}]}`, nil); status != http.StatusOK {
		t.Fatalf("set limits: %d", status)
	}
	var dev struct{ ID string }
	if status := rc.api(t, "POST", "/api/v1/patients/"+patientID+"/devices", sched,
		`{"type":"thermometer","model":"FT 95","address":"00:09:1F:00:00:18","identifiedBy":"bluetooth-address","label":"Termometer"}`, &dev); status != http.StatusCreated {
		t.Fatalf("add device: %d", status)
	}

	pat := chromiumPage(t, visit.PatientLink)
	waitState(t, pat, "patient", "waiting")
	var clinic struct{ OpenNow bool }
	rc.api(t, "GET", "/api/v1/clinic", "", "", &clinic)
	want := map[bool]string{true: "watched", false: "unwatched"}[clinic.OpenNow]
	waitTrue(t, pat, "the readings-watch note", fmt.Sprintf(`(() => {
		const e = document.querySelector('[data-readings-watch]');
		return !!e && !e.hidden && e.dataset.readingsWatch === %q && /112/.test(e.textContent);
	})()`, want))

	// 37.60 Cel from the thermometer, above the high limit 37.5.
	reading := fmt.Sprintf(`{"readings":[{"deviceId":%q,"characteristic":"2A1C","value":"02B00E00FEEA070B1A0A1E05","seq":1,"observedAt":%q}]}`,
		dev.ID, time.Now().UTC().Format(time.RFC3339))
	var res struct {
		Results []struct {
			Status string
			Flags  []string
		}
	}
	if status := rc.api(t, "POST", "/api/v1/readings", fragmentToken(t, visit.PatientLink), reading, &res); status != http.StatusOK ||
		len(res.Results) != 1 || res.Results[0].Status != "stored" || len(res.Results[0].Flags) != 1 || res.Results[0].Flags[0] != "outside-limits" {
		t.Fatalf("post reading: %d %+v", status, res)
	}

	row := fmt.Sprintf(`li[data-appointment=%q]`, visit.ID)
	console := chromiumPage(t, rc.clinician)
	waitTrue(t, console, "the day list count", fmt.Sprintf(`(() => {
		const b = document.querySelector('%s [data-flagged-readings]');
		return !!b && b.dataset.flaggedReadings === '1' && /1/.test(b.textContent);
	})()`, row))
	axe := axeJS(t)
	for _, v := range runAxe(t, console, axe) {
		t.Errorf("the day list with a flagged count: %s (%s): %s at %v", v.ID, v.Impact, v.Help, v.Targets)
	}

	call := chromiumPage(t, rc.base+"/call/"+visit.ID+"#t="+clinTok)
	if status := rc.api(t, "POST", "/api/v1/appointments/"+visit.ID+"/admit", clinTok, "", nil); status != http.StatusOK {
		t.Fatalf("admit: %d", status)
	}
	marked := `.vital.is-outside[data-code="8310-5"][data-value="37.60"]`
	waitTrue(t, call, "the flagged temperature", fmt.Sprintf(`(() => {
		const r = document.querySelector('%s');
		if (!r) return false;
		const out = r.querySelector('.vital-outside');
		return !!out && out.dataset.outside === 'above' && /37\.5/.test(out.textContent) && /limit|grænse/.test(out.textContent)
			&& !!r.querySelector('.vital-support') && !!r.querySelector('button[data-action="acknowledge-reading"]')
			&& /Termometer/.test(r.textContent) && getComputedStyle(r).borderLeftStyle === 'solid';
	})()`, marked))
	for _, v := range runAxe(t, call, axe) {
		t.Errorf("the call page with a flagged value: %s (%s): %s at %v", v.ID, v.Impact, v.Help, v.Targets)
	}
	// Pulse from the oximeter and from the cuff: one row, the newest value
	// shown, the other listed under it with its device and source.
	now := time.Now().UTC()
	for i, d := range []struct{ kind, label, char, value string }{
		{"pulse-oximeter", "Fingerclip", "2A5E", "0061004800"},         // SpO2 97 %, pulse 72
		{"blood-pressure", "Armmanchet", "2A35", "04780050005D004C00"}, // 120/80 mmHg, pulse 76
	} {
		var dv struct{ ID string }
		if status := rc.api(t, "POST", "/api/v1/patients/"+patientID+"/devices", sched, fmt.Sprintf(
			`{"type":%q,"model":"M","address":"00:09:1F:00:01:%02d","identifiedBy":"bluetooth-address","label":%q}`, d.kind, i, d.label), &dv); status != http.StatusCreated {
			t.Fatalf("add %s: %d", d.kind, status)
		}
		body := fmt.Sprintf(`{"readings":[{"deviceId":%q,"characteristic":%q,"value":%q,"seq":1,"observedAt":%q}]}`,
			dv.ID, d.char, d.value, now.Add(time.Duration(i)*time.Second).Format(time.RFC3339))
		if status := rc.api(t, "POST", "/api/v1/readings", fragmentToken(t, visit.PatientLink), body, nil); status != http.StatusOK {
			t.Fatalf("post %s reading: %d", d.kind, status)
		}
	}
	waitTrue(t, call, "the merged pulse", `(() => {
		const rows = [...document.querySelectorAll('.vital')].filter((r) => r.dataset.code === '8867-4');
		if (rows.length !== 1 || rows[0].dataset.value !== '76') return false;
		const others = rows[0].querySelectorAll('.vital-other');
		return others.length === 1 && !!others[0].querySelector('[data-code="8867-4"][data-value="72"]')
			&& /Fingerclip/.test(others[0].textContent) && /Armmanchet/.test(rows[0].querySelector('.vital-meta').textContent);
	})()`)

	actx, cancel := context.WithTimeout(call, 10*time.Second)
	_, err := chromedp.Run(actx, chromedp.Click(`button[data-action="acknowledge-reading"]`))
	cancel()
	if err != nil {
		t.Fatalf("click acknowledge: %v", err)
	}
	waitTrue(t, call, "the acknowledgement", fmt.Sprintf(`(() => {
		const r = document.querySelector('%s');
		return !!r && !r.querySelector('[data-action="acknowledge-reading"]') && /Anna Holm/.test((r.querySelector('.vital-acked') || {}).textContent || '');
	})()`, marked))

	var flagged struct {
		Unacknowledged int
		Flagged        []struct{ Acknowledged *struct{ By, ByName string } }
	}
	if status := rc.api(t, "GET", "/api/v1/patients/"+patientID+"/flagged-readings", clinTok, "", &flagged); status != http.StatusOK ||
		flagged.Unacknowledged != 0 || len(flagged.Flagged) != 1 || flagged.Flagged[0].Acknowledged == nil {
		t.Fatalf("flagged readings after the acknowledgement: %d %+v", status, flagged)
	}
	// A call page opened afresh shows who acknowledged it, not a button.
	reopened := chromiumPage(t, rc.base+"/call/"+visit.ID+"#t="+clinTok)
	waitTrue(t, reopened, "the acknowledgement after a reload", fmt.Sprintf(`(() => {
		const r = document.querySelector('%s');
		return !!r && !r.querySelector('[data-action="acknowledge-reading"]') && /Anna Holm/.test((r.querySelector('.vital-acked') || {}).textContent || '');
	})()`, marked))
	again := chromiumPage(t, rc.clinician)
	waitTrue(t, again, "the day list without the count", fmt.Sprintf(`(() => {
		const r = document.querySelector('%s');
		return !!r && !r.querySelector('[data-flagged-readings]');
	})()`, row))
}
