package scheduler

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/audit"
	"vclinic/internal/records/recordstest"
)

// The store conformance suite: the same test functions run against SQLite
// and a real PostgreSQL server (a throwaway cluster, or the server
// VCLINIC_TEST_POSTGRES names; see package recordstest).

func TestMain(m *testing.M) { os.Exit(recordstest.Main(m)) }

// openStore opens a store on a fresh database of b's kind with a pool of 8.
func openStore(t testing.TB, b recordstest.Backend, cfg Config) *Store {
	return openTestStore(t, b.Config(t, records.Config{MaxConns: 8}), cfg)
}

// testDBs remembers how each test store's database was opened, so that a
// test can open a second store on it, as a second process or node would.
var testDBs sync.Map // *Store -> records.Config

// testCPRs are the CPR numbers the tests use; none may reach a log or the
// audit log.
var testCPRs = []string{"0101901234", "3112851111", "1508774321", "0202022222"}

// openTestStore opens the records database rc names, its audit log and a
// store on it; all close when t ends, and t fails if a CPR number reached
// the log.
func openTestStore(t testing.TB, rc records.Config, cfg Config) *Store {
	t.Helper()
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := openStoreOn(t, rc, cfg, logger)
	t.Cleanup(func() {
		for _, c := range testCPRs {
			if strings.Contains(logs.String(), c) {
				t.Errorf("a CPR number reached the log:\n%s", logs.String())
			}
		}
	})
	return s
}

// openStoreOn opens a store on the database rc names with its own pool.
func openStoreOn(t testing.TB, rc records.Config, cfg Config, logger *slog.Logger) *Store {
	t.Helper()
	if cfg.CPRKey == nil {
		cfg.CPRKey = testCPRKey(t)
	}
	db, trail := recordstest.OpenAt(t, rc, cfg.Clock)
	s, err := NewStore(context.Background(), db, trail, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	testDBs.Store(s, rc)
	return s
}

// reopen opens a second store, with a pool of its own, on s's database.
func reopen(t testing.TB, s *Store, logger *slog.Logger) *Store {
	t.Helper()
	rc, ok := testDBs.Load(s)
	if !ok {
		t.Fatal("reopen: not a test store")
	}
	return openStoreOn(t, rc.(records.Config), s.cfg, logger)
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
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			testStore(t, func(t *testing.T) *Store { return openStore(t, b, Config{}) })
		})
	}
}

// TestStoreStorm fires 200 concurrent bookings of overlapping times and
// lengths at one clinician, on each store.
func TestStoreStorm(t *testing.T) {
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			testStorm(t, func(t *testing.T) *Store { return openStore(t, b, Config{}) })
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("the defaults: %v", err)
	}
	if err := (Config{IdempotencyRetention: -time.Hour}).Validate(); err == nil {
		t.Error("a negative idempotency retention was accepted")
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

// readAudit reads the whole audit log through AuditLog, of one patient or of
// all when patientID is "", oldest first.
func readAudit(ctx context.Context, s *Store, actor Actor, patientID string) ([]audit.Entry, error) {
	var out []audit.Entry
	f := audit.Filter{PatientID: patientID, Limit: audit.MaxLimit}
	for {
		page, err := s.AuditLog(ctx, actor, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Rows...)
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	slices.Reverse(out)
	return out, nil
}

// exec runs one statement in its own transaction, bypassing the store.
func exec(ctx context.Context, s *Store, query string, args ...any) error {
	return s.db.InTx(ctx, "exec", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
}

// testCPRKey is the tests' CPR key: one secret, so that a store opened again
// on the same database reads its numbers.
func testCPRKey(t testing.TB) *CPRKey {
	t.Helper()
	k, err := NewCPRKey([]byte("vclinic test CPR secret, 32 b..."))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
