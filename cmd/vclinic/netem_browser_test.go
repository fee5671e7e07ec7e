package main

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vclinic/internal/netem"
)

// evalPage runs js in a Chromium page (awaiting it if it is a promise) and
// returns its value, failing t with what it was reading if it cannot.
func evalPage[T any](t testing.TB, ctx context.Context, what, js string) T {
	t.Helper()
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ectx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("read the page's %s: %v", what, err)
	}
	return v
}

// pageMedia reads a Chromium page's call state and counters once.
func pageMedia(t testing.TB, ctx context.Context) mediaState {
	t.Helper()
	return evalPage[mediaState](t, ctx, "media state", mediaStateJS)
}

// TestBrowsersThroughBlackout: a patient and a clinician in Chromium reach
// the media server only through a network emulator (the server advertises
// the emulator's port, has no ICE-TCP to go around it, and is ICE-lite, so
// it sends no checks of its own to the browsers' addresses). Every path goes
// black for 3 s; both pages come back to the call by themselves, decoding
// frames again, without a rejoin.
func TestBrowsersThroughBlackout(t *testing.T) {
	requireBrowser(t, "chromium")
	v := visitBehindEmulator(t)
	forward, patient, clin := v.forward, v.patient, v.clin
	waitMedia(t, clin, "clinician", "patient")
	waitMedia(t, patient, "patient", "clinician")
	if len(forward.Flows()) == 0 {
		t.Fatal("no media went through the emulator")
	}

	forward.SetDefault(netem.Impairment{Blackout: true}, netem.Impairment{Blackout: true})
	time.Sleep(time.Second)
	frozen := map[string]int64{"patient": pageMedia(t, patient).FramesDecoded, "clinician": pageMedia(t, clin).FramesDecoded}
	time.Sleep(2 * time.Second)
	for who, page := range map[string]context.Context{"patient": patient, "clinician": clin} {
		if got := pageMedia(t, page).FramesDecoded; got > frozen[who]+5 {
			t.Fatalf("%s decoded %d frames during the black-out: media goes around the emulator", who, got-frozen[who])
		}
	}
	forward.SetDefault(netem.Impairment{}, netem.Impairment{})
	back := time.Now()
	pages := map[string]context.Context{"patient": patient, "clinician": clin}
	start := map[string]mediaState{}
	for who, page := range pages {
		start[who] = pageMedia(t, page)
	}
	audioBack, videoBack := map[string]time.Duration{}, map[string]time.Duration{}
	for len(videoBack) < len(pages) || len(audioBack) < len(pages) {
		if time.Since(back) > 30*time.Second {
			t.Fatalf("not back in the call within 30 s of the path returning: audio %v, video %v", audioBack, videoBack)
		}
		for who, page := range pages {
			st := pageMedia(t, page)
			if _, ok := audioBack[who]; !ok && st.AudioPacketsReceived > start[who].AudioPacketsReceived+5 {
				audioBack[who] = time.Since(back)
			}
			// Video is back when it is decoded again: a few frames, not
			// one that was in flight.
			if _, ok := videoBack[who]; !ok && st.State == "in-call" && st.FramesDecoded > start[who].FramesDecoded+3 {
				videoBack[who] = time.Since(back)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	for who := range pages {
		t.Logf("%s: audio back %s, video decoding again %s after the path returned", who,
			audioBack[who].Round(10*time.Millisecond), videoBack[who].Round(10*time.Millisecond))
	}
}

// emulatedVisit is the demo visit with the media server behind a network
// emulator: the patient admitted, both in Chromium.
type emulatedVisit struct {
	rc              *runningClinic
	forward         *netem.Proxy
	apptID, clinTok string
	patient, clin   context.Context
}

// visitBehindEmulator starts a clinic whose media server the browsers reach
// only through a network emulator (the server advertises the emulator's
// port, has no ICE-TCP to go around it, and is ICE-lite, so it sends no
// checks of its own to the browsers' addresses), and opens the demo visit:
// the patient's page, the clinician's, the patient admitted.
func visitBehindEmulator(t testing.TB) emulatedVisit {
	t.Helper()
	return visitBehindEmulatorWith(t, "")
}

// visitBehindEmulatorWith is visitBehindEmulator with a script that runs in
// both pages before their own.
func visitBehindEmulatorWith(t testing.TB, script string) emulatedVisit {
	t.Helper()
	free := func() int {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	media, public := free(), free()
	forward, err := netem.NewProxy("127.0.0.1:"+strconv.Itoa(public), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(media)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = forward.Close() })
	rc := startClinicWith(t, "-udp-port", strconv.Itoa(media), "-tcp-port", "-1", "-public-udp-port", strconv.Itoa(public), "-ice-lite")
	apptID := rc.demoAppointment()
	var me struct{ ID string }
	if status := rc.api(t, "GET", "/api/v1/me", fragmentToken(t, rc.clinician), "", &me); status != http.StatusOK || me.ID == "" {
		t.Fatalf("the demo clinician: %d %+v", status, me)
	}
	clinTok := rc.token(t, "--role", "clinician", "--sub", me.ID, "--name", "Dr. Anna Holm", "--ttl", "10m")
	patient := chromiumPageWith(t, rc.patient, script)
	waitParticipantState(t, rc, apptID, "patient", "waiting", clinTok)
	clin := chromiumPageWith(t, rc.base+"/call/"+apptID+"#t="+clinTok, script)
	if status := rc.api(t, "POST", "/api/v1/appointments/"+apptID+"/admit", clinTok, "", nil); status != http.StatusOK {
		t.Fatalf("admit: %d", status)
	}
	return emulatedVisit{rc: rc, forward: forward, apptID: apptID, clinTok: clinTok, patient: patient, clin: clin}
}

// TestBrowserAddressChange: the patient's network changes in the middle of
// the call (the media server sees the patient from a new address and the
// old one goes silent, as after a move from Wi-Fi to 4G behind a carrier's
// NAT). Media comes back both ways without a rejoin, and the clinician's
// page keeps the patient in the call all along (the patient's tile may say
// "reconnecting", never that they left).
func TestBrowserAddressChange(t *testing.T) {
	requireBrowser(t, "chromium")
	v := visitBehindEmulator(t)
	forward, patient, clin := v.forward, v.patient, v.clin
	waitMedia(t, clin, "clinician", "patient")
	waitMedia(t, patient, "patient", "clinician")
	pub, sub := pagePaths(t, patient)
	var flows []*netem.Flow
	for _, f := range forward.Flows() {
		for _, p := range []*pagePath{pub, sub} {
			if p != nil && p.ServerUfrag != "" && strings.HasPrefix(f.Username(), p.ServerUfrag+":") {
				flows = append(flows, f)
			}
		}
	}
	if len(flows) == 0 {
		t.Fatalf("no flow through the emulator carries the patient's connections (%+v, %+v)", pub, sub)
	}
	pages := map[string]context.Context{"patient": patient, "clinician": clin}
	start := map[string]mediaState{}
	for who, page := range pages {
		start[who] = pageMedia(t, page)
	}
	delivered := func() (up, down int64) {
		for _, f := range flows {
			u, d := f.Stats()
			up, down = up+u.Delivered, down+d.Delivered
		}
		return up, down
	}
	for _, f := range flows {
		if err := f.Rebind(); err != nil {
			t.Fatal(err)
		}
	}
	up0, down0 := delivered()
	changed := time.Now()
	t.Logf("the patient's %d flows moved to new addresses", len(flows))
	// Over the 12 s after the change, the longest stretch without a new
	// audio packet and without a newly decoded frame on each page: how long
	// the media was away.
	type watch struct {
		audio, frames       int64
		audioAt, framesAt   time.Time
		audioGap, framesGap time.Duration
		states              map[string]bool
	}
	ws := map[string]*watch{}
	for who := range pages {
		ws[who] = &watch{audio: start[who].AudioPacketsReceived, frames: start[who].FramesDecoded, audioAt: changed, framesAt: changed, states: map[string]bool{}}
	}
	for time.Since(changed) < 12*time.Second {
		for who, page := range pages {
			st, w, now := pageMedia(t, page), ws[who], time.Now()
			w.states[st.State] = true
			if who == "clinician" && !slices.ContainsFunc(st.Videos, func(v struct {
				Participant string `json:"participant"`
				Role        string `json:"role"`
				Width       int    `json:"width"`
			}) bool {
				return v.Role == "patient"
			}) {
				t.Fatalf("%v after the change the clinician's page has no patient: %+v", now.Sub(changed).Round(10*time.Millisecond), st)
			}
			if st.AudioPacketsReceived > w.audio {
				w.audioGap = max(w.audioGap, now.Sub(w.audioAt))
				w.audio, w.audioAt = st.AudioPacketsReceived, now
			}
			if st.FramesDecoded > w.frames {
				w.framesGap = max(w.framesGap, now.Sub(w.framesAt))
				w.frames, w.framesAt = st.FramesDecoded, now
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The media went through the patient's flows from their new addresses.
	if up, down := delivered(); up-up0 < 500 || down-down0 < 500 {
		t.Errorf("the patient's flows carried %d datagrams up and %d down after the change: the media went around them", up-up0, down-down0)
	}
	for who, w := range ws {
		now := time.Now()
		audioGap, framesGap := max(w.audioGap, now.Sub(w.audioAt)), max(w.framesGap, now.Sub(w.framesAt))
		t.Logf("%s: longest pause in audio %s, in decoded video %s; states seen %v", who,
			audioGap.Round(10*time.Millisecond), framesGap.Round(10*time.Millisecond), w.states)
		if now.Sub(w.audioAt) > 2*time.Second || now.Sub(w.framesAt) > 2*time.Second {
			t.Errorf("%s: media not back 12 s after the change (audio last %v ago, video %v ago)", who,
				now.Sub(w.audioAt).Round(10*time.Millisecond), now.Sub(w.framesAt).Round(10*time.Millisecond))
		}
	}
}
