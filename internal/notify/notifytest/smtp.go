// Package notifytest runs a real SMTP server for tests (github.com/emersion/
// go-smtp) on a loopback port, with a throwaway certificate, and keeps what
// it receives.
package notifytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one message the server took.
type Received struct {
	From string
	To   []string
	Data []byte
	User string // who authenticated, "" for nobody
}

// Server is a running SMTP server.
type Server struct {
	// Addr is host:port.
	Addr string
	// Roots trusts the server's certificate.
	Roots *x509.CertPool
	// User and Password, when User is set, are the only credentials it
	// takes; it then refuses mail without them.
	User, Password string

	mu       sync.Mutex
	received []Received
	arrived  chan struct{}
	// Refuse, when set, answers RCPT TO for that address with 550.
	Refuse string
}

// Mode is how the server speaks TLS.
type Mode int

// Modes.
const (
	StartTLS Mode = iota // plain, offering STARTTLS (port 587)
	Implicit             // TLS from the first byte (port 465)
	NoTLS                // plain, no STARTTLS offered
)

// Start runs a server until t ends.
func Start(t testing.TB, mode Mode, user, password string) *Server {
	t.Helper()
	cert, roots := certificate(t)
	s := &Server{Roots: roots, User: user, Password: password, arrived: make(chan struct{}, 1000)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	var ln net.Listener
	var err error
	switch mode {
	case StartTLS:
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	case Implicit:
		ln, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
		srv.AllowInsecureAuth = true // the connection is TLS already
	case NoTLS:
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		srv.AllowInsecureAuth = true
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Received returns what arrived so far.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Wait waits until n messages arrived in all, or d passed, and returns them.
func (s *Server) Wait(n int, d time.Duration) []Received {
	deadline := time.After(d)
	for {
		if got := s.Received(); len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-deadline:
			return s.Received()
		}
	}
}

type session struct {
	s    *Server
	user string
	from string
	to   []string
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if x.s.User == "" || user != x.s.User || password != x.s.Password {
			return errors.New("bad credentials")
		}
		x.user = user
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.User != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == x.s.Refuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.received = append(x.s.received, Received{From: x.from, To: x.to, Data: b.Bytes(), User: x.user})
	x.s.mu.Unlock()
	x.s.arrived <- struct{}{}
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

// certificate makes a self-signed certificate for 127.0.0.1 and localhost.
func certificate(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, roots
}
