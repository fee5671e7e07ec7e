package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vclinic/internal/notify/notifytest"
)

const calendar = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"

func mailer(t *testing.T, srv *notifytest.Server, scheme, user string) *Mailer {
	t.Helper()
	dir := t.TempDir()
	pw := ""
	if user != "" {
		pw = filepath.Join(dir, "pw")
		if err := os.WriteFile(pw, []byte(srv.Password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		user += "@"
	}
	m, err := NewMailer(scheme+"://"+user+srv.Addr, pw)
	if err != nil {
		t.Fatal(err)
	}
	m.TLS = &tls.Config{RootCAs: srv.Roots}
	m.Timeout = 10 * time.Second
	return m
}

// parse reads a received message as a mail client would.
func parse(t *testing.T, r notifytest.Received) notifytest.Mail {
	t.Helper()
	m, err := r.Parse()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMailerSTARTTLSWithPassword(t *testing.T) {
	srv := notifytest.Start(t, notifytest.StartTLS, "clinic", "s3cret pass")
	m := mailer(t, srv, "smtp", "clinic")
	err := m.Send(context.Background(), Mail{ID: "m1", From: "booking@clinic.example.dk", To: "anne@example.dk",
		Subject: "Videokonsultation tirsdag den 8. december kl. 10.00", Text: "Åbn linket lidt før: https://clinic.example.dk/visit/a#t=x&lang=da",
		Calendar: calendar, Method: "REQUEST"})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(1, 5*time.Second)
	if len(got) != 1 || got[0].User != "clinic" || got[0].From != "booking@clinic.example.dk" || got[0].To[0] != "anne@example.dk" {
		t.Fatalf("received %+v", got)
	}
	mail := parse(t, got[0])
	if mail.Subject != "Videokonsultation tirsdag den 8. december kl. 10.00" {
		t.Errorf("subject %q", mail.Subject)
	}
	if !strings.Contains(mail.Text, "Åbn linket lidt før: https://clinic.example.dk/visit/a#t=x&lang=da") {
		t.Errorf("text %q", mail.Text)
	}
	if mail.Calendar != calendar || mail.Method != "REQUEST" {
		t.Errorf("calendar part %q, method %q", mail.Calendar, mail.Method)
	}
	if !strings.HasSuffix(mail.Header.Get("Message-ID"), "@clinic.example.dk>") {
		t.Errorf("Message-ID %q", mail.Header.Get("Message-ID"))
	}
}

func TestMailerImplicitTLS(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Implicit, "", "")
	m := mailer(t, srv, "smtps", "")
	if err := m.Send(context.Background(), Mail{ID: "m2", From: "a@clinic.example.dk", To: "b@example.dk", Subject: "Hej", Text: "Tekst"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Wait(1, 5*time.Second); len(got) != 1 {
		t.Fatalf("received %d", len(got))
	}
}

// TestMailerRefuses: no mail in clear, no password in the URL, a wrong
// password and a refused address are errors, the last two permanent ones.
func TestMailerRefuses(t *testing.T) {
	plain := notifytest.Start(t, notifytest.NoTLS, "", "")
	m := mailer(t, plain, "smtp", "")
	err := m.Send(context.Background(), Mail{ID: "x", From: "a@clinic.example.dk", To: "b@example.dk", Text: "t"})
	if !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "no STARTTLS") {
		t.Errorf("a server without STARTTLS: %v", err)
	}
	if len(plain.Received()) != 0 {
		t.Error("mail went in clear")
	}
	if _, err := NewMailer("smtp://u:pw@host:587", ""); err == nil || !strings.Contains(err.Error(), "password in a file") {
		t.Errorf("a password in the URL: %v", err)
	}
	if _, err := NewMailer("smtp://u@host:587", ""); err == nil {
		t.Error("a user without a password file was taken")
	}
	if _, err := NewMailer("http://host", ""); err == nil {
		t.Error("an http URL was taken")
	}
	srv := notifytest.Start(t, notifytest.StartTLS, "clinic", "right")
	srv.Refuse = "nobody@example.dk"
	m = mailer(t, srv, "smtp", "clinic")
	err = m.Send(context.Background(), Mail{ID: "x", From: "a@clinic.example.dk", To: "nobody@example.dk", Text: "t"})
	if !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "RCPT TO") {
		t.Errorf("a refused address: %v", err)
	}
	srv.Password = "changed"
	err = m.Send(context.Background(), Mail{ID: "x", From: "a@clinic.example.dk", To: "b@example.dk", Text: "t"})
	if err == nil || !strings.Contains(err.Error(), "AUTH") {
		t.Errorf("a wrong password: %v", err)
	}
	if _, err := Compose(Mail{From: "a@b.dk", To: "c@d.dk\r\nBcc: e@f.dk", Text: "x"}, time.Now()); err == nil {
		t.Error("a header with a line break was composed")
	}
}

func TestSMSTemplate(t *testing.T) {
	type got struct {
		body        []byte
		contentType string
		auth        string
	}
	reqs := make(chan got, 4)
	status := http.StatusAccepted
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		reqs <- got{b, r.Header.Get("Content-Type"), r.Header.Get("Authorization")}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":"number barred"}`))
	}))
	t.Cleanup(provider.Close)
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "sms.tmpl")
	auth := filepath.Join(dir, "auth")
	_ = os.WriteFile(tmpl, []byte(`{"to":{{json .To}},"from":{{json .From}},"message":{{json .Text}},"reference":{{json .ID}}}`), 0o600)
	_ = os.WriteFile(auth, []byte("Bearer provider-key\n"), 0o600)
	s, err := NewSMSSender(provider.URL, tmpl, "", auth, "Klinikken")
	if err != nil {
		t.Fatal(err)
	}
	text := `Du har en videokonsultation "i morgen" kl. 10.00: https://clinic.example.dk/visit/a#t=x&lang=da`
	if err := s.Send(context.Background(), "msg-1", "+4520000000", text); err != nil {
		t.Fatal(err)
	}
	r := <-reqs
	var body map[string]string
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("the rendered body is not JSON: %v: %s", err, r.body)
	}
	if body["to"] != "+4520000000" || body["message"] != text || body["from"] != "Klinikken" || body["reference"] != "msg-1" ||
		r.contentType != "application/json" || r.auth != "Bearer provider-key" {
		t.Errorf("the provider got %v, %s, %s", body, r.contentType, r.auth)
	}
	status = http.StatusBadRequest
	if err := s.Send(context.Background(), "msg-2", "+4520000000", "x"); !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "number barred") {
		t.Errorf("a 400: %v", err)
	}
	<-reqs
	status = http.StatusServiceUnavailable
	if err := s.Send(context.Background(), "msg-3", "+4520000000", "x"); err == nil || errors.Is(err, ErrPermanent) {
		t.Errorf("a 503 is tried again: %v", err)
	}
	<-reqs
	_ = os.WriteFile(tmpl, []byte(`{{.Nope}}`), 0o600)
	if _, err := NewSMSSender(provider.URL, tmpl, "", "", ""); err == nil {
		t.Error("a template that cannot render was taken")
	}
}
