package main

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// receivedFrom is what a page decodes from one participant's video.
type receivedFrom struct {
	Participant   string `json:"participant"`
	FrameWidth    int    `json:"frameWidth"`
	FrameHeight   int    `json:"frameHeight"`
	FramesDecoded int64  `json:"framesDecoded"`
}

func receivedVideoOf(t testing.TB, ctx context.Context, participant string) receivedFrom {
	t.Helper()
	for _, r := range evalPage[[]receivedFrom](t, ctx, "received video", `window.vclinic.received()`) {
		if r.Participant == participant {
			return r
		}
	}
	return receivedFrom{}
}

// TestScreenShareReachesPatient: the clinician shares a screen from the
// call page; the patient's page shows it whole and says so, and decodes its
// frames (at the screen's sizes, not the camera's); when sharing stops the
// camera comes back.
func TestScreenShareReachesPatient(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinicWith(t, "-language", "en")
	apptID := rc.demoAppointment()
	clinTok := fragmentToken(t, rc.clinician)
	pat := chromiumPage(t, rc.patient)
	waitState(t, pat, "patient", "waiting")
	if status := rc.api(t, "POST", "/api/v1/appointments/"+apptID+"/admit", clinTok, "", nil); status != 200 {
		t.Fatalf("admit: %d", status)
	}
	clin := chromiumPage(t, rc.base+"/call/"+apptID+"#t="+clinTok)
	waitState(t, pat, "patient", "in-call")
	waitState(t, clin, "clinician", "in-call")
	waitMedia(t, pat, "patient", "clinician")
	clinID := evalPage[string](t, clin, "participant id", `window.vclinic.participantId`)
	camera := receivedVideoOf(t, pat, clinID)
	t.Logf("the camera as received: %+v", camera)
	if camera.FrameWidth == 0 || camera.FrameHeight == 0 {
		t.Fatalf("no camera picture from the clinician: %+v", camera)
	}
	// The sizes the camera goes out at (its simulcast layers): the screen's
	// are others (its capture is another size), whatever the encoder makes
	// of them.
	type sentLayer struct {
		Rid           string `json:"rid"`
		FrameWidth    int    `json:"frameWidth"`
		FramesEncoded int64  `json:"framesEncoded"`
	}
	cameraWidths := map[int]bool{camera.FrameWidth: true}
	for _, l := range evalPage[[]sentLayer](t, clin, "sent video", `window.vclinic.sent()`) {
		if l.FrameWidth > 0 {
			cameraWidths[l.FrameWidth] = true
		}
	}
	t.Logf("the camera goes out %v wide", cameraWidths)

	// A real click: the browser lets a page capture the screen only after
	// the reader acts.
	if err := chromedp.Do(clin, chromedp.Click(`[data-action="share-screen"]`)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !evalPage[bool](t, clin, "sharing", `window.vclinic.sharingScreen`); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the clinician's page never started sharing (%s)", evalPage[string](t, clin, "the button",
				`JSON.stringify(Object.assign({}, document.querySelector('[data-action="share-screen"]').dataset))`))
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got := evalPage[string](t, clin, "the button", `document.querySelector('[data-action="share-screen"]').getAttribute('aria-pressed')`)
		if got == "true" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Share screen button is pressed=%s while sharing", got)
		}
	}
	var shared receivedFrom
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		tile := evalPage[string](t, pat, "the tile", `(() => { const el = document.querySelector('.tile[data-screen="true"]'); return el ? el.querySelector('.tile-label, figcaption, [class*=label]')?.textContent || 'tile' : ''; })()`)
		shared = receivedVideoOf(t, pat, clinID)
		if tile != "" && shared.FramesDecoded > camera.FramesDecoded+10 && shared.FrameWidth > 0 && !cameraWidths[shared.FrameWidth] {
			t.Logf("the screen as received: %+v; the tile says %q", shared, tile)
			break
		}
		if time.Now().After(deadline) {
			t.Logf("the clinician sends %s", evalPage[string](t, clin, "sent", `window.vclinic.sent().then(JSON.stringify)`))
			t.Fatalf("the patient never decoded the screen: tile %q, received %+v (camera %+v)", tile, shared, camera)
		}
	}
	// It keeps coming.
	time.Sleep(time.Second)
	if later := receivedVideoOf(t, pat, clinID); later.FramesDecoded <= shared.FramesDecoded {
		t.Fatalf("the screen's frames stopped: %d then %d", shared.FramesDecoded, later.FramesDecoded)
	}

	// Stop: the camera again.
	if err := chromedp.Do(clin, chromedp.Click(`[data-action="share-screen"]`)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r := receivedVideoOf(t, pat, clinID)
		screenTile := evalPage[bool](t, pat, "the tile", `!!document.querySelector('.tile[data-screen="true"]')`)
		if !screenTile && cameraWidths[r.FrameWidth] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the camera did not come back: screen tile %v, received %+v", screenTile, r)
		}
	}
}
