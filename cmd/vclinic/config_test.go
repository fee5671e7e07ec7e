package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"vclinic/signaling"
)

func TestServeConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		cfg, err := parseServeConfig(nil, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "127.0.0.1:8080" || cfg.Data != "./vclinic-data" || cfg.Grace != 20*time.Second {
			t.Fatalf("defaults %+v", cfg)
		}
	})
	t.Run("environment, then flags", func(t *testing.T) {
		t.Setenv("VCLINIC_ADDR", "127.0.0.1:9000")
		t.Setenv("VCLINIC_UDP_PORT", "40000")
		t.Setenv("VCLINIC_DEMO", "true")
		t.Setenv("VCLINIC_PUBLIC_UDP_PORT", "30000")
		t.Setenv("VCLINIC_ICE_LITE", "true")
		cfg, err := parseServeConfig([]string{"-udp-port", "40001"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "127.0.0.1:9000" || cfg.UDPPort != 40001 || !cfg.Demo || cfg.PublicUDPPort != 30000 || !cfg.UDPBatch || !cfg.ICELite {
			t.Fatalf("got %+v", cfg)
		}
	})
	bad := map[string][]string{
		"addr without port":          {"-addr", "localhost"},
		"udp port too big":           {"-udp-port", "70000"},
		"tcp port -2":                {"-tcp-port", "-2"},
		"public udp port too big":    {"-public-udp-port", "65536"},
		"public tcp port negative":   {"-public-tcp-port", "-1"},
		"cert without key":           {"-tls-cert", "c.pem"},
		"unknown log level":          {"-log-level", "loud"},
		"zero grace":                 {"-grace", "0s"},
		"stray argument":             {"serve"},
		"not a number":               {"-udp-port", "x"},
		"unknown flag":               {"-colour"},
		"negative wait time":         {"-grace", "-1s"},
		"turn without secret":        {"-turn-urls", "turn:t.example.org"},
		"secret without turn":        {"-turn-secret-file", "s"},
		"short turn ttl":             {"-turn-urls", "turn:t.example.org", "-turn-secret-file", "s", "-turn-ttl", "10m"},
		"profiles on the network":    {"-debug-addr", "0.0.0.0:6060"},
		"media bound to a name":      {"-media-bind", "localhost"},
		"media bound to any":         {"-media-bind", "127.0.0.1,0.0.0.0"},
		"oidc client without issuer": {"-oidc-client-id", "vclinic"},
		"oidc issuer over http":      {"-oidc-issuer", "http://login.regionh.dk", "-oidc-client-id", "v", "-oidc-role-map", "clinician=A"},
		"oidc without client":        {"-oidc-issuer", "https://login.regionh.dk", "-oidc-role-map", "clinician=A"},
		"oidc without role map":      {"-oidc-issuer", "https://login.regionh.dk", "-oidc-client-id", "v"},
		"oidc unknown role":          {"-oidc-issuer", "https://login.regionh.dk", "-oidc-client-id", "v", "-oidc-role-map", "doctor=A"},
		"oidc empty roles claim":     {"-oidc-issuer", "https://login.regionh.dk", "-oidc-client-id", "v", "-oidc-role-map", "clinician=A", "-oidc-roles-claim", ""},
	}
	t.Run("oidc", func(t *testing.T) {
		cfg, err := parseServeConfig([]string{"-oidc-issuer", "https://login.regionh.dk/realms/staff", "-oidc-client-id", "vclinic",
			"-oidc-role-map", "clinician=RH-Læger,clinician=RH-Sygeplejersker,admin=RH-Admin"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		o, err := cfg.oidc("https://video.regionh.dk/auth/callback")
		if err != nil || o.RolesClaim != "groups" || o.ClientSecret != "" || len(o.RoleMap) != 3 || o.RedirectURL != "https://video.regionh.dk/auth/callback" {
			t.Fatalf("%+v %v", o, err)
		}
		cfg.OIDCSecretFile = filepath.Join(t.TempDir(), "missing")
		if _, err := cfg.oidc(""); err == nil {
			t.Fatal("a missing secret file was accepted")
		}
	})
	for name, args := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := parseServeConfig(args, io.Discard); err == nil {
				t.Fatalf("parseServeConfig(%q) succeeded, want an error", args)
			}
		})
	}
	t.Run("turn", func(t *testing.T) {
		dir := t.TempDir()
		secret := filepath.Join(dir, "turn-secret")
		if err := os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("VCLINIC_TURN_URLS", "turn:t.example.org:3478?transport=udp, turns:t.example.org:443?transport=tcp")
		cfg, err := parseServeConfig([]string{"-turn-secret-file", secret}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		turn, err := cfg.turn()
		if err != nil {
			t.Fatal(err)
		}
		if len(turn.URLs) != 2 || turn.URLs[1] != "turns:t.example.org:443?transport=tcp" ||
			string(turn.Secret) != "0123456789abcdef0123456789abcdef" || turn.TTL != 12*time.Hour {
			t.Fatalf("turn %+v", turn)
		}
		// A secret file that is missing, or too short a secret, stops the start.
		cfg.TURNSecretFile = filepath.Join(dir, "missing")
		if _, err := cfg.turn(); err == nil {
			t.Fatal("a missing secret file was accepted")
		}
		if err := os.WriteFile(secret, []byte("short"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.TURNSecretFile = secret
		if _, err := cfg.turn(); err == nil {
			t.Fatal("a 5-byte secret was accepted")
		}
		if none, err := (serveConfig{}).turn(); none != nil || err != nil {
			t.Fatalf("no TURN configured: %v, %v", none, err)
		}
	})
	t.Run("bad environment", func(t *testing.T) {
		t.Setenv("VCLINIC_UDP_PORT", "many")
		_, err := parseServeConfig(nil, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "VCLINIC_UDP_PORT") {
			t.Fatalf("err = %v, want one naming VCLINIC_UDP_PORT", err)
		}
	})
}

func TestHelpIsReadable(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, io.Discard, &out); code != 0 {
		t.Fatalf("vclinic -h exited %d", code)
	}
	for _, want := range []string{"vclinic token", "-addr", "VCLINIC_ADDR", "-udp-port", "-tcp-port",
		"-public-host", "-log-level", "-tls-cert", "-tls-key", "-demo", "VCLINIC_DATA"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("vclinic -h does not mention %q:\n%s", want, out.String())
		}
	}
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := runToken([]string{"-data", dir, "--role", "patient", "--sub", "p-1", "--room", "r-1", "--ttl", "5m"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	line := out.String()
	if strings.Count(line, "\n") != 1 || strings.Count(line, ".") != 2 {
		t.Fatalf("want one bare JWT line, got %q", line)
	}
	keys, err := signaling.OpenKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := keys.Verify(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	if claims.Role != "patient" || claims.Subject != "p-1" || claims.Room != "r-1" {
		t.Fatalf("claims %+v", claims)
	}
	if left := time.Until(claims.ExpiresAt.Time); left > 5*time.Minute || left < 4*time.Minute {
		t.Fatalf("expires in %s, want about 5m", left)
	}
	// A gateway token is short by default, and never long.
	out.Reset()
	if code := runToken([]string{"-data", dir, "--role", "gateway", "--sub", "gw-1"}, &out, &errb); code != 0 {
		t.Fatalf("gateway token: exit %d: %s", code, errb.String())
	}
	claims, err = keys.Verify(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(claims.ExpiresAt.Time); left > time.Hour || left < 59*time.Minute {
		t.Fatalf("a gateway token expires in %s, want about 1h", left)
	}
	for name, args := range map[string][]string{
		"year-long gateway token": {"-data", dir, "--role", "gateway", "--sub", "gw-1", "--ttl", "8760h"},
		"patient without room":    {"-data", dir, "--role", "patient", "--sub", "p"},
		"unknown role":            {"-data", dir, "--role", "nurse", "--sub", "p"},
		"no subject":              {"-data", dir, "--role", "clinician"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := runToken(args, &out, &errb); code == 0 || out.Len() != 0 || errb.Len() == 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q: want failure with a reason", code, out.String(), errb.String())
			}
		})
	}
}

// TestServeTLS runs the wired clinic in-process over HTTPS and shuts it down.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg, err := parseServeConfig([]string{"-addr", addr, "-data", filepath.Join(dir, "data"),
		"-udp-port", "0", "-tcp-port", "-1", "-tls-cert", cert, "-tls-key", key, "-demo"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout safeBuffer
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), &stdout) }()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("https://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("HTTPS never became ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(stdout.String(), "patient: https://"+addr+"/visit/") {
		t.Errorf("demo links do not use https and the served address:\n%s", stdout.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return after its context ended")
	}
}

// safeBuffer is a bytes.Buffer safe for the server's writes and the test's reads.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func selfSigned(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// TestDebugProfiles: -debug-addr serves Go's profiles, and stops.
func TestDebugProfiles(t *testing.T) {
	addr, stop, err := serveDebug("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "heap profile") {
		t.Fatalf("heap profile: %d %.100s", resp.StatusCode, body)
	}
	stop()
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Fatal("profiles still served after stop")
	}
}
