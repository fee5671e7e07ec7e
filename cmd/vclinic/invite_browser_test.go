package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// smsProvider is a test SMS provider: it keeps what it is asked to send.
type smsProvider struct {
	mu   sync.Mutex
	sent []map[string]string
	srv  *httptest.Server
}

func startSMSProvider(t *testing.T) (*smsProvider, []string) {
	t.Helper()
	p := &smsProvider{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.sent = append(p.sent, m)
		p.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(p.srv.Close)
	tmpl := filepath.Join(t.TempDir(), "sms.tmpl")
	if err := os.WriteFile(tmpl, []byte(`{"to":{{json .To}},"text":{{json .Text}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, []string{"-sms-url", p.srv.URL, "-sms-template-file", tmpl}
}

// waitSMS waits for an SMS to the number and answers its text.
func (p *smsProvider) waitSMS(t *testing.T, to string) string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		p.mu.Lock()
		for _, m := range p.sent {
			if m["to"] == to {
				p.mu.Unlock()
				return m["text"]
			}
		}
		p.mu.Unlock()
	}
	t.Fatalf("no SMS to %s within 20 s", to)
	return ""
}

// TestRelativeInvitedAndAdmitted: in the call, the clinician invites the
// patient's son by SMS from the call page; he opens the link the SMS
// brings, waits in the waiting room, and is let in with the Admit button;
// then he sees and hears the clinician.
func TestRelativeInvitedAndAdmitted(t *testing.T) {
	requireBrowser(t, "chromium")
	sms, flags := startSMSProvider(t)
	rc := startClinicWith(t, append(flags, "-language", "en")...)
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

	ctx, cancel := context10s(clin)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Click(`#invite summary[data-action="open-invite"]`),
		chromedp.SendKeys(`#invite-name`, "Jens Jensen"),
		chromedp.SendKeys(`#invite-phone`, "20 00 00 77"),
		chromedp.Click(`#invite [data-action="invite-guest"]`),
	); err != nil {
		t.Fatalf("the invitation form: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st := evalPage[string](t, clin, "the form's status", `(document.querySelector('.invite-status') || {dataset: {}}).dataset.state || ''`)
		if st == "sent" {
			break
		}
		if st == "failed" || st == "invalid" || time.Now().After(deadline) {
			t.Fatalf("the invitation: %s (%s)", st, evalPage[string](t, clin, "status", `document.querySelector('.invite-status').textContent`))
		}
	}
	text := sms.waitSMS(t, "+4520000077")
	link := regexp.MustCompile(`https?://\S+/visit/\S+#t=\S+`).FindString(text)
	if link == "" || strings.Contains(text, "Karen") || !strings.Contains(text, "as a relative") {
		t.Fatalf("the relative's SMS: %q", text)
	}

	rel := chromiumPage(t, link)
	waitState(t, rel, "relative", "waiting")
	// The clinician sees him waiting and lets him in.
	ctx2, cancel2 := context10s(clin)
	defer cancel2()
	if err := chromedp.Do(ctx2, chromedp.Click(`#participant-list button[data-action="admit"]`)); err != nil {
		t.Fatalf("the Admit button: %v", err)
	}
	waitState(t, rel, "relative", "in-call")
	waitMedia(t, rel, "relative", "clinician")
	names := evalPage[string](t, clin, "participants", `window.vclinic.participants.map((p) => p.role + ':' + p.name + ':' + p.state).join(',')`)
	if !strings.Contains(names, "relative:Jens Jensen:active") {
		t.Fatalf("the clinician's participants: %s", names)
	}
}

// context10s bounds a page's actions to 10 s.
func context10s(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 10*time.Second)
}
