package records

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestSQLiteBeginImmediate checks that a write transaction takes SQLite's
// write lock when it begins, not at its first write: a second pool (another
// process), with no patience, cannot begin one while the first is open, and
// its error maps to ErrBusy.
func TestSQLiteBeginImmediate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "records.db")
	open := func(busy time.Duration) *DB {
		d, err := Open(ctx, Config{SQLitePath: path, BusyTimeout: busy}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	d1, d2 := open(0), open(time.Millisecond)
	tx, err := d1.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	tx2, err := d2.db.BeginTx(ctx, nil)
	if err == nil {
		tx2.Rollback()
		t.Fatal("a second write transaction began while the first held the lock")
	}
	if !errors.Is(Map(err), ErrBusy) {
		t.Errorf("error %v, want SQLITE_BUSY mapped to ErrBusy", err)
	}
	var mode string
	if err := d2.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q (%v), want wal", mode, err)
	}
	var fk int
	if err := d2.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign keys %d (%v), want on", fk, err)
	}
}
