package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDayListPatientLeftWaitingRoom: a patient who arrived in the waiting
// room and closed the page before being admitted is shown on the
// clinician's day list as having left the waiting room, once the server no
// longer keeps their place (-grace 2s here), so that the clinician knows to
// call them; when they open the link again they are waiting again.
func TestDayListPatientLeftWaitingRoom(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinicWith(t, "-grace", "2s")
	apptID := rc.demoAppointment()
	pat := chromiumPage(t, rc.patient)
	waitState(t, pat, "patient", "waiting")
	day := chromiumPage(t, rc.clinician)
	row := fmt.Sprintf(`document.querySelector('li[data-appointment=%q]')`, apptID)
	waitCheck(t, day, "the patient waiting on the day list", `(`+row+`?.dataset.waiting === '1')`, 20*time.Second)
	if evalPage[bool](t, day, "the marker", `!!`+row+`.dataset.leftWaiting`) {
		t.Fatal("a waiting patient is shown as having left")
	}

	// The patient closes the page.
	if err := chromedp.Do(pat, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	waitCheck(t, day, "the patient shown as left", `(`+row+`?.dataset.leftWaiting === 'true')`, 30*time.Second)
	if text := evalPage[string](t, day, "the row's status", row+`.querySelector('.d-status').textContent`); !strings.Contains(text, "left the waiting room") {
		t.Errorf("the row's status says %q", text)
	}

	// Back again: waiting, and no longer shown as left.
	reopen(t, pat, rc.patient)
	waitState(t, pat, "patient", "waiting")
	waitCheck(t, day, "the patient waiting again", `(`+row+`?.dataset.waiting === '1' && !`+row+`.dataset.leftWaiting)`, 30*time.Second)

	// Sign out (every staff page's button): to the sign-in page, with
	// nothing kept in the tab.
	evalPage[bool](t, day, "sign out", `(document.getElementById('sign-out').click(), true)`)
	waitCheck(t, day, "the sign-in page", `location.pathname === '/login' && sessionStorage.length === 0`, 10*time.Second)
}
