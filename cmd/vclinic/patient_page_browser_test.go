package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPatientPage: the clinician's page of a patient. The clinician sets a
// temperature limit in its form; the patient's readings of the last days
// come, one above it; the page shows the partial early-warning score with
// its parameters and the words that it is partial, the reading outside
// limits to acknowledge, and each quantity's trend with the limits; the
// acknowledgement then shows who handled it.
func TestPatientPage(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinicWith(t, "-language", "en")
	apptID := rc.demoAppointment()
	clinTok := fragmentToken(t, rc.clinician)
	patTok := fragmentToken(t, rc.patient)
	patientID := rc.patientOf(t, apptID, clinTok)
	page := chromiumPage(t, rc.base+"/patients/"+patientID+"#t="+clinTok)
	waitReady := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !evalPage[bool](t, page, what, `document.body.dataset.ready === 'true'`); time.Sleep(150 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the page never got ready: %s", what, evalPage[string](t, page, "page", `document.body.innerText.slice(0, 600)`))
			}
		}
	}
	waitReady("first load")
	if h := evalPage[string](t, page, "heading", `document.getElementById('heading').textContent`); h == "" || h == "Patient" {
		t.Errorf("the heading names %q, not the patient", h)
	}

	// The clinician types a limit and saves.
	ctx, cancel := context10s(page)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`#limit-8310-5-high`, "37.5"),
		chromedp.SendKeys(`#limit-8310-5-low`, "35.5"),
		chromedp.Click(`[data-action="save-limits"]`),
	); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st := evalPage[string](t, page, "status", `document.getElementById('limits-status').dataset.state || ''`)
		if st == "saved" {
			break
		}
		if st != "" || time.Now().After(deadline) {
			t.Fatalf("saving the limits: %s %q", st, evalPage[string](t, page, "status", `document.getElementById('limits-status').textContent`))
		}
	}
	var watch struct {
		Limits []struct {
			Code string  `json:"code"`
			High float64 `json:"high"`
		} `json:"limits"`
		Version int `json:"version"`
	}
	if status := rc.api(t, "GET", "/api/v1/patients/"+patientID+"/limits", clinTok, "", &watch); status != 200 || watch.Version != 1 ||
		len(watch.Limits) != 1 || watch.Limits[0].Code != "8310-5" || watch.Limits[0].High != 37.5 {
		t.Fatalf("the limits stored: %d %+v", status, watch)
	}

	// The patient's readings of the last days, the newest above the limit.
	for i, v := range []string{"36.8", "37.0", "38.2"} {
		at := time.Now().Add(-time.Duration(2-i) * 24 * time.Hour).Add(-time.Minute).UTC().Format(time.RFC3339)
		body := fmt.Sprintf(`{"observedAt":%q,"values":[{"code":"8310-5","value":%q,"unit":"Cel"}]}`, at, v)
		if status := rc.api(t, "POST", "/api/v1/readings/manual", patTok, body, nil); status != http.StatusOK && status != http.StatusCreated {
			t.Fatalf("reading %d: %d", i, status)
		}
	}
	reopen(t, page, rc.base+"/patients/"+patientID+"#t="+clinTok)
	waitReady("after the readings")
	news := evalPage[string](t, page, "the score", `document.getElementById('news2-body').innerText`)
	rows := evalPage[int](t, page, "rows", `document.querySelectorAll('#news2-body tr[data-parameter]').length`)
	if !strings.Contains(news, "Partial score") || !strings.Contains(news, "of 7 parameters") || rows != 7 ||
		!strings.Contains(news, "not measured at home") || !strings.Contains(news, "not a diagnosis") {
		t.Errorf("the score (%d rows): %q", rows, news)
	}
	if temp := evalPage[string](t, page, "temperature row", `document.querySelector('tr[data-parameter="temperature"]').innerText`); !strings.Contains(temp, "38.2") {
		t.Errorf("the temperature parameter: %q; want the newest reading, 38.2", temp)
	}
	flagged := evalPage[string](t, page, "flagged", `document.getElementById('flagged-list').innerText`)
	if !strings.Contains(flagged, "38.2") || !strings.Contains(flagged, "Seen and handled") {
		t.Fatalf("the readings outside limits: %q", flagged)
	}
	chart := evalPage[string](t, page, "the chart", `(() => { const s = document.querySelector('[data-trend-code="8310-5"] svg');
		return s ? s.querySelectorAll('line.trend-limit').length + ' ' + s.getAttribute('aria-label') : ''; })()`)
	if !strings.HasPrefix(chart, "2 ") || !strings.Contains(chart, "limits 35.5 to 37.5") {
		t.Errorf("the temperature trend: %q", chart)
	}
	// Acknowledged.
	ctx2, cancel2 := context10s(page)
	defer cancel2()
	if err := chromedp.Do(ctx2, chromedp.Click(`#flagged-list [data-action="acknowledge-reading"]`)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(150 * time.Millisecond) {
		got := evalPage[string](t, page, "flagged", `document.getElementById('flagged-list').innerText`)
		if strings.Contains(got, "Seen and handled by") && !evalPage[bool](t, page, "button", `!!document.querySelector('#flagged-list [data-action="acknowledge-reading"]')`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after acknowledging: %q", got)
		}
	}
	if sideways := evalPage[string](t, page, "sideways", sidewaysJS); !strings.HasPrefix(sideways, `{"over":0,`) {
		t.Errorf("the page scrolls sideways at 375 px: %s", sideways)
	}
}
