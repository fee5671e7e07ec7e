// Package records owns the clinic's records database and nothing else: one
// connection pool on SQLite (WAL, the embedded default) or PostgreSQL (a
// cluster), the differences between the two dialects, each owner's schema
// migrations with a ledger per owner, transactions that are run again when
// the database reports contention (with one writer at a time per process on
// SQLite), and the mapping of driver errors to this package's sentinel
// errors.
//
// It owns no table but the migration ledgers and knows nothing of patients,
// appointments, kits or HTTP: the clinic's parts (scheduler, homekit, the
// audit log) own their tables and take an opened *DB from cmd.
package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// Config says where the records live. Exactly one of SQLitePath and
// PostgresURL is set.
type Config struct {
	// SQLitePath is the file of the embedded SQLite database (WAL mode); it
	// is created if missing. A file, not ":memory:": the pool holds several
	// connections to it.
	SQLitePath string
	// PostgresURL is a pgx connection string (URL or key=value) of a
	// PostgreSQL server; it makes the records fit for a cluster of nodes.
	PostgresURL string
	// MaxConns caps the connection pool. Default 4 for SQLite (one writer at
	// a time plus readers) and 16 for PostgreSQL; keep it below the server's
	// max_connections divided by the number of nodes.
	MaxConns int
	// BusyTimeout is how long SQLite waits for another process's write lock
	// before giving up. Default 10 s.
	BusyTimeout time.Duration
	// Clock stamps the migration ledgers. Default time.Now.
	Clock func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MaxConns == 0 {
		c.MaxConns = 16
		if c.PostgresURL == "" {
			c.MaxConns = 4
		}
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 10 * time.Second
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

// Validate reports a configuration that cannot be opened.
func (c Config) Validate() error {
	switch {
	case c.SQLitePath == "" && c.PostgresURL == "":
		return errors.New("records: set SQLitePath or PostgresURL")
	case c.SQLitePath != "" && c.PostgresURL != "":
		return errors.New("records: set SQLitePath or PostgresURL, not both")
	case c.SQLitePath == ":memory:" || strings.HasPrefix(c.SQLitePath, "file:"):
		return errors.New("records: SQLitePath must be a file path")
	case strings.ContainsRune(c.SQLitePath, '?'):
		return errors.New("records: SQLitePath must not contain '?'")
	case c.MaxConns < 0:
		return errors.New("records: MaxConns must not be negative")
	case c.BusyTimeout < 0:
		return errors.New("records: BusyTimeout must not be negative")
	}
	return nil
}

// maxAttempts bounds how often InTx runs a transaction when the database
// reports contention.
const maxAttempts = 5

// DB is the clinic's records database: one pool for the whole process. Its
// methods are safe for concurrent use.
type DB struct {
	db      *sql.DB
	dialect Dialect
	log     *slog.Logger
	now     func() time.Time

	// writeSlot admits one SQLite write transaction of this process at a
	// time, so that writers queue here instead of spinning on SQLITE_BUSY;
	// BEGIN IMMEDIATE and the busy timeout order them against other
	// processes. Nil on PostgreSQL.
	writeSlot chan struct{}
}

// Open connects to the database cfg names. It applies no migration: each
// owner calls Migrate with its own steps.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*DB, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &DB{log: logger, now: cfg.Clock}
	var err error
	if cfg.PostgresURL != "" {
		d.dialect = Postgres
		d.db, err = sql.Open("pgx", cfg.PostgresURL)
	} else {
		d.dialect = SQLite
		d.writeSlot = make(chan struct{}, 1)
		d.db, err = sql.Open("sqlite", sqliteDSN(cfg.SQLitePath, cfg.BusyTimeout))
	}
	if err != nil {
		return nil, fmt.Errorf("records: open: %w", err)
	}
	d.db.SetMaxOpenConns(cfg.MaxConns)
	d.db.SetMaxIdleConns(cfg.MaxConns)
	if err := d.connect(ctx, cfg.BusyTimeout); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("records: connect to %s: %w", d.dialect, Map(err))
	}
	return d, nil
}

// connect opens the first connection. On SQLite, turning a new file to WAL
// takes the write lock and may meet another process doing the same (two
// nodes, or `vclinic user add` beside a starting server), which SQLite
// answers with SQLITE_BUSY at once rather than through the busy timeout:
// try again until busy has passed.
func (d *DB) connect(ctx context.Context, busy time.Duration) error {
	deadline := time.Now().Add(busy)
	for attempt := 1; ; attempt++ {
		err := d.db.PingContext(ctx)
		if err == nil || d.dialect != SQLite || !retryable(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(time.Duration(1+mrand.IntN(10*min(attempt, 10))) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sqliteDSN asks modernc.org/sqlite for WAL, foreign keys, a busy timeout on
// every connection, and BEGIN IMMEDIATE for read-write transactions so that
// a transaction that will write takes the write lock before it reads
// (https://www.sqlite.org/lang_transaction.html).
func sqliteDSN(path string, busy time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// Close closes the pool.
func (d *DB) Close() error { return d.db.Close() }

// Dialect says which database this is.
func (d *DB) Dialect() Dialect { return d.dialect }

// Stats reports the pool's use, for metrics.
func (d *DB) Stats() sql.DBStats { return d.db.Stats() }

// PingContext checks that the database answers, for readiness.
func (d *DB) PingContext(ctx context.Context) error { return d.db.PingContext(ctx) }

// QueryContext runs a read outside a transaction. Writes go through InTx.
func (d *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.db.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a read of one row outside a transaction.
func (d *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.db.QueryRowContext(ctx, query, args...)
}

// InTx runs fn in a read-write transaction and commits it. When the database
// reports contention (SQLITE_BUSY or SQLITE_LOCKED, a PostgreSQL
// serialization failure or deadlock), or fn returns an error that wraps
// ErrRetry, it runs fn again, at most five times in all, after a short random
// pause: fn must start from scratch each time (reset what it collects).
//
// The error names op and maps driver errors to the sentinels: errors.Is(err,
// ErrUnique), ErrExclusion, ErrBusy (contention that outlasted the
// attempts); the driver's error stays in the chain.
func (d *DB) InTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := d.tryTx(ctx, fn)
		if err == nil {
			return nil
		}
		if attempt >= maxAttempts || ctx.Err() != nil || !retryable(err) {
			return fmt.Errorf("%s: %w", op, Map(err))
		}
		d.log.Debug("records: retrying transaction", "op", op, "attempt", attempt, "err", err)
		pause := time.Duration(1+mrand.IntN(5*attempt)) * time.Millisecond
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
	}
}

func (d *DB) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if d.writeSlot != nil {
		select {
		case d.writeSlot <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-d.writeSlot }()
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Lock serialises the transactions that take the same named lock, until tx
// ends. PostgreSQL: a transaction-scoped advisory lock on a 64-bit hash of
// name (pg_advisory_xact_lock). SQLite: nothing to do, BEGIN IMMEDIATE
// already holds the database's write lock.
func (d *DB) Lock(ctx context.Context, tx *sql.Tx, name string) error {
	if d.dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(name)); err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	return nil
}

// lockKey is the advisory lock key of a name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// BackupTo writes a consistent copy of an SQLite database to path, a file
// that must not exist, while the clinic runs (VACUUM INTO,
// https://www.sqlite.org/lang_vacuum.html#vacuuminto: a read transaction,
// so writers carry on). PostgreSQL is backed up with its own tools
// (pg_dump, continuous archiving).
func (d *DB) BackupTo(ctx context.Context, path string) error {
	if d.dialect != SQLite {
		return errors.New("records: back up PostgreSQL with pg_dump or continuous archiving")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("records: backup: %s exists", path)
	}
	if _, err := d.db.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		return fmt.Errorf("records: backup: %w", Map(err))
	}
	// Health data: readable by the clinic's user alone, as the database is.
	return os.Chmod(path, 0o600)
}
