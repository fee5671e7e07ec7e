package records_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"vclinic/internal/records"
	"vclinic/internal/records/recordstest"
)

func TestMain(m *testing.M) { os.Exit(recordstest.Main(m)) }

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  records.Config
		want string
	}{
		{"neither", records.Config{}, "set SQLitePath or PostgresURL"},
		{"both", records.Config{SQLitePath: "a.db", PostgresURL: "postgres://x"}, "not both"},
		{"memory", records.Config{SQLitePath: ":memory:"}, "file path"},
		{"uri", records.Config{SQLitePath: "file:a.db"}, "file path"},
		{"query", records.Config{SQLitePath: "a.db?mode=ro"}, "'?'"},
		{"negative conns", records.Config{SQLitePath: "a.db", MaxConns: -1}, "MaxConns"},
		{"negative busy", records.Config{SQLitePath: "a.db", BusyTimeout: -time.Second}, "BusyTimeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error with %q", err, tc.want)
			}
		})
	}
	if err := (records.Config{SQLitePath: "a.db"}).Validate(); err != nil {
		t.Errorf("a file path: %v", err)
	}
}

// TestRecords runs the same tests on SQLite and PostgreSQL.
func TestRecords(t *testing.T) {
	for _, b := range recordstest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				test func(t *testing.T, b recordstest.Backend)
			}{
				{"Migrate", testMigrate},
				{"MigrateRefusesNewer", testMigrateRefusesNewer},
				{"MigrateRollsBackAFailedStep", testMigrateRollsBack},
				{"MigrateConcurrently", testMigrateConcurrently},
				{"ErrorMapping", testErrorMapping},
				{"Retry", testRetry},
				{"ConcurrentWriters", testConcurrentWriters},
				{"Times", testTimes},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.test(t, b) })
			}
		})
	}
}

var steps = []records.Migration{{
	Version: 1, Name: "notes",
	Common: `CREATE TABLE t_notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, at {{ts}} NOT NULL);`,
}, {
	Version: 2, Name: "a dialect's own step",
	SQLite:   `CREATE INDEX t_notes_at ON t_notes (at);`,
	Postgres: `CREATE INDEX t_notes_at ON t_notes USING brin (at);`,
}, {
	Version: 3, Name: "rows moved",
	Common: `CREATE TABLE t_copies (id TEXT PRIMARY KEY);`,
	Data: func(ctx context.Context, tx *sql.Tx, d records.Dialect) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t_copies (id) SELECT id FROM t_notes`)
		return err
	},
}}

func count(t *testing.T, db *records.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func testMigrate(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	db := b.Open(t, records.Config{})
	if err := db.Migrate(ctx, "t", steps[:1]); err != nil {
		t.Fatal(err)
	}
	err := db.InTx(ctx, "add a note", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t_notes (id, body, at) VALUES ($1, $2, $3)`, "n1", "hello", db.Dialect().TS(time.Now()))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A later release adds steps; the ledger keeps the first.
	for range 2 {
		if err := db.Migrate(ctx, "t", steps); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(t, db, `SELECT count(*) FROM t_schema_migrations`); got != 3 {
		t.Errorf("ledger has %d steps, want 3", got)
	}
	if got := count(t, db, `SELECT count(*) FROM t_copies WHERE id = 'n1'`); got != 1 {
		t.Errorf("the data step copied %d rows, want 1", got)
	}
	// Another owner keeps its own ledger in the same database.
	other := []records.Migration{{Version: 1, Name: "other", Common: `CREATE TABLE u_things (id TEXT);`}}
	if err := db.Migrate(ctx, "u", other); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, `SELECT count(*) FROM u_schema_migrations`); got != 1 {
		t.Errorf("second owner's ledger has %d steps, want 1", got)
	}
	for _, bad := range []struct {
		owner string
		steps []records.Migration
	}{
		{"T; DROP TABLE t_notes", steps},
		{"", steps},
		{"t", []records.Migration{steps[0], steps[2]}},
		{"t", []records.Migration{{Version: 0, Name: "zero"}}},
	} {
		if err := db.Migrate(ctx, bad.owner, bad.steps); err == nil {
			t.Errorf("Migrate(%q, %d steps) accepted a bad owner or numbering", bad.owner, len(bad.steps))
		}
	}
	if got := count(t, db, `SELECT count(*) FROM t_notes`); got != 1 {
		t.Errorf("t_notes has %d rows after refused migrations, want 1", got)
	}
}

func testMigrateRefusesNewer(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	db := b.Open(t, records.Config{})
	if err := db.Migrate(ctx, "t", steps); err != nil {
		t.Fatal(err)
	}
	err := db.Migrate(ctx, "t", steps[:2])
	if err == nil || !strings.Contains(err.Error(), "newer release") {
		t.Errorf("an older build migrating a newer database: %v, want a refusal", err)
	}
}

func testMigrateRollsBack(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	db := b.Open(t, records.Config{})
	bad := append(steps[:1:1], records.Migration{Version: 2, Name: "broken",
		Common: `CREATE TABLE t_half (id TEXT); CREATE TABLE t_notes (id TEXT);`})
	if err := db.Migrate(ctx, "t", bad); err == nil {
		t.Fatal("a failing step was reported applied")
	}
	if got := count(t, db, `SELECT count(*) FROM t_schema_migrations`); got != 1 {
		t.Errorf("ledger has %d steps after a failed step, want 1", got)
	}
	// The failed step left nothing: the fixed one applies cleanly.
	if err := db.Migrate(ctx, "t", append(steps[:1:1], records.Migration{Version: 2, Name: "fixed",
		Common: `CREATE TABLE t_half (id TEXT);`})); err != nil {
		t.Errorf("the fixed step: %v", err)
	}
}

// testMigrateConcurrently starts several pools on one database at once, as
// nodes of a cluster (or two processes on one SQLite file) do.
func testMigrateConcurrently(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	cfg := b.Config(t, records.Config{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			db, err := records.Open(ctx, cfg, nil)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- db.Migrate(ctx, "t", steps)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	db, err := records.Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := count(t, db, `SELECT count(*) FROM t_schema_migrations`); got != 3 {
		t.Errorf("ledger has %d steps, want 3", got)
	}
}

func testErrorMapping(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	db := b.Open(t, records.Config{})
	if err := db.Migrate(ctx, "t", steps); err != nil {
		t.Fatal(err)
	}
	insert := func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t_notes (id, body, at) VALUES ('same', '', $1)`, db.Dialect().TS(time.Now()))
		return err
	}
	if err := db.InTx(ctx, "first", insert); err != nil {
		t.Fatal(err)
	}
	err := db.InTx(ctx, "second", insert)
	if !errors.Is(err, records.ErrUnique) || !records.Unique(err) {
		t.Errorf("a second row with the same key: %v, want ErrUnique", err)
	}
	if !strings.HasPrefix(err.Error(), "second: ") {
		t.Errorf("error %q does not name the operation", err)
	}
	if errors.Is(err, records.ErrBusy) || errors.Is(err, records.ErrExclusion) {
		t.Errorf("a unique violation maps to another sentinel too: %v", err)
	}
	if err := records.Map(errors.New("plain")); errors.Is(err, records.ErrUnique) || err.Error() != "plain" {
		t.Errorf("Map changed an error that means nothing: %v", err)
	}
	if records.Map(nil) != nil {
		t.Error("Map(nil) is not nil")
	}
	if db.Dialect() == records.Postgres {
		if _, err := db.QueryContext(ctx, `SELECT 1`); err != nil {
			t.Fatal(err)
		}
		err := db.InTx(ctx, "overlap", func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS btree_gist;
				CREATE TABLE t_spans (who TEXT, span tstzrange, EXCLUDE USING gist (who WITH =, span WITH &&))`); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO t_spans VALUES ('a', tstzrange(now(), now() + interval '1 hour')),
				('a', tstzrange(now() + interval '30 minutes', now() + interval '2 hours'))`)
			return err
		})
		if !errors.Is(err, records.ErrExclusion) || !records.Exclusion(err) {
			t.Errorf("overlapping spans: %v, want ErrExclusion", err)
		}
	}
}

func testRetry(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	db := b.Open(t, records.Config{})
	runs := 0
	err := db.InTx(ctx, "lose twice", func(tx *sql.Tx) error {
		runs++
		if runs < 3 {
			return fmt.Errorf("lost a race: %w", records.ErrRetry)
		}
		return nil
	})
	if err != nil || runs != 3 {
		t.Errorf("InTx = %v after %d runs, want success on the third", err, runs)
	}
	runs = 0
	err = db.InTx(ctx, "always lose", func(tx *sql.Tx) error {
		runs++
		return fmt.Errorf("lost a race: %w", records.ErrRetry)
	})
	if !errors.Is(err, records.ErrBusy) || runs != 5 {
		t.Errorf("InTx = %v after %d runs, want ErrBusy after 5", err, runs)
	}
	runs = 0
	boom := errors.New("boom")
	if err := db.InTx(ctx, "fail", func(tx *sql.Tx) error { runs++; return boom }); !errors.Is(err, boom) || runs != 1 {
		t.Errorf("InTx = %v after %d runs, want boom after 1", err, runs)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.InTx(cctx, "cancelled", func(tx *sql.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("InTx on a cancelled context = %v", err)
	}
}

// testConcurrentWriters: many goroutines increment one counter; every
// increment lands, none fails with SQLITE_BUSY or a serialization error.
func testConcurrentWriters(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	db := b.Open(t, records.Config{MaxConns: 8})
	if err := db.Migrate(ctx, "c", []records.Migration{{Version: 1, Name: "counter",
		Common: `CREATE TABLE c_counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO c_counter VALUES (1, 0);`}}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				errs <- db.InTx(ctx, "increment", func(tx *sql.Tx) error {
					if err := db.Lock(ctx, tx, "counter"); err != nil {
						return err
					}
					var n int
					if err := tx.QueryRowContext(ctx, `SELECT n FROM c_counter WHERE id = 1`+db.Dialect().ForUpdate()).Scan(&n); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `UPDATE c_counter SET n = $1 WHERE id = 1`, n+1)
					return err
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := count(t, db, `SELECT n FROM c_counter WHERE id = 1`); got != writers*each {
		t.Errorf("counter = %d, want %d", got, writers*each)
	}
}

func testTimes(t *testing.T, b recordstest.Backend) {
	ctx := context.Background()
	db := b.Open(t, records.Config{})
	if err := db.Migrate(ctx, "t", steps); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 29, 1, 59, 59, 999_999_999, time.FixedZone("CET", 3600))
	err := db.InTx(ctx, "store a time", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t_notes (id, body, at) VALUES ('t', '', $1)`, db.Dialect().TS(at))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got time.Time
	if err := db.QueryRowContext(ctx, `SELECT at FROM t_notes WHERE id = 't'`).Scan(records.Time(&got)); err != nil {
		t.Fatal(err)
	}
	if want := records.Instant(at); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("read back %v, want %v in UTC", got, want)
	}
	var null time.Time = time.Now()
	if err := db.QueryRowContext(ctx, `SELECT NULL`).Scan(records.NullTime(&null)); err != nil || !null.IsZero() {
		t.Errorf("NULL time scanned as %v, %v", null, err)
	}
}
