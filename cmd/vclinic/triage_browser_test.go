package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestTriageListInChromium: on a 375 px phone, the clinician's triage list
// shows the patient with a reading outside their limits first, as a card
// whose first words say so ("1 reading outside limits", with the value),
// leading to the call page of the patient's next visit; a patient without
// readings follows, saying so; the decision-support label is there; axe-core
// finds nothing on the page in that state.
func TestTriageListInChromium(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	sched := fragmentToken(t, rc.scheduler)
	clinTok := fragmentToken(t, rc.clinician)
	clinID := rc.demoClinician(t, sched)
	rc.workAllDay(t, sched, clinID)
	// The demo's own visit (whose simulated kit measures) is not part of this.
	demoAppt := rc.demoAppointment()
	if status := rc.api(t, "POST", "/api/v1/appointments/"+demoAppt+"/cancel", sched, `{"reason":"test"}`, nil); status != http.StatusOK {
		t.Fatalf("cancel the demo appointment: %d", status)
	}
	quietID := rc.newPatient(t, sched, `{"name":"Asta Quist","phone":"20 00 00 21"}`)
	rc.bookNew(t, sched, clinID, quietID, time.Hour)
	flaggedID := rc.newPatient(t, sched, `{"name":"Grete Lund","phone":"20 00 00 22"}`)
	visit := rc.bookNew(t, sched, clinID, flaggedID, 2*time.Minute)
	if status := rc.api(t, "PUT", "/api/v1/patients/"+flaggedID+"/limits", clinTok,
		`{"version":0,"limits":[{"code":"8310-5","unit":"Cel","low":35.5,"high":37.5}]}`, nil); status != http.StatusOK {
		t.Fatalf("set limits: %d", status)
	}
	var dev struct{ ID string }
	if status := rc.api(t, "POST", "/api/v1/patients/"+flaggedID+"/devices", sched,
		`{"type":"thermometer","model":"FT 95","address":"00:09:1F:00:00:22","identifiedBy":"bluetooth-address","label":"Termometer"}`, &dev); status != http.StatusCreated {
		t.Fatalf("add device: %d", status)
	}
	// 37.60 Cel (Health Thermometer 0x2A1C), above the high limit 37.5.
	reading := fmt.Sprintf(`{"readings":[{"deviceId":%q,"characteristic":"2A1C","value":"02B00E00FEEA070B1A0A1E05","seq":1,"observedAt":%q}]}`,
		dev.ID, time.Now().UTC().Format(time.RFC3339))
	if status := rc.api(t, "POST", "/api/v1/readings", fragmentToken(t, visit.PatientLink), reading, nil); status != http.StatusOK {
		t.Fatalf("post reading: %d", status)
	}

	page := chromiumPage(t, rc.base+"/triage#t="+clinTok)
	// Headless Chromium's window is at least 500 px wide: the phone's
	// 375 px viewport is emulated.
	if _, err := chromedp.Run(page, chromedp.EmulateViewport(375, 812)); err != nil {
		t.Fatalf("emulate a 375 px phone: %v", err)
	}
	waitTrue(t, page, "the flagged patient first, in words", fmt.Sprintf(`(() => {
		const table = document.getElementById('triage');
		if (table.dataset.triageState !== 'ready') return false;
		const rows = [...document.querySelectorAll('#rows tr')];
		if (rows.length < 2 || rows[0].dataset.patientId !== %q) return false;
		const first = rows[0];
		const why = first.querySelector('.t-why li');
		const link = first.querySelector('.t-name a');
		const quiet = rows.find((r) => r.dataset.patientId === %q);
		return !!why && /^1 (reading outside limits|måling uden for grænserne)/.test(why.textContent) && /37\.60/.test(why.textContent)
			&& link.getAttribute('href') === '/patients/' + %q && link.firstChild.textContent === 'Grete Lund'
			&& !!quiet && /No readings yet|Ingen målinger endnu/.test(quiet.querySelector('.t-why').textContent)
			&& getComputedStyle(first).display === 'block' && window.innerWidth === 375
			&& /not a diagnosis|ikke en diagnose/.test(document.querySelector('.decision-support').textContent);
	})()`, flaggedID, quietID, flaggedID))
	for _, v := range runAxe(t, page, axeJS(t)) {
		t.Errorf("the triage list with a flagged patient: %s (%s): %s at %v", v.ID, v.Impact, v.Help, v.Targets)
	}
}
