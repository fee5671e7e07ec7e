package recordstest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/audit"
)

// shared is the test binary's PostgreSQL server, started on first use and
// stopped by Main.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Main runs a test binary's tests and then stops the PostgreSQL server they
// started, if any. Call it from TestMain: os.Exit(recordstest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.Close(); err != nil {
			os.Stderr.WriteString("stopping the test PostgreSQL: " + err.Error() + "\n")
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Postgres returns the test binary's PostgreSQL server, starting it on first
// use. Without PostgreSQL it skips t, or fails it when Required.
func Postgres(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() {
		shared.srv, shared.err = Start(context.Background())
	})
	if err := shared.err; err != nil {
		if errors.Is(err, ErrUnavailable) && !Required() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return shared.srv
}

// Backend opens fresh, empty records databases of one dialect.
type Backend struct {
	Name string // "sqlite" or "postgres"
	// Config fills in where a fresh database of this kind is, for t; the
	// database is removed when t ends.
	Config func(t testing.TB, cfg records.Config) records.Config
}

// Open opens a fresh database of this kind for t with cfg's other settings;
// it is closed, then removed, when t ends.
func (b Backend) Open(t testing.TB, cfg records.Config) *records.DB {
	t.Helper()
	cfg = b.Config(t, cfg)
	db, err := records.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// OpenAt opens the records database rc names (a Backend's Config) and its
// audit log, whose rows clock stamps (time.Now when nil): what a store of the
// clinic is built on. The pool closes when t ends. Call it again with the
// same rc for a second pool on the same database, as a second process or
// node has.
func OpenAt(t testing.TB, rc records.Config, clock func() time.Time) (*records.DB, *audit.Log) {
	t.Helper()
	ctx := context.Background()
	db, err := records.Open(ctx, rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	trail, err := audit.New(ctx, db, audit.Config{Clock: clock}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db, trail
}

// Backends lists SQLite and PostgreSQL.
func Backends() []Backend {
	return []Backend{
		{"sqlite", func(t testing.TB, cfg records.Config) records.Config {
			cfg.SQLitePath = filepath.Join(t.TempDir(), "records.db")
			return cfg
		}},
		{"postgres", func(t testing.TB, cfg records.Config) records.Config {
			// The database is registered for dropping before anything
			// connects to it, so that the connections close first.
			cfg.PostgresURL = Postgres(t).Database(t)
			return cfg
		}},
	}
}
