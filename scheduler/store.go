package scheduler

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// Config says where the records live. Exactly one of SQLitePath and
// PostgresURL is set.
type Config struct {
	// SQLitePath is the file of the embedded SQLite database (WAL mode); it is
	// created if missing. A file, not ":memory:": the store keeps a pool of
	// connections to it.
	SQLitePath string
	// PostgresURL is a pgx connection string (URL or key=value) of a
	// PostgreSQL server; it makes the store fit for a cluster of nodes.
	PostgresURL string
	// MaxConns caps the connection pool. Default 4 for SQLite (one writer at
	// a time plus readers) and 16 for PostgreSQL; keep it below the server's
	// max_connections divided by the number of nodes.
	MaxConns int
	// BusyTimeout is how long SQLite waits for another process's write lock
	// before giving up. Default 10 s.
	BusyTimeout time.Duration
	// Clock stamps created, updated and audit times. Default time.Now.
	Clock func() time.Time
	// IdempotencyRetention is how long an idempotency key replays its
	// booking, measured on Clock from the booking; an older key is treated
	// as new and PurgeIdempotencyKeys deletes it. Default 24 h.
	IdempotencyRetention time.Duration
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
	if c.IdempotencyRetention == 0 {
		c.IdempotencyRetention = 24 * time.Hour
	}
	return c
}

// Validate reports a configuration the store cannot open.
func (c Config) Validate() error {
	switch {
	case c.SQLitePath == "" && c.PostgresURL == "":
		return errors.New("scheduler store: set SQLitePath or PostgresURL")
	case c.SQLitePath != "" && c.PostgresURL != "":
		return errors.New("scheduler store: set SQLitePath or PostgresURL, not both")
	case c.SQLitePath == ":memory:" || strings.HasPrefix(c.SQLitePath, "file:"):
		return errors.New("scheduler store: SQLitePath must be a file path")
	case strings.ContainsRune(c.SQLitePath, '?'):
		return errors.New("scheduler store: SQLitePath must not contain '?'")
	case c.MaxConns < 0:
		return errors.New("scheduler store: MaxConns must not be negative")
	case c.BusyTimeout < 0:
		return errors.New("scheduler store: BusyTimeout must not be negative")
	case c.IdempotencyRetention < 0:
		return errors.New("scheduler store: IdempotencyRetention must not be negative")
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

// Store keeps the scheduler's records in SQLite or PostgreSQL. Its methods
// are safe for concurrent use. Calls that read or write patient data take
// the acting user and record it in the audit log in the same transaction.
type Store struct {
	db      *sql.DB
	cfg     Config
	dialect dialect
	log     *slog.Logger
	now     func() time.Time

	// writeSlot admits one SQLite write transaction of this process at a
	// time, so that writers queue here instead of spinning on SQLITE_BUSY;
	// BEGIN IMMEDIATE and the busy timeout order them against other
	// processes. Nil on PostgreSQL.
	writeSlot chan struct{}

	zones sync.Map // zone name -> *time.Location

	dummyOnce sync.Once // guards dummyHash
	dummyHash string    // verified against when the user is unknown
}

// Open connects to the database named by cfg and applies the schema
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
		return nil, fmt.Errorf("scheduler store: open: %w", err)
	}
	s.db.SetMaxOpenConns(cfg.MaxConns)
	s.db.SetMaxIdleConns(cfg.MaxConns)
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("scheduler store: connect: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("scheduler store: %w", err)
	}
	return s, nil
}

// sqliteDSN asks modernc.org/sqlite for WAL, foreign keys, a busy timeout on
// every connection, and BEGIN IMMEDIATE for read-write transactions so that
// a transaction that will write takes the write lock before it reads.
func sqliteDSN(path string, busy time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// Close closes the database connections.
func (s *Store) Close() error { return s.db.Close() }

// Dialect names the database: "sqlite" or "postgres".
func (s *Store) Dialect() string {
	if s.dialect == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// errContention marks a transaction that lost a race it can win on a retry.
var errContention = errors.New("contention")

// inTx runs fn in a read-write transaction and commits it, running it again
// (at most maxAttempts times in all) when the database reports contention.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil {
			return nil
		}
		if attempt >= maxAttempts || ctx.Err() != nil || !(retryable(err) || errors.Is(err, errContention)) {
			return fmt.Errorf("%s: %w", op, err)
		}
		s.log.Debug("scheduler store: retrying transaction", "op", op, "attempt", attempt, "err", err)
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

// lockClinician serialises the transactions that change one clinician's
// calendar. PostgreSQL: a transaction-scoped advisory lock on a 64-bit hash of
// the id (the exclusion constraint on appointments is the backstop). SQLite:
// nothing to do, BEGIN IMMEDIATE already holds the database's write lock.
func (s *Store) lockClinician(ctx context.Context, tx *sql.Tx, clinicianID string) error {
	if s.dialect != dialectPostgres {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte("vclinic/scheduler/clinician\x00" + clinicianID))
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return fmt.Errorf("lock clinician %s: %w", clinicianID, err)
	}
	return nil
}

// forUpdate is the row-locking suffix of a SELECT in a read-write
// transaction; SQLite needs none.
func (s *Store) forUpdate() string {
	if s.dialect == dialectPostgres {
		return " FOR UPDATE"
	}
	return ""
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

// instant is the form in which the store keeps times: UTC, whole milliseconds.
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

// durScan scans a duration kept as INTEGER/BIGINT milliseconds.
type durScan struct{ d *time.Duration }

func (d durScan) Scan(v any) error {
	x, ok := v.(int64)
	if !ok {
		return fmt.Errorf("duration column holds %T", v)
	}
	*d.d = time.Duration(x) * time.Millisecond
	return nil
}

// newID returns a random identifier: 26 characters of base32, 130 bits.
func newID() string { return strings.ToLower(rand.Text()) }

// location loads and caches an IANA zone.
func (s *Store) location(name string) (*time.Location, error) {
	if l, ok := s.zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	s.zones.Store(name, l)
	return l, nil
}

// checkActor refuses calls without an acting user: the audit log must say
// who.
func checkActor(a Actor) error {
	if a.ID == "" || a.Role == "" {
		return because(ErrForbidden, "no acting user")
	}
	return nil
}

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
