package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vclinic/homekit/gatt"
)

// TestPairing: the pairing code the clinic gave, typed as people type it,
// becomes the gateway's credential, kept in its directory for later
// starts; it lists the patient's kit; a code works once; once staff revoke
// the gateway, its credential is refused.
func TestPairing(t *testing.T) {
	c := newClinic(t)
	ctx := context.Background()
	p, err := c.store.NewPairing(ctx, clinicActor, "pat-1", "gw-1")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "gw")
	typed := strings.ToLower(strings.ReplaceAll(p.Code, "-", " "))
	token, patient, err := credentials(ctx, http.DefaultClient, c.url, typed, dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "vkc_") || patient != "pat-1" {
		t.Fatalf("paired as %q for %q", token, patient)
	}
	fi, err := os.Stat(filepath.Join(dir, credentialFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credential file: %v %v", fi, err)
	}
	// A later start needs no code.
	again, patient, err := credentials(ctx, http.DefaultClient, c.url, "", dir, "", "")
	if err != nil || again != token || patient != "pat-1" {
		t.Fatalf("later start: %q %q %v", again, patient, err)
	}
	c.addDevice(gatt.KindScale, "00:09:1F:00:00:0B")
	up := &Uploader{URL: c.url, Token: token, Client: http.DefaultClient}
	up.defaults()
	if devs, err := getKit(ctx, up, c.url+"/api/v1/patients/pat-1/devices"); err != nil || len(devs) != 1 {
		t.Fatalf("kit with the credential: %v %v", devs, err)
	}
	// The code is spent.
	if _, _, err := credentials(ctx, http.DefaultClient, c.url, p.Code, t.TempDir(), "", ""); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a used code: %v", err)
	}
	// Revoked: refused at once.
	if err := c.store.RevokeGateway(ctx, clinicActor, "pat-1", "gw-1"); err != nil {
		t.Fatal(err)
	}
	_, err = getKit(ctx, up, c.url+"/api/v1/patients/pat-1/devices")
	var he *httpError
	if !errors.As(err, &he) || he.status != http.StatusUnauthorized {
		t.Fatalf("kit with a revoked credential: %v", err)
	}
	// Without a code, a credential or a token, the gateway says what to do.
	if _, _, err := credentials(ctx, http.DefaultClient, c.url, "", t.TempDir(), "", ""); err == nil || !strings.Contains(err.Error(), "-pair") {
		t.Fatalf("nothing to send: %v", err)
	}
}
