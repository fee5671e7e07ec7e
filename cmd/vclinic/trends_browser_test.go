package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestCallPageTrends: the clinician's call page draws the last 30 days
// beside each home value, with the patient's limits as a band; the chart's
// label says the range and the newest value, and the arrow keys read out a
// reading with its source.
func TestCallPageTrends(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinicWith(t, "-language", "en")
	apptID := rc.demoAppointment()
	clinTok := fragmentToken(t, rc.clinician)
	patTok := fragmentToken(t, rc.patient)
	patientID := rc.patientOf(t, apptID, clinTok)
	if status := rc.api(t, "PUT", "/api/v1/patients/"+patientID+"/limits", clinTok,
		`{"version":0,"limits":[{"code":"8310-5","unit":"Cel","low":35.5,"high":37.5}]}`, nil); status != http.StatusOK {
		t.Fatalf("set limits: %d", status)
	}
	pat := chromiumPage(t, rc.patient)
	waitState(t, pat, "patient", "waiting")
	// A temperature typed each of the last days, the last today.
	for i, v := range []string{"36.6", "36.9", "37.1", "37.8", "37.0"} {
		at := time.Now().Add(-time.Duration(4-i) * 24 * time.Hour).UTC().Format(time.RFC3339)
		body := fmt.Sprintf(`{"observedAt":%q,"values":[{"code":"8310-5","value":%q,"unit":"Cel"}]}`, at, v)
		if status := rc.api(t, "POST", "/api/v1/readings/manual", patTok, body, nil); status != http.StatusOK && status != http.StatusCreated {
			t.Fatalf("reading %d: %d", i, status)
		}
	}
	if status := rc.api(t, "POST", "/api/v1/appointments/"+apptID+"/admit", clinTok, "", nil); status != 200 {
		t.Fatalf("admit: %d", status)
	}
	clin := chromiumPage(t, rc.base+"/call/"+apptID+"#t="+clinTok)
	waitState(t, clin, "clinician", "in-call")
	const chart = `document.querySelector('.vital-days [data-trend-code="8310-5"] svg.trend-chart, .vital-days[data-trend-code="8310-5"] svg.trend-chart')`
	var label string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		label = evalPage[string](t, clin, "the chart", `(() => { const s = `+chart+`; return s ? s.getAttribute('aria-label') : ''; })()`)
		if label != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no temperature trend on the call page; the panel holds %q",
				evalPage[string](t, clin, "panel", `document.getElementById('vitals').innerText`))
		}
	}
	t.Logf("the chart says %q", label)
	if !strings.Contains(label, "last 30 days") || !strings.Contains(label, "36.6") || !strings.Contains(label, "limits 35.5 to 37.5") {
		t.Errorf("the chart's label %q: want the 30 days, the lowest value and the limits", label)
	}
	facts := evalPage[string](t, clin, "the chart's parts", `(() => { const s = `+chart+`;
		return [s.querySelectorAll('polyline.trend-line').length, s.querySelectorAll('line.trend-limit').length, !!s.querySelector('rect.trend-band')].join(','); })()`)
	if facts != "1,2,true" {
		t.Errorf("the chart has lines, limits, band: %s; want 1,2,true", facts)
	}
	// The keyboard reads a value out.
	evalPage[bool](t, clin, "focus", `(`+chart+`.focus(), true)`)
	if err := chromedp.Do(clin, chromedp.KeyEvent(kb.ArrowLeft)); err != nil {
		t.Fatal(err)
	}
	out := evalPage[string](t, clin, "the readout", `(`+chart+`.parentElement.querySelector('.trend-readout') || {}).textContent || ''`)
	if !strings.Contains(out, "typed by the patient") || !strings.Contains(out, "°C") && !strings.Contains(out, "Cel") {
		t.Errorf("the readout after a key: %q", out)
	}
}
