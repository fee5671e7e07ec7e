package scheduler

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"vclinic/internal/records/recordstest"
)

// The store conformance suite: the same test functions run against SQLite
// and a real PostgreSQL server (a throwaway cluster, or the server
// VCLINIC_TEST_POSTGRES names; see package recordstest).

// testPostgres is the test binary's PostgreSQL server, started on first use
// and stopped by TestMain.
var testPostgres struct {
	once sync.Once
	srv  *recordstest.Server
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testPostgres.srv != nil {
		if err := testPostgres.srv.Close(); err != nil {
			os.Stderr.WriteString("stopping the test PostgreSQL: " + err.Error() + "\n")
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// postgresServer returns the shared test server, skipping t when there is
// none and recordstest.Required is false.
func postgresServer(t testing.TB) *recordstest.Server {
	t.Helper()
	testPostgres.once.Do(func() {
		testPostgres.srv, testPostgres.err = recordstest.Start(context.Background())
	})
	if err := testPostgres.err; err != nil {
		if errors.Is(err, recordstest.ErrUnavailable) && !recordstest.Required() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return testPostgres.srv
}

// storeBackend opens a fresh, empty store of one kind.
type storeBackend struct {
	name string
	open func(t testing.TB, cfg Config) *Store
}

func storeBackends() []storeBackend {
	return []storeBackend{
		{"sqlite", func(t testing.TB, cfg Config) *Store {
			cfg.SQLitePath = filepath.Join(t.TempDir(), "records.db")
			return openTestStore(t, cfg)
		}},
		{"postgres", func(t testing.TB, cfg Config) *Store {
			cfg.PostgresURL = postgresServer(t).Database(t)
			return openTestStore(t, cfg)
		}},
	}
}

// testCPRs are the CPR numbers the tests use; none may reach a log or the
// audit log.
var testCPRs = []string{"0101901234", "3112851111", "1508774321", "0202022222"}

func openTestStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Open(context.Background(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		for _, c := range testCPRs {
			if strings.Contains(logs.String(), c) {
				t.Errorf("a CPR number reached the log:\n%s", logs.String())
			}
		}
	})
	return s
}

type lockedBuffer struct {
	mu  sync.Mutex // guards b
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestStore runs the conformance suite on each store.
func TestStore(t *testing.T) {
	for _, b := range storeBackends() {
		t.Run(b.name, func(t *testing.T) {
			testStore(t, func(t *testing.T) *Store { return b.open(t, Config{}) })
		})
	}
}

// TestStoreStorm fires 200 concurrent bookings of overlapping times and
// lengths at one clinician, on each store.
func TestStoreStorm(t *testing.T) {
	for _, b := range storeBackends() {
		t.Run(b.name, func(t *testing.T) {
			testStorm(t, func(t *testing.T) *Store { return b.open(t, Config{MaxConns: 8}) })
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"sqlite", Config{SQLitePath: "/var/lib/vclinic/records.db"}, true},
		{"postgres", Config{PostgresURL: "postgres://vclinic@db/vclinic"}, true},
		{"neither", Config{}, false},
		{"both", Config{SQLitePath: "a.db", PostgresURL: "postgres://db/x"}, false},
		{"memory", Config{SQLitePath: ":memory:"}, false},
		{"uri", Config{SQLitePath: "file:a.db"}, false},
		{"query", Config{SQLitePath: "a.db?mode=ro"}, false},
		{"negative pool", Config{SQLitePath: "a.db", MaxConns: -1}, false},
		{"negative retention", Config{SQLitePath: "a.db", IdempotencyRetention: -time.Hour}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// stTime parses an RFC 3339 time.
func stTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
