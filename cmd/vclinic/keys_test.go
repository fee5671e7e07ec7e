package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vclinic/internal/records/recordstest"
	"vclinic/signaling"
)

// TestClusterKeys: nodes on one PostgreSQL sign and verify with the same
// keys, kept in the records; a data directory's keys are carried into an
// empty database so that links sent before verify after; `vclinic token
// -postgres` signs with them too.
func TestClusterKeys(t *testing.T) {
	dsn := recordstest.Postgres(t).Database(t)
	ctx := context.Background()
	dataA := filepath.Join(t.TempDir(), "a")
	before, err := signaling.OpenKeyring(filepath.Join(dataA, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	oldLink, err := before.Sign(signaling.TokenRequest{Role: "patient", Subject: "p-1", Room: "r-1", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	node := func(data string) *clinic {
		t.Helper()
		cfg := serveConfig{Addr: "127.0.0.1:0", Data: data, Postgres: dsn, UDPPort: 0, TCPPort: -1, Grace: 20 * time.Second, CPRKeyFile: sharedCPRKey(t, dsn)}
		c, err := newClinic(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), "http://127.0.0.1:1", false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	a := node(dataA)
	b := node(filepath.Join(t.TempDir(), "b"))
	if _, err := a.keys.Verify(oldLink); err != nil {
		t.Errorf("a link signed before the keys moved into the records: %v", err)
	}
	if _, err := b.keys.Verify(oldLink); err != nil {
		t.Errorf("the old link on the second node: %v", err)
	}
	tok, err := b.keys.Sign(signaling.TokenRequest{Role: "clinician", Subject: "u-1", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.keys.Verify(tok); err != nil {
		t.Errorf("node b's token on node a: %v", err)
	}
	// A key made on one node (a rotation) verifies on the other at once.
	if _, err := a.keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	rotated, err := a.keys.Sign(signaling.TokenRequest{Role: "clinician", Subject: "u-1", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.keys.Verify(rotated); err != nil {
		t.Errorf("a token of node a's new key on node b: %v", err)
	}
	var out, errb bytes.Buffer
	if code := runToken([]string{"-postgres", dsn, "-data", t.TempDir(), "--role", "gateway", "--sub", "gw-1", "--ttl", "1h"}, &out, &errb); code != 0 {
		t.Fatalf("vclinic token -postgres: %d %s", code, errb.String())
	}
	if _, err := b.keys.Verify(strings.TrimSpace(out.String())); err != nil {
		t.Errorf("a token of vclinic token -postgres: %v", err)
	}
}
