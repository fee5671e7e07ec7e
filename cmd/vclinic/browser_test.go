package main

// End-to-end tests: the real vclinic binary on loopback, real headless browsers
// (Debian's chromium and firefox-esr) with fake camera and microphone. They run
// serially, without the race detector (two cores: browsers, pion and the race
// detector together starve ICE), from scripts/test.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// requireBrowser finds a browser binary or skips; scripts/test sets
// VCLINIC_REQUIRE_BROWSERS so that a missing browser fails there.
func requireBrowser(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("VCLINIC_REQUIRE_BROWSERS") != "" {
			t.Fatalf("%s not found: install it (scripts/test does, as root on Debian)", name)
		}
		t.Skipf("%s not found", name)
	}
	return path
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// vclinicBinary builds this command once per test run.
func vclinicBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vclinic-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "vclinic")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// runningClinic is `vclinic -demo` as a user starts it.
type runningClinic struct {
	bin       string
	data      string
	scheduler string // link printed as "scheduler: ..."
	clinician string // link printed as "clinician: ..."
	admin     string // link printed as "admin: ..."
	patient   string // link printed as "patient: ..."
	base      string
	stderr    *os.File
}

func startClinic(t testing.TB) *runningClinic {
	t.Helper()
	return startClinicWith(t)
}

// startClinicWith is startClinic with more flags, which override the
// defaults.
func startClinicWith(t testing.TB, extra ...string) *runningClinic {
	t.Helper()
	bin := vclinicBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	stderr, err := os.Create(filepath.Join(dir, "vclinic.log"))
	if err != nil {
		t.Fatal(err)
	}
	// Media on loopback only: the browsers run here, and the machine's
	// other interfaces play no part.
	args := []string{"-demo", "-addr", "127.0.0.1:0", "-data", data, "-media-bind", "127.0.0.1",
		"-udp-port", "0", "-tcp-port", "0", "-log-level", "debug"}
	cmd := exec.Command(bin, append(args, extra...)...)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rc := &runningClinic{bin: bin, data: data, stderr: stderr}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("vclinic exited with %v after SIGTERM", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("vclinic did not stop within 15 s of SIGTERM")
		}
		if t.Failed() {
			logTail(t, stderr.Name())
		}
		stderr.Close()
	})

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(30 * time.Second)
	for rc.scheduler == "" || rc.clinician == "" || rc.patient == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				logTail(t, stderr.Name())
				t.Fatal("vclinic -demo ended before printing its links")
			}
			if v, ok := strings.CutPrefix(line, "scheduler: "); ok {
				rc.scheduler = v
			}
			if v, ok := strings.CutPrefix(line, "clinician: "); ok {
				rc.clinician = v
			}
			if v, ok := strings.CutPrefix(line, "admin: "); ok {
				rc.admin = v
			}
			if v, ok := strings.CutPrefix(line, "patient: "); ok {
				rc.patient = v
			}
		case <-timeout:
			logTail(t, stderr.Name())
			t.Fatal("vclinic -demo printed no links within 30 s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	for _, link := range []string{rc.scheduler, rc.clinician, rc.patient} {
		if !strings.HasPrefix(link, "http://127.0.0.1:") {
			t.Fatalf("link %q: want a full http://127.0.0.1:PORT/... URL", link)
		}
	}
	rc.base = rc.clinician[:strings.Index(rc.clinician[len("http://"):], "/")+len("http://")]
	return rc
}

// logTail logs the end of the server's log, without the media library's
// chatter.
func logTail(t testing.TB, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, `"pion":`) {
			keep = append(keep, line)
		}
	}
	out := strings.Join(keep, "\n")
	if len(out) > 8000 {
		out = out[len(out)-8000:]
	}
	t.Logf("vclinic log (tail):\n%s", out)
}

// token mints a token through the CLI, as an operator would.
func (rc *runningClinic) token(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(rc.bin, append([]string{"token", "-data", rc.data}, args...)...).Output()
	if err != nil {
		t.Fatalf("vclinic token %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// roomStatus fetches /api/v1/rooms/{room} as a clinician.
func (rc *runningClinic) roomStatus(t testing.TB, room, token string) (status struct {
	Participants []struct {
		ID          string `json:"id"`
		Role        string `json:"role"`
		State       string `json:"state"`
		VideoLayers int    `json:"videoLayers"`
		Stats       struct {
			FramesDecoded        int64 `json:"framesDecoded"`
			AudioPacketsReceived int64 `json:"audioPacketsReceived"`
			FirstFrameMillis     int64 `json:"firstFrameMillis"`
		} `json:"stats"`
	} `json:"participants"`
}, ok bool) {
	req, _ := http.NewRequest(http.MethodGet, rc.base+"/api/v1/rooms/"+room, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return status, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return status, false
	}
	return status, json.NewDecoder(resp.Body).Decode(&status) == nil
}

// chromiumPage opens url in its own headless Chromium.
func chromiumPage(t testing.TB, url string) context.Context {
	t.Helper()
	return chromiumPageWith(t, url, "")
}

// chromiumPageWith is chromiumPage with a script that runs in the page
// before its own (none if empty).
func chromiumPageWith(t testing.TB, url, script string) context.Context {
	t.Helper()
	path := requireBrowser(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// Replaces chromedp's own list, so its entries are repeated.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns"),
		chromedp.WindowSize(375, 812),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if script != "" {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		if err != nil {
			t.Fatalf("chromium: add a script: %v", err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("chromium: open %s: %v", url, err)
	}
	return ctx
}

// mediaState is what a page reports about the media it receives.
type mediaState struct {
	State  string `json:"state"`
	Videos []struct {
		Participant string `json:"participant"`
		Role        string `json:"role"`
		Width       int    `json:"width"`
	} `json:"videos"`
	FramesDecoded        int64  `json:"framesDecoded"`
	AudioPacketsReceived int64  `json:"audioPacketsReceived"`
	FirstFrameMillis     int64  `json:"firstFrameMillis"`
	Error                string `json:"error"`
}

const mediaStateJS = `(async () => {
  const out = {state: document.body.dataset.callState || '', videos: [], framesDecoded: 0,
    audioPacketsReceived: 0, firstFrameMillis: 0, error: ''};
  for (const v of document.querySelectorAll('video[data-participant]')) {
    out.videos.push({participant: v.dataset.participant, role: v.dataset.role || '', width: v.videoWidth});
  }
  try {
    if (window.vclinic && window.vclinic.stats) {
      const s = await window.vclinic.stats();
      out.framesDecoded = s.framesDecoded || 0;
      out.audioPacketsReceived = s.audioPacketsReceived || 0;
      out.firstFrameMillis = s.firstFrameMillis || window.vclinic.firstFrameMillis || 0;
    }
  } catch (e) { out.error = String(e); }
  return out;
})()`

// waitMedia polls a Chromium page until it decodes video from a participant of
// role wantRole and receives audio.
func waitMedia(t testing.TB, ctx context.Context, who, wantRole string) mediaState {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var last mediaState
	for time.Now().Before(deadline) {
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := chromedp.Run(ectx, chromedp.Evaluate[mediaState](mediaStateJS, chromedp.EvalAwaitPromise))
		cancel()
		if err == nil {
			last = st
			seen := false
			for _, v := range st.Videos {
				if v.Role == wantRole && v.Width > 0 && v.Participant != "" {
					seen = true
				}
			}
			if st.State == "in-call" && seen && st.FramesDecoded > 0 && st.AudioPacketsReceived > 0 {
				return st
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: no decoded video from a %s and audio within 45 s; last state %+v", who, wantRole, last)
	return last
}

// fragmentToken returns the token a link carries in its fragment (#t=...).
func fragmentToken(t testing.TB, link string) string {
	t.Helper()
	_, frag, _ := strings.Cut(link, "#")
	q, err := url.ParseQuery(frag)
	if err != nil || q.Get("t") == "" {
		t.Fatalf("link %q carries no token", link)
	}
	return q.Get("t")
}

// api calls the clinic's API with a bearer token and decodes the answer.
func (rc *runningClinic) api(t testing.TB, method, path, token, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, rc.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// waitState polls a Chromium page until its data-call-state is want.
func waitState(t testing.TB, ctx context.Context, who, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := chromedp.Run(ectx, chromedp.Evaluate[string](`document.body.dataset.callState || ''`))
		cancel()
		if err == nil {
			last = st
			if st == want {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: data-call-state %q, want %q within 30 s", who, last, want)
}

// TestSchedulerBooksPatientWaitsClinicianAdmits is the whole visit: a
// scheduler books through the API, the patient opens the invitation link and
// waits, the clinician admits from the console, and both decode video.
func TestSchedulerBooksPatientWaitsClinicianAdmits(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	sched := fragmentToken(t, rc.scheduler)
	var clinicians []struct{ ID, Name string }
	rc.api(t, "GET", "/api/v1/clinicians", sched, "", &clinicians)
	var patients []struct{ ID, Name string }
	rc.api(t, "GET", "/api/v1/patients?q=Jens", sched, "", &patients)
	var clinID string
	for _, c := range clinicians {
		if c.Name == "Dr. Anna Holm" {
			clinID = c.ID
		}
	}
	if clinID == "" || len(patients) == 0 {
		t.Fatalf("demo records missing: clinicians %+v, patients %+v", clinicians, patients)
	}
	rc.workAllDay(t, sched, clinID)
	// Free the clinician's time: the demo's own appointment starts now.
	demoAppt := rc.demoAppointment()
	if status := rc.api(t, "POST", "/api/v1/appointments/"+demoAppt+"/cancel", sched, `{"reason":"test"}`, nil); status != http.StatusOK {
		t.Fatalf("cancel the demo appointment: %d", status)
	}
	start := time.Now().Add(2 * time.Minute).Truncate(time.Minute).UTC().Format(time.RFC3339)
	var appt struct{ ID, PatientLink string }
	body := fmt.Sprintf(`{"clinicianId":%q,"patientId":%q,"start":%q,"durationMinutes":20}`, clinID, patients[0].ID, start)
	if status := rc.api(t, "POST", "/api/v1/appointments", sched, body, &appt); status != http.StatusCreated {
		t.Fatalf("booking: %d", status)
	}

	pat := chromiumPage(t, appt.PatientLink)
	waitState(t, pat, "patient", "waiting")

	clin := chromiumPage(t, rc.clinician)
	admit := fmt.Sprintf(`button[data-action="admit"][data-appointment=%q]`, appt.ID)
	wctx, cancel := context.WithTimeout(clin, 30*time.Second)
	err := chromedp.Do(wctx, chromedp.WaitVisible(admit), chromedp.Click(admit))
	cancel()
	if err != nil {
		t.Fatalf("clinician console: no admit button for the waiting patient: %v", err)
	}
	p := waitMedia(t, pat, "patient (Chromium)", "clinician")
	c := waitMedia(t, clin, "clinician (Chromium)", "patient")
	t.Logf("page load to first decoded remote frame: patient %d ms, clinician %d ms", p.FirstFrameMillis, c.FirstFrameMillis)

	var got struct{ Status string }
	rc.api(t, "GET", "/api/v1/appointments/"+appt.ID, sched, "", &got)
	if got.Status != "checked-in" {
		t.Fatalf("appointment status %q after admission, want checked-in", got.Status)
	}

	// The clinician asks for a blood pressure; the patient's page shows how.
	ask := `button[data-action="request-measurement"]`
	card := `.measure[data-device-type="blood-pressure"]`
	actx, cancelAsk := context.WithTimeout(clin, 10*time.Second)
	err = chromedp.Do(actx, chromedp.WaitVisible(ask), chromedp.Click(ask))
	cancelAsk()
	if err != nil {
		t.Fatalf("ask for a measurement: %v", err)
	}
	pctx, cancelCard := context.WithTimeout(pat, 10*time.Second)
	err = chromedp.Do(pctx, chromedp.WaitVisible(card))
	cancelCard()
	if err != nil {
		t.Fatalf("the patient's page shows no measurement card: %v", err)
	}
	// A blood-pressure reading from the patient's kit reaches the clinician's
	// screen with the device's value.
	var dev struct{ ID string }
	if status := rc.api(t, "POST", "/api/v1/patients/"+patients[0].ID+"/devices", sched,
		`{"type":"blood-pressure","model":"UA-651BLE","address":"00:09:1F:00:00:09","identifiedBy":"bluetooth-address","label":"Arm cuff"}`, &dev); status != http.StatusCreated {
		t.Fatalf("add device: %d", status)
	}
	reading := fmt.Sprintf(`{"readings":[{"deviceId":%q,"characteristic":"2A35","value":"04780050005D004800","seq":1,"observedAt":%q}]}`,
		dev.ID, time.Now().UTC().Format(time.RFC3339))
	sent := time.Now()
	var res struct {
		Results []struct{ Status, Reason string }
	}
	if status := rc.api(t, "POST", "/api/v1/readings", fragmentToken(t, appt.PatientLink), reading, &res); status != http.StatusOK ||
		len(res.Results) != 1 || res.Results[0].Status != "stored" {
		t.Fatalf("post reading: %d %+v", status, res)
	}
	shown := `[data-code="8480-6"][data-value="120"][data-unit="mm[Hg]"]`
	vctx, cancelV := context.WithTimeout(clin, 10*time.Second)
	err = chromedp.Do(vctx, chromedp.WaitReady(shown))
	cancelV()
	if err != nil {
		html, _ := chromedp.Run(clin, chromedp.Evaluate[string](`JSON.stringify(window.vclinic && window.vclinic.vitals) + ' ' + (document.querySelector('.vitals') || {outerHTML: 'no panel'}).outerHTML.slice(0, 1500)`))
		t.Fatalf("the clinician's page does not show the systolic value: %v\n%s", err, html)
	}
	t.Logf("reading posted to shown on the clinician's page: %s (polling granularity included)", time.Since(sent))
	// Long enough a call for its quality record to hold several samples
	// of each figure (one every 2 s; Chromium reports on audio every 5 s).
	time.Sleep(12 * time.Second)
	// The clinician ends the visit: the patient's page says so, the
	// appointment is fulfilled and the link stops working.
	clinTok := fragmentToken(t, rc.clinician)
	if status := rc.api(t, "POST", "/api/v1/appointments/"+appt.ID+"/end", clinTok, "", nil); status != http.StatusNoContent {
		t.Fatalf("end visit: %d", status)
	}
	waitState(t, pat, "patient", "ended")
	rc.api(t, "GET", "/api/v1/appointments/"+appt.ID, sched, "", &got)
	if got.Status != "fulfilled" {
		t.Fatalf("appointment status %q after the end, want fulfilled", got.Status)
	}
	var visit struct{ State string }
	rc.api(t, "GET", "/api/v1/visit", fragmentToken(t, appt.PatientLink), "", &visit)
	if visit.State != "ended" {
		t.Fatalf("patient link after the visit: %q, want ended", visit.State)
	}
	checkVisitQuality(t, rc, appt.ID, clinTok, sched)
}

// qualityAnswer is the answer of GET /api/v1/appointments/{id}/quality.
type qualityAnswer struct {
	Participants []struct {
		ID, Role                                     string
		Seconds                                      int
		RTTMs, LossPct, JitterMs, SendKbps, RecvKbps *float64
		Resolutions                                  []struct{ Width, Height, Seconds int }
		Freezes, FreezeMs, LayerSwitches, Reconnects int64
		CandidateType                                string
	}
}

// checkVisitQuality reads the ended visit's quality record as its
// clinician: both people, with what the server measured (bitrates, loss,
// jitter) and what their Chromium pages reported (the video they decoded,
// the path, the round trip). A scheduler may not read it.
func checkVisitQuality(t *testing.T, rc *runningClinic, apptID, clinTok, schedTok string) {
	t.Helper()
	var q qualityAnswer
	deadline := time.Now().Add(15 * time.Second)
	for {
		q = qualityAnswer{}
		if status := rc.api(t, "GET", "/api/v1/appointments/"+apptID+"/quality", clinTok, "", &q); status != http.StatusOK {
			t.Fatalf("visit quality: %d", status)
		}
		if len(q.Participants) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	b, _ := json.Marshal(q)
	t.Logf("visit quality: %s", b)
	if len(q.Participants) != 2 {
		t.Fatalf("visit quality names %d people, want the clinician and the patient", len(q.Participants))
	}
	for _, p := range q.Participants {
		if p.Seconds < 2 || p.SendKbps == nil || *p.SendKbps <= 0 || p.RecvKbps == nil || *p.RecvKbps <= 0 {
			t.Errorf("%s: %d s, sent %v, received %v kbit/s; want a measured call", p.Role, p.Seconds, p.SendKbps, p.RecvKbps)
		}
		if p.LossPct == nil || p.JitterMs == nil || p.RTTMs == nil {
			t.Errorf("%s: loss, jitter or rtt not measured", p.Role)
		}
		if len(p.Resolutions) == 0 || p.Resolutions[0].Width == 0 {
			t.Errorf("%s: resolutions %+v; want the video its page decoded", p.Role, p.Resolutions)
		}
		if p.CandidateType != "host" {
			t.Errorf("%s: path %q; want host on loopback", p.Role, p.CandidateType)
		}
	}
	if status := rc.api(t, "GET", "/api/v1/appointments/"+apptID+"/quality", schedTok, "", nil); status != http.StatusForbidden {
		t.Errorf("a scheduler reads the visit's quality: %d, want 403", status)
	}
	if n := metricValue(t, rc, "vclinic_call_rtt_seconds_count"); n == 0 {
		t.Error("/metrics counts no round-trip samples")
	}
}

// firefox opens url in headless Firefox ESR with a profile that fakes the camera
// and microphone and allows loopback ICE. No driver: the page itself reports its
// receive statistics to the server, which the test reads.
func firefox(t testing.TB, url string) {
	t.Helper()
	path := requireBrowser(t, "firefox-esr")
	profile := t.TempDir()
	prefs := `user_pref("media.navigator.streams.fake", true);
user_pref("permissions.default.camera", 1);
user_pref("permissions.default.microphone", 1);
user_pref("media.peerconnection.ice.loopback", true);
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
user_pref("media.autoplay.default", 0);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.auto", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
`
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "firefox.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "--headless", "--no-remote", "--profile", profile, url)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "MOZ_HEADLESS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				t.Logf("firefox log (tail):\n%s", b)
			}
		}
		logf.Close()
	})
}

// waitReported polls the server until the participant of role role reports
// decoded video and received audio.
func waitReported(t testing.TB, rc *runningClinic, room, role, token string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last any
	for time.Now().Before(deadline) {
		st, ok := rc.roomStatus(t, room, token)
		if ok {
			last = st
			for _, p := range st.Participants {
				if p.Role == role && p.Stats.FramesDecoded > 0 && p.Stats.AudioPacketsReceived > 0 {
					t.Logf("%s reports %d frames decoded, %d audio packets, first frame after %d ms",
						role, p.Stats.FramesDecoded, p.Stats.AudioPacketsReceived, p.Stats.FirstFrameMillis)
					return
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("the %s never reported decoded video and audio within 60 s; last room status %+v", role, last)
}

// TestCallFirefoxPatientChromiumClinician: the demo patient in Firefox ESR
// waits, the clinician (Chromium, on the call page) admits, both decode.
func TestCallFirefoxPatientChromiumClinician(t *testing.T) {
	requireBrowser(t, "firefox-esr")
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	apptID := rc.demoAppointment()
	// A clinician token from the operator's command line, for the demo
	// appointment's clinician: staff tokens name the signed-in user, and only
	// the appointment's own clinician joins and admits.
	var me struct{ ID string }
	if status := rc.api(t, "GET", "/api/v1/me", fragmentToken(t, rc.clinician), "", &me); status != http.StatusOK || me.ID == "" {
		t.Fatalf("the demo clinician: %d %+v", status, me)
	}
	clinTok := rc.token(t, "--role", "clinician", "--sub", me.ID, "--name", "Dr. Anna Holm", "--ttl", "10m")
	firefox(t, rc.patient)
	waitParticipantState(t, rc, apptID, "patient", "waiting", clinTok)
	clin := chromiumPage(t, rc.base+"/call/"+apptID+"#t="+clinTok)
	if status := rc.api(t, "POST", "/api/v1/appointments/"+apptID+"/admit", clinTok, "", nil); status != http.StatusOK {
		t.Fatalf("admit: %d", status)
	}
	waitMedia(t, clin, "clinician (Chromium)", "patient")
	waitReported(t, rc, apptID, "patient", clinTok)
	// The pages ask for redundant audio (RFC 2198) first; the browsers that
	// have it (Chromium does) send their voice twice, and the other side
	// still hears it.
	red := metricValue(t, rc, "vclinic_red_audio_tracks")
	t.Logf("published audio tracks carrying RED: %v", red)
	if red < 1 {
		t.Errorf("no published audio track carries RED; Chromium's should")
	}
	// Both pages publish their camera as simulcast layers (RFC 8853),
	// Firefox as well as Chromium.
	// Firefox's layers are counted apart in the room's status: each browser
	// sends the layers its encoder and bandwidth allow (the top one may
	// wait), at least two.
	deadline := time.Now().Add(20 * time.Second)
	layers := map[string]int{}
	for time.Now().Before(deadline) {
		if st, ok := rc.roomStatus(t, apptID, clinTok); ok {
			for _, p := range st.Participants {
				layers[p.Role] = p.VideoLayers
			}
		}
		if layers["patient"] >= 2 && layers["clinician"] >= 2 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("simulcast layers arriving: Firefox (patient) %d, Chromium (clinician) %d; in all %v", layers["patient"], layers["clinician"], metricValue(t, rc, "vclinic_simulcast_layers"))
	if layers["patient"] < 2 || layers["clinician"] < 2 {
		t.Errorf("simulcast layers: Firefox %d, Chromium %d; want at least two from each", layers["patient"], layers["clinician"])
	}

}

// metricValue reads one unlabelled metric from the clinic's /metrics.
func metricValue(t testing.TB, rc *runningClinic, name string) float64 {
	t.Helper()
	return metricAt(t, rc.base, name)
}

// metricAt reads metric name (with its labels, as /metrics writes them)
// from the node at base.
func metricAt(t testing.TB, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %q", name, v)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// waitParticipantState polls the live room until a participant of role is in
// state.
func waitParticipantState(t testing.TB, rc *runningClinic, room, role, state, token string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if st, ok := rc.roomStatus(t, room, token); ok {
			for _, p := range st.Participants {
				if p.Role == role && p.State == state {
					return
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("no %s in state %s in room %s within 60 s", role, state, room)
}

func TestDemoLinksAndOperations(t *testing.T) {
	rc := startClinic(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(rc.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		if path == "/metrics" && !strings.Contains(string(body), "vclinic_forwarded_packets_total") {
			t.Fatalf("/metrics lacks vclinic_forwarded_packets_total")
		}
	}
	for _, link := range []string{rc.scheduler, rc.clinician, rc.patient} {
		page, _, _ := strings.Cut(link, "#")
		resp, err := http.Get(page)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %s", page, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(link, "#t=") {
			t.Fatalf("link %q does not carry its token in the fragment", link)
		}
	}
}

// workAllDay makes the clinician available all of today and tomorrow (extra
// hours), so that a test books at any hour: the demo's clinicians work the
// clinic's opening hours.
// demoAppointment is the id of the demo's own visit, the one its patient
// link opens.
func (rc *runningClinic) demoAppointment() string {
	return strings.TrimPrefix(strings.SplitN(rc.patient, "#", 2)[0], rc.base+"/visit/")
}

// demoClinician is the id of the demo's clinician, Dr. Anna Holm, as a
// scheduler (token) reads the clinicians.
func (rc *runningClinic) demoClinician(t testing.TB, token string) string {
	t.Helper()
	var clinicians []struct{ ID, Name string }
	rc.api(t, "GET", "/api/v1/clinicians", token, "", &clinicians)
	for _, c := range clinicians {
		if c.Name == "Dr. Anna Holm" {
			return c.ID
		}
	}
	t.Fatalf("the demo has no Dr. Anna Holm: %+v", clinicians)
	return ""
}

func (rc *runningClinic) workAllDay(t *testing.T, token, clinID string) {
	t.Helper()
	path := "/api/v1/clinicians/" + clinID + "/availability"
	var av struct {
		Zone       string           `json:"zone"`
		Rules      []map[string]any `json:"rules"`
		Exceptions []map[string]any `json:"exceptions"`
	}
	if status := rc.api(t, "GET", path, token, "", &av); status != http.StatusOK {
		t.Fatalf("availability: %d", status)
	}
	loc, err := time.LoadLocation(av.Zone)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range av.Exceptions {
		delete(e, "id")
	}
	for i := range 2 {
		day := time.Now().In(loc).AddDate(0, 0, i).Format(time.DateOnly)
		av.Exceptions = append(av.Exceptions, map[string]any{"date": day, "kind": "extra-hours", "start": "00:00", "end": "24:00"})
	}
	b, err := json.Marshal(av)
	if err != nil {
		t.Fatal(err)
	}
	if status := rc.api(t, "PUT", path, token, string(b), nil); status != http.StatusOK {
		t.Fatalf("extra hours: %d", status)
	}
}

// TestLinkTooEarlyThenCancelled: a link opened hours before its appointment
// says when to come back; once the appointment is cancelled it says the link
// no longer works.
func TestLinkTooEarlyThenCancelled(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	sched := fragmentToken(t, rc.scheduler)
	var clinicians []struct{ ID, Name string }
	rc.api(t, "GET", "/api/v1/clinicians", sched, "", &clinicians)
	var patients []struct{ ID string }
	rc.api(t, "GET", "/api/v1/patients?q=Birgitte", sched, "", &patients)
	if len(clinicians) == 0 || len(patients) == 0 {
		t.Fatal("demo records missing")
	}
	var clinID string
	for _, c := range clinicians {
		if c.Name == "Dr. Anna Holm" {
			clinID = c.ID
		}
	}
	rc.workAllDay(t, sched, clinID)
	start := time.Now().Add(3 * time.Hour).Truncate(time.Minute).UTC().Format(time.RFC3339)
	var appt struct{ ID, PatientLink string }
	body := fmt.Sprintf(`{"clinicianId":%q,"patientId":%q,"start":%q,"durationMinutes":15}`, clinID, patients[0].ID, start)
	if status := rc.api(t, "POST", "/api/v1/appointments", sched, body, &appt); status != http.StatusCreated {
		t.Fatalf("booking: %d", status)
	}
	pat := chromiumPage(t, appt.PatientLink)
	waitState(t, pat, "patient", "early")
	if status := rc.api(t, "POST", "/api/v1/appointments/"+appt.ID+"/cancel", sched, "", nil); status != http.StatusOK {
		t.Fatalf("cancel: %d", status)
	}
	if err := chromedp.Do(pat, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitState(t, pat, "patient", "expired")
}
