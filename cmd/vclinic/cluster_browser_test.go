package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vclinic/signaling"
)

// frontProxy is a load balancer in front of the cluster as one client sees
// it: every request goes to its preferred node while that node is up, else
// to the next one that is. A page loaded through it survives the death of
// the node that served it.
func (pc *procCluster) frontProxy(t *testing.T, prefer int) string {
	t.Helper()
	pick := pc.via(prefer)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			u, _ := url.Parse(pick())
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// remoteVideo is the participant id of a decoded video of role on a page,
// with its call state; "" while there is none.
func remoteVideo(st mediaState, role string) string {
	for _, v := range st.Videos {
		if v.Role == role && v.Width > 0 && v.Participant != "" {
			return v.Participant
		}
	}
	return ""
}

// waitNewVideo polls a page until it is in the call again and decodes video
// from a participant of role who is not old (the other side joined again).
func waitNewVideo(t *testing.T, ctx context.Context, who, role, old string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last mediaState
	for time.Now().Before(deadline) {
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := chromedp.Run(ectx, chromedp.Evaluate[mediaState](mediaStateJS, chromedp.EvalAwaitPromise))
		cancel()
		if err == nil {
			last = st
			if id := remoteVideo(st, role); st.State == "in-call" && id != "" && id != old && st.FramesDecoded > 0 {
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: not back in the call with new video from the %s within %s; last %+v", who, role, within, last)
}

// TestClusterBrowsers: three vclinic processes, each browser behind its own
// load balancer (a reverse proxy started here) that prefers one node. The
// patient opens the invitation link on node 1 and waits; the clinician's
// console is on node 2 and admits; both decode each other's video; a reading
// posted to node 3 shows on the clinician's page. Then the visit's node is
// killed (SIGKILL): both pages are back in the call, with no click.
func TestClusterBrowsers(t *testing.T) {
	requireBrowser(t, "chromium")
	pc := startProcCluster(t, 3)
	ctx := context.Background()
	s := pc.store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	sched, clinUser, _, pat, visit := seedVisit(t, ctx, s)
	sign := func(req signaling.TokenRequest) string {
		req.TTL = 2 * time.Hour
		tok, err := pc.keys.Sign(req)
		must(err)
		return tok
	}
	schedTok := sign(signaling.TokenRequest{Role: "scheduler", Subject: sched.ID, Name: sched.Name})
	clinTok := sign(signaling.TokenRequest{Role: "clinician", Subject: clinUser.ID, Name: clinUser.Name})
	patTok := sign(signaling.TokenRequest{Role: "patient", Subject: pat.ID, Name: pat.Name, Appt: visit.ID})

	patFront, clinFront := pc.frontProxy(t, 0), pc.frontProxy(t, 1)
	patPage := chromiumPage(t, patFront+"/visit/"+visit.ID+"#t="+patTok)
	waitState(t, patPage, "patient", "waiting")
	clinPage := chromiumPage(t, clinFront+"/console#t="+clinTok)
	admit := fmt.Sprintf(`button[data-action="admit"][data-appointment=%q]`, visit.ID)
	wctx, cancel := context.WithTimeout(clinPage, 30*time.Second)
	err := chromedp.Do(wctx, chromedp.WaitVisible(admit), chromedp.Click(admit))
	cancel()
	if err != nil {
		t.Fatalf("clinician console on node 2: no admit button for the waiting patient: %v", err)
	}
	p := waitMedia(t, patPage, "patient (node 1)", "clinician")
	c := waitMedia(t, clinPage, "clinician (node 2)", "patient")
	host := pc.host(visit.ID, clinTok)
	t.Logf("visit on %s; first decoded frame: patient %d ms, clinician %d ms", host, p.FirstFrameMillis, c.FirstFrameMillis)

	// A reading posted to node 3 (node 1 when node 3 hosts the visit: a node
	// without the visit) reaches the clinician's page.
	readingNode := pc.nodes[2]
	if host == readingNode.id {
		readingNode = pc.nodes[0]
	}
	status, body := doJSON(t, "POST", pc.nodes[0].url()+"/api/v1/patients/"+pat.ID+"/devices", schedTok,
		`{"type":"blood-pressure","model":"UA-651BLE","address":"00:09:1F:00:00:09","identifiedBy":"bluetooth-address","label":"Arm cuff"}`)
	if status != http.StatusCreated {
		t.Fatalf("add device: %d %s", status, body)
	}
	devID := jsonField(t, body, "id")
	reading := fmt.Sprintf(`{"readings":[{"deviceId":%q,"characteristic":"2A35","value":"04780050005D004800","seq":1,"observedAt":%q}]}`,
		devID, time.Now().UTC().Format(time.RFC3339))
	sent := time.Now()
	if status, body := doJSON(t, "POST", readingNode.url()+"/api/v1/readings", patTok, reading); status != 200 || !strings.Contains(string(body), `"stored"`) {
		t.Fatalf("post reading to %s: %d %s", readingNode.id, status, body)
	}
	shown := `[data-code="8480-6"][data-value="120"][data-unit="mm[Hg]"]`
	vctx, cancelV := context.WithTimeout(clinPage, 15*time.Second)
	err = chromedp.Do(vctx, chromedp.WaitReady(shown))
	cancelV()
	if err != nil {
		t.Fatalf("the clinician's page on node 2 does not show the reading posted to %s: %v", readingNode.id, err)
	}
	t.Logf("reading posted to %s, shown on the clinician's page after %s (polling included)", readingNode.id, time.Since(sent))

	// kill -9 of the visit's node: both pages rejoin by themselves.
	oldPat, oldClin := remoteVideo(c, "patient"), remoteVideo(p, "clinician")
	victim := pc.byID(host)
	if victim == nil {
		t.Fatalf("no node hosts the visit (%q)", host)
	}
	killed := time.Now()
	pc.kill(victim)
	waitNewVideo(t, patPage, "patient", "clinician", oldClin, 60*time.Second)
	waitNewVideo(t, clinPage, "clinician", "patient", oldPat, 60*time.Second)
	now := pc.host(visit.ID, clinTok)
	if now == "" || now == host {
		t.Fatalf("after the kill the visit is on %q", now)
	}
	t.Logf("kill -9 of %s: both pages back in the call on %s after %s", host, now, time.Since(killed).Round(time.Millisecond))
	// The patient is in the call, not back in the waiting room.
	state, err := chromedp.Run(patPage, chromedp.Evaluate[string](`document.body.dataset.callState || ''`))
	if err != nil || state != "in-call" {
		t.Fatalf("patient page state %q (%v)", state, err)
	}
}

// jsonField is a string field of a JSON object.
func jsonField(t *testing.T, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	s, _ := m[name].(string)
	if s == "" {
		t.Fatalf("no %q in %s", name, body)
	}
	return s
}
