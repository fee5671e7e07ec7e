package keystore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/recordstest"
	"vclinic/signaling"
)

func TestMain(m *testing.M) { os.Exit(recordstest.Main(m)) }

// TestOpenExisting: a tool that signs for a cluster refuses a database with
// no keys rather than make one the nodes do not know; once a node has made
// them, the tool's tokens verify on the node's keyring.
func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	db, err := records.Open(ctx, records.Config{PostgresURL: recordstest.Postgres(t).Database(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := OpenExisting(ctx, db); err == nil {
		t.Fatal("keys opened on an empty database")
	}
	node, err := Open(ctx, filepath.Join(t.TempDir(), "data"), db)
	if err != nil {
		t.Fatal(err)
	}
	tool, err := OpenExisting(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tool.Sign(signaling.TokenRequest{Role: "patient", Subject: "p", Room: "r", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := node.Verify(tok); err != nil || c.Subject != "p" {
		t.Fatalf("the node refuses the tool's token: %v", err)
	}
	sqlite, err := records.Open(ctx, records.Config{SQLitePath: filepath.Join(t.TempDir(), "x.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	if _, err := OpenExisting(ctx, sqlite); err == nil {
		t.Fatal("keys opened on SQLite")
	}
}
