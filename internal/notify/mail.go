// Package notify carries messages to patients: e-mail through the clinic's
// SMTP server and SMS through a provider's HTTP API. It knows nothing of
// appointments; package scheduler writes the messages and keeps them.
package notify

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"
)

// ErrPermanent marks a failure that another try will not mend: the server
// refused the address or the message (a 5xx reply, RFC 5321 §4.2.1), or
// the configuration cannot work.
var ErrPermanent = errors.New("permanent")

// Mail is one e-mail: plain text, and optionally a calendar object, sent as
// RFC 6047 (iMIP) describes: a multipart/alternative whose second part is
// text/calendar with the iTIP METHOD.
type Mail struct {
	ID       string // makes the Message-ID
	From     string
	To       string
	Subject  string
	Text     string
	Calendar string
	Method   string
}

// Mailer sends mail through one SMTP server. smtp://user@host:587 speaks
// STARTTLS and refuses to send without it (RFC 3207); smtps://user@host:465
// speaks TLS from the start (RFC 8314). The password comes from a file,
// never the URL.
type Mailer struct {
	addr     string // host:port
	host     string
	implicit bool // smtps
	user     string
	password string
	// TLS is the client's TLS configuration; nil verifies the server's
	// certificate for its host name with the system's roots.
	TLS *tls.Config
	// Timeout bounds one message's conversation. Default 30 s.
	Timeout time.Duration
}

// NewMailer reads an SMTP URL and, when passwordFile is given, the password.
func NewMailer(rawURL, passwordFile string) (*Mailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, fmt.Errorf("SMTP URL %q: want smtp://[user@]host:587 (STARTTLS) or smtps://[user@]host:465 (TLS)", rawURL)
	}
	if _, ok := u.User.Password(); ok {
		return nil, fmt.Errorf("SMTP URL: give the password in a file (-smtp-password-file), not in the URL")
	}
	if u.RawQuery != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("SMTP URL %q: no path or query", rawURL)
	}
	m := &Mailer{host: u.Hostname(), implicit: u.Scheme == "smtps", user: u.User.Username(), Timeout: 30 * time.Second}
	port := u.Port()
	if port == "" {
		port = "587"
		if m.implicit {
			port = "465"
		}
	}
	m.addr = net.JoinHostPort(m.host, port)
	if passwordFile != "" {
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return nil, fmt.Errorf("SMTP password: %w", err)
		}
		m.password = strings.TrimRight(string(b), "\r\n")
	}
	if m.user != "" && m.password == "" {
		return nil, fmt.Errorf("SMTP URL names user %q: give the password in -smtp-password-file", m.user)
	}
	return m, nil
}

// Send sends one mail.
func (m *Mailer) Send(ctx context.Context, mail Mail) error {
	body, err := Compose(mail, time.Now())
	if err != nil {
		return errors.Join(ErrPermanent, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.TLS != nil {
		tlsConf = m.TLS.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = m.host
	}
	var d net.Dialer
	var conn net.Conn
	if m.implicit {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsConf}).DialContext(ctx, "tcp", m.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", m.addr)
	}
	if err != nil {
		return fmt.Errorf("SMTP %s: %w", m.addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("SMTP %s: %w", m.addr, err)
	}
	defer c.Close()
	if !m.implicit {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.Join(ErrPermanent, fmt.Errorf("SMTP %s offers no STARTTLS: not sending in clear", m.addr))
		}
		if err := c.StartTLS(tlsConf); err != nil {
			return fmt.Errorf("SMTP %s: STARTTLS: %w", m.addr, err)
		}
	}
	if m.user != "" {
		if err := c.Auth(smtp.PlainAuth("", m.user, m.password, m.host)); err != nil {
			return classify("AUTH", err)
		}
	}
	if err := c.Mail(mail.From); err != nil {
		return classify("MAIL FROM", err)
	}
	if err := c.Rcpt(mail.To); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(body); err != nil {
		return classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify("DATA", err)
	}
	return c.Quit()
}

// classify marks a 5xx reply permanent (RFC 5321 §4.2.1).
func classify(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return errors.Join(ErrPermanent, fmt.Errorf("SMTP %s: %w", step, err))
	}
	return fmt.Errorf("SMTP %s: %w", step, err)
}

// Compose writes mail as an RFC 5322 message with CRLF line ends: UTF-8
// text in quoted-printable, the subject as an RFC 2047 encoded word, and a
// calendar object as the text/calendar alternative with its METHOD
// (RFC 6047 §2.4).
func Compose(mail Mail, now time.Time) ([]byte, error) {
	for _, h := range []string{mail.From, mail.To, mail.Subject} {
		if strings.ContainsAny(h, "\r\n") {
			return nil, errors.New("a header holds a line break")
		}
	}
	if mail.From == "" || mail.To == "" {
		return nil, errors.New("no sender or recipient")
	}
	domain := mail.From[strings.LastIndexByte(mail.From, '@')+1:]
	var b strings.Builder
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", mail.From)
	header("To", mail.To)
	header("Subject", mime.QEncoding.Encode("utf-8", mail.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+mail.ID+"."+randomTag()+"@"+domain+">")
	header("MIME-Version", "1.0")
	text := quotedPrintable(mail.Text)
	if mail.Calendar == "" {
		header("Content-Type", `text/plain; charset="utf-8"`)
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n" + text)
		return []byte(b.String()), nil
	}
	boundary := "vclinic-" + randomTag()
	header("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	b.WriteString(text + "\r\n--" + boundary + "\r\n")
	b.WriteString(`Content-Type: text/calendar; charset="utf-8"; method=` + mail.Method + "\r\n")
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(mail.Calendar))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--" + boundary + "--\r\n")
	return []byte(b.String()), nil
}

func randomTag() string { return strings.ToLower(rand.Text()[:16]) }
