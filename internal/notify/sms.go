package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/template"
	"time"
)

// SMSRequest is what an SMS template renders: the variables of
// -sms-template-file. In a JSON template write {{json .Text}} to quote a
// value as a JSON string.
type SMSRequest struct {
	To   string // E.164
	Text string
	From string // the clinic's sender name or number
	ID   string // the message's id; a provider that reports delivery quotes it back
}

// SMSSender sends SMS through a provider's HTTP API: it renders the
// template into the body of a POST to the provider's URL. A 2xx answer
// means the provider took the message.
type SMSSender struct {
	url         string
	tmpl        *template.Template
	contentType string
	auth        string
	from        string
	// Client is the HTTP client. Default one with a 30 s timeout.
	Client *http.Client
}

// NewSMSSender reads the template and, when authFile is given, the value of
// the Authorization header.
func NewSMSSender(endpoint, templateFile, contentType, authFile, from string) (*SMSSender, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("SMS URL %q: want the provider's https:// endpoint", endpoint)
	}
	if templateFile == "" {
		return nil, errors.New("SMS: -sms-template-file is required with -sms-url")
	}
	src, err := os.ReadFile(templateFile)
	if err != nil {
		return nil, fmt.Errorf("SMS template: %w", err)
	}
	tmpl, err := template.New("sms").Funcs(template.FuncMap{"json": jsonString}).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("SMS template: %w", err)
	}
	s := &SMSSender{url: endpoint, tmpl: tmpl, contentType: contentType, from: from,
		Client: &http.Client{Timeout: 30 * time.Second}}
	if s.contentType == "" {
		s.contentType = "application/json"
	}
	if authFile != "" {
		b, err := os.ReadFile(authFile)
		if err != nil {
			return nil, fmt.Errorf("SMS authorization: %w", err)
		}
		s.auth = strings.TrimSpace(string(b))
	}
	// A template that cannot render stops the start, not the first SMS.
	if _, err := s.Render(SMSRequest{To: "+4500000000", Text: "test", From: from, ID: "test"}); err != nil {
		return nil, err
	}
	return s, nil
}

// Authorization is the value of the Authorization header the provider is
// sent, which its delivery reports must carry back.
func (s *SMSSender) Authorization() string { return s.auth }

// Render writes the body of the request for r.
func (s *SMSSender) Render(r SMSRequest) ([]byte, error) {
	var b bytes.Buffer
	if err := s.tmpl.Execute(&b, r); err != nil {
		return nil, fmt.Errorf("SMS template: %w", err)
	}
	return b.Bytes(), nil
}

// Send posts one SMS.
func (s *SMSSender) Send(ctx context.Context, id, to, text string) error {
	body, err := s.Render(SMSRequest{To: to, Text: text, From: s.from, ID: id})
	if err != nil {
		return errors.Join(ErrPermanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return errors.Join(ErrPermanent, err)
	}
	req.Header.Set("Content-Type", s.contentType)
	if s.auth != "" {
		req.Header.Set("Authorization", s.auth)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("SMS provider: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	err = fmt.Errorf("SMS provider answered %s: %s", resp.Status, strings.TrimSpace(string(answer)))
	if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
		return errors.Join(ErrPermanent, err)
	}
	return err
}

// jsonString quotes s as a JSON string.
func jsonString(s string) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}
