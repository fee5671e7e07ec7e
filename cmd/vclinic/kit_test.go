package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"vclinic/signaling"
)

// TestKitCredential: staff register a home gateway and get its pairing
// code once; the gateway trades it once for its own credential, which
// sends its patient's readings and lists its patient's kit, and nothing
// else; a new code replaces the credential when used; staff revoke it and
// it stops at once; every step is on the audit log. Year-long gateway
// tokens of earlier releases are refused.
func TestKitCredential(t *testing.T) {
	a := newAPIClinic(t)
	sched := a.schedulerToken()
	status, b, _ := a.do("POST", "/api/v1/patients/"+a.patA.ID+"/gateways", sched, `{"id":"gw-home","label":"Karen's hall"}`, nil)
	var reg struct {
		ID               string    `json:"id"`
		PatientID        string    `json:"patientId"`
		PairingCode      string    `json:"pairingCode"`
		PairingExpiresAt time.Time `json:"pairingExpiresAt"`
	}
	if status != 201 || json.Unmarshal(b, &reg) != nil || reg.ID != "gw-home" || reg.PatientID != a.patA.ID ||
		len(reg.PairingCode) != 14 || time.Until(reg.PairingExpiresAt) < 6*24*time.Hour {
		t.Fatalf("register: %d %s", status, b)
	}
	pair := func(code string) (int, string) {
		t.Helper()
		status, b, _ := a.do("POST", "/api/v1/kit/pair", "", `{"code":"`+code+`"}`, nil)
		var p struct {
			GatewayID, PatientID, Credential string
		}
		_ = json.Unmarshal(b, &p)
		if status == 200 && (p.GatewayID != "gw-home" || p.PatientID != a.patA.ID || !strings.HasPrefix(p.Credential, "vkc_")) {
			t.Fatalf("paired as %s", b)
		}
		return status, p.Credential
	}
	// Typed from paper: lower case, spaces, an O for a 0.
	typed := strings.ToLower(strings.ReplaceAll(reg.PairingCode, "-", " "))
	status, cred := pair(typed)
	if status != 200 {
		t.Fatalf("pair: %d", status)
	}
	if status, _ := pair(reg.PairingCode); status != 404 {
		t.Fatalf("the code twice: %d", status)
	}
	for _, bad := range []string{"", strings.Repeat("A", 41), "0000-0000-0000"} {
		if status, _ := pair(bad); status != 400 && status != 404 {
			t.Fatalf("code %q: %d", bad, status)
		}
	}

	// What the credential may do: send its patient's readings, list its
	// patient's kit.
	if status, b, _ := a.do("POST", "/api/v1/readings", cred, `{"readings":[]}`, nil); status != 200 {
		t.Fatalf("send readings: %d %s", status, b)
	}
	if status, b, _ := a.do("GET", "/api/v1/patients/"+a.patA.ID+"/devices", cred, "", nil); status != 200 {
		t.Fatalf("own kit: %d %s", status, b)
	}
	// And not: readings, another patient, anything beyond the home kit.
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/v1/patients/" + a.patA.ID + "/readings", 403},
		{"GET", "/api/v1/patients/" + a.patB.ID + "/devices", 404},
		{"GET", "/fhir/r4/Observation?patient=" + a.patA.ID, 403},
		{"GET", "/api/v1/appointments/" + a.apptA.ID, 401},
		{"GET", "/api/v1/me", 401},
		{"GET", "/api/v1/visit", 401},
	} {
		if status, b, _ := a.do(c.method, c.path, cred, "", nil); status != c.want {
			t.Errorf("%s %s with the kit credential: %d, want %d: %s", c.method, c.path, status, c.want, b)
		}
	}
	if got := a.wsDial(a.apptA.ID, cred); got != 401 {
		t.Errorf("the visit's WebSocket with the kit credential: %d", got)
	}

	// Staff see the gateway paired, never its secret.
	status, b, _ = a.do("GET", "/api/v1/patients/"+a.patA.ID+"/gateways", sched, "", nil)
	if status != 200 || !strings.Contains(string(b), `"paired":true`) || strings.Contains(string(b), cred) || strings.Contains(string(b), "vkc_") {
		t.Fatalf("gateways: %d %s", status, b)
	}

	// A new code (the gateway was reset): the old credential works until
	// the new code is used, then only the new one does.
	status, b, _ = a.do("POST", "/api/v1/patients/"+a.patA.ID+"/gateways/gw-home/pairing", sched, "", nil)
	var again struct {
		PairingCode string `json:"pairingCode"`
	}
	if status != 201 || json.Unmarshal(b, &again) != nil {
		t.Fatalf("new code: %d %s", status, b)
	}
	if status, _, _ := a.do("POST", "/api/v1/readings", cred, `{"readings":[]}`, nil); status != 200 {
		t.Fatalf("old credential before the new code is used: %d", status)
	}
	status, cred2 := pair(again.PairingCode)
	if status != 200 || cred2 == cred {
		t.Fatalf("pair again: %d", status)
	}
	if status, _, _ := a.do("POST", "/api/v1/readings", cred, `{"readings":[]}`, nil); status != 401 {
		t.Fatalf("old credential after re-pairing: %d", status)
	}
	// Another patient's gateway id is not this patient's to re-pair.
	if status, _, _ := a.do("POST", "/api/v1/patients/"+a.patB.ID+"/gateways/gw-home/pairing", sched, "", nil); status != 404 {
		t.Fatalf("pairing through another patient: %d", status)
	}

	// Revoked: refused at once, and for good.
	if status, b, _ := a.do("POST", "/api/v1/patients/"+a.patA.ID+"/gateways/gw-home/revoke", sched, "", nil); status != 204 {
		t.Fatalf("revoke: %d %s", status, b)
	}
	if status, b, _ := a.do("POST", "/api/v1/readings", cred2, `{"readings":[]}`, nil); status != 401 {
		t.Fatalf("revoked credential: %d %s", status, b)
	}
	if status, _, _ := a.do("POST", "/api/v1/patients/"+a.patA.ID+"/gateways/gw-home/pairing", sched, "", nil); status != 409 {
		t.Fatalf("a code for a revoked gateway: %d", status)
	}
	status, b, _ = a.do("GET", "/api/v1/patients/"+a.patA.ID+"/gateways", sched, "", nil)
	if status != 200 || !strings.Contains(string(b), `"revokedAt"`) || !strings.Contains(string(b), `"paired":false`) {
		t.Fatalf("gateways after revoking: %d %s", status, b)
	}

	// The audit log: registered, codes issued, paired twice, revoked.
	var got []string
	for _, e := range a.auditLog(a.patA.ID) {
		if e.Entity == "gateway" {
			got = append(got, e.Action+" by "+e.ActorRole)
		}
	}
	want := "create by scheduler|update by scheduler|pair by gateway|update by scheduler|pair by gateway|revoke by scheduler"
	if strings.Join(got, "|") != want {
		t.Fatalf("audit rows %q, want %q", strings.Join(got, "|"), want)
	}
	// The database holds no credential and no code.
	var n int
	if err := a.c.db.QueryRowContext(context.Background(), `SELECT count(*) FROM homekit_gateways WHERE secret_hash LIKE 'vkc_%' OR pairing_hash LIKE '%-%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("secrets in clear: %d %v", n, err)
	}

	// An operator's gateway token: a day at most.
	long := a.token(signaling.TokenRequest{Role: "gateway", Subject: "gw-a-long", TTL: 365 * 24 * time.Hour})
	if status, b, _ := a.do("POST", "/api/v1/readings", long, `{"readings":[]}`, nil); status != 401 {
		t.Fatalf("a year-long gateway token: %d %s", status, b)
	}
	if status, b, _ := a.do("POST", "/api/v1/patients/"+a.patA.ID+"/gateways", sched, `{"id":"gw-bench"}`, nil); status != 201 {
		t.Fatalf("register: %d %s", status, b)
	}
	day := a.token(signaling.TokenRequest{Role: "gateway", Subject: "gw-bench", TTL: 24 * time.Hour})
	if status, b, _ := a.do("GET", "/api/v1/patients/"+a.patA.ID+"/devices", day, "", nil); status != 200 {
		t.Fatalf("a day-long gateway token: %d %s", status, b)
	}
	// Nor does a token name a revoked gateway.
	revoked := a.token(signaling.TokenRequest{Role: "gateway", Subject: "gw-home", TTL: time.Hour})
	if status, b, _ := a.do("GET", "/api/v1/patients/"+a.patA.ID+"/devices", revoked, "", nil); status != 404 {
		t.Fatalf("a token of a revoked gateway: %d %s", status, b)
	}
}

// TestGatewayPairingInCalendar: in Chromium, a scheduler registers a home
// gateway from the calendar, reads its pairing code there once, the gateway
// pairs with it, and the scheduler revokes it from the same panel.
func TestGatewayPairingInCalendar(t *testing.T) {
	requireBrowser(t, "chromium")
	rc := startClinic(t)
	sched := fragmentToken(t, rc.scheduler)
	var patients []struct{ ID, Name string }
	rc.api(t, "GET", "/api/v1/patients?q=Jens", sched, "", &patients)
	if len(patients) == 0 {
		t.Fatal("no demo patient Jens")
	}
	pat := patients[0]
	page := chromiumPage(t, rc.scheduler)
	ctx, cancel := context.WithTimeout(page, 30*time.Second)
	defer cancel()
	// Choose the patient as the list does.
	choose := `(() => { const s = document.getElementById('patient');
	  if (![...s.options].some(o => o.value === ` + jsString(pat.ID) + `)) return false;
	  s.value = ` + jsString(pat.ID) + `; s.dispatchEvent(new Event('change')); return true; })()`
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](choose))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`#gw-none`), chromedp.Click(`[data-action="register-gateway"]`),
		chromedp.WaitVisible(`[data-pairing-code]`), chromedp.WaitVisible(`#gw-list li[data-paired="false"]`)); err != nil {
		t.Fatalf("register a gateway in the calendar: %v", err)
	}
	code, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-pairing-code]').textContent`))
	if err != nil || len(code) != 14 {
		t.Fatalf("pairing code on the page: %q %v", code, err)
	}
	var paired struct{ Credential, PatientID string }
	if status := rc.api(t, "POST", "/api/v1/kit/pair", "", `{"code":"`+code+`"}`, &paired); status != 200 || paired.PatientID != pat.ID {
		t.Fatalf("pair with the code from the page: %d %+v", status, paired)
	}
	if status := rc.api(t, "POST", "/api/v1/readings", paired.Credential, `{"readings":[]}`, nil); status != 200 {
		t.Fatalf("the paired credential: %d", status)
	}
	// Revoke: two presses, then the list says so and the credential stops.
	revoke := `#gw-list [data-action="revoke-gateway"]`
	if err := chromedp.Do(ctx, chromedp.Click(revoke), chromedp.Click(revoke),
		chromedp.WaitVisible(`#gw-list li[data-revoked="true"]`)); err != nil {
		t.Fatalf("revoke in the calendar: %v", err)
	}
	if status := rc.api(t, "POST", "/api/v1/readings", paired.Credential, `{"readings":[]}`, nil); status != 401 {
		t.Fatalf("the revoked credential: %d", status)
	}
	// The code is gone from the page.
	if shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-pairing-code]').textContent`)); shown != "" {
		t.Fatalf("the code is still shown after revoking: %q", shown)
	}
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
