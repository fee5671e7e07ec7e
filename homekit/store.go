package homekit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// Config says where the kits and readings live. Exactly one of SQLitePath
// and PostgresURL is set. The store may share its database with other
// packages: its tables, and its migration history, are all named homekit_*.
type Config struct {
	// SQLitePath is the file of the embedded SQLite database (WAL mode); it
	// is created if missing. A file, not ":memory:".
	SQLitePath string
	// PostgresURL is a pgx connection string of a PostgreSQL server.
	PostgresURL string
	// MaxConns caps the store's own connection pool. Default 4 for SQLite
	// and 16 for PostgreSQL.
	MaxConns int
	// BusyTimeout is how long SQLite waits for another connection's write
	// lock (another package's pool on the same file counts). Default 10 s.
	BusyTimeout time.Duration
	// Clock stamps creation and audit times. Default time.Now.
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

// Validate reports a configuration the store cannot open.
func (c Config) Validate() error {
	switch {
	case c.SQLitePath == "" && c.PostgresURL == "":
		return errors.New("homekit store: set SQLitePath or PostgresURL")
	case c.SQLitePath != "" && c.PostgresURL != "":
		return errors.New("homekit store: set SQLitePath or PostgresURL, not both")
	case c.SQLitePath == ":memory:" || strings.HasPrefix(c.SQLitePath, "file:"):
		return errors.New("homekit store: SQLitePath must be a file path")
	case strings.ContainsRune(c.SQLitePath, '?'):
		return errors.New("homekit store: SQLitePath must not contain '?'")
	case c.MaxConns < 0:
		return errors.New("homekit store: MaxConns must not be negative")
	case c.BusyTimeout < 0:
		return errors.New("homekit store: BusyTimeout must not be negative")
	}
	return nil
}

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// maxAttempts bounds how often a transaction runs when the database reports
// contention (SQLITE_BUSY, a PostgreSQL serialization failure or deadlock).
const maxAttempts = 5

// Store keeps kits, gateways, expected measurements, readings and the
// homekit audit log. Its methods are safe for concurrent use.
type Store struct {
	db      *sql.DB
	cfg     Config
	dialect dialect
	log     *slog.Logger
	now     func() time.Time

	// writeSlot admits one SQLite write transaction of this store at a
	// time, so that writers queue here instead of spinning on SQLITE_BUSY.
	// Nil on PostgreSQL.
	writeSlot chan struct{}
}

// Open connects to the database named by cfg and applies the homekit schema
// migrations it lacks.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{cfg: cfg, log: logger, now: cfg.Clock}
	var err error
	if cfg.PostgresURL != "" {
		s.dialect = dialectPostgres
		s.db, err = sql.Open("pgx", cfg.PostgresURL)
	} else {
		s.dialect = dialectSQLite
		s.writeSlot = make(chan struct{}, 1)
		s.db, err = sql.Open("sqlite", sqliteDSN(cfg.SQLitePath, cfg.BusyTimeout))
	}
	if err != nil {
		return nil, fmt.Errorf("homekit store: open: %w", err)
	}
	s.db.SetMaxOpenConns(cfg.MaxConns)
	s.db.SetMaxIdleConns(cfg.MaxConns)
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("homekit store: connect: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("homekit store: %w", err)
	}
	return s, nil
}

// sqliteDSN asks modernc.org/sqlite for WAL, foreign keys, a busy timeout on
// every connection, and BEGIN IMMEDIATE for read-write transactions.
func sqliteDSN(path string, busy time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// Close closes the store's connections.
func (s *Store) Close() error { return s.db.Close() }

// Dialect names the database: "sqlite" or "postgres".
func (s *Store) Dialect() string {
	if s.dialect == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// inTx runs fn in a read-write transaction and commits it, running it again
// (at most maxAttempts times in all) when the database reports contention.
// fn must start from scratch on each run.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil {
			return nil
		}
		if attempt >= maxAttempts || ctx.Err() != nil || !retryable(err) {
			return fmt.Errorf("%s: %w", op, err)
		}
		s.log.Debug("homekit store: retrying transaction", "op", op, "attempt", attempt, "err", err)
		pause := time.Duration(1+mrand.IntN(5*attempt)) * time.Millisecond
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", op, ctx.Err())
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.writeSlot != nil {
		select {
		case s.writeSlot <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-s.writeSlot }()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ts converts an instant to its column value: timestamptz on PostgreSQL,
// INTEGER milliseconds since the Unix epoch (UTC) on SQLite.
func (s *Store) ts(t time.Time) any {
	t = instant(t)
	if s.dialect == dialectPostgres {
		return t
	}
	return t.UnixMilli()
}

// instant is the form in which the store keeps times: UTC, whole
// milliseconds. Idempotency keys that hold a time use this form too.
func instant(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// tsScan scans a column that ts wrote.
type tsScan struct{ t *time.Time }

func (d tsScan) Scan(v any) error {
	switch x := v.(type) {
	case int64:
		*d.t = time.UnixMilli(x).UTC()
	case time.Time:
		*d.t = x.UTC()
	default:
		return fmt.Errorf("timestamp column holds %T", v)
	}
	return nil
}

// newID returns a random identifier: 26 characters of base32, 130 bits. It
// is a valid FHIR id.
func newID() string { return strings.ToLower(rand.Text()) }

// queryRows runs q and calls scan for each row.
func queryRows(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
