package main

import (
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkPatientLinkToWaitingRoom measures, on a cold browser (a fresh
// Chromium profile: no cache, no stored token), the time from opening the
// patient's invitation link to the waiting room (data-call-state waiting:
// the page loaded, the link checked, camera and microphone on, the signaling
// joined). Goal: under 2 s on loopback. Each round starts a new browser;
// the time counts from the navigation, not the browser's start. Run:
// VCLINIC_REQUIRE_BROWSERS=1 go test -run '^$' -bench PatientLinkToWaitingRoom -benchtime 5x ./cmd/vclinic
func BenchmarkPatientLinkToWaitingRoom(b *testing.B) {
	requireBrowser(b, "chromium")
	rc := startClinic(b)
	var took []time.Duration
	for range b.N {
		b.StopTimer()
		page := chromiumPageWith(b, "about:blank", "")
		b.StartTimer()
		start := time.Now()
		if err := chromedp.Do(page, chromedp.Navigate(rc.patient)); err != nil {
			b.Fatal(err)
		}
		waitState(b, page, "patient", "waiting")
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "ms-median")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "ms-max")
}
